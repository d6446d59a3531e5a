defmodule SnakePort.SnakeBridgeClient do
  @moduledoc """
  SnakeBridge's runtime client (`SnakeBridge.RuntimeClient`) on SnakePort:
  every SnakeBridge call runs on SnakePort's adapter over a Port instead of
  Snakepit's gRPC workers.

      # config/config.exs of a SnakeBridge (v0.16) app
      config :snakebridge, runtime_client: SnakePort.SnakeBridgeClient

  (or per process, `Process.put(:snakebridge_runtime_client,
  SnakePort.SnakeBridgeClient)`).  SnakeBridge keeps building its payloads
  and decoding results as before; this module serves the tools it sends:

    * `execute("snakebridge.call", payload, opts)` with every `call_type`:
      absent (`function`, generated modules), `dynamic`, `class`, `method`,
      `get_attr`, `set_attr`, `module_attr`, `helper` (with `helper_config`
      and its `helper_allowlist`) and `stream_next` (the end of a stream is
      `%{"__type__" => "stop_iteration"}`, which SnakeBridge turns into
      `{:error, :stop_iteration}`);
    * `execute("snakebridge.release_ref", ...)` (`{:ok, true | false}`) and
      `execute("snakebridge.release_session", ...)` (`{:ok, count}`, the
      session released in every pool of this client, and unstuck from its
      worker);
    * `execute_stream("snakebridge.stream", payload, callback, opts)`: a push
      stream; `callback` gets one chunk per item in the caller's process,
      then the final marker (`SnakePort.SnakeBridgeClient.Chunks`).

  Any other tool is an `AttributeError`, as in SnakeBridge's Python adapter
  (`snakebridge.helpers`, the compile-time helper index, is not served:
  SnakeBridge runs it as a script, not through its runtime client).

  Options SnakeBridge passes: `:session_id` (when the payload has none),
  `:timeout` (ms; the call is cancelled in Python when it passes),
  `:stream_timeout` (a stream's whole deadline, else `:timeout`),
  `:pool_name` (`SnakePort.SnakeBridgeClient.Settings`), and SnakePort's own
  from `__runtime__`: `arrays: :tensor`, `thread: :main`, `credit:` and
  `batch:` (push stream flow control).  Payloads and results are translated
  by `Request` and `Values`, failures shaped by `Errors`; Elixir funs
  passed to Python run through SnakeBridge's `CallbackRegistry` over
  SnakePort's callback channel (`Callbacks`).

  SnakePort has no dependency on SnakeBridge or Snakepit: their modules are
  used when loaded (a SnakeBridge app compiles against both).  So this
  module declares no `@behaviour`; its two functions have the callbacks'
  names, arities and results.
  """

  alias SnakePort.SnakeBridgeClient.{Chunks, Errors, Request, Settings}

  @typedoc "SnakeBridge's tool name, e.g. `\"snakebridge.call\"`."
  @type tool :: String.t()

  @doc """
  Run tool `tool` with SnakeBridge's `payload`: `{:ok, value}` (in the form
  `SnakeBridge.Types.decode/1` reads) or `{:error, reason}`
  (`SnakePort.SnakeBridgeClient.Errors`).  Never raises.
  """
  @spec execute(tool(), map(), keyword()) :: {:ok, term()} | {:error, term()}
  def execute(tool, payload, opts \\ [])

  def execute("snakebridge.call" = tool, payload, opts) when is_map(payload) do
    run(tool, payload, opts, fn pool, meta ->
      with {:ok, request} <- Request.call(payload, opts) do
        SnakePort.request(pool, request, call_opts(payload, opts)) |> Errors.reply(meta)
      end
    end)
  end

  def execute("snakebridge.release_ref" = tool, payload, opts) when is_map(payload) do
    run(tool, payload, opts, fn pool, meta ->
      with {:ok, request} <- Request.release_ref(payload) do
        SnakePort.request(pool, request, call_opts(payload, opts)) |> Errors.reply(meta)
      end
    end)
  end

  def execute("snakebridge.release_session" = tool, payload, opts) when is_map(payload) do
    session = Request.session(payload, opts)
    meta = meta(tool, payload, nil, opts)

    with :ok <- refused(Request.check_protocol(payload), meta) do
      Settings.running()
      |> Enum.reduce_while({:ok, 0}, fn pool, {:ok, total} ->
        case SnakePort.release_session(pool, session, timeout_opt(timeout(opts))) do
          {:ok, count} when is_integer(count) -> {:cont, {:ok, total + count}}
          {:ok, _} -> {:cont, {:ok, total}}
          error -> {:halt, Errors.reply(error, %{meta | pool: pool.name})}
        end
      end)
    end
  end

  def execute(tool, payload, opts) when is_map(payload) do
    unsupported(tool, payload, opts)
  end

  @doc """
  Run `snakebridge.stream` as a push stream, calling `callback` with
  `%{"data" => item, "is_final" => false}` per item and `%{"is_final" =>
  true}` after the last: `:ok`, or `{:error, reason}`.  `callback` returning
  `:halt` (`:ok`) or `{:halt, reason}` (`{:error, reason}`) stops the stream
  and cancels it in Python; a raise ends it with `{:error,
  {:callback_exception, exception, stacktrace}}`.
  """
  @spec execute_stream(tool(), map(), (map() -> term()), keyword()) :: :ok | {:error, term()}
  def execute_stream(tool, payload, callback, opts \\ [])

  def execute_stream("snakebridge.stream" = tool, payload, callback, opts)
      when is_map(payload) and is_function(callback, 1) do
    run(tool, payload, opts, fn pool, meta ->
      with {:ok, request} <- Request.stream(payload, opts) do
        tag = make_ref()
        stream_opts = stream_opts(payload, opts)
        meta = Map.put(meta, :timeout, stream_opts[:timeout])

        Chunks.run(tag, fn ->
          case SnakePort.stream(pool, request, stream_opts, Chunks.feeder(callback, tag)) do
            {:ok, :done} ->
              callback.(Chunks.final())
              :ok

            error ->
              Errors.reply(error, meta)
          end
        end)
      end
    end)
  end

  def execute_stream(tool, payload, _callback, opts) when is_map(payload) do
    unsupported(tool, payload, opts)
  end

  # -- the common steps ------------------------------------------------------------------

  defp run(tool, payload, opts, fun) do
    meta = meta(tool, payload, nil, opts)

    case Settings.pool(opts) do
      {:ok, pool} ->
        meta = %{meta | pool: pool.name}

        case fun.(pool, meta) do
          {:error, {:refused, type, message}} -> {:error, Errors.python_error(type, message, meta)}
          result -> result
        end

      {:error, error} ->
        Errors.reply({:error, error}, meta)
    end
  end

  defp refused(:ok, _meta), do: :ok

  defp refused({:error, {:refused, type, message}}, meta),
    do: {:error, Errors.python_error(type, message, meta)}

  defp unsupported(tool, payload, opts) do
    message = "Tool '#{tool}' not supported by SnakePort.SnakeBridgeClient"
    {:error, Errors.python_error("AttributeError", message, meta(tool, payload, nil, opts))}
  end

  defp meta(tool, payload, pool, opts),
    do: %{tool: tool, payload: payload, pool: pool, timeout: timeout(opts)}

  defp call_opts(payload, opts) do
    [session: Request.session(payload, opts)] ++ timeout_opt(timeout(opts))
  end

  defp stream_opts(payload, opts) do
    deadline = Keyword.get(opts, :stream_timeout) || timeout(opts) || :infinity
    flow = Keyword.take(opts, [:credit, :batch])
    [session: Request.session(payload, opts), timeout: deadline] ++ flow
  end

  defp timeout(opts) do
    case Keyword.get(opts, :timeout) do
      ms when is_integer(ms) and ms >= 0 -> ms
      :infinity -> :infinity
      _ -> nil
    end
  end

  defp timeout_opt(nil), do: []
  defp timeout_opt(timeout), do: [timeout: timeout]
end
