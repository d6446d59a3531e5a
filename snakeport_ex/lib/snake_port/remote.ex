defmodule SnakePort.Remote do
  @moduledoc """
  A pool that runs on other nodes, called from this one.

  `Port.command/2` only works on the port's own node, so a caller on another
  node cannot write to the adapter itself.  The remote path is one message
  each way: the caller encodes its request as it does locally and sends the
  binary to a worker of the pool on its node, which takes a request id,
  registers the caller in its pending table and writes the frame (the
  request's bytes spliced in, never decoded there); the reply binary goes
  straight back to the caller, which decodes it in its own process.

  The caller monitors the worker, and the monitor is also the alias the
  reply is sent to (so a reply that comes after a timeout is dropped by the
  runtime).  A worker that exits, or a node that goes down or is cut off,
  answers a call in flight at once with a `WorkerDown` or `NodeDown` error
  naming the node: at once for a node that dies or disconnects, within the
  distribution's tick time (`net_ticktime`) for a silent partition.

  A session new to this node goes to the remote worker holding the fewest
  of this node's sessions (`SnakePort.Cluster.route/3`); the worker's node
  has the last word: it sticks the session to a worker in the same table its
  own callers use, and a worker busier than a sibling sends a new session
  there (`{:moved, pid}`; the caller resends and remembers).  An
  auto-session is owned on the worker's node by the caller's pid, so it is
  released there when the caller exits or its node disconnects.

  The struct holds what a caller needs of the remote pool's settings (its
  translator and the translator's context, its default timeout and callback
  depth), asked once of one of its workers and cached.
  """

  alias SnakePort.{Callback, Cluster, Error, Pending, Push, Route, Router, Translator, Wire}

  @enforce_keys [:name]
  defstruct [
    :name,
    translator: SnakePort.Translator.Wire,
    context: nil,
    decode_origin: false,
    default_timeout: 120_000,
    max_callback_depth: 50
  ]

  @type t :: %__MODULE__{
          name: term(),
          translator: module(),
          context: term(),
          decode_origin: boolean(),
          default_timeout: timeout(),
          max_callback_depth: pos_integer()
        }

  @typedoc "Where a remote request goes: a worker pid, or a worker's registered name on its node."
  @type dest :: pid() | {atom(), node()}

  @cancel_wait 5_000
  @max_moves 3

  @doc """
  Remote pool `name`: its settings as cached, else asked of one of its
  workers (worker `{node, index}`, or one on node `pin`, when given).
  """
  @spec lookup(term(), node() | {node(), non_neg_integer()} | nil) :: {:ok, t()} | {:error, Error.t()}
  def lookup(name, where \\ nil) do
    case Cluster.info(name) do
      %__MODULE__{} = remote -> {:ok, remote}
      nil -> fetch(name, where)
    end
  end

  defp fetch(name, {node, index}) do
    if connected?(node),
      do: settings(name, {Route.worker_name(name, index), node}),
      else: {:error, not_connected(name, node, index)}
  end

  defp fetch(name, pin) do
    members = Cluster.remote_members(name)

    case if(pin, do: Enum.filter(members, &(node(&1) == pin)), else: members) do
      [] -> {:error, Cluster.unavailable(name, pin)}
      [pid | _] -> settings(name, pid)
    end
  end

  defp settings(name, dest) do
    settings = GenServer.call(dest, :snakeport_settings, 5_000)

    remote =
      struct!(
        __MODULE__,
        Map.merge(settings, %{name: name, decode_origin: Translator.origin?(settings.translator)})
      )

    Cluster.put_info(remote, node_of(dest))
    {:ok, remote}
  catch
    :exit, reason ->
      {:error, gone(name, dest, down_reason(reason))}
  end

  # -- calls -------------------------------------------------------------------------

  @doc """
  Run `request` (a wire map) on the remote pool.  Options as
  `SnakePort.request/3`: `session:`, `timeout:`, `node:` (only workers of
  that node), `worker: {node, index}` (that worker, as a ref records it).
  """
  @spec request(t(), map(), keyword()) :: {:ok, term()} | {:error, Error.t() | :timeout}
  def request(%__MODULE__{} = remote, request, opts) do
    {session, owner} = session(remote, opts)

    with {:ok, request} <- Callback.check_depth(request, remote.max_callback_depth),
         {:ok, dest} <- destination(remote, session, opts) do
      body = :erlang.term_to_binary(Map.put(request, "session_id", session))
      timeout = Keyword.get(opts, :timeout, remote.default_timeout)
      what = {session, owner, pinned?(opts), body, Keyword.get(opts, :node)}
      call(remote, dest, what, timeout, @max_moves)
    end
  end

  # An auto-session is owned by its process (released on the worker's node when it exits).
  defp session(remote, opts) do
    case Keyword.get(opts, :session) do
      nil -> {Router.auto_session(remote.name), self()}
      session -> {session, nil}
    end
  end

  # A request for one worker (`worker:`) sticks a new session there, however busy.
  defp pinned?(opts), do: :lists.keymember(:worker, 1, opts)

  defp destination(remote, session, opts) do
    case Keyword.get(opts, :worker) do
      {node, index} ->
        if connected?(node),
          do: {:ok, {Route.worker_name(remote.name, index), node}},
          else: {:error, not_connected(remote.name, node, index)}

      nil ->
        Cluster.route(remote.name, session, Keyword.get(opts, :node))
    end
  end

  defp call(remote, dest, {session, owner, pinned, body, _node} = what, timeout, moves) do
    tag = :erlang.monitor(:process, dest, [{:alias, :demonitor}])
    send(dest, {:snakeport_call, tag, session, owner, pinned, body})

    receive do
      {^tag, index, bin} when is_integer(index) ->
        Process.demonitor(tag, [:flush])
        answer(remote, bin, node_of(dest), index)

      {^tag, {:moved, pid}} ->
        Process.demonitor(tag, [:flush])
        moved(remote, session, pid, moves, fn -> call(remote, pid, what, timeout, moves - 1) end)

      {^tag, {:error, %Error{} = error}} ->
        Process.demonitor(tag, [:flush])
        {:error, on_node(error, node_of(dest))}

      {:DOWN, ^tag, :process, _, reason} ->
        if is_pid(dest), do: Cluster.forget(remote.name, session)

        # The worker was gone before it got the request: another one may serve it
        # (of the pinned node, if any; never for a request pinned to that worker).
        if reason == :noproc and is_pid(dest) and moves > 0 and not pinned,
          do: retry(remote, what, timeout, moves),
          else: {:error, gone(remote.name, dest, reason)}
    after
      timeout ->
        :erlang.send(dest, {:snakeport_cancel, tag}, [:noconnect])
        Process.demonitor(tag, [:flush])

        # A reply that came meanwhile; later ones find the alias gone.
        receive do
          {^tag, _, _} -> :ok
          {^tag, _} -> :ok
        after
          0 -> :ok
        end

        {:error, :timeout}
    end
  end

  defp retry(remote, {session, _owner, _pinned, _body, node} = what, timeout, moves) do
    case Cluster.route(remote.name, session, node) do
      {:ok, pid} -> call(remote, pid, what, timeout, moves - 1)
      error -> error
    end
  end

  defp moved(remote, session, pid, moves, again) do
    if is_pid(pid) and moves > 0 do
      Cluster.restick(remote.name, session, pid)
      again.()
    else
      {:error, Error.new("ProtocolError", "session #{session} of pool #{inspect(remote.name)} keeps moving")}
    end
  end

  defp answer(remote, bin, node, index) do
    case Wire.read_reply(bin) do
      {:ok, value} -> {:ok, Translator.decode(remote, value, {node, index})}
      {:python_error, error} -> {:error, error |> Error.from_wire() |> on_node(node)}
      {:error, _} = error -> error
    end
  end

  # -- push streams ----------------------------------------------------------------------

  @doc """
  Run `request` as a push stream on the remote pool, calling `fun` on each
  item; options and results as `SnakePort.Client.stream/4` (and `node:`,
  `worker:` as `request/3`).  Chunks come straight from the worker; credit
  and cancel go through it.
  """
  @spec stream(t(), map(), keyword(), (term() -> any())) :: {:ok, :done} | {:error, Error.t() | :timeout}
  def stream(%__MODULE__{} = remote, request, opts, fun) when is_function(fun, 1) do
    {session, owner} = session(remote, opts)

    with {:ok, request} <- Callback.check_depth(request, remote.max_callback_depth),
         {:ok, dest} <- destination(remote, session, opts) do
      request = Push.request(request, session, opts)

      run = %{
        remote: remote,
        session: session,
        owner: owner,
        pinned: pinned?(opts),
        body: :erlang.term_to_binary(request),
        fun: fun,
        deadline: Push.deadline(Keyword.get(opts, :timeout, :infinity))
      }

      open_stream(run, dest, @max_moves)
    end
  end

  defp open_stream(run, dest, moves) do
    tag = Process.monitor(dest)
    entry = %Pending.Stream{tag: tag, caller: self()}

    message = {:snakeport_stream, run.session, run.owner, run.pinned, run.body, entry}

    case start_stream(run, dest, message) do
      {:ok, id, index} ->
        node = node_of(dest)

        consuming = %{
          id: id,
          tag: tag,
          fun: run.fun,
          deadline: run.deadline,
          decode: &Translator.decode(run.remote, &1, {node, index}),
          credit: fn -> send(dest, {:snakeport_write, nil, Wire.credit(id, 1)}) end,
          cancel: fn -> cancel(dest, id, tag) end,
          final: &final(run.remote, &1, node, index),
          down: &{:error, gone(run.remote.name, dest, &1)}
        }

        Push.consume(consuming)

      {:moved, pid} ->
        Process.demonitor(tag, [:flush])
        moved(run.remote, run.session, pid, moves, fn -> open_stream(run, pid, moves - 1) end)

      {:error, %Error{} = error} ->
        Process.demonitor(tag, [:flush])
        {:error, on_node(error, node_of(dest))}
    end
  end

  defp start_stream(run, dest, message) do
    GenServer.call(dest, message, :infinity)
  catch
    :exit, reason -> {:error, gone(run.remote.name, dest, down_reason(reason))}
  end

  # GenServer.call's exit reasons, as a monitor would have said them.
  defp down_reason({{:nodedown, _node}, _call}), do: :noconnection
  defp down_reason({:noproc, _call}), do: :noproc
  defp down_reason({reason, {GenServer, :call, _}}), do: reason
  defp down_reason(reason), do: reason

  defp final(_remote, {:error, %Error{} = error}, node, _index), do: {:error, on_node(error, node)}

  defp final(remote, bin, node, index) when is_binary(bin) do
    case answer(remote, bin, node, index) do
      {:ok, _done} -> {:ok, :done}
      error -> error
    end
  end

  defp final(_remote, other, node, _index),
    do: {:error, Error.new("ProtocolError", "push stream: #{inspect(other, limit: 5)} from #{node}")}

  # Python closes the generator and answers Cancelled; drop what is in flight.
  defp cancel(dest, id, tag) do
    :erlang.send(dest, {:snakeport_write, nil, Wire.cancel(id)}, [:noconnect])

    receive do
      {^tag, _final_reply} -> :ok
      {:DOWN, ^tag, :process, _, _} -> :ok
    after
      @cancel_wait -> :ok
    end

    Process.demonitor(tag, [:flush])
    Push.flush_chunks(tag)
  end

  # -- stats ---------------------------------------------------------------------------------

  @doc "`SnakePort.stats/1` of the pool on every other node that runs it, each worker with its `node`."
  @spec stats(t()) :: {:ok, %{pool: term(), workers: [map()]}}
  def stats(%__MODULE__{name: name}) do
    workers =
      for node <- Cluster.nodes(name),
          {:ok, %{workers: workers}} <- [remote_stats(node, name)],
          worker <- workers,
          do: Map.put(worker, :node, node)

    {:ok, %{pool: name, workers: workers}}
  end

  defp remote_stats(node, name) do
    :erpc.call(node, SnakePort, :stats, [name], 10_000)
  catch
    _kind, _reason -> :unreachable
  end

  # -- errors ----------------------------------------------------------------------------------

  @doc false
  @spec connected?(node()) :: boolean()
  def connected?(node), do: node in Node.list()

  defp node_of(pid) when is_pid(pid), do: node(pid)
  defp node_of({_name, node}), do: node

  # Every error of a remote call records its node in `context`; SnakePort's own
  # errors and unknown refs (the node may have restarted) name it in the message too.
  @python_named ["RefNotFoundError", "RefEvictedError"]

  defp on_node(%Error{python_type: type} = error, node) do
    error = %{error | context: Map.put(error.context || %{}, "node", node)}

    if error.python_traceback == nil or type in @python_named,
      do: %{error | message: "#{error.message} (on node #{node})"},
      else: error
  end

  defp gone(name, dest, :noconnection) do
    Error.new(
      "NodeDown",
      "node #{node_of(dest)}, running SnakePort pool #{inspect(name)}, went down or was " <>
        "disconnected before replying"
    )
  end

  defp gone(name, dest, :noproc) do
    Error.new("WorkerDown", "no SnakePort worker of pool #{inspect(name)} runs as #{describe(dest)}")
  end

  defp gone(name, dest, reason) do
    Error.new(
      "WorkerDown",
      "the SnakePort worker of pool #{inspect(name)} on node #{node_of(dest)} exited before " <>
        "replying: #{inspect(reason)}"
    )
  end

  defp describe(pid) when is_pid(pid), do: "#{inspect(pid)} on node #{node(pid)}"
  defp describe({name, node}), do: "#{name} on node #{node}"

  defp not_connected(name, node, index) do
    Error.new(
      "NodeDown",
      "node #{node}, which holds worker #{index} of SnakePort pool #{inspect(name)} " <>
        "(and the objects made there), is not connected"
    )
  end
end
