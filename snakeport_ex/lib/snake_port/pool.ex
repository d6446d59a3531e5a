defmodule SnakePort.Pool do
  @moduledoc """
  A named pool of workers, each owning one Python adapter process.

  The pool's supervisor makes what its callers share: each worker's route
  (`SnakePort.Route`: names, pending table, id counter), the table of the
  workers' states, the sticky map of sessions to workers and per-worker
  session counts; it starts the workers one by one (each waits for its
  adapter's `ready`), and last publishes this struct in `:persistent_term`,
  so a call finds its pool and route with no process hop and no copy.
  Stopping the pool unpublishes it first.

  The supervisor restarts a worker only if the worker process itself fails;
  a crashed Python process is the worker's own business (it restarts its
  adapter with backoff, see `SnakePort.Worker`), so one worker's crashes
  never touch its siblings or their refs.
  """
  use Supervisor

  alias SnakePort.{Error, Options, Route}

  @enforce_keys [:name, :size, :workers, :states, :sticky, :sessions]
  defstruct [
    :name,
    :size,
    :workers,
    :states,
    :sticky,
    :sessions,
    translator: SnakePort.Translator.Wire,
    context: nil,
    decode_origin: false,
    default_timeout: 120_000,
    max_callback_depth: 50
  ]

  @type name :: term()
  @type t :: %__MODULE__{
          name: name(),
          size: pos_integer(),
          workers: tuple(),
          states: :ets.tid(),
          sticky: :ets.tid(),
          sessions: :counters.counters_ref(),
          translator: module(),
          context: term(),
          decode_origin: boolean(),
          default_timeout: timeout(),
          max_callback_depth: pos_integer()
        }

  @doc "The running pool called `name`."
  @spec lookup(name()) :: {:ok, t()} | {:error, Error.t()}
  def lookup(%__MODULE__{} = pool), do: {:ok, pool}

  def lookup(name) do
    case :persistent_term.get({__MODULE__, name}, nil) do
      nil -> {:error, Error.new("PoolNotStarted", "SnakePort pool #{inspect(name)} is not started")}
      pool -> {:ok, pool}
    end
  end

  @doc "Worker `index`'s route (see `SnakePort.Route`)."
  @spec route(t(), non_neg_integer()) :: Route.t()
  def route(%__MODULE__{workers: workers}, index), do: elem(workers, index)

  @doc "Every worker's route, by index."
  @spec routes(t()) :: [Route.t()]
  def routes(%__MODULE__{workers: workers}), do: Tuple.to_list(workers)

  @doc "Worker `index`'s state as it last published it."
  @spec state(t(), non_neg_integer()) :: Route.State.t()
  def state(%__MODULE__{states: states}, index), do: :ets.lookup_element(states, index, 2)

  @doc false
  @spec publish_state(t(), non_neg_integer(), Route.State.t()) :: true
  def publish_state(%__MODULE__{states: states}, index, %Route.State{} = state),
    do: :ets.insert(states, {index, state})

  @doc false
  def child_spec({name, opts}) do
    %{
      id: {__MODULE__, name},
      start: {__MODULE__, :start_link, [name, opts]},
      type: :supervisor,
      restart: :permanent
    }
  end

  @doc """
  Start pool `name` (options: `SnakePort.Options`).  Returns after every
  worker has started its adapter or recorded why it could not.
  """
  @spec start_link(name(), keyword()) :: Supervisor.on_start()
  def start_link(name, opts) do
    case Options.validate(opts) do
      {:ok, opts} -> Supervisor.start_link(__MODULE__, {name, opts}, name: via(name))
      {:error, message} -> {:error, Error.new("PoolStartError", "pool #{inspect(name)}: #{message}")}
    end
  end

  @doc "The pool supervisor of `name`, if it runs."
  @spec whereis(name()) :: pid() | nil
  def whereis(name) do
    case Registry.lookup(SnakePort.Registry, name) do
      [{pid, _}] -> pid
      [] -> nil
    end
  end

  defp via(name), do: {:via, Registry, {SnakePort.Registry, name}}

  @impl true
  def init({name, opts}) do
    size = opts[:size]

    states = :ets.new(:snakeport_states, [:set, :public, read_concurrency: true])
    for index <- 0..(size - 1), do: :ets.insert(states, {index, %Route.State{}})

    pool = %__MODULE__{
      name: name,
      size: size,
      workers: List.to_tuple(for index <- 0..(size - 1), do: Route.new(name, index, opts)),
      states: states,
      sticky: :ets.new(:snakeport_sticky, [:set, :public, read_concurrency: true, write_concurrency: true]),
      sessions: :counters.new(size, [:write_concurrency]),
      translator: opts[:translator],
      context: opts[:context],
      decode_origin: SnakePort.Translator.origin?(opts[:translator]),
      default_timeout: opts[:default_timeout],
      max_callback_depth: opts[:max_callback_depth]
    }

    workers =
      for index <- 0..(size - 1) do
        Supervisor.child_spec({SnakePort.Worker, {pool, index, opts}}, id: {:worker, index})
      end

    publisher = %{id: :publisher, start: {SnakePort.Pool.Publisher, :start_link, [pool]}}
    Supervisor.init(workers ++ [publisher], strategy: :one_for_one, max_restarts: 100, max_seconds: 5)
  end
end

defmodule SnakePort.Pool.Publisher do
  @moduledoc false
  # Started after the workers: makes the pool visible to callers, and hides it
  # again first when the pool stops (children stop in reverse order).
  use GenServer

  def start_link(pool), do: GenServer.start_link(__MODULE__, pool)

  @impl true
  def init(pool) do
    Process.flag(:trap_exit, true)
    :persistent_term.put({SnakePort.Pool, pool.name}, pool)
    {:ok, pool.name}
  end

  @impl true
  def terminate(_reason, name) do
    :persistent_term.erase({SnakePort.Pool, name})
    :ok
  end
end
