defmodule SnakePort.Remote do
  @moduledoc """
  A pool that runs on other nodes, called from this one.

  `Port.command/2` only works on the port's own node, so a caller on
  another node cannot write to the adapter itself.  The remote path is one
  hop each way: the caller encodes its request (as it does locally) and
  sends the binary to the worker on the pool's node, which takes a request
  id, registers the caller in its pending table and writes the frame; the
  reply binary goes straight back to the caller, which decodes it in its own
  process.  The caller monitors the worker (the monitor is also an alias the
  reply is sent to, so a reply that comes after a timeout is dropped by the
  runtime), hence a worker that exits or a node that goes down or is cut
  off answers a call in flight at once with a `WorkerDown` or `NodeDown`
  error naming the node, within the distribution's tick time
  (`net_ticktime`) for a partition.

  A session new to this node goes to the remote worker holding the fewest
  of this node's sessions (`SnakePort.Cluster.route/3`); the worker's node
  has the last word: the session is stuck there, in the same table the
  node's own callers use, and a worker busier than a sibling moves a new
  session to it (`{:moved, pid}`; the caller resends and remembers).
  Auto-sessions are owned on the worker's node by the caller's pid, so they
  are released there when the caller exits or its node disconnects.

  The struct holds what the caller needs of the remote pool's settings:
  its translator, the translator's context and the default timeouts,
  fetched once from one of its workers.
  """

  alias SnakePort.{Callback, Cluster, Error, Pending, Route, Router, Translator, Wire}

  @enforce_keys [:name, :node]
  defstruct [
    :name,
    :node,
    translator: SnakePort.Translator.Wire,
    context: nil,
    decode_origin: false,
    default_timeout: 120_000,
    max_callback_depth: 50
  ]

  @type t :: %__MODULE__{
          name: term(),
          node: node(),
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
  workers (on node `node` when given).
  """
  @spec lookup(term(), node() | nil) :: {:ok, t()} | {:error, Error.t()}
  def lookup(name, node \\ nil) do
    case Cluster.info(name) do
      %__MODULE__{} = remote -> {:ok, remote}
      nil -> fetch(name, node)
    end
  end

  defp fetch(name, node) do
    members = Cluster.remote_members(name)

    case if(node, do: Enum.filter(members, &(node(&1) == node)), else: members) do
      [] ->
        {:error, Cluster.unavailable(name, node)}

      [pid | _] ->
        settings = GenServer.call(pid, :snakeport_settings, 5_000)
        origin? = Translator.origin?(settings.translator)
        remote = struct!(__MODULE__, Map.merge(settings, %{name: name, node: node(pid), decode_origin: origin?}))
        Cluster.put_info(remote)
        {:ok, remote}
    end
  catch
    :exit, reason ->
      {:error, Error.new("NodeDown", "SnakePort pool #{inspect(name)} could not be reached: #{inspect(reason)}")}
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

    with :ok <- check_depth(remote),
         {:ok, dest} <- destination(remote, session, opts) do
      body = :erlang.term_to_binary(Map.put(request, "session_id", session))
      timeout = Keyword.get(opts, :timeout, remote.default_timeout)
      call(remote, dest, {session, owner, body}, timeout, @max_moves)
    end
  end

  # An auto-session is owned by its process (released on the worker's node when it exits).
  defp session(remote, opts) do
    case Keyword.get(opts, :session) do
      nil -> {Router.auto_session(remote.name), self()}
      session -> {session, nil}
    end
  end

  defp check_depth(remote) do
    depth = Callback.depth()

    if depth >= remote.max_callback_depth,
      do: {:error, Callback.depth_error(depth, remote.max_callback_depth)},
      else: :ok
  end

  defp destination(remote, session, opts) do
    case Keyword.get(opts, :worker) do
      {node, index} ->
        if node in Node.list(),
          do: {:ok, {Route.worker_name(remote.name, index), node}},
          else: {:error, not_connected(remote, node, index)}

      nil ->
        Cluster.route(remote.name, session, Keyword.get(opts, :node))
    end
  end

  defp call(remote, dest, {session, owner, body} = what, timeout, moves) do
    tag = :erlang.monitor(:process, dest, [{:alias, :demonitor}])
    send(dest, {:snakeport_call, tag, session, owner, body})

    receive do
      {^tag, {index, bin}} when is_integer(index) ->
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
        {:error, gone(remote, dest, reason)}
    after
      timeout ->
        :erlang.send(dest, {:snakeport_cancel, tag}, [:noconnect])
        Process.demonitor(tag, [:flush])

        # A reply that came meanwhile; later ones find the alias gone.
        receive do
          {^tag, _} -> :ok
        after
          0 -> :ok
        end

        {:error, :timeout}
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
    case Wire.decode(bin) do
      {:ok, {:reply, _id, {:ok, value}}} ->
        {:ok, Translator.decode(remote, value, node, index)}

      {:ok, {:reply, _id, {:error, error}}} when is_map(error) ->
        {:error, Error.from_wire(error)}

      {:ok, other} ->
        {:error, Error.new("ProtocolError", "malformed reply #{inspect(other, limit: 10)}")}

      {:error, why} ->
        {:error, Error.new("UnsafeTerm", "the reply could not be decoded: #{why}")}
    end
  end

  # -- push streams ----------------------------------------------------------------------

  @doc """
  Run `request` as a push stream on the remote pool, calling `fun` on each
  item; options and results as `SnakePort.Client.stream/4`.  Chunks come
  straight from the worker; credit and cancel go through it.
  """
  @spec stream(t(), map(), keyword(), (term() -> any())) :: {:ok, :done} | {:error, Error.t() | :timeout}
  def stream(%__MODULE__{} = remote, request, opts, fun) when is_function(fun, 1) do
    {session, owner} = session(remote, opts)

    with :ok <- check_depth(remote),
         {:ok, dest} <- destination(remote, session, opts) do
      request =
        Map.merge(request, %{
          "call_type" => "stream",
          "session_id" => session,
          "credit" => Keyword.get(opts, :credit, 2),
          "batch" => Keyword.get(opts, :batch, 1024)
        })

      run = %{
        remote: remote,
        session: session,
        owner: owner,
        body: :erlang.term_to_binary(request),
        fun: fun,
        deadline: deadline(Keyword.get(opts, :timeout, :infinity))
      }

      open_stream(run, dest, @max_moves)
    end
  end

  defp open_stream(run, dest, moves) do
    tag = Process.monitor(dest)
    entry = %Pending.Stream{tag: tag, caller: self()}

    case start_stream(run, dest, {:snakeport_stream, run.session, run.owner, run.body, entry}) do
      {:ok, id, index} ->
        run = Map.merge(run, %{dest: dest, tag: tag, id: id, node: node_of(dest), index: index})

        try do
          chunks(run, 1)
        catch
          kind, reason ->
            cancel(run)
            :erlang.raise(kind, reason, __STACKTRACE__)
        end

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
    :exit, reason -> {:error, gone(run.remote, dest, down_reason(reason))}
  end

  # GenServer.call's exit reasons, as a monitor would have said them.
  defp down_reason({{:nodedown, _node}, _call}), do: :noconnection
  defp down_reason({reason, {GenServer, :call, _}}), do: reason
  defp down_reason(reason), do: reason

  defp chunks(%{tag: tag} = run, n) do
    receive do
      {^tag, :chunk, bin} ->
        case decode_chunk(run, bin) do
          {:ok, items} ->
            if feed(items, run.fun, run.deadline) do
              send(run.dest, {:snakeport_write, nil, Wire.credit(run.id, 1)})
              chunks(run, n + 1)
            else
              cancel(run)
              {:error, :timeout}
            end

          {:error, why} ->
            cancel(run)

            {:error,
             Error.new(
               "UnsafeTerm",
               "chunk #{n} of push stream #{run.id} could not be decoded: #{why}; the stream was cancelled"
             )}
        end

      {^tag, {:error, %Error{} = error}} ->
        Process.demonitor(tag, [:flush])
        {:error, on_node(error, run.node)}

      {^tag, bin} when is_binary(bin) ->
        Process.demonitor(tag, [:flush])

        case answer(run.remote, bin, run.node, run.index) do
          {:ok, _done} -> {:ok, :done}
          error -> error
        end

      {:DOWN, ^tag, :process, _, reason} ->
        {:error, gone(run.remote, run.dest, reason)}
    after
      remaining(run.deadline) ->
        cancel(run)
        {:error, :timeout}
    end
  end

  defp decode_chunk(run, bin) do
    case Wire.decode(bin) do
      {:ok, {:chunk, _id, items}} when is_list(items) ->
        {:ok, Translator.decode(run.remote, items, run.node, run.index)}

      {:ok, other} ->
        {:error, "it is not a chunk: #{inspect(other, limit: 5)}"}

      {:error, _} = error ->
        error
    end
  end

  defp feed([], _fun, _deadline), do: true

  defp feed([item | rest], fun, deadline) do
    if past?(deadline) do
      false
    else
      fun.(item)
      feed(rest, fun, deadline)
    end
  end

  # Python closes the generator and answers Cancelled; drop what is in flight.
  defp cancel(%{dest: dest, id: id, tag: tag}) do
    :erlang.send(dest, {:snakeport_write, nil, Wire.cancel(id)}, [:noconnect])

    receive do
      {^tag, _final_reply} -> :ok
      {:DOWN, ^tag, :process, _, _} -> :ok
    after
      @cancel_wait -> :ok
    end

    Process.demonitor(tag, [:flush])
    flush_chunks(tag)
  end

  defp flush_chunks(tag) do
    receive do
      {^tag, :chunk, _} -> flush_chunks(tag)
    after
      0 -> :ok
    end
  end

  defp deadline(:infinity), do: :infinity
  defp deadline(ms), do: System.monotonic_time(:millisecond) + ms
  defp past?(:infinity), do: false
  defp past?(deadline), do: System.monotonic_time(:millisecond) >= deadline
  defp remaining(:infinity), do: :infinity
  defp remaining(deadline), do: max(deadline - System.monotonic_time(:millisecond), 0)

  # -- stats ---------------------------------------------------------------------------------

  @doc "Every remote node's `SnakePort.stats/1` of the pool, each worker tagged with its `node`."
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

  defp node_of(pid) when is_pid(pid), do: node(pid)
  defp node_of({_name, node}), do: node

  defp on_node(%Error{} = error, node), do: %{error | message: "#{error.message} (on node #{node})"}

  defp gone(remote, dest, :noconnection) do
    Error.new(
      "NodeDown",
      "node #{node_of(dest)}, running SnakePort pool #{inspect(remote.name)}, went down or was " <>
        "disconnected before replying"
    )
  end

  defp gone(remote, dest, :noproc) do
    Error.new(
      "WorkerDown",
      "no SnakePort worker of pool #{inspect(remote.name)} runs as #{inspect(dest)} on node #{node_of(dest)}"
    )
  end

  defp gone(remote, dest, reason) do
    Error.new(
      "WorkerDown",
      "the SnakePort worker of pool #{inspect(remote.name)} on node #{node_of(dest)} exited before " <>
        "replying: #{inspect(reason)}"
    )
  end

  defp not_connected(remote, node, index) do
    Error.new(
      "NodeDown",
      "node #{node}, which holds worker #{index} of SnakePort pool #{inspect(remote.name)} " <>
        "(and the objects made there), is not connected"
    )
  end
end
