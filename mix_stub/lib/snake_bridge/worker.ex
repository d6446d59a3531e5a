defmodule SnakeBridge.Worker do
  @moduledoc """
  Owns one Python adapter process, opened as a Port.

  Requests from many callers are pipelined on the one Port, each under its
  own request id; replies go back to the caller that asked.  A per-call
  timeout answers `{:error, :timeout}` and tells the adapter to cancel (a
  late reply is dropped).  Replies are decoded with
  `:erlang.binary_to_term(bin, [:safe])`; one carrying an atom this VM has
  never seen becomes an error for that request, never a crashed worker.
  Callbacks: when Python calls an Elixir fun it was given, the adapter sends
  `{:callback, id, fun, args}`; the worker runs the fun in a Task (so it may
  itself call Python through this worker) under a deadline
  (`:callback_timeout`, default 30 s) and answers `{:callback_reply, id,
  {:ok, value} | {:error, %{"kind", "type", "message"}}}`.  A `{:send, pid,
  term}` from Python is delivered with `send/2`; when `pid` is a dead local
  process, Python is told (`{:send_failed, pid, reason}`) so its next send to
  it raises.

  Recording: with `record: path` (a worker option, or a pool's in
  `config :snakebridge, pools: [default: [size: 1, record: "s.frames"]]`;
  worker N > 0 of a pool writes `path.N`), every frame to and from Python is
  appended to the file in the adapter's `--record` format
  (`SnakeBridge.Recorder`), for `python -m snakeport frames dump|replay`.

  When Python exits, every caller in flight gets an error and the worker
  stops, so its supervisor starts a fresh adapter; refs made by the old
  adapter then fail with an error that names the restart.  The adapter's
  stderr goes to the BEAM's stderr.
  """
  use GenServer

  alias SnakeBridge.{Error, Types}

  # Atoms the adapter sends: they must exist before a [:safe] decode.
  @protocol_atoms [
    :ready,
    :reply,
    :ok,
    :error,
    :protocol_error,
    :startup_error,
    :chunk,
    :callback,
    :send,
    :infinity,
    :neg_infinity,
    :nan,
    :call,
    :cancel,
    :credit,
    :callback_reply,
    :send_failed
  ]
  @ready_timeout 60_000

  @type option ::
          {:pool, atom()}
          | {:index, non_neg_integer()}
          | {:callback_timeout, timeout()}
          | {:record, Path.t()}

  @doc false
  def child_spec(opts) do
    %{id: {__MODULE__, opts[:index]}, start: {__MODULE__, :start_link, [opts]}, restart: :permanent}
  end

  @spec start_link([option()]) :: GenServer.on_start()
  def start_link(opts) do
    name = {:via, Registry, {SnakeBridge.WorkerRegistry, {opts[:pool], opts[:index]}}}
    GenServer.start_link(__MODULE__, opts, name: name)
  end

  @doc """
  Run one request map; `timeout` in ms or `:infinity`.

  Returns the adapter's `{:ok, value}` (still in wire form) or
  `{:error, Error.t() | :timeout}`.
  """
  @spec request(pid(), map(), timeout()) :: {:ok, term()} | {:error, Error.t() | :timeout}
  def request(worker, payload, timeout) do
    GenServer.call(worker, {:request, payload, timeout}, :infinity)
  catch
    :exit, reason ->
      {:error, Error.new("WorkerDown", "the SnakeBridge worker exited before replying: #{inspect(reason)}")}
  end

  @doc """
  Start a push stream: `payload` is a `"stream"` request.  The caller then
  receives `{:snakebridge_chunk, id, items}` messages (at most as many
  chunks as it granted credit for) and finally `{:snakebridge_done, id,
  result}`.  A caller that exits cancels its stream.
  """
  @spec open_stream(pid(), map()) :: {:ok, non_neg_integer()} | {:error, Error.t()}
  def open_stream(worker, payload) do
    GenServer.call(worker, {:open_stream, payload, self()}, :infinity)
  catch
    :exit, reason -> {:error, Error.new("WorkerDown", "the SnakeBridge worker exited: #{inspect(reason)}")}
  end

  @doc "Allow push stream `id` to send `n` more chunks."
  @spec credit(pid(), non_neg_integer(), pos_integer()) :: :ok
  def credit(worker, id, n), do: GenServer.cast(worker, {:port_frame, {:credit, id, n}})

  @doc "Cancel push stream `id`: Python closes its generator."
  @spec cancel(pid(), non_neg_integer()) :: :ok
  def cancel(worker, id), do: GenServer.cast(worker, {:port_frame, {:cancel, id}})

  @doc "Python's `{:ready, info}` map for this worker (pid, version, ...)."
  @spec info(pid()) :: map()
  def info(worker), do: GenServer.call(worker, :info)

  @impl true
  def init(opts) do
    Process.flag(:trap_exit, true)
    pool = Keyword.fetch!(opts, :pool)
    index = Keyword.fetch!(opts, :index)
    restarts = SnakeBridge.SessionManager.count_start({pool, index})

    recorder =
      opts |> Keyword.get(:record) |> SnakeBridge.Recorder.path_for(index) |> SnakeBridge.Recorder.open()

    port = open_port()

    receive do
      {^port, {:data, bin}} ->
        SnakeBridge.Recorder.record(recorder, :out, bin)

        case decode(bin) do
          {:ok, {:ready, info}} ->
            {:ok,
             %{
               port: port,
               pool: pool,
               index: index,
               info: info,
               next_id: 1,
               pending: %{},
               callbacks: %{},
               callback_timeout: Keyword.get(opts, :callback_timeout),
               recorder: recorder,
               restarts: restarts - 1
             }}

          {:ok, {:startup_error, error}} ->
            {:stop, {:startup_error, Error.from_wire(error)}}

          other ->
            {:stop, {:bad_first_frame, other}}
        end

      {^port, {:exit_status, status}} ->
        {:stop, {:python_exited, status}}
    after
      @ready_timeout -> {:stop, :adapter_not_ready}
    end
  end

  @impl true
  def handle_call({:request, payload, timeout}, from, state) do
    id = state.next_id
    to_python(state, {:call, id, payload})
    timer = if timeout == :infinity, do: nil, else: Process.send_after(self(), {:timeout, id}, timeout)
    pending = Map.put(state.pending, id, {from, timer})
    {:noreply, %{state | next_id: id + 1, pending: pending}}
  end

  def handle_call({:open_stream, payload, caller}, _from, state) do
    id = state.next_id
    to_python(state, {:call, id, payload})
    monitor = Process.monitor(caller)
    pending = Map.put(state.pending, id, {:push, caller, monitor})
    {:reply, {:ok, id}, %{state | next_id: id + 1, pending: pending}}
  end

  def handle_call(:info, _from, state), do: {:reply, state.info, state}

  @impl true
  def handle_cast({:port_frame, frame}, state) do
    to_python(state, frame)
    {:noreply, state}
  end

  @impl true
  def handle_info({port, {:data, bin}}, %{port: port} = state) do
    SnakeBridge.Recorder.record(state.recorder, :out, bin)

    case decode(bin) do
      {:ok, {:reply, id, result}} ->
        {:noreply, answer(state, id, result(result, state))}

      {:ok, {:chunk, id, items}} ->
        {:noreply, chunk(state, id, items)}

      {:ok, {:callback, callback_id, fun, args}} ->
        {:noreply, start_callback(state, callback_id, fun, args)}

      {:ok, {:send, pid, term}} ->
        deliver(state, pid, term)
        {:noreply, state}

      {:ok, {:protocol_error, error}} ->
        log_protocol_error(error, state)

      {:ok, other} ->
        log_protocol_error(%{"message" => "unexpected frame #{inspect(other, limit: 10)}"}, state)

      {:error, message} ->
        {:noreply, unreadable(state, bin, message)}
    end
  end

  def handle_info({:timeout, id}, state) do
    case Map.pop(state.pending, id) do
      {nil, _} ->
        {:noreply, state}

      {{from, _timer}, pending} ->
        to_python(state, {:cancel, id})
        GenServer.reply(from, {:error, :timeout})
        {:noreply, %{state | pending: pending}}
    end
  end

  def handle_info({task_ref, result}, %{callbacks: callbacks} = state)
      when is_map_key(callbacks, task_ref) do
    Process.demonitor(task_ref, [:flush])
    {:noreply, finish_callback(state, task_ref, result)}
  end

  def handle_info({:callback_timeout, task_ref}, %{callbacks: callbacks} = state)
      when is_map_key(callbacks, task_ref) do
    {callback_id, pid, _timer, timeout} = callbacks[task_ref]
    Process.demonitor(task_ref, [:flush])
    Process.exit(pid, :kill)

    error =
      callback_error(
        "timeout",
        nil,
        "callback #{callback_id} did not return within #{timeout} ms"
      )

    {:noreply, finish_callback(state, task_ref, error)}
  end

  def handle_info({:DOWN, task_ref, :process, _pid, reason}, %{callbacks: callbacks} = state)
      when is_map_key(callbacks, task_ref) do
    error = callback_error("exit", nil, "the callback's process exited: #{inspect(reason)}")
    {:noreply, finish_callback(state, task_ref, error)}
  end

  def handle_info({:DOWN, monitor, :process, _pid, _reason}, state) do
    cancelled =
      for {id, {:push, _caller, ^monitor}} <- state.pending do
        to_python(state, {:cancel, id})
        id
      end

    {:noreply, %{state | pending: Map.drop(state.pending, cancelled)}}
  end

  def handle_info({port, {:exit_status, status}}, %{port: port} = state) do
    {:stop, {:python_exited, status}, state}
  end

  def handle_info({:EXIT, port, reason}, %{port: port} = state), do: {:stop, {:port_closed, reason}, state}
  def handle_info({:EXIT, _pid, reason}, state), do: {:stop, reason, state}
  def handle_info(_other, state), do: {:noreply, state}

  @impl true
  def terminate(reason, state) do
    error =
      Error.new(
        "WorkerDown",
        "the Python adapter of pool #{inspect(state.pool)} worker #{state.index} " <>
          "stopped (#{inspect(reason)}); it is being restarted and the refs it held are gone"
      )

    for {id, pending} <- state.pending do
      case pending do
        {:push, caller, _monitor} ->
          send(caller, {:snakebridge_done, id, {:error, error}})

        {from, timer} ->
          if timer, do: Process.cancel_timer(timer)
          GenServer.reply(from, {:error, error})
      end
    end

    if Port.info(state.port) != nil, do: Port.close(state.port)
    :ok
  end

  # -- helpers ---------------------------------------------------------------

  # Every frame to Python goes out (and into the recording) here.
  defp to_python(state, frame) do
    bin = :erlang.term_to_binary(frame)
    SnakeBridge.Recorder.record(state.recorder, :in, bin)
    Port.command(state.port, bin)
  end

  defp open_port do
    python = SnakeBridge.Config.python()
    args = [SnakeBridge.Config.adapter_path() | SnakeBridge.Config.adapter_args()]
    env = for {name, value} <- SnakeBridge.Config.env(), do: {to_charlist(name), to_charlist(value)}
    Port.open({:spawn_executable, python}, [:binary, {:packet, 4}, :exit_status, args: args, env: env])
  end

  defp start_callback(state, callback_id, fun, args) do
    pool = state.pool
    task = Task.Supervisor.async_nolink(SnakeBridge.TaskSupervisor, fn -> run_fun(fun, args, pool) end)

    timeout = callback_timeout(state)

    timer = if timeout != :infinity, do: Process.send_after(self(), {:callback_timeout, task.ref}, timeout)

    %{state | callbacks: Map.put(state.callbacks, task.ref, {callback_id, task.pid, timer, timeout})}
  end

  # The worker's option, else the application's setting at the time of the call.
  defp callback_timeout(%{callback_timeout: nil}), do: SnakeBridge.Config.callback_timeout()
  defp callback_timeout(%{callback_timeout: timeout}), do: timeout

  defp finish_callback(state, task_ref, result) do
    {{callback_id, _pid, timer, _timeout}, callbacks} = Map.pop(state.callbacks, task_ref)
    if timer, do: Process.cancel_timer(timer)
    to_python(state, {:callback_reply, callback_id, result})
    %{state | callbacks: callbacks}
  end

  # Runs in the callback's Task: wire args in, wire value (or a described failure) out.
  defp run_fun(fun, args, pool) when is_function(fun, length(args)) do
    {:ok, fun |> apply(Types.decode(args, pool)) |> Types.encode()}
  rescue
    exception ->
      callback_error("error", exception.__struct__ |> inspect(), Exception.message(exception))
  catch
    :exit, reason -> callback_error("exit", nil, "the fun exited: #{inspect(reason)}")
    :throw, value -> callback_error("throw", nil, "the fun threw #{inspect(value)}")
  end

  defp run_fun(fun, args, _pool) do
    callback_error("error", "BadArityError", "#{inspect(fun)} cannot take #{length(args)} argument(s)")
  end

  defp callback_error(kind, type, message),
    do: {:error, %{"kind" => kind, "type" => type, "message" => message}}

  defp deliver(state, pid, term) when is_pid(pid) do
    if node(pid) == node() and not Process.alive?(pid) do
      notice = {:send_failed, pid, "process #{inspect(pid)} is not alive"}
      to_python(state, notice)
    else
      send(pid, Types.decode(term, state.pool))
    end
  end

  defp deliver(_state, target, _term) do
    require Logger
    Logger.warning("SnakeBridge worker: Python sent a message to #{inspect(target)}, which is not a pid")
  end

  defp decode(bin) do
    {:ok, :erlang.binary_to_term(bin, [:safe])}
  rescue
    ArgumentError ->
      {:error, "a frame from Python could not be decoded safely (an atom this VM does not know?)"}
  end

  defp answer(state, id, reply) do
    case Map.pop(state.pending, id) do
      {nil, _} ->
        state

      {{:push, caller, monitor}, pending} ->
        Process.demonitor(monitor, [:flush])
        send(caller, {:snakebridge_done, id, reply})
        %{state | pending: pending}

      {{from, timer}, pending} ->
        if timer, do: Process.cancel_timer(timer)
        GenServer.reply(from, reply)
        %{state | pending: pending}
    end
  end

  defp chunk(state, id, items) do
    case state.pending do
      %{^id => {:push, caller, _monitor}} -> send(caller, {:snakebridge_chunk, id, items})
      _ -> :ok
    end

    state
  end

  defp result({:ok, value}, _state), do: {:ok, value}

  defp result({:error, error}, state) when is_map(error) do
    {:error, Error.from_wire(error) |> explain_restart(state)}
  end

  defp result(other, _state), do: {:error, Error.new("ProtocolError", "malformed reply #{inspect(other)}")}

  # After a restart, an unknown ref most likely belonged to the Python
  # process that died: say so.
  defp explain_restart(%Error{python_type: "RefNotFoundError"} = error, %{restarts: restarts} = state)
       when restarts > 0 do
    %{
      error
      | message:
          error.message <>
            " (the Python adapter of pool #{inspect(state.pool)} worker " <>
            "#{state.index} has been restarted #{restarts} time(s); refs made before a restart are gone)"
    }
  end

  defp explain_restart(error, _state), do: error

  # The frame could not be decoded with [:safe]; if it is a reply, its id
  # is readable from the bytes, and that request gets the error.
  defp unreadable(state, bin, message) do
    case reply_id(bin) do
      nil ->
        require Logger
        Logger.error("SnakeBridge worker: #{message}")
        state

      id ->
        answer(state, id, {:error, Error.new("UnsafeTerm", message)})
    end
  end

  defp reply_id(<<131, 104, 3, 119, 5, "reply", rest::binary>>), do: read_int(rest)
  defp reply_id(<<131, 104, 3, 100, 0, 5, "reply", rest::binary>>), do: read_int(rest)
  defp reply_id(_), do: nil

  defp read_int(<<97, id, _::binary>>), do: id
  defp read_int(<<98, id::signed-32, _::binary>>), do: id
  defp read_int(_), do: nil

  defp log_protocol_error(error, state) do
    require Logger
    Logger.warning("SnakeBridge adapter protocol error: #{error["message"]}")
    {:noreply, state}
  end

  @doc false
  def protocol_atoms, do: @protocol_atoms
end
