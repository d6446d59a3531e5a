defmodule SnakePort.Cluster do
  @moduledoc """
  Where pools run across a cluster of BEAM nodes, with OTP's own tools: each
  worker whose adapter is up joins a `:pg` process group of its pool (scope
  `SnakePort.PG`, started by the `:snakeport` application), so every
  connected node knows which workers serve which pool, and `:pg` drops the
  members of a node that goes down or disconnects.

  This server owns what a node that calls pools of other nodes remembers:
  which remote worker each of its sessions went to (`{pool, session} ->
  worker pid`), how many of its sessions each remote worker holds (to spread
  new ones), and each remote pool's settings (`SnakePort.Remote`).  When a
  node goes down, what this node remembered of it is forgotten, so the next
  call of such a session goes to a node that is up.

  Nothing here is read on the local path: a call to a pool that runs on this
  node never looks at the cluster.
  """
  use GenServer

  alias SnakePort.Error

  @scope SnakePort.PG
  @sticky :snakeport_cluster_sticky
  @meta :snakeport_cluster_meta

  @doc "The `:pg` scope SnakePort's pools live in."
  @spec scope() :: atom()
  def scope, do: @scope

  @doc "The calling worker process joins pool `name`'s group (its adapter is up)."
  @spec join(term()) :: :ok
  def join(name), do: :pg.join(@scope, group(name), self())

  @doc "The calling worker process leaves pool `name`'s group (its adapter is down)."
  @spec leave(term()) :: :ok | :not_joined
  def leave(name), do: :pg.leave(@scope, group(name), self())

  @doc "The workers of pool `name` on every connected node, this one included."
  @spec members(term()) :: [pid()]
  def members(name) do
    :pg.get_members(@scope, group(name))
  rescue
    # The :snakeport application is not started (its scope is not there): no members.
    ArgumentError -> []
  end

  @doc "The workers of pool `name` on other nodes."
  @spec remote_members(term()) :: [pid()]
  def remote_members(name) do
    here = node()
    for pid <- members(name), node(pid) != here, do: pid
  end

  @doc "Whether pool `name` runs on some other connected node."
  @spec running_elsewhere?(term()) :: boolean()
  def running_elsewhere?(name), do: remote_members(name) != []

  @doc "The other connected nodes that run pool `name`."
  @spec nodes(term()) :: [node()]
  def nodes(name), do: name |> remote_members() |> Enum.map(&node/1) |> Enum.uniq()

  @doc """
  Wait until pool `name` runs on this node or on a connected one: `:pg`
  learns another node's groups shortly after the nodes connect, so a node
  that only calls pools of others waits for this before its first call.
  """
  @spec await_pool(term(), timeout()) :: :ok | :timeout
  def await_pool(name, timeout \\ 5_000) do
    deadline = if timeout == :infinity, do: :infinity, else: System.monotonic_time(:millisecond) + timeout
    await_members(name, deadline)
  end

  defp await_members(name, deadline) do
    cond do
      members(name) != [] ->
        :ok

      deadline != :infinity and System.monotonic_time(:millisecond) >= deadline ->
        :timeout

      true ->
        Process.sleep(10)
        await_members(name, deadline)
    end
  end

  defp group(name), do: {:snakeport_pool, name}

  # -- where this node's sessions live on other nodes ------------------------------

  @doc """
  The remote worker for `session` of pool `name`: the one it went to before,
  while that worker is still a member (and on node `pin`, when given); else
  among the pool's workers on other nodes (on `pin` only), the one holding
  the fewest of this node's sessions.  The worker has the last word: it may
  send the session to a less busy sibling (`restick/3`).
  """
  @spec route(term(), String.t(), node() | nil) :: {:ok, pid()} | {:error, Error.t()}
  def route(name, session, pin) do
    members = remote_members(name)

    case :ets.lookup(@sticky, {name, session}) do
      [{_, pid}] when pin == nil or node(pid) == pin ->
        if pid in members, do: {:ok, pid}, else: choose(name, session, members, pin, pid)

      [{_, previous}] ->
        choose(name, session, members, pin, previous)

      [] ->
        choose(name, session, members, pin, nil)
    end
  end

  defp choose(name, session, members, pin, previous) do
    case if(pin, do: Enum.filter(members, &(node(&1) == pin)), else: members) do
      [] ->
        {:error, unavailable(name, pin)}

      candidates ->
        pid = Enum.min_by(candidates, &sessions_on/1)
        stick(name, session, pid, previous)
        {:ok, pid}
    end
  end

  @doc "`session` of pool `name` is served by remote worker `pid` now (the worker said so)."
  @spec restick(term(), String.t(), pid()) :: :ok
  def restick(name, session, pid) do
    previous =
      case :ets.lookup(@sticky, {name, session}) do
        [{_, previous}] -> previous
        [] -> nil
      end

    stick(name, session, pid, previous)
  end

  defp stick(_name, _session, pid, pid), do: :ok

  defp stick(name, session, pid, previous) do
    :ets.insert(@sticky, {{name, session}, pid})
    :ets.update_counter(@meta, {:sessions, pid}, 1, {{:sessions, pid}, 0})
    if previous, do: uncount(previous)
    :ok
  end

  @doc "Forget where `session` of pool `name` went (released, or its owner exited)."
  @spec forget(term(), String.t()) :: :ok
  def forget(name, session) do
    case :ets.take(@sticky, {name, session}) do
      [{_, pid}] -> uncount(pid)
      [] -> :ok
    end

    :ok
  rescue
    ArgumentError -> :ok
  end

  defp uncount(pid) do
    :ets.update_counter(@meta, {:sessions, pid}, -1, {{:sessions, pid}, 1})
    :ok
  end

  defp sessions_on(pid) do
    case :ets.lookup(@meta, {:sessions, pid}) do
      [{_, n}] -> n
      [] -> 0
    end
  end

  @doc "The error for a pool that no connected node (or not node `pin`) runs."
  @spec unavailable(term(), node() | nil) :: Error.t()
  def unavailable(name, nil) do
    case last_seen(name) do
      nil ->
        Error.new(
          "PoolNotStarted",
          "SnakePort pool #{inspect(name)} runs neither here nor on a connected node"
        )

      node ->
        if node in Node.list() do
          Error.new(
            "WorkerDown",
            "SnakePort pool #{inspect(name)} has no worker up on #{node}, where it ran (restarting or stopped)"
          )
        else
          Error.new(
            "NodeDown",
            "SnakePort pool #{inspect(name)} runs on no connected node (it ran on #{node}, which is gone)"
          )
        end
    end
  end

  def unavailable(name, pin) do
    if pin in Node.list(),
      do: Error.new("PoolNotStarted", "SnakePort pool #{inspect(name)} does not run on node #{pin}"),
      else: Error.new("NodeDown", "node #{pin}, asked for SnakePort pool #{inspect(name)}, is not connected")
  end

  # -- remote pools' settings ----------------------------------------------------------

  @doc "The cached settings of remote pool `name` (a `SnakePort.Remote`), or nil."
  @spec info(term()) :: SnakePort.Remote.t() | nil
  def info(name) do
    case :ets.lookup(@meta, {:info, name}) do
      [{_, remote}] -> remote
      [] -> nil
    end
  rescue
    ArgumentError -> nil
  end

  @doc false
  @spec put_info(SnakePort.Remote.t(), node()) :: true
  def put_info(remote, node) do
    :ets.insert(@meta, [{{:info, remote.name}, remote}, {{:seen, remote.name}, node}])
  end

  @doc "Whether pool `name` was ever seen on another node (it may be gone now)."
  @spec seen?(term()) :: boolean()
  def seen?(name), do: last_seen(name) != nil

  defp last_seen(name) do
    case :ets.lookup(@meta, {:seen, name}) do
      [{_, node}] -> node
      [] -> nil
    end
  rescue
    ArgumentError -> nil
  end

  # -- messages from Python to processes of this node -----------------------------------

  @doc """
  Have the node of `pid` deliver a `{:send, pid, term}` frame `bin` from a
  worker of another node: this server there decodes it (with `decoder`, the
  pool's translator, as from `origin`) and sends the term, or tells the
  worker why not (`{:snakeport_send_failed, pid, reason}`).  Through one
  server per node, so the messages of one worker arrive in order.
  `:noconnect` when that node is not connected.
  """
  @spec relay(pid(), binary(), map(), SnakePort.Translator.origin()) :: :ok | :noconnect
  def relay(pid, bin, decoder, origin) do
    :erlang.send({__MODULE__, node(pid)}, {:snakeport_relay, self(), pid, bin, decoder, origin}, [:noconnect])
  end

  defp deliver(worker, pid, bin, decoder, origin) do
    case SnakePort.Wire.decode(bin) do
      {:ok, {:send, ^pid, term}} ->
        if Process.alive?(pid),
          do: send(pid, SnakePort.Translator.decode(decoder, term, origin)),
          else: send(worker, {:snakeport_send_failed, pid, "process #{inspect(pid)} is not alive"})

      {:error, why} ->
        reason = "a message from Python to #{inspect(pid)} could not be decoded on its node: #{why}"
        send(worker, {:snakeport_send_failed, pid, reason})

      {:ok, _other} ->
        :ok
    end
  end

  # -- the server: owns the tables, forgets what lived on nodes that went down ------

  @doc false
  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(_opts), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  @impl true
  def init(:ok) do
    :ets.new(@sticky, [:named_table, :public, :set, read_concurrency: true, write_concurrency: true])
    :ets.new(@meta, [:named_table, :public, :set, read_concurrency: true, write_concurrency: true])
    :ok = :net_kernel.monitor_nodes(true)
    {:ok, nil}
  end

  @impl true
  def handle_info({:nodedown, node}, state) do
    :ets.select_delete(@sticky, [{{:_, :"$1"}, [{:==, {:node, :"$1"}, node}], [true]}])
    :ets.select_delete(@meta, [{{{:sessions, :"$1"}, :_}, [{:==, {:node, :"$1"}, node}], [true]}])
    # A pool's settings are asked again of whichever node serves it next.
    :ets.match_delete(@meta, {{:info, :_}, :_})
    {:noreply, state}
  end

  def handle_info({:snakeport_relay, worker, pid, bin, decoder, origin}, state) do
    deliver(worker, pid, bin, decoder, origin)
    {:noreply, state}
  end

  def handle_info(_other, state), do: {:noreply, state}
end
