defmodule SnakePort do
  @moduledoc """
  Call Python from Elixir: pools of Python adapter processes, each opened as a
  Port speaking the Erlang external term format (docs/PROTOCOL.md).

  SnakePort speaks wire form: a request is a map with binary keys as the
  adapter reads it, a reply is the adapter's value (tagged maps included).
  A library on top names a translator per pool (`SnakePort.Translator`) to
  see its own structs instead, as SnakeBridge's facade does.

  Start pools in your supervision tree (Finch-style):

      children = [
        {SnakePort, pools: [default: [size: 2], ml: [size: 1, env: [{"PYTHONPATH", "priv/py"}]]]}
      ]

  or on demand with `start_pool/2`.  Then:

      {:ok, 4.0} = SnakePort.request(:default, %{"python_module" => "math", "function" => "sqrt", "args" => [16]})

  Each calling process gets an auto-session per pool, released in Python
  when it exits; `session:` names an explicit one.  A session sticks to the
  worker that first served it (`SnakePort.Router`).  Options of a pool:
  `SnakePort.Options`.
  """

  alias SnakePort.{Client, Error, Manager, Pool, Router, Sessions}

  @type pool :: Pool.name() | Pool.t()
  @type result :: {:ok, term()} | {:error, Error.t() | :timeout}

  @doc """
  A supervisor of the pools `pools: [name: options]`, for a supervision tree.
  Starting returns once every worker has started (or recorded why it could not).
  """
  @spec child_spec(keyword()) :: Supervisor.child_spec()
  def child_spec(opts) do
    %{id: Keyword.get(opts, :id, __MODULE__), start: {__MODULE__, :start_link, [opts]}, type: :supervisor}
  end

  @doc "Start the pools `pools: [name: options]` under a new supervisor."
  @spec start_link(keyword()) :: Supervisor.on_start()
  def start_link(opts) do
    pools = for {name, pool_opts} <- Keyword.fetch!(opts, :pools), do: {Pool, {name, pool_opts}}
    Supervisor.start_link(pools, strategy: :one_for_one)
  end

  @doc "Start pool `name` under SnakePort's own supervisor, unless it runs already."
  @spec start_pool(Pool.name(), keyword()) :: {:ok, Pool.t()} | {:error, Error.t()}
  defdelegate start_pool(name, opts), to: Manager, as: :ensure

  @doc "Stop a pool started with `start_pool/2` (or under `child_spec/1`)."
  @spec stop_pool(Pool.name()) :: :ok | {:error, :not_found}
  defdelegate stop_pool(name), to: Manager, as: :stop

  @doc """
  Run a request map in `pool`: `{:ok, value}` (through the pool's translator),
  `{:error, %SnakePort.Error{}}` or `{:error, :timeout}`.  Never raises.

  Options: `session:` (default: the caller's auto-session), `timeout:` (ms or
  `:infinity`; default: the pool's `default_timeout`).  The request's
  `"session_id"` is set from the session.
  """
  @spec request(pool(), map(), keyword()) :: result()
  def request(pool, request, opts \\ []) do
    with {:ok, pool} <- Pool.lookup(pool), do: Client.request(pool, request, opts)
  end

  @doc """
  Run a request as a push stream, calling `fun` on each item (see
  `SnakePort.Client.stream/4` for the options and results).
  """
  @spec stream(pool(), map(), keyword(), (term() -> any())) :: {:ok, :done} | {:error, Error.t() | :timeout}
  def stream(pool, request, opts, fun) do
    with {:ok, pool} <- Pool.lookup(pool), do: Client.stream(pool, request, opts, fun)
  end

  @doc """
  Release `session` in Python (every ref and stream it holds) and unstick it
  from its worker.  A session that was never routed holds nothing: `{:ok, 0}`
  without a round trip.  Otherwise `{:ok, count}` of entries released.
  """
  @spec release_session(pool(), String.t(), keyword()) :: result()
  def release_session(pool, session, opts \\ []) do
    with {:ok, pool} <- Pool.lookup(pool) do
      case Router.stuck_to(pool, session) do
        nil ->
          {:ok, 0}

        index ->
          request = %{"call_type" => "release_session", "session_id" => session}
          result = Client.on_worker(pool, index, request, Keyword.get(opts, :timeout, pool.default_timeout))
          Router.unstick(pool, session)
          result
      end
    end
  end

  @doc "The calling process's auto-session in `pool` (made on first use)."
  @spec auto_session(Pool.name()) :: String.t()
  defdelegate auto_session(pool_name), to: Router

  @doc "Forget the calling process's auto-sessions (every pool) without releasing them in Python."
  @spec forget_auto_sessions() :: :ok
  def forget_auto_sessions do
    Sessions.disown(self(), Router.drop_auto_sessions())
  end

  @doc "Release the calling process's auto-sessions (every pool) in Python, and forget them."
  @spec release_auto_sessions() :: :ok
  def release_auto_sessions do
    sessions = Router.drop_auto_sessions()
    :ok = Sessions.disown(self(), sessions)
    Enum.each(sessions, fn {pool, session} -> release_session(pool, session) end)
  end

  @doc """
  Wait until `session` of `pool` has been released after the process that
  owned it exited (`:timeout` after `timeout` ms).
  """
  @spec await_released(Pool.name(), String.t(), timeout()) :: :ok | :timeout
  defdelegate await_released(pool, session, timeout \\ 10_000), to: Sessions

  @doc """
  What a pool is doing, per worker: `status` (`:up`, `:starting`,
  `:backoff`, `:down`), `error` (why it is down), `restarts`, `in_flight`
  (requests sent, not answered), `queue` (messages waiting in the worker),
  `streams`, `callbacks` (Elixir funs running for Python), `sessions` stuck
  to it, `python_pid`, and `adapter`: the adapter's own counters (its
  `"stats"` call: sessions, refs, streams, frames and bytes in and out), or
  `nil` when it is not up.
  """
  @spec stats(pool()) :: {:ok, %{pool: Pool.name(), workers: [map()]}} | {:error, Error.t()}
  def stats(pool) do
    with {:ok, pool} <- Pool.lookup(pool) do
      workers =
        for route <- Pool.routes(pool) do
          worker = SnakePort.Worker.stats(route.worker)
          adapter = if worker.status == :up, do: adapter_stats(pool, route.index)
          Map.merge(worker, %{sessions: Router.sessions(pool, route.index), adapter: adapter})
        end

      {:ok, %{pool: pool.name, workers: workers}}
    end
  end

  defp adapter_stats(pool, index) do
    case Client.on_worker(pool, index, %{"call_type" => "stats"}, 5_000) do
      {:ok, stats} -> stats
      {:error, _} -> nil
    end
  end

  @doc """
  Ask every worker of `pool` to answer a ping (`timeout` ms each): `:ok`, or
  the first error, which for a worker that could not start says why (the
  interpreter or script, not found or not executable, its exit status and
  last stderr lines, a Python too old, the adapter's `startup_error`).  For
  an application that wants to know at boot that its Python works.
  """
  @spec check(pool(), timeout()) :: :ok | {:error, Error.t() | :timeout}
  def check(pool, timeout \\ 10_000) do
    with {:ok, pool} <- Pool.lookup(pool) do
      Enum.find_value(Pool.routes(pool), :ok, fn route ->
        case Client.on_worker(pool, route.index, %{"call_type" => "ping"}, timeout) do
          {:ok, "pong"} -> nil
          {:ok, other} -> {:error, Error.new("ProtocolError", "ping answered #{inspect(other, limit: 5)}")}
          {:error, _} = error -> error
        end
      end)
    end
  end

  @doc "Worker `index`'s adapter ready info (Python version, pid, codec, call types)."
  @spec info(pool(), non_neg_integer()) :: {:ok, map()} | {:error, Error.t()}
  def info(pool, index \\ 0) do
    with {:ok, pool} <- Pool.lookup(pool), do: {:ok, SnakePort.Worker.info(Pool.route(pool, index).worker)}
  end
end
