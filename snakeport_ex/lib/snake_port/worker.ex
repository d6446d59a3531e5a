defmodule SnakePort.Worker do
  @moduledoc """
  Owns one adapter Port and its `SnakePort.Conn`: a thin GenServer.

  Callers do not go through it to call Python: they register, encode, write
  and decode themselves (`SnakePort.Client`).  The worker receives what the
  port sends and routes each reply binary to its caller by id, runs the Elixir
  funs Python calls (in tasks, with a deadline: `:callback_timeout`), delivers
  `snakeport.send` messages, and answers everything in flight when the adapter
  dies.

  **Restarts are the worker's own.**  When Python exits, every caller in
  flight gets a `WorkerDown` error naming the exit, and the worker starts a
  fresh adapter in the same process (so sessions keep their worker; refs made
  by the old adapter then fail with an error that says so).  Crash storms
  back off (`SnakePort.Restarts`; calls made meanwhile wait for the restart,
  within their own timeout), and nothing is escalated to the pool: a sibling
  worker and its refs are never touched.  An adapter that cannot
  start (interpreter or script not found, not executable, exits before it is
  ready, `{:startup_error, ...}`) leaves the worker *down*: the error is
  logged once, and every call routed to the worker answers it.

  **Stuck calls.**  The adapter reports a cancelled call that is still
  running with `{:stuck, id, info}`; the worker logs it once, and with the
  pool option `on_stuck: :restart` restarts its adapter, answering every
  caller in flight with a `WorkerRestarted` error that names the stuck call.

  When the worker records frames (`:record`), callers send their frames
  through it, since the recording file belongs to the worker.

  **Callers on other nodes** cannot write to the port: they send the worker
  their encoded request (`{:snakeport_call, ...}`, see `SnakePort.Remote`),
  which it places (`SnakePort.Router.place/4`), registers and writes; the
  reply binary goes back to the caller as it came.  The worker joins its
  pool's `:pg` group once its adapter has started, so other nodes find it
  (`SnakePort.Cluster`).  Callbacks run on the node the fun came from, and
  `snakeport.send` to a pid on another node is delivered if that node is
  connected (else Python is told, as for a dead pid).
  """
  use GenServer

  require Logger

  alias SnakePort.{
    Callback,
    Cluster,
    Conn,
    Error,
    Pending,
    Pool,
    Restarts,
    Route,
    Router,
    Telemetry,
    Translator,
    Wire
  }

  defstruct [:pool, :index, :opts, :conn, :route, :restarts, state: %Route.State{}, held: [], joined: false]

  @type t :: %__MODULE__{
          pool: Pool.t(),
          index: non_neg_integer(),
          opts: keyword(),
          conn: Conn.t() | nil,
          route: Route.t(),
          state: Route.State.t(),
          restarts: Restarts.t(),
          held: [{non_neg_integer() | nil, binary()}],
          joined: boolean()
        }

  @doc false
  def child_spec({_pool, index, _opts} = arg) do
    %{id: {__MODULE__, index}, start: {__MODULE__, :start_link, [arg]}, restart: :permanent, shutdown: 10_000}
  end

  @doc false
  @spec start_link({Pool.t(), non_neg_integer(), keyword()}) :: GenServer.on_start()
  def start_link({pool, index, _opts} = arg),
    do: GenServer.start_link(__MODULE__, arg, name: Pool.route(pool, index).worker)

  @doc "The adapter's `{:ready, info}` map (Python version, pid, ...), `%{}` while it is down."
  @spec info(GenServer.server()) :: map()
  def info(worker), do: GenServer.call(worker, :info)

  @doc "The worker's own counters (see `SnakePort.stats/1`)."
  @spec stats(GenServer.server()) :: map()
  def stats(worker), do: GenServer.call(worker, :stats)

  @doc "Write a raw, already encoded frame to the adapter (diagnostics and tests)."
  @spec write(GenServer.server(), binary()) :: :ok | {:error, :closed}
  def write(worker, frame), do: GenServer.call(worker, {:write, frame})

  # -- start and restart -----------------------------------------------------------

  @impl true
  def init({pool, index, opts}) do
    Process.flag(:trap_exit, true)
    route = Pool.route(pool, index)
    # Left by a previous worker process: their callers saw it die.
    :ets.delete_all_objects(route.pending)
    state = %__MODULE__{pool: pool, index: index, opts: opts, route: route, restarts: Restarts.new(opts)}
    {:ok, start_adapter(state)}
  end

  # Blocks until the adapter is ready (or failed); meanwhile callers' frames
  # come through the mailbox (the port has no name yet) and go out after.
  defp start_adapter(state) do
    state = publish(state, status: :starting)
    {held, state} = {Enum.reverse(state.held), %{state | held: []}}
    started = System.monotonic_time()

    case Conn.open(state.pool.name, state.index, state.opts, state.route.pending) do
      {:ok, conn} ->
        unless state.route.via_worker, do: name_port(conn.port, state.route.port)
        state = publish(%{state | conn: conn}, status: :up, error: nil)

        event(state, :start, %{duration: System.monotonic_time() - started}, %{
          python_pid: Conn.python_pid(conn),
          restarts: state.restarts.total
        })

        Enum.reduce(held, state, fn {id, frame}, state -> pass_on(state, id, frame) end)

      {:error, error} ->
        Logger.error("SnakePort: #{error.message}")
        event(state, :start_error, %{}, %{error: error})
        state = %{state | conn: nil}
        respond(state, for({_id, entry} <- Pending.take_all(state.route.pending), do: {:fail, entry, error}))
        publish(state, status: :down, error: error)
    end
  end

  # Callers write to the port by this name (see SnakePort.Route); a closed
  # port loses its name, but make sure an old one cannot hold it.
  defp name_port(port, name) do
    if Process.whereis(name), do: Process.unregister(name)
    Process.register(port, name)
  end

  # The restart count is published, so callers can say a ref died with its adapter.
  defp counted(state, restarts),
    do: %{state | restarts: restarts, state: %{state.state | restarts: restarts.total}}

  defp publish(state, changes) do
    published = struct!(state.state, changes)
    Pool.publish_state(state.pool, state.index, published)
    membership(%{state | state: published})
  end

  # Other nodes see the worker while its adapter is up or restarting, not while it is down.
  defp membership(%{joined: false, state: %{status: :up}} = state) do
    :ok = Cluster.join(state.pool.name)
    %{state | joined: true}
  end

  defp membership(%{joined: true, state: %{status: :down}} = state) do
    Cluster.leave(state.pool.name)
    %{state | joined: false}
  end

  defp membership(state), do: state

  # The adapter is gone: answer everything, then restart at once or after a backoff.
  defp adapter_gone(state, error, status, reason) do
    respond(state, Conn.close(state.conn, error))
    event(state, :exit, %{}, %{status: status, error: error})
    {delay, restarts} = Restarts.crashed(state.restarts, System.monotonic_time(:millisecond))
    state = counted(%{state | conn: nil}, restarts)
    event(state, :restart, %{delay: delay}, %{reason: :exit, restarts: restarts.total})

    if delay == 0 do
      start_adapter(state)
    else
      Logger.warning(
        "SnakePort pool #{inspect(state.pool.name)} worker #{state.index}: #{reason}; " <>
          "#{Restarts.recent(restarts)} crashes in #{state.opts[:max_seconds]} s, restarting in #{delay} ms"
      )

      Process.send_after(self(), :restart, delay)
      publish(state, status: :backoff, error: error)
    end
  end

  # -- messages --------------------------------------------------------------------------

  @impl true
  def handle_info({port, {:data, bin}}, %{conn: %Conn{port: port} = conn} = state) do
    {:ok, conn, responses} = Conn.handle_data(conn, bin)
    {:noreply, respond(%{state | conn: conn}, responses)}
  end

  def handle_info({port, {:exit_status, status}}, %{conn: %Conn{port: port} = conn} = state) do
    {:noreply,
     adapter_gone(state, Conn.exited(conn, status), status, "its adapter exited with status #{status}")}
  end

  # A frame a caller could not write itself (recording, or the adapter was restarting).
  def handle_info({:snakeport_write, id, frame}, state) do
    {:noreply, pass_on(state, id, frame)}
  end

  # A caller on another node: its request, encoded, to place, register and write.
  def handle_info({:snakeport_call, tag, session, owner, pinned, body}, state) do
    case Router.place(state.pool, session, state.index, owner, pinned) do
      :here ->
        id = Route.next_id(state.route)
        Pending.put(state.route.pending, id, %Pending.Remote{tag: tag, caller: tag})
        {:noreply, pass_on(state, id, Wire.call_body(id, body))}

      {:moved, index} ->
        :erlang.send(tag, {tag, moved(state, index)}, [:noconnect])
        {:noreply, state}
    end
  end

  # A message this worker relayed could not be delivered on its node.
  def handle_info({:snakeport_send_failed, pid, reason}, state) do
    refuse_send(state, pid, reason)
    {:noreply, state}
  end

  # A remote caller timed out.
  def handle_info({:snakeport_cancel, tag}, state) do
    case Pending.take_remote(state.route.pending, tag) do
      nil -> :ok
      id -> if state.conn, do: Conn.write(state.conn, Wire.cancel(id))
    end

    {:noreply, state}
  end

  def handle_info({ref, {:frame, frame}}, %{conn: %Conn{}} = state) when is_reference(ref) do
    Process.demonitor(ref, [:flush])
    {:noreply, finish_callback(state, ref, fn _running -> frame end)}
  end

  def handle_info({:callback_timeout, ref}, %{conn: %Conn{callbacks: callbacks}} = state)
      when is_map_key(callbacks, ref) do
    %Callback.Running{pid: pid} = callbacks[ref]
    Process.demonitor(ref, [:flush])
    Process.exit(pid, :kill)

    {:noreply,
     finish_callback(state, ref, fn running ->
       error =
         Callback.error("timeout", nil, "callback #{running.id} did not return within #{running.timeout} ms")

       SnakePort.Wire.callback_reply(running.id, error)
     end)}
  end

  def handle_info({:DOWN, ref, :process, _pid, reason}, %{conn: %Conn{callbacks: callbacks}} = state)
      when is_map_key(callbacks, ref) do
    {:noreply,
     finish_callback(state, ref, fn running ->
       error = Callback.error("exit", nil, "the callback's process exited: #{inspect(reason)}")
       SnakePort.Wire.callback_reply(running.id, error)
     end)}
  end

  # A push stream's consumer exited: Python closes its generator.
  def handle_info({:DOWN, _monitor, :process, caller, _reason}, state) do
    for {id, _stream} <- Pending.streams_of(state.route.pending, caller) do
      Pending.take(state.route.pending, id)
      if state.conn, do: Conn.write(state.conn, SnakePort.Wire.cancel(id))
    end

    {:noreply, state}
  end

  def handle_info(:restart, %{conn: nil} = state), do: {:noreply, start_adapter(state)}
  def handle_info(_other, state), do: {:noreply, state}

  @impl true
  def handle_call({:stream, id, %Pending.Stream{} = entry, frame}, _from, %{conn: %Conn{} = conn} = state) do
    entry = %{entry | monitor: Process.monitor(entry.caller)}

    case Conn.stream(conn, id, entry, frame) do
      :ok ->
        {:reply, :ok, state}

      {:error, :closed} ->
        Process.demonitor(entry.monitor, [:flush])
        {:reply, {:error, Error.new("WorkerDown", "the adapter closed before the stream was sent")}, state}
    end
  end

  def handle_call({:stream, _id, _entry, _frame}, _from, state),
    do: {:reply, {:error, down_error(state)}, state}

  # A push stream of a caller on another node: placed like its calls.
  def handle_call({:snakeport_stream, session, owner, pinned, body, %Pending.Stream{} = entry}, from, state) do
    case Router.place(state.pool, session, state.index, owner, pinned) do
      :here ->
        id = Route.next_id(state.route)

        case handle_call({:stream, id, entry, Wire.call_body(id, body)}, from, state) do
          {:reply, :ok, state} -> {:reply, {:ok, id, state.index}, state}
          reply -> reply
        end

      {:moved, index} ->
        {:reply, moved(state, index), state}
    end
  end

  # What a caller on another node needs to know of the pool (SnakePort.Remote).
  def handle_call(:snakeport_settings, _from, %{pool: pool} = state) do
    settings = Map.take(pool, [:translator, :context, :default_timeout, :max_callback_depth])

    {:reply, settings, state}
  end

  def handle_call({:write, frame}, _from, %{conn: %Conn{} = conn} = state),
    do: {:reply, Conn.write(conn, frame), state}

  def handle_call({:write, _frame}, _from, state), do: {:reply, {:error, :closed}, state}
  def handle_call(:info, _from, state), do: {:reply, if(state.conn, do: state.conn.info, else: %{}), state}

  def handle_call(:stats, _from, state) do
    conn = state.conn

    stats = %{
      index: state.index,
      status: state.state.status,
      error: state.state.error && state.state.error.message,
      restarts: state.restarts.total,
      python_pid: conn && Conn.python_pid(conn),
      in_flight: Pending.count(state.route.pending),
      streams: Pending.stream_count(state.route.pending),
      callbacks: if(conn, do: map_size(conn.callbacks), else: 0),
      queue: Process.info(self(), :message_queue_len) |> elem(1)
    }

    {:reply, stats, state}
  end

  @impl true
  def terminate(reason, state) do
    if state.conn do
      error = Error.new("WorkerDown", "the SnakePort worker stopped (#{inspect(reason)})")
      respond(state, Conn.close(state.conn, error))
    end

    :ok
  end

  # -- acting on the conn's responses ----------------------------------------------------

  defp act({:reply, %Pending.Call{tag: tag, caller: caller}, bin}, state) do
    send(caller, {tag, bin})
    state
  end

  # A remote caller learns which worker answered (its refs record it).
  defp act({:reply, %Pending.Remote{tag: tag}, bin}, state) do
    :erlang.send(tag, {tag, state.index, bin}, [:noconnect])
    state
  end

  defp act({:chunk, %Pending.Stream{tag: tag, caller: caller}, bin}, state) do
    send(caller, {tag, :chunk, bin})
    state
  end

  defp act({:done, %Pending.Stream{tag: tag, caller: caller, monitor: monitor}, bin}, state) do
    Process.demonitor(monitor, [:flush])
    send(caller, {tag, bin})
    state
  end

  defp act({:fail, entry, error}, state) do
    if match?(%Pending.Stream{}, entry), do: Process.demonitor(entry.monitor, [:flush])
    send(entry.caller, {entry.tag, {:error, error}})
    state
  end

  defp act({:callback, id, frame, depth}, state) do
    timeout = state.opts[:callback_timeout]
    args = [frame, id, depth, decoder(state), {node(), state.index}]

    {fun, args} =
      case Wire.callback_node(frame) do
        node when node in [nil, node()] -> {:run, args}
        node -> {:run_on, [node | args]}
      end

    task = Task.Supervisor.async_nolink(SnakePort.TaskSupervisor, Callback, fun, args)
    timer = if timeout != :infinity, do: Process.send_after(self(), {:callback_timeout, task.ref}, timeout)
    running = %Callback.Running{id: id, pid: task.pid, timer: timer, timeout: timeout}
    %{state | conn: Conn.put_callback(state.conn, task.ref, running)}
  end

  defp act({:message, pid, term}, state) do
    send(pid, Translator.decode(state.pool, term, {node(), state.index}))
    state
  end

  # Never wait for a connection here: a node that is not connected is as good as dead.
  defp act({:relay, pid, bin}, state) do
    case Cluster.relay(pid, bin, decoder(state), {node(), state.index}) do
      :ok -> :ok
      :noconnect -> refuse_send(state, pid, "node #{node(pid)} of process #{inspect(pid)} is not connected")
    end

    state
  end

  defp act({:stuck, id, info}, state) do
    what = describe_stuck(id, info)
    Logger.warning("SnakePort pool #{inspect(state.pool.name)} worker #{state.index}: #{what}")
    event(state, :stuck, %{}, %{id: id, info: info})

    if state.opts[:on_stuck] == :restart do
      error =
        Error.new(
          "WorkerRestarted",
          "pool #{inspect(state.pool.name)} worker #{state.index} restarted its adapter because #{what}"
        )

      respond(state, Conn.close(state.conn, error))
      state = counted(%{state | conn: nil}, %{state.restarts | total: state.restarts.total + 1})
      event(state, :restart, %{delay: 0}, %{reason: :stuck, restarts: state.restarts.total})
      start_adapter(state)
    else
      state
    end
  end

  defp act({:log, level, message}, state) do
    Logger.log(level, message)
    state
  end

  defp refuse_send(%{conn: %Conn{} = conn}, pid, reason), do: Conn.refuse_send(conn, pid, reason)
  defp refuse_send(_state, _pid, _reason), do: :ok

  defp decoder(%{pool: pool}),
    do: %{translator: pool.translator, context: pool.context, decode_origin: pool.decode_origin}

  # Where a remote caller should send a session that worker `index` serves.
  defp moved(state, index) do
    case Process.whereis(Pool.route(state.pool, index).worker) do
      nil ->
        {:error, Error.new("WorkerDown", "pool #{inspect(state.pool.name)} worker #{index} is restarting")}

      pid ->
        {:moved, pid}
    end
  end

  defp event(state, name, measurements, metadata) do
    Telemetry.execute(
      [:snakeport, :worker, name],
      measurements,
      Map.merge(metadata, %{pool: state.pool.name, index: state.index})
    )
  end

  defp respond(state, []), do: state
  defp respond(state, [response | rest]), do: respond(act(response, state), rest)

  defp describe_stuck(id, info) do
    request = info["request"] || %{}

    call =
      [
        request["call_type"],
        Enum.join(Enum.reject([request["python_module"], request["function"]], &is_nil/1), ".")
      ]
      |> Enum.reject(&(&1 in [nil, ""]))
      |> Enum.join(" ")

    session = if request["session_id"], do: ", session #{request["session_id"]}", else: ""

    "request #{id} (#{call}#{session}) is stuck: still running #{info["running_ms"]} ms after it " <>
      "started and #{info["cancelled_ms"]} ms after it was cancelled"
  end

  defp finish_callback(state, ref, reply) do
    case Conn.pop_callback(state.conn, ref) do
      {nil, _conn} ->
        state

      {running, conn} ->
        if running.timer, do: Process.cancel_timer(running.timer)
        Conn.write(conn, reply.(running))
        %{state | conn: conn}
    end
  end

  # A caller's frame: to the adapter, held while it backs off, answered when it is down.
  defp pass_on(state, id, frame) do
    cond do
      id != nil and not Pending.member?(state.route.pending, id) ->
        state

      state.conn != nil ->
        Conn.write(state.conn, frame)
        state

      state.state.status == :backoff ->
        %{state | held: [{id, frame} | state.held]}

      id != nil ->
        answer_down(state, id)
        state

      true ->
        state
    end
  end

  defp answer_down(state, id) do
    case Pending.take(state.route.pending, id) do
      nil -> :ok
      entry -> act({:fail, entry, down_error(state)}, state)
    end
  end

  defp down_error(state),
    do:
      state.state.error ||
        Error.new("WorkerDown", "pool #{inspect(state.pool.name)} worker #{state.index} is down")
end
