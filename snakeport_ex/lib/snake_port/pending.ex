defmodule SnakePort.Pending do
  @moduledoc """
  The requests a worker's adapter has not answered yet, in a public ETS table
  the worker owns.

  Callers register their own requests here before writing them to the port
  (so a reply always finds its entry) and the worker looks replies up by id.
  Whoever takes an entry out (`take/2`: the worker when the reply arrives,
  the caller when it times out, the worker when the adapter dies) is the one
  that answers it, so a request is answered exactly once and a late reply
  finds nothing and is dropped.  The table's size is the worker's in-flight
  count.
  """

  defmodule Call do
    @moduledoc "A request whose `caller` waits for one reply, tagged `tag` (its monitor of the worker)."
    @enforce_keys [:tag, :caller]
    defstruct [:tag, :caller]
    @type t :: %__MODULE__{tag: reference(), caller: pid()}
  end

  defmodule Stream do
    @moduledoc """
    A push stream: chunks, then one final reply, go to `caller` tagged `tag`; the worker
    monitors `caller` (`monitor`) and cancels the stream if it exits.
    """
    @enforce_keys [:tag, :caller]
    defstruct [:tag, :caller, :monitor]
    @type t :: %__MODULE__{tag: reference(), caller: pid(), monitor: reference() | nil}
  end

  defmodule Remote do
    @moduledoc """
    A request of a caller on another node: its one reply goes to `caller`, the
    caller's alias (which is also `tag`, its monitor of the worker), so a reply
    after the caller gave up is dropped by the runtime.
    """
    @enforce_keys [:tag, :caller]
    defstruct [:tag, :caller]
    @type t :: %__MODULE__{tag: reference(), caller: reference()}
  end

  @type entry :: Call.t() | Stream.t() | Remote.t()
  @type t :: :ets.tid()

  @doc "A new table, owned by the calling process (the pool's supervisor: it outlives a worker process)."
  @spec new() :: t()
  def new, do: :ets.new(:snakeport_pending, [:set, :public, write_concurrency: true])

  @doc "Register request `id`."
  @spec put(t(), non_neg_integer(), entry()) :: true
  def put(table, id, entry), do: :ets.insert(table, {id, entry})

  @doc "Take request `id` out (whoever gets it answers it), or `nil` if someone already did."
  @spec take(t(), non_neg_integer()) :: entry() | nil
  def take(table, id) do
    case :ets.take(table, id) do
      [{^id, entry}] -> entry
      [] -> nil
    end
  end

  @doc "Request `id`'s entry, left in place (a push stream's chunks)."
  @spec get(t(), non_neg_integer()) :: entry() | nil
  def get(table, id) do
    case :ets.lookup(table, id) do
      [{^id, entry}] -> entry
      [] -> nil
    end
  end

  @doc "Whether request `id` is still waiting for its answer."
  @spec member?(t(), non_neg_integer()) :: boolean()
  def member?(table, id), do: :ets.member(table, id)

  @doc "Take every entry out: `[{id, entry}]` (the adapter is gone)."
  @spec take_all(t()) :: [{non_neg_integer(), entry()}]
  def take_all(table) do
    Enum.flat_map(:ets.tab2list(table), fn {id, _} ->
      case take(table, id) do
        nil -> []
        entry -> [{id, entry}]
      end
    end)
  end

  @doc "Take out the request of a remote caller tagged `tag` (it timed out): its id, or nil."
  @spec take_remote(t(), reference()) :: non_neg_integer() | nil
  def take_remote(table, tag) do
    case :ets.select(table, [{{:"$1", %{__struct__: Remote, tag: tag}}, [], [:"$1"]}]) do
      [id | _] -> if take(table, id), do: id
      [] -> nil
    end
  end

  @doc "Every push stream of `caller`: `[{id, entry}]`, left in place."
  @spec streams_of(t(), pid()) :: [{non_neg_integer(), Stream.t()}]
  def streams_of(table, caller),
    do: :ets.select(table, [{{:_, %{__struct__: Stream, caller: caller}}, [], [:"$_"]}])

  @doc "Requests in flight."
  @spec count(t()) :: non_neg_integer()
  def count(table), do: :ets.info(table, :size)

  @doc "Push streams in flight."
  @spec stream_count(t()) :: non_neg_integer()
  def stream_count(table), do: :ets.select_count(table, [{{:_, %{__struct__: Stream}}, [], [true]}])
end
