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

  **Several nodes.**  A pool is reachable from every connected node: a
  request for a pool that does not run on the calling node goes to a node
  that runs it (`SnakePort.Remote`, `SnakePort.Cluster`); one that runs here
  is served here, without looking at the cluster.  `node:` pins a node,
  `worker: {node, index}` a worker (as a ref records it).
  """

  alias SnakePort.{Client, Cluster, Error, Manager, Pool, Remote, Router, Sessions}

  @type pool :: Pool.name() | Pool.t() | Remote.t()
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
  `:infinity`; default: the pool's `default_timeout`), `node:` (the pool's
  workers on that node only), `worker: {node, index}` (that worker: where a
  ref's object lives).  The request's `"session_id"` is set from the session.

  The pool runs here: served here (`node:` and `worker:` of another node
  aside).  Else a connected node that runs it serves it, the calling node's
  sessions spread over its workers.
  """
  @spec request(pool(), map(), keyword()) :: result()
  def request(pool, request, opts \\ []) do
    case target(pool, opts) do
      {:ok, %Pool{} = pool} -> Client.request(pool, request, opts)
      {:ok, %Remote{} = remote} -> Remote.request(remote, request, opts)
      error -> error
    end
  end

  # The local pool unless told otherwise; the cluster only when it is not here.
  defp target(%Pool{} = pool, opts) do
    case elsewhere(opts) do
      nil -> {:ok, pool}
      where -> Remote.lookup(pool.name, where)
    end
  end

  defp target(%Remote{} = remote, opts) do
    if elsewhere(opts) == nil and here?(Keyword.get(opts, :node)),
      do: Pool.lookup(remote.name),
      else: {:ok, remote}
  end

  defp target(name, opts) do
    case elsewhere(opts) do
      nil ->
        case Pool.lookup(name) do
          {:ok, pool} -> {:ok, pool}
          {:error, _} = error -> if here?(Keyword.get(opts, :node)), do: error, else: remote(name, error)
        end

      where ->
        Remote.lookup(name, where)
    end
  end

  defp remote(name, not_here) do
    if Cluster.running_elsewhere?(name) or Cluster.seen?(name), do: Remote.lookup(name), else: not_here
  end

  # Where a request is pinned to on another node: `worker: {node, index}`, else `node:`.
  defp elsewhere(opts) do
    case :lists.keyfind(:worker, 1, opts) do
      {:worker, {node, _index} = worker} ->
        if here?(node), do: nil, else: worker

      _ ->
        case :lists.keyfind(:node, 1, opts) do
          {:node, node} when node != nil -> if here?(node), do: nil, else: node
          _ -> nil
        end
    end
  end

  defp here?(node), do: node == node() or node == :nonode@nohost

  @doc """
  Run a request as a push stream, calling `fun` on each item (see
  `SnakePort.Client.stream/4` for the options and results).
  """
  @spec stream(pool(), map(), keyword(), (term() -> any())) :: {:ok, :done} | {:error, Error.t() | :timeout}
  def stream(pool, request, opts, fun) do
    case target(pool, opts) do
      {:ok, %Pool{} = pool} -> Client.stream(pool, request, opts, fun)
      {:ok, %Remote{} = remote} -> Remote.stream(remote, request, opts, fun)
      error -> error
    end
  end

  @doc """
  Release `session` in Python (every ref and stream it holds) and unstick it
  from its worker, here and on every other connected node that runs the pool
  (callers of several nodes may have used it).  A session that was never
  routed holds nothing: `{:ok, 0}` without a round trip when the pool runs
  only here.  Otherwise `{:ok, count}` of entries released; a node that
  could not be asked is a `NodeDown` error naming it.
  """
  @spec release_session(pool(), String.t(), keyword()) :: result()
  def release_session(pool, session, opts \\ []) do
    name = pool_name(pool)
    Cluster.forget(name, session)
    # Nodes that called the pool remember where the session went: they forget it too.
    :erpc.multicast(Node.list(), Cluster, :forget, [name, session])
    here = release_local_session(local(pool), session, opts)

    case Cluster.nodes(name) do
      [] ->
        here

      nodes ->
        here = with {:error, %Error{python_type: "PoolNotStarted"}} <- here, do: {:ok, 0}
        sum([here | release_on(nodes, name, session, opts)])
    end
  end

  defp pool_name(%{name: name}), do: name
  defp pool_name(name), do: name
  defp local(%Remote{name: name}), do: name
  defp local(pool), do: pool

  defp release_on(nodes, name, session, opts) do
    timeout = Keyword.get(opts, :timeout, 120_000)

    nodes
    |> :erpc.multicall(__MODULE__, :release_local_session, [name, session, opts], beyond(timeout))
    |> Enum.zip(nodes)
    |> Enum.map(fn
      {{:ok, {:error, %Error{python_type: "PoolNotStarted"}}}, _node} ->
        {:ok, 0}

      {{:ok, result}, _node} ->
        result

      {{_class, reason}, node} ->
        {:error, Error.new("NodeDown", "node #{node} could not release #{session}: #{inspect(reason)}")}
    end)
  end

  # A remote call's own deadline: the remote side's timeout and a second for the trip.
  defp beyond(:infinity), do: :infinity
  defp beyond(timeout), do: timeout + 1_000

  defp sum(results) do
    Enum.reduce(results, {:ok, 0}, fn
      {:ok, n}, {:ok, total} -> {:ok, total + n}
      {:ok, _n}, error -> error
      error, {:ok, _} -> error
      _error, first -> first
    end)
  end

  @doc false
  # Release `session` where it is stuck on this node (the body of release_session/3 on each node).
  @spec release_local_session(pool(), String.t(), keyword()) :: result()
  def release_local_session(pool, session, opts \\ []) do
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

  @doc false
  # An auto-session's owner exited: release it here; a remote pool's node releases its own.
  @spec release_owned(Pool.name(), String.t()) :: result()
  def release_owned(pool, session) do
    Cluster.forget(pool, session)
    release_local_session(pool, session, timeout: 10_000)
  end

  @doc """
  Wait until pool `name` runs on this node or on a connected node
  (`:timeout` after `timeout` ms): for a node that calls pools of other
  nodes and must not use one before the cluster has told it where they are.
  """
  @spec await_pool(Pool.name(), timeout()) :: :ok | :timeout
  defdelegate await_pool(name, timeout \\ 5_000), to: Cluster

  @doc "The calling process's auto-session in `pool` (made on first use)."
  @spec auto_session(Pool.name()) :: String.t()
  defdelegate auto_session(pool_name), to: Router

  @doc "Forget the calling process's auto-sessions (every pool) without releasing them in Python."
  @spec forget_auto_sessions() :: :ok
  def forget_auto_sessions, do: disown(Router.drop_auto_sessions())

  @doc "Release the calling process's auto-sessions (every pool) in Python, and forget them."
  @spec release_auto_sessions() :: :ok
  def release_auto_sessions do
    sessions = Router.drop_auto_sessions()
    :ok = disown(sessions)
    Enum.each(sessions, fn {pool, session} -> release_session(pool, session) end)
  end

  # An auto-session whose worker is on another node is owned there too (released
  # there when this process exits): it is disowned on those nodes as well, before
  # this returns, so an exit right after cannot release it.
  defp disown(sessions) do
    :ok = Sessions.disown(self(), sessions)

    case sessions |> Enum.flat_map(fn {pool, _} -> Cluster.nodes(pool) end) |> Enum.uniq() do
      [] ->
        :ok

      nodes ->
        Enum.each(:erpc.multicall(nodes, Sessions, :disown, [self(), sessions], 5_000), fn _ -> :ok end)
    end
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
  `nil` when it is not up.  For a pool of other nodes (`SnakePort.Remote`),
  the workers of every node that runs it, each with its `node`.
  """
  @spec stats(pool()) :: {:ok, %{pool: Pool.name(), workers: [map()]}} | {:error, Error.t()}
  def stats(%Remote{} = remote), do: Remote.stats(remote)

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
  def check(pool, timeout \\ 10_000)

  # A pool of other nodes: each node that runs it checks its own workers.
  def check(%Remote{name: name}, timeout) do
    Enum.find_value(Cluster.nodes(name), :ok, fn node ->
      case :erpc.call(node, __MODULE__, :check, [name, timeout], beyond(timeout)) do
        :ok -> nil
        error -> error
      end
    end)
  catch
    kind, reason ->
      {:error, Error.new("NodeDown", "a node of pool #{inspect(name)} failed: #{inspect({kind, reason})}")}
  end

  def check(pool, timeout) do
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
