defmodule SnakePort.Conn do
  @moduledoc """
  One connection to one adapter process, as data: the port, the adapter's
  ready info, the requests in flight, the callbacks running, the recorder.

  Like Mint's connections, a `Conn` has no process of its own; the worker
  that owns the port holds it and calls these functions, which return the
  new conn and the *responses* the worker must act on (messages to callers,
  tasks to start, lines to log).  The functions do the adapter's I/O
  themselves (writing frames, recording) and keep the pending table (an ETS
  table callers write to as well, see `SnakePort.Pending`).

  Frames are routed, not decoded: `handle_data/2` reads a reply's or chunk's
  id from its first bytes and hands the binary to whoever waits for it;
  only the rare frames addressed to the worker itself (`send`, `stuck`,
  `protocol_error`) are decoded here.
  """

  alias SnakePort.{Callback, Error, Launcher, Pending, Recorder, Wire}
  alias SnakePort.Pending.{Call, Stream}

  @enforce_keys [:pool, :index, :pending, :port, :launched]
  defstruct [
    :pool,
    :index,
    :pending,
    :port,
    :launched,
    :recorder,
    info: %{},
    callbacks: %{},
    stuck: MapSet.new()
  ]

  @type t :: %__MODULE__{
          pool: term(),
          index: non_neg_integer(),
          pending: Pending.t(),
          port: port() | nil,
          launched: Launcher.Launched.t() | nil,
          recorder: Recorder.t(),
          info: map(),
          callbacks: %{reference() => Callback.Running.t()},
          stuck: MapSet.t(non_neg_integer())
        }

  @typedoc "What the worker does after `handle_data/2` or `close/2`."
  @type response ::
          {:reply, Call.t() | Pending.Remote.t(), binary()}
          | {:chunk, Stream.t(), binary()}
          | {:done, Stream.t(), binary()}
          | {:fail, Pending.entry(), Error.t()}
          | {:callback, non_neg_integer(), binary(), pos_integer()}
          | {:message, pid(), term()}
          | {:relay, pid(), binary()}
          | {:stuck, non_neg_integer(), map()}
          | {:log, :warning | :error, String.t()}

  @doc """
  Start the adapter and wait for its `{:ready, info}`; on failure, the error
  says what was started and why it failed (exit status, last stderr lines,
  the adapter's `startup_error`).
  """
  @spec open(term(), non_neg_integer(), keyword(), Pending.t()) :: {:ok, t()} | {:error, Error.t()}
  def open(pool, index, opts, pending) do
    with {:ok, recorder} <- open_recorder(opts[:record], index),
         {:ok, launched} <- Launcher.open(opts) do
      conn = %__MODULE__{pool: pool, index: index, pending: pending, port: launched.port, launched: launched}
      await_ready(%{conn | recorder: recorder}, opts[:ready_timeout])
    end
  end

  defp open_recorder(path, index) do
    {:ok, path |> Recorder.path_for(index) |> Recorder.open()}
  rescue
    error in ArgumentError -> {:error, Error.new("WorkerDown", error.message)}
  end

  defp await_ready(%__MODULE__{port: port} = conn, timeout) do
    receive do
      {^port, {:data, bin}} ->
        Recorder.record(conn.recorder, :out, bin)

        case Wire.decode(bin) do
          {:ok, {:ready, info}} when is_map(info) ->
            {:ok, %{conn | info: info}}

          {:ok, {:startup_error, error}} when is_map(error) ->
            start_failed(conn, "failed to start: #{error["type"]}: #{error["message"]}", false)

          {:ok, other} ->
            start_failed(conn, "sent #{inspect(other, limit: 5)} instead of {:ready, info}", true)

          {:error, why} ->
            start_failed(conn, "sent a first frame that could not be decoded: #{why}", true)
        end

      {^port, {:exit_status, status}} ->
        start_failed(conn, "exited with status #{status} before it was ready", true)
    after
      timeout -> start_failed(conn, "sent no {:ready, info} within #{timeout} ms", true)
    end
  end

  defp start_failed(conn, cause, quote_stderr?) do
    lines = if quote_stderr?, do: Launcher.last_lines(conn.launched, 10), else: []
    close_port(conn)
    {:error, Error.new("WorkerDown", describe(conn, cause) <> stderr(lines))}
  end

  defp describe(conn, what) do
    "the Python adapter of pool #{inspect(conn.pool)} worker #{conn.index} " <>
      "(#{conn.launched.command}) #{what}"
  end

  defp stderr([]), do: ""
  defp stderr(lines), do: "; its last stderr lines:\n" <> Enum.map_join(lines, "\n", &("    " <> &1))

  @doc "Tell Python that its next `snakeport.send` to `pid` fails, and why."
  @spec refuse_send(t(), pid(), String.t()) :: :ok | {:error, :closed}
  def refuse_send(conn, pid, reason), do: write(conn, Wire.send_failed(pid, reason))

  @doc "The adapter's process id (from its ready info)."
  @spec python_pid(t()) :: integer() | nil
  def python_pid(%__MODULE__{info: info}), do: info["pid"]

  @doc "Write one frame to the adapter (recording it first)."
  @spec write(t(), iodata()) :: :ok | {:error, :closed}
  def write(%__MODULE__{port: port, recorder: recorder}, frame) do
    Recorder.record(recorder, :in, frame)
    Port.command(port, frame)
    :ok
  rescue
    ArgumentError -> {:error, :closed}
  end

  @doc """
  Register push stream `id` (the caller has encoded `frame`) and send it.
  """
  @spec stream(t(), non_neg_integer(), Stream.t(), iodata()) :: :ok | {:error, :closed}
  def stream(conn, id, %Stream{} = entry, frame) do
    Pending.put(conn.pending, id, entry)

    case write(conn, frame) do
      :ok ->
        :ok

      error ->
        Pending.take(conn.pending, id)
        error
    end
  end

  @doc "A frame from the adapter: who gets it."
  @spec handle_data(t(), binary()) :: {:ok, t(), [response()]}
  def handle_data(conn, bin) do
    Recorder.record(conn.recorder, :out, bin)

    case Wire.peek(bin) do
      {:reply, id} -> {:ok, conn, reply(conn, id, bin)}
      {:chunk, id} -> {:ok, conn, chunk(conn, id, bin)}
      {:callback, id} -> {:ok, conn, [{:callback, id, bin, map_size(conn.callbacks) + 1}]}
      :send -> {:ok, conn, message(conn, bin)}
      _stuck_or_other -> other(conn, bin)
    end
  end

  # A reply whose entry is gone was answered already (a timeout): dropped quietly.
  defp reply(conn, id, bin) do
    case Pending.take(conn.pending, id) do
      %Call{} = call -> [{:reply, call, bin}]
      %Stream{} = stream -> [{:done, stream, bin}]
      nil -> []
      %Pending.Remote{} = remote -> [{:reply, remote, bin}]
    end
  end

  defp chunk(conn, id, bin) do
    case Pending.get(conn.pending, id) do
      %Stream{} = stream -> [{:chunk, stream, bin}]
      _ -> []
    end
  end

  # A message to a process of another node is decoded there (its atoms exist there):
  # the frame goes to that node as it came (`SnakePort.Cluster.relay/2`).
  defp message(conn, bin) do
    case Wire.send_target(bin) do
      pid when is_pid(pid) and node(pid) != node() -> [{:relay, pid, bin}]
      _ -> local_message(conn, bin)
    end
  end

  defp local_message(conn, bin) do
    case Wire.decode(bin) do
      {:ok, {:send, pid, term}} when is_pid(pid) ->
        if node(pid) == node() and not Process.alive?(pid) do
          refuse_send(conn, pid, "process #{inspect(pid)} is not alive")
          []
        else
          [{:message, pid, term}]
        end

      {:ok, {:send, target, _term}} ->
        [{:log, :warning, "#{describe(conn, "sent a message to #{inspect(target)}, which is not a pid")}"}]

      {:error, why} ->
        case Wire.send_target(bin) do
          nil ->
            [{:log, :warning, describe(conn, "sent a message that could not be decoded: #{why}")}]

          pid ->
            reason = "a message from Python to #{inspect(pid)} could not be decoded: #{why}"
            refuse_send(conn, pid, reason)
            [{:log, :warning, describe(conn, "sent " <> reason)}]
        end
    end
  end

  defp other(conn, bin) do
    case Wire.decode(bin) do
      {:ok, {:stuck, id, info}} when is_integer(id) and is_map(info) ->
        if MapSet.member?(conn.stuck, id),
          do: {:ok, conn, []},
          else: {:ok, %{conn | stuck: MapSet.put(conn.stuck, id)}, [{:stuck, id, info}]}

      {:ok, {:protocol_error, error}} when is_map(error) ->
        {:ok, conn, [{:log, :warning, "SnakePort adapter protocol error: #{error["message"]}"}]}

      {:ok, other} ->
        {:ok, conn,
         [{:log, :warning, describe(conn, "sent an unexpected frame #{inspect(other, limit: 10)}")}]}

      {:error, why} ->
        {:ok, conn, [{:log, :error, describe(conn, "sent a frame that could not be decoded: #{why}")}]}
    end
  end

  @doc "A callback's task started."
  @spec put_callback(t(), reference(), Callback.Running.t()) :: t()
  def put_callback(conn, ref, %Callback.Running{} = running),
    do: %{conn | callbacks: Map.put(conn.callbacks, ref, running)}

  @doc "A callback's task is over: its entry (nil if unknown), and the conn without it."
  @spec pop_callback(t(), reference()) :: {Callback.Running.t() | nil, t()}
  def pop_callback(conn, ref) do
    {running, callbacks} = Map.pop(conn.callbacks, ref)
    {running, %{conn | callbacks: callbacks}}
  end

  @doc "The error for an adapter that exited with `status` while serving."
  @spec exited(t(), integer()) :: Error.t()
  def exited(conn, status) do
    lines = Launcher.last_lines(conn.launched, 10)
    Error.new("WorkerDown", describe(conn, "exited with status #{status}") <> stderr(lines))
  end

  @doc """
  Close the connection: every request in flight is answered with `error`,
  running callbacks are forgotten (their late answers are dropped), the port
  and the recorder are closed.
  """
  @spec close(t(), Error.t()) :: [response()]
  def close(conn, %Error{} = error) do
    for {_ref, running} <- conn.callbacks, running.timer, do: Process.cancel_timer(running.timer)
    close_port(conn)
    Recorder.close(conn.recorder)
    for {_id, entry} <- Pending.take_all(conn.pending), do: {:fail, entry, error}
  end

  defp close_port(conn) do
    if conn.port && Port.info(conn.port), do: Port.close(conn.port)
    Launcher.discard(conn.launched)
  rescue
    ArgumentError -> Launcher.discard(conn.launched)
  end
end
