defmodule SnakePort.SnakeBridgeClient.Request do
  @moduledoc """
  SnakeBridge's tool payloads as SnakePort requests.

  SnakeBridge's `Runtime` builds one payload per call (`call_type`,
  `python_module` or `module_path`, `function`, `args`, `kwargs`, `instance`,
  `attr`, `helper`, `helper_config`, `stream_ref`, `ref`, with the envelope
  `protocol_version`, `min_supported_version`, `session_id`, `idempotent`).
  The adapter reads the same fields (docs/PROTOCOL.md), so a payload becomes a
  request by little more than:

    * the envelope checked as SnakeBridge's Python checked it (a
      `protocol_version` under 1 or a `min_supported_version` over 1 is a
      `SnakeBridgeProtocolError`; a payload without both passes only with
      `SNAKEBRIDGE_ALLOW_LEGACY_PROTOCOL` set) and dropped, with
      `idempotent` (Snakepit's retry hint: SnakePort never replays a call);
    * `call_type` named as the adapter names it: absent or `"function"` is
      `"call"`; on the `snakebridge.stream` tool, `"dynamic_stream"` and a
      generated `*_stream` wrapper's plain call are a push stream
      (`"stream"`), which iterates what the function returns;
    * arguments through `SnakePort.SnakeBridgeClient.Values.to_wire/1`
      (base64 bytes to raw binaries, callbacks to funs);
    * SnakePort's own runtime options, from SnakeBridge's `__runtime__`:
      `arrays: :tensor` (`"arrays" => "tensor"`: ndarrays and torch tensors
      come back as tensor maps instead of refs) and `thread: :main` (the call
      runs on the adapter's main thread).

  A payload SnakeBridge's Python would refuse before running anything (no
  module, no ref to release, a version mismatch) is refused here with the
  same exception type and text, and nothing is sent.
  """

  alias SnakePort.SnakeBridgeClient.Values

  @envelope ["protocol_version", "min_supported_version", "idempotent", "session_id"]
  @stream_call_types [nil, "function", "dynamic", "dynamic_stream"]

  @typedoc "A refusal: the Python exception type and message SnakeBridge's adapter raised."
  @type refusal :: {:refused, String.t(), String.t()}

  @doc """
  The session a payload runs in: its `session_id`, else the `:session_id`
  option, else `"default"` (SnakeBridge's Python chose the same way).
  """
  @spec session(map(), keyword()) :: String.t()
  def session(payload, opts) do
    case payload["session_id"] do
      id when is_binary(id) and id != "" -> id
      _ -> Keyword.get(opts, :session_id) || "default"
    end
  end

  @doc "A `snakebridge.call` payload as a request."
  @spec call(map(), keyword()) :: {:ok, map()} | {:error, refusal()}
  def call(payload, opts) do
    call_type =
      case payload["call_type"] do
        type when type in [nil, "function", "dynamic_stream"] -> "call"
        type -> type
      end

    with :ok <- check_protocol(payload),
         :ok <- check_module(payload) do
      build(payload, call_type, opts)
    end
  end

  @doc "A `snakebridge.stream` payload as a push stream request."
  @spec stream(map(), keyword()) :: {:ok, map()} | {:error, refusal()}
  def stream(payload, opts) do
    with :ok <- check_protocol(payload),
         :ok <- check_module(payload) do
      if payload["call_type"] in @stream_call_types,
        do: build(payload, "stream", opts),
        else:
          refuse(
            "ValueError",
            "snakebridge.stream streams what a function returns (call_type function or dynamic_stream), " <>
              "not call_type #{inspect(payload["call_type"])}"
          )
    end
  end

  @doc "A `snakebridge.release_ref` payload as a request."
  @spec release_ref(map()) :: {:ok, map()} | {:error, refusal()}
  def release_ref(payload) do
    with :ok <- check_protocol(payload) do
      case payload["ref"] do
        nil -> refuse("ValueError", "snakebridge.release_ref requires ref")
        ref -> {:ok, %{"call_type" => "release_ref", "ref" => ref}}
      end
    end
  end

  @doc "Whether a payload's protocol versions are ones SnakeBridge's adapter (protocol 1) accepted."
  @spec check_protocol(map()) :: :ok | {:error, refusal()}
  def check_protocol(payload) do
    {version, min} =
      case {payload["protocol_version"], payload["min_supported_version"]} do
        {nil, nil} -> if legacy_allowed?(), do: {1, 0}, else: {0, 0}
        {version, min} -> {version || 0, min || 0}
      end

    if is_integer(version) and is_integer(min) and version >= 1 and min <= 1 do
      :ok
    else
      refuse(
        "SnakeBridgeProtocolError",
        "SnakeBridge protocol version mismatch (caller_protocol_version=#{inspect(version)}, " <>
          "caller_min_supported_version=#{inspect(min)}, adapter_protocol_version=1, " <>
          "adapter_min_supported_version=1). Ensure Elixir and Python SnakeBridge versions are compatible."
      )
    end
  end

  defp legacy_allowed? do
    flag = System.get_env("SNAKEBRIDGE_ALLOW_LEGACY_PROTOCOL") || ""
    String.downcase(flag) in ["1", "true", "yes"]
  end

  defp check_module(payload) do
    module = payload["python_module"] || payload["module"] || payload["module_path"]

    cond do
      payload["call_type"] in ["helper", "stream_next"] -> :ok
      is_binary(module) and module != "" -> :ok
      true -> refuse("ValueError", "snakebridge.call requires python_module")
    end
  end

  defp build(payload, call_type, opts) do
    request =
      payload
      |> Map.drop(@envelope)
      |> Values.to_wire()
      |> Map.put("call_type", call_type)
      |> put_option("arrays", Keyword.get(opts, :arrays))
      |> put_option("thread", Keyword.get(opts, :thread))

    {:ok, request}
  rescue
    error in ArgumentError -> refuse("ValueError", Exception.message(error))
  end

  defp put_option(request, _key, nil), do: request
  defp put_option(request, key, value), do: Map.put(request, key, to_string(value))

  defp refuse(type, message), do: {:error, {:refused, type, message}}
end
