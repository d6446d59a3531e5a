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

  A second table holds the callback depth of the requests made from inside
  callbacks (depth > 0), so the worker can bound the depth of a callback it
  starts without scanning every request in flight (see `SnakePort.Callback`).
  """

  defmodule Call do
    @moduledoc "A request whose caller waits for one reply, sent to `tag` (an alias of the caller)."
    @enforce_keys [:tag]
    defstruct [:tag, depth: 0]
    @type t :: %__MODULE__{tag: reference(), depth: non_neg_integer()}
  end

  defmodule Stream do
    @moduledoc """
    A push stream: chunks, then one final reply, go to `tag`; the worker
    monitors `caller` (`monitor`) and cancels the stream if it exits.
    """
    @enforce_keys [:tag, :caller]
    defstruct [:tag, :caller, :monitor, depth: 0]

    @type t :: %__MODULE__{
            tag: reference(),
            caller: pid(),
            monitor: reference() | nil,
            depth: non_neg_integer()
          }
  end

  @enforce_keys [:requests, :depths]
  defstruct [:requests, :depths]

  @type entry :: Call.t() | Stream.t()
  @type t :: %__MODULE__{requests: :ets.tid(), depths: :ets.tid()}

  @doc "New tables, owned by the calling process (the worker)."
  @spec new() :: t()
  def new do
    %__MODULE__{
      requests:
        :ets.new(:snakeport_pending, [:set, :public, read_concurrency: true, write_concurrency: true]),
      depths: :ets.new(:snakeport_depths, [:ordered_set, :public, write_concurrency: true])
    }
  end

  @doc "Register request `id`."
  @spec put(t(), non_neg_integer(), entry()) :: true
  def put(%__MODULE__{requests: requests, depths: depths}, id, entry) do
    if entry.depth > 0, do: :ets.insert(depths, {{entry.depth, id}})
    :ets.insert(requests, {id, entry})
  end

  @doc "Take request `id` out (whoever gets it answers it), or `nil` if someone already did."
  @spec take(t(), non_neg_integer()) :: entry() | nil
  def take(%__MODULE__{requests: requests, depths: depths}, id) do
    case :ets.take(requests, id) do
      [{^id, entry}] ->
        if entry.depth > 0, do: :ets.delete(depths, {entry.depth, id})
        entry

      [] ->
        nil
    end
  end

  @doc "Request `id`'s entry, left in place (a push stream's chunks)."
  @spec get(t(), non_neg_integer()) :: entry() | nil
  def get(%__MODULE__{requests: requests}, id) do
    case :ets.lookup(requests, id) do
      [{^id, entry}] -> entry
      [] -> nil
    end
  end

  @doc "Whether request `id` is still waiting for its answer."
  @spec member?(t(), non_neg_integer()) :: boolean()
  def member?(%__MODULE__{requests: requests}, id), do: :ets.member(requests, id)

  @doc "Take every entry out: `[{id, entry}]` (the adapter is gone)."
  @spec take_all(t()) :: [{non_neg_integer(), entry()}]
  def take_all(%__MODULE__{requests: requests} = pending) do
    Enum.flat_map(:ets.tab2list(requests), fn {id, _} ->
      case take(pending, id) do
        nil -> []
        entry -> [{id, entry}]
      end
    end)
  end

  @doc "Every push stream of `caller`: `[{id, entry}]`, left in place."
  @spec streams_of(t(), pid()) :: [{non_neg_integer(), Stream.t()}]
  def streams_of(%__MODULE__{requests: requests}, caller) do
    :ets.select(requests, [{{:_, %{__struct__: Stream, caller: caller}}, [], [:"$_"]}])
  end

  @doc "Requests in flight."
  @spec count(t()) :: non_neg_integer()
  def count(%__MODULE__{requests: requests}), do: :ets.info(requests, :size)

  @doc "Push streams in flight."
  @spec stream_count(t()) :: non_neg_integer()
  def stream_count(%__MODULE__{requests: requests}) do
    :ets.select_count(requests, [{{:_, %{__struct__: Stream}}, [], [true]}])
  end

  @doc "The deepest callback depth among the requests in flight (0 when none comes from a callback)."
  @spec max_depth(t()) :: non_neg_integer()
  def max_depth(%__MODULE__{depths: depths}) do
    case :ets.last(depths) do
      {depth, _id} -> depth
      :"$end_of_table" -> 0
    end
  end
end
