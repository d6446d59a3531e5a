defmodule SnakePort.SnakeBridgeClient.Errors do
  @moduledoc """
  Failures in the shapes SnakeBridge reads.

  SnakeBridge takes whatever its runtime client returns as `{:error, reason}`
  and, in its `:translated` error modes, unwraps `%Snakepit.Error{details:
  %{reason: nested}}` and reads `message`, `python_type` and
  `python_traceback`; its stream fallback matches `%Snakepit.Error{category:
  :validation}`; its ref errors are recognised by their message text.  So,
  when Snakepit's modules are loaded (a SnakeBridge app compiles against
  them), errors leave as Snakepit returned them:

    * a Python exception: `%Snakepit.Error{category: :worker, message:
      "Request failed", details: %{command: tool, pool: pool, reason:
      exception}}`, `exception` being `%Snakepit.Error.ValueError{}` (and the
      other ten types Snakepit maps) or `%Snakepit.Error.PythonException{}`,
      with `message`, `python_type`, `python_traceback`, `stacktrace` (the
      traceback's lines) and `context` (`tool_name`, `session_id`,
      `library`, `python_module`, `function`, `call_type`, and
      `snakeport_type` when the type was renamed below);
    * a timeout: `%Snakepit.Error{category: :timeout, message: "Worker
      execution timed out", details: %{reason: :worker_timeout, timeout_ms: ms}}`
      (the call was also cancelled in Python);
    * SnakePort's own failures (`WorkerDown`, `WorkerRestarted`,
      `UnsafeTerm`, `CallbackDepthError`, ...): category `:worker`, with the
      `%SnakePort.Error{}` as `details.reason`; a pool that cannot start:
      category `:pool`.

  Without Snakepit loaded, the exception fields travel in `%SnakePort.Error{}`
  (same `python_type`, `message`, `python_traceback`) and a timeout is
  `:timeout`.

  The adapter's own error types are renamed to what SnakeBridge's Python
  raised, with the texts SnakeBridge's `ErrorTranslator` recognises, and the
  adapter's message kept after them: `RefNotFoundError`/`RefEvictedError`
  become `KeyError` "Unknown SnakeBridge reference: ID (...)",
  `SessionMismatchError` becomes `ValueError` "SnakeBridge reference session
  mismatch (...)", a field that is not a ref becomes `ValueError` "Invalid
  SnakeBridge reference payload (...)", `HelperNotFoundError` and
  `HelperLoadError` become `SnakeBridgeHelperNotFoundError` "Helper 'NAME'
  not found (...)" and `SnakeBridgeHelperLoadError`.
  """

  alias SnakePort.Error

  @mapped ~w(ValueError KeyError IndexError TypeError AttributeError ImportError RuntimeError
             NotImplementedError FileNotFoundError PermissionError ZeroDivisionError)

  @typedoc "What a request was: for error details and contexts."
  @type meta :: %{
          required(:tool) => String.t(),
          required(:payload) => map(),
          required(:pool) => term(),
          optional(:timeout) => timeout()
        }

  @doc "A SnakePort result as SnakeBridge expects it from its runtime client."
  @spec reply({:ok, term()} | {:error, Error.t() | :timeout}, meta()) :: {:ok, term()} | {:error, term()}
  def reply({:ok, _} = ok, _meta), do: ok
  def reply({:error, reason}, meta), do: {:error, reason(reason, meta)}

  @doc "The error term for a failure (`snakepit?` says whether to use Snakepit's structs)."
  @spec reason(Error.t() | :timeout, meta(), boolean()) :: term()
  def reason(failure, meta, snakepit? \\ snakepit?())

  def reason(:timeout, _meta, false), do: :timeout

  def reason(:timeout, meta, true) do
    snakepit_error(:timeout, "Worker execution timed out", meta, %{
      reason: :worker_timeout,
      timeout_ms: Map.get(meta, :timeout)
    })
  end

  # SnakePort's own failures have no Python module.
  def reason(%Error{python_module: nil} = error, _meta, false), do: error

  def reason(%Error{python_module: nil, python_type: type} = error, meta, true) do
    category = if type in ["PoolNotStarted", "PoolStartError"], do: :pool, else: :worker
    snakepit_error(category, error.message, meta, %{reason: error})
  end

  def reason(%Error{} = error, meta, snakepit?), do: python(error, meta, snakepit?)

  @doc """
  The error for a Python exception of type `type` that SnakePort raised
  itself, before anything was sent (a payload SnakeBridge's Python would
  have refused the same way).
  """
  @spec python_error(String.t(), String.t(), meta()) :: term()
  def python_error(type, message, meta) do
    python(%Error{python_type: type, message: message, python_module: "snakeport"}, meta, snakepit?())
  end

  defp python(%Error{} = error, meta, snakepit?) do
    {type, message} = rename(error, meta)
    context = context(error, type, meta)

    if snakepit? do
      exception =
        struct(exception_module(type), %{
          message: message,
          context: context,
          stacktrace: lines(error.python_traceback),
          python_type: type,
          python_traceback: error.python_traceback
        })

      snakepit_error(:worker, "Request failed", meta, %{reason: exception})
    else
      %{error | python_type: type, message: message, context: context}
    end
  end

  defp rename(%Error{python_type: type, message: message}, meta) do
    case {type, message || ""} do
      {type, message} when type in ["RefNotFoundError", "RefEvictedError"] ->
        {"KeyError", "Unknown SnakeBridge reference: #{ref_id(message, meta)} (#{message})"}

      {"SessionMismatchError", message} ->
        {"ValueError", "SnakeBridge reference session mismatch (#{message})"}

      {"ProtocolError", message} ->
        if message =~ "must be a ref",
          do: {"ValueError", "Invalid SnakeBridge reference payload (#{message})"},
          else: {type, message}

      {"HelperNotFoundError", message} ->
        {"SnakeBridgeHelperNotFoundError", "Helper '#{helper(message, meta)}' not found (#{message})"}

      {"HelperLoadError", message} ->
        {"SnakeBridgeHelperLoadError", message}

      {type, message} ->
        {type, message}
    end
  end

  defp ref_id(message, meta) do
    case Regex.run(~r/\bref ([0-9A-Za-z_]+)/, message) do
      [_, id] -> id
      nil -> payload_ref_id(meta.payload)
    end
  end

  defp payload_ref_id(payload) do
    Enum.find_value(["instance", "stream_ref", "ref"], "unknown", fn key ->
      case Map.get(payload, key) do
        %{"id" => id} when is_binary(id) -> id
        _ -> nil
      end
    end)
  end

  defp helper(message, meta) do
    case meta.payload do
      %{"helper" => name} when is_binary(name) ->
        name

      %{"function" => name} when is_binary(name) ->
        name

      _ ->
        case Regex.run(~r/helper '([^']+)'/, message) do
          [_, name] -> name
          nil -> "unknown"
        end
    end
  end

  defp context(%Error{python_type: original}, type, %{tool: tool, payload: payload}) do
    base = %{
      "tool_name" => tool,
      "session_id" => payload["session_id"],
      "library" => payload["library"],
      "python_module" => payload["python_module"] || payload["module_path"],
      "function" => payload["function"],
      "call_type" => payload["call_type"] || "function"
    }

    base = for {key, value} <- base, not is_nil(value), into: %{}, do: {key, value}
    if original == type, do: base, else: Map.put(base, "snakeport_type", original)
  end

  defp lines(nil), do: []
  defp lines(traceback), do: String.split(traceback, ~r/(?<=\n)/, trim: true)

  defp exception_module(type) do
    module =
      if type in @mapped,
        do: Module.concat(Snakepit.Error, type),
        else: Module.concat(Snakepit.Error, PythonException)

    if Code.ensure_loaded?(module), do: module, else: Module.concat(Snakepit.Error, PythonException)
  end

  defp snakepit_error(category, message, meta, details) do
    struct(snakepit(), %{
      category: category,
      message: message,
      details: Map.merge(%{command: meta.tool, pool: meta.pool}, details),
      python_traceback: nil,
      grpc_status: nil
    })
  end

  # Only the name: SnakePort compiles without Snakepit, whose struct is built with struct/2.
  defp snakepit, do: Snakepit.Error

  defp snakepit?, do: Code.ensure_loaded?(snakepit())
end
