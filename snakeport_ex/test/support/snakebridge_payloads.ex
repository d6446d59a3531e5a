defmodule SnakePort.SnakeBridgePayloads do
  @moduledoc """
  The payloads SnakeBridge v0.16's `Runtime` sends to its runtime client, one
  builder per call type and tool, with the fields it sets (read from
  `lib/snakebridge/runtime.ex`, `runtime/payload.ex` and
  `runtime/streamer.ex`): the envelope (`protocol_version`,
  `min_supported_version`, `session_id`), the "F-keys" (`library`,
  `python_module`, `function`, `args`, `kwargs`, `idempotent`), and each
  call type's own.  Arguments are given already in SnakeBridge's encoded
  form (as `SnakeBridge.Types.encode/1` leaves them).
  """

  @doc "The envelope every payload carries."
  def envelope(session, fields),
    do: Map.merge(%{"protocol_version" => 1, "min_supported_version" => 1, "session_id" => session}, fields)

  @doc "`Runtime.call(GeneratedModule, f, args)`: no call_type (Python reads it as \"function\")."
  def function(session, module, function, args, kwargs \\ %{}) do
    envelope(session, fkeys(module, function, args, kwargs))
  end

  @doc "`SnakeBridge.call(\"mod\", f, args)` -> `Runtime.call_dynamic/4`."
  def dynamic(session, module, function, args, kwargs \\ %{}) do
    envelope(session, %{
      "call_type" => "dynamic",
      "module_path" => module,
      "library" => library(module),
      "function" => function,
      "args" => args,
      "kwargs" => kwargs,
      "idempotent" => false
    })
  end

  @doc "`Runtime.call_class(ClassModule, :__init__, args)`."
  def class(session, module, class, args, kwargs \\ %{}) do
    envelope(
      session,
      module |> fkeys("__init__", args, kwargs) |> Map.merge(%{"call_type" => "class", "class" => class})
    )
  end

  @doc "`Runtime.call_method(ref, f, args)` (`ref` a ref map as a reply carried it)."
  def method(session, ref, function, args, kwargs \\ %{}) do
    envelope(session, ref_keys(ref, function, args, kwargs, "method"))
  end

  @doc "`Runtime.get_attr(ref, attr)`."
  def get_attr(session, ref, attr) do
    envelope(session, ref |> ref_keys(attr, [], %{}, "get_attr") |> Map.put("attr", attr))
  end

  @doc "`Runtime.set_attr(ref, attr, value)`."
  def set_attr(session, ref, attr, value) do
    envelope(session, ref |> ref_keys(attr, [value], %{}, "set_attr") |> Map.put("attr", attr))
  end

  @doc "`Runtime.get_module_attr(\"mod\", attr)` (a string module: no F-keys)."
  def module_attr(session, module, attr) do
    envelope(session, %{
      "call_type" => "module_attr",
      "python_module" => module,
      "library" => library(module),
      "attr" => attr
    })
  end

  @doc "`Runtime.get_module_attr(GeneratedModule, attr)` (an atom module: F-keys, function = attr)."
  def module_attr_generated(session, module, attr) do
    envelope(
      session,
      module |> fkeys(attr, [], %{}) |> Map.merge(%{"call_type" => "module_attr", "attr" => attr})
    )
  end

  @doc "`Runtime.call_helper(name, args, opts)` with `helper_config` from `SnakeBridge.Helpers`."
  def helper(session, name, args, allowlist \\ "all", kwargs \\ %{}) do
    envelope(session, %{
      "call_type" => "helper",
      "helper" => name,
      "function" => name,
      "library" => helper_library(name),
      "args" => args,
      "kwargs" => kwargs,
      "idempotent" => false,
      "helper_config" => %{
        "helper_paths" => [],
        "helper_pack_enabled" => true,
        "helper_allowlist" => allowlist
      }
    })
  end

  @doc "`Runtime.stream_next(stream_ref)`: the stream ref in `StreamRef.to_wire_format/1`'s shape (tag \"ref\")."
  def stream_next(session, stream_ref) do
    envelope(session, %{
      "call_type" => "stream_next",
      "stream_ref" => %{
        "__type__" => "ref",
        "id" => stream_ref["id"],
        "session_id" => stream_ref["session_id"],
        "python_module" => stream_ref["python_module"],
        "library" => stream_ref["library"]
      },
      "library" => stream_ref["library"] || "unknown"
    })
  end

  @doc "`Runtime.stream_len(stream_ref)`: a `__len__` method call on its wire ref."
  def stream_len(session, stream_ref) do
    method(session, Map.put(stream_ref, "__type__", "ref"), "__len__", [])
  end

  @doc "`Runtime.release_ref(ref)`."
  def release_ref(session, ref), do: envelope(session, %{"ref" => wire_ref(ref)})

  @doc "`Runtime.release_session(id)`."
  def release_session(session), do: envelope(session, %{})

  @doc "`Runtime.stream_dynamic(\"mod\", f, args, opts, cb)` (tool snakebridge.stream)."
  def dynamic_stream(session, module, function, args, kwargs \\ %{}) do
    session |> dynamic(module, function, args, kwargs) |> Map.put("call_type", "dynamic_stream")
  end

  @doc "A generated `f_stream(args, opts, cb)` wrapper (tool snakebridge.stream, F-keys only)."
  def generated_stream(session, module, function, args, kwargs \\ %{}) do
    function(session, module, function, args, kwargs)
  end

  @doc "A ref as `SnakeBridge.Ref.to_wire_format/1` sends it back (no type_name)."
  def wire_ref(ref) do
    Map.merge(
      %{"__type__" => "ref", "__schema__" => ref["__schema__"] || 1},
      Map.take(ref, ["id", "session_id", "python_module", "library"])
    )
  end

  defp fkeys(module, function, args, kwargs) do
    %{
      "library" => library(module),
      "python_module" => module,
      "function" => function,
      "args" => args,
      "kwargs" => kwargs,
      "idempotent" => false
    }
  end

  defp ref_keys(ref, function, args, kwargs, call_type) do
    %{
      "library" => ref["library"],
      "python_module" => ref["python_module"] || ref["library"] || "unknown",
      "function" => function,
      "args" => args,
      "kwargs" => kwargs,
      "idempotent" => false,
      "call_type" => call_type,
      "instance" => wire_ref(ref)
    }
  end

  defp library(module), do: module |> String.split(".") |> hd()

  # `Payload.helper_library/1`: the name's first segment, when it has two.
  defp helper_library(name) do
    case String.split(name, ".", parts: 2) do
      [library, _rest] -> library
      _ -> "unknown"
    end
  end
end
