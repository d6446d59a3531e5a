defmodule SnakePort.Route do
  @moduledoc """
  What a caller needs to reach one worker's adapter without asking the
  worker: the worker's and the port's registered names, the pending table
  and the id counter.

  Routes are made once, when the pool starts, and live in the pool's
  published struct (`:persistent_term`, read without a copy); they stay
  valid across the adapter's restarts because the names do: the worker
  registers each new port under the route's port name.  A caller registers
  its request in `pending`, writes the frame straight to the port by name
  (`Port.command/2` works from any process) and waits for the worker to route
  the reply back: one process hop per call.  When the port name is not
  registered (the adapter is restarting, backing off or down) or the worker
  records frames (the recording file belongs to the worker), the frame goes
  through the worker instead, which sends it, holds it, or answers why not.

  The worker's changing state (status, error, restarts) is kept apart
  (`SnakePort.Route.State`), read only where it is needed: routing a new
  session, error messages, stats.
  """

  alias SnakePort.Pending

  @enforce_keys [:index, :worker, :port, :pending, :ids]
  defstruct [:index, :worker, :port, :pending, :ids, via_worker: false]

  @type t :: %__MODULE__{
          index: non_neg_integer(),
          worker: atom(),
          port: atom(),
          pending: Pending.t(),
          ids: :atomics.atomics_ref(),
          via_worker: boolean()
        }

  defmodule State do
    @moduledoc """
    A worker's state as it publishes it: `:up` serving; `:starting` (re)starting
    its adapter, frames wait in the worker; `:backoff` waiting before a
    restart after too many crashes (frames wait too); `:down` its adapter
    could not start (`error` says why).
    """
    defstruct status: :starting, error: nil, restarts: 0

    @type status :: :up | :starting | :backoff | :down
    @type t :: %__MODULE__{status: status(), error: SnakePort.Error.t() | nil, restarts: non_neg_integer()}
  end

  @doc "The route of worker `index` of the pool named `pool` (names derived from the pool's name)."
  @spec new(term(), non_neg_integer(), keyword()) :: t()
  def new(pool, index, opts) do
    key = :erlang.phash2(pool, 4_294_967_296)

    %__MODULE__{
      index: index,
      worker: worker_name(pool, index),
      port: :"snakeport_#{key}_#{index}_port",
      pending: Pending.new(),
      ids: :atomics.new(1, signed: false),
      via_worker: opts[:record] != nil
    }
  end

  @doc """
  The name worker `index` of the pool named `pool` is registered under, the
  same on every node (so `{name, node}` reaches it from anywhere).
  """
  @spec worker_name(term(), non_neg_integer()) :: atom()
  def worker_name(pool, index), do: :"snakeport_#{:erlang.phash2(pool, 4_294_967_296)}_#{index}_worker"

  @doc "A fresh request id, unique on this worker's ports."
  @spec next_id(t()) :: pos_integer()
  def next_id(%__MODULE__{ids: ids}), do: :atomics.add_get(ids, 1, 1)

  @doc """
  Write `frame` to the adapter: straight to the port when it is up and the
  worker does not record, else through the worker (`id`, when given, lets
  the worker drop a frame whose request was answered meanwhile).
  """
  @spec write(t(), non_neg_integer() | nil, iodata()) :: :ok
  def write(%__MODULE__{via_worker: false} = route, id, frame) do
    case port(route) do
      nil -> via_worker(route, id, frame)
      port -> command(route, port, id, frame)
    end
  end

  def write(route, id, frame), do: via_worker(route, id, frame)

  # The port behind the route's name, remembered in the caller's process
  # dictionary (resolving the name on every write costs more than the rest
  # of the bookkeeping); a port that has closed since is forgotten on use.
  defp port(%__MODULE__{port: name}) do
    case Process.get({__MODULE__, name}) do
      nil ->
        case Process.whereis(name) do
          port when is_port(port) ->
            Process.put({__MODULE__, name}, port)
            port

          nil ->
            nil
        end

      port ->
        port
    end
  end

  defp command(route, port, id, frame) do
    Port.command(port, frame)
    :ok
  rescue
    # The port closed under us (the adapter died or restarts): the worker answers or resends.
    ArgumentError ->
      Process.delete({__MODULE__, route.port})
      via_worker(route, id, frame)
  end

  @doc "Monitor the route's worker (its pid resolved once: monitoring by name costs more)."
  @spec monitor(t()) :: reference()
  def monitor(%__MODULE__{worker: name}), do: Process.monitor(Process.whereis(name) || name)

  defp via_worker(%__MODULE__{worker: worker}, id, frame) do
    send(worker, {:snakeport_write, id, frame})
    :ok
  rescue
    # The worker itself is gone: the caller's monitor says so.
    ArgumentError -> :ok
  end
end
