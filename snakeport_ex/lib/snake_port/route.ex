defmodule SnakePort.Route do
  @moduledoc """
  What a caller needs to reach one worker's adapter without asking the
  worker: its port, its pending table, its id counter and its state.

  Each worker publishes its route in its pool's routes table (and publishes
  it again when its adapter restarts).  A caller reads the route, registers
  its request in `pending`, writes the frame straight to the port
  (`Port.command/2` works from any process) and waits for the worker to
  route the reply back: one process hop per call.  When the worker records
  frames (a recording file belongs to the process that opened it), or while
  its adapter restarts, frames go through the worker instead.
  """

  alias SnakePort.{Error, Pending}

  @enforce_keys [:index, :worker, :pending, :ids]
  defstruct [
    :index,
    :worker,
    :port,
    :pending,
    :ids,
    :error,
    status: :starting,
    restarts: 0,
    via_worker: false
  ]

  @typedoc """
  `:up` serving; `:starting` (re)starting its adapter, frames wait in the
  worker; `:backoff` waiting before a restart after too many crashes (frames
  wait in the worker too); `:down` its adapter could not start (`error` says
  why).
  """
  @type status :: :up | :starting | :backoff | :down

  @type t :: %__MODULE__{
          index: non_neg_integer(),
          worker: pid(),
          port: port() | nil,
          pending: Pending.t(),
          ids: :atomics.atomics_ref(),
          status: status(),
          error: Error.t() | nil,
          restarts: non_neg_integer(),
          via_worker: boolean()
        }

  @doc "A fresh request id, unique on this worker's ports."
  @spec next_id(t()) :: pos_integer()
  def next_id(%__MODULE__{ids: ids}), do: :atomics.add_get(ids, 1, 1)

  @doc """
  Write `frame` to the adapter: straight to the port when the route allows,
  else through the worker (`id`, when given, lets the worker drop a frame
  whose request was already answered).
  """
  @spec write(t(), non_neg_integer() | nil, iodata()) :: :ok
  def write(%__MODULE__{status: :up, via_worker: false, port: port} = route, id, frame) do
    Port.command(port, frame)
    :ok
  rescue
    # The port closed under us (the adapter died): the worker answers or resends.
    ArgumentError -> via_worker(route, id, frame)
  end

  def write(route, id, frame), do: via_worker(route, id, frame)

  defp via_worker(%__MODULE__{worker: worker}, id, frame) do
    send(worker, {:snakeport_write, id, frame})
    :ok
  end
end
