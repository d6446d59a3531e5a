defmodule SnakePort.SnakeBridgeClientTest do
  @moduledoc """
  Contract tests of `SnakePort.SnakeBridgeClient`, through the real adapter:
  driven with the payloads SnakeBridge v0.16 sends for each call type and
  tool (`SnakePort.SnakeBridgePayloads`), checking the results, errors and
  stream chunks field by field against what SnakeBridge's `Types.decode`,
  `Runtime`, `Runtime.Streamer` and `ErrorTranslator` read.  `Snakepit.Error`
  and SnakeBridge's callback registry are test stand-ins (test/support).
  """
  use ExUnit.Case, async: false

  import SnakePort.SnakeBridgePayloads

  alias SnakePort.SnakeBridgeClient, as: Client
  alias SnakePort.SnakeBridgeClient.{Errors, Settings, Values}
  alias SnakeBridge.CallbackRegistry

  @helpers Path.expand("helpers", __DIR__)
  @pack Path.expand("helper_pack", __DIR__)
  @envs [
    {:snakepit, :python_executable},
    {:snakepit, :pool_config},
    {:snakebridge, :helper_paths},
    {:snakebridge, :helper_pack_enabled},
    {:snakeport, Client}
  ]

  setup_all do
    saved = for {app, key} <- @envs, do: {app, key, Application.fetch_env(app, key)}

    # What a SnakeBridge app already configures for Snakepit carries over.
    Application.put_env(:snakepit, :python_executable, SnakePort.TestPools.python())
    Application.put_env(:snakepit, :pool_config, %{pool_size: 2, adapter_env: [{"PYTHONPATH", @helpers}]})
    Application.put_env(:snakebridge, :helper_paths, [@pack, Path.join(@pack, "missing")])
    Application.put_env(:snakeport, Client, pools: [second: [size: 1, env: [{"PYTHONPATH", @helpers}]]])

    start_supervised!(CallbackRegistry)

    on_exit(fn ->
      SnakePort.stop_pool({Client, :default})
      SnakePort.stop_pool({Client, :second})

      for {app, key, value} <- saved do
        case value do
          {:ok, value} -> Application.put_env(app, key, value)
          :error -> Application.delete_env(app, key)
        end
      end
    end)

    :ok
  end

  setup do
    {:ok, session: "auto_#{inspect(self())}_#{System.unique_integer([:positive])}"}
  end

  defp call(payload, opts \\ []), do: Client.execute("snakebridge.call", payload, opts)

  defp python_error({:error, %Snakepit.Error{category: :worker, message: "Request failed"} = error}) do
    assert %{command: "snakebridge.call", pool: {Client, _}, reason: exception} = error.details
    exception
  end

  # -- results ------------------------------------------------------------------------

  describe "snakebridge.call results" do
    test "function (generated module) and dynamic calls, with kwargs and dotted modules", %{session: s} do
      assert {:ok, 4.0} = call(function(s, "math", "sqrt", [16]))
      assert {:ok, 4.0} = call(dynamic(s, "math", "sqrt", [16]))
      assert {:ok, 3.14} = call(dynamic(s, "builtins", "round", [3.14159], %{"ndigits" => 2}))
      assert {:ok, "/tmp/file.txt"} = call(dynamic(s, "os.path", "join", ["/tmp", "file.txt"]))
      assert {:ok, [1, 2, 3]} = call(dynamic(s, "builtins", "list", [[1, 2, 3]]))

      assert {:ok, %{"a" => 1, "b" => [true, nil]}} =
               call(dynamic(s, "sbclient_helpers", "echo", [%{"a" => 1, "b" => [true, nil]}]))
    end

    test "values JSON has no form for leave tagged, as Types.decode reads them", %{session: s} do
      tuple = %{"__type__" => "tuple", "__schema__" => 1, "elements" => [1, 2, 3]}
      assert {:ok, ^tuple} = call(dynamic(s, "builtins", "tuple", [[1, 2, 3]]))

      assert {:ok, %{"__type__" => "set", "elements" => elements}} =
               call(dynamic(s, "builtins", "set", [[1, 2, 3]]))

      assert Enum.sort(elements) == [1, 2, 3]

      assert {:ok, %{"__type__" => "frozenset", "elements" => [_, _]}} =
               call(dynamic(s, "builtins", "frozenset", [[1, 2]]))

      for {text, name} <- [{"inf", "infinity"}, {"-inf", "neg_infinity"}, {"nan", "nan"}] do
        assert {:ok, %{"__type__" => "special_float", "__schema__" => 1, "value" => ^name}} =
                 call(dynamic(s, "builtins", "float", [text]))
      end

      # an atom SnakeBridge sent comes back as an atom tag (its allowlist decides)
      atom = %{"__type__" => "atom", "__schema__" => 1, "value" => "ok"}
      assert {:ok, ^atom} = call(dynamic(s, "sbclient_helpers", "echo", [atom]))

      assert {:ok, %{"__type__" => "dict", "__schema__" => 1, "pairs" => pairs}} =
               call(dynamic(s, "sbclient_helpers", "int_keys", []))

      assert Enum.sort(pairs) ==
               Enum.sort([
                 [1, "one"],
                 [%{"__type__" => "tuple", "__schema__" => 1, "elements" => [2, 3]}, "pair"]
               ])

      assert {:ok, %{"__type__" => "date", "value" => "2025-01-02"}} =
               call(dynamic(s, "datetime", "date", [2025, 1, 2]))

      assert {:ok, %{"__type__" => "complex", "real" => 1.0, "imag" => 2.0}} =
               call(dynamic(s, "builtins", "complex", [1, 2]))
    end

    test "SnakeBridge's base64 bytes arrive as bytes; bytes leave as binaries", %{session: s} do
      bytes = fn data -> %{"__type__" => "bytes", "__schema__" => 1, "data" => Base.encode64(data)} end

      assert {:ok, ["bytes", "str"]} = call(dynamic(s, "sbclient_helpers", "kinds", [[bytes.("abc"), "abc"]]))
      assert {:ok, md5} = call(dynamic(s, "hashlib", "md5", [bytes.("abc")]))
      assert {:ok, "900150983cd24fb0d6963f7d28e17f72"} = call(method(s, md5, "hexdigest", []))
      assert {:ok, <<0, 255, 1>>} = call(dynamic(s, "builtins", "bytes", [[0, 255, 1]]))
      assert {:ok, <<0, 255>>} = call(dynamic(s, "sbclient_helpers", "echo", [bytes.(<<0, 255>>)]))
    end

    test "class returns a ref in SnakeBridge's wire shape, used by method, get_attr, set_attr", %{session: s} do
      assert {:ok, ref} = call(class(s, "collections", "Counter", ["abca"]))

      assert %{
               "__type__" => "ref",
               "__schema__" => 1,
               "id" => id,
               "session_id" => ^s,
               "type_name" => "Counter",
               "__type_name__" => "Counter",
               "python_module" => "collections",
               "library" => "collections"
             } = ref

      assert id =~ ~r/^[0-9a-f]{32}$/

      assert {:ok, [%{"__type__" => "tuple", "elements" => ["a", 2]}]} =
               call(method(s, ref, "most_common", [1]))

      assert {:ok, path} = call(dynamic(s, "pathlib", "Path", ["/tmp/test.txt"]))
      assert %{"type_name" => "PosixPath", "library" => "pathlib"} = path
      assert {:ok, "test.txt"} = call(get_attr(s, path, "name"))

      assert {:ok, namespace} = call(dynamic(s, "types", "SimpleNamespace", [], %{"x" => 1}))
      assert {:ok, true} = call(set_attr(s, namespace, "x", 42))
      assert {:ok, 42} = call(get_attr(s, namespace, "x"))
    end

    test "module_attr in both of SnakeBridge's payload variants", %{session: s} do
      assert {:ok, pi} = call(module_attr(s, "math", "pi"))
      assert_in_delta pi, 3.14159, 0.0001
      assert {:ok, "/"} = call(module_attr(s, "os", "sep"))
      assert {:ok, e} = call(module_attr_generated(s, "math", "e"))
      assert_in_delta e, 2.71828, 0.0001

      assert {:ok, %{"__type__" => "special_float", "value" => "infinity"}} =
               call(module_attr(s, "math", "inf"))
    end

    test "helpers from SnakeBridge's helper_paths, with the request's helper_allowlist", %{session: s} do
      assert {:ok, "HI!"} = call(helper(s, "pack.shout", ["hi"]))
      assert {:ok, "HI?"} = call(helper(s, "pack.shout", ["hi"], ["pack.shout"], %{"suffix" => "?"}))

      # graceful serialization: only the leaves that cannot travel are refs
      assert {:ok,
              [
                1,
                %{"__type__" => "ref", "type_name" => "Pattern"},
                %{"name" => "email", "pattern" => pattern}
              ]} = call(helper(s, "pack.patterns", []))

      assert %{"type_name" => "Pattern", "__type_name__" => "Pattern", "library" => "pack"} = pattern

      exception = python_error(call(helper(s, "pack.shout", ["hi"], ["pack.patterns"])))
      assert %Snakepit.Error.PythonException{python_type: "SnakeBridgeHelperNotFoundError"} = exception
      assert exception.message =~ ~r/^Helper 'pack.shout' not found \(/
      assert exception.context["snakeport_type"] == "HelperNotFoundError"

      exception = python_error(call(helper(s, "pack.nope", [])))
      assert exception.message =~ ~r/^Helper 'pack.nope' not found/
    end

    test "stream_next walks a stream ref to stop_iteration, ever after", %{session: s} do
      assert {:ok, stream} = call(dynamic(s, "sbclient_helpers", "counting", [2, "next"]))

      assert %{
               "__type__" => "stream_ref",
               "stream_type" => "generator",
               "type_name" => "generator",
               "__type_name__" => "generator",
               "session_id" => ^s,
               "python_module" => "sbclient_helpers"
             } = stream

      assert {:ok, 0} = call(stream_next(s, stream))
      assert {:ok, 1} = call(stream_next(s, stream))
      assert {:ok, %{"__type__" => "stop_iteration"}} = call(stream_next(s, stream))
      assert {:ok, %{"__type__" => "stop_iteration"}} = call(stream_next(s, stream))

      assert {:ok, iterator} = call(dynamic(s, "builtins", "iter", [[1, 2, 3]]))
      assert %{"__type__" => "stream_ref", "stream_type" => "iterator"} = iterator
      # stream_len is a __len__ method call, which a list iterator lacks (as under Snakepit)
      assert %Snakepit.Error.AttributeError{} = python_error(call(stream_len(s, iterator)))

      # a ref's __iter__ gives the stream ref SnakeBridge's Ref Enumerable walks
      assert {:ok, range} = call(dynamic(s, "builtins", "range", [2]))
      assert %{"__type__" => "ref", "type_name" => "range"} = range
      assert {:ok, iter} = call(method(s, range, "__iter__", []))
      assert {:ok, 0} = call(stream_next(s, iter))
    end

    test "a result holding a generator keeps its structure, the generator a stream ref", %{session: s} do
      source = "{'status': 'ok', 'stream': (x for x in [1])}"

      assert {:ok,
              %{"status" => "ok", "stream" => %{"__type__" => "stream_ref", "stream_type" => "generator"}}} =
               call(dynamic(s, "builtins", "eval", [source]))
    end
  end

  # -- refs and sessions ---------------------------------------------------------------

  describe "snakebridge.release_ref and snakebridge.release_session" do
    test "release_ref answers whether it existed; a released ref is SnakeBridge's KeyError", %{session: s} do
      assert {:ok, ref} = call(dynamic(s, "io", "StringIO", ["test"]))
      assert {:ok, true} = Client.execute("snakebridge.release_ref", release_ref(s, ref))
      assert {:ok, false} = Client.execute("snakebridge.release_ref", release_ref(s, ref))

      exception = python_error(call(method(s, ref, "getvalue", [])))

      assert %Snakepit.Error.KeyError{python_type: "KeyError", message: message, context: context} = exception
      assert message =~ "Unknown SnakeBridge reference: #{ref["id"]} ("
      assert context["snakeport_type"] == "RefNotFoundError"
      assert context["call_type"] == "method"
      assert context["tool_name"] == "snakebridge.call"
    end

    test "release_session drops the session's refs in Python", %{session: s} do
      assert {:ok, a} = call(dynamic(s, "io", "StringIO", ["a"]))
      assert {:ok, _b} = call(dynamic(s, "io", "StringIO", ["b"]))
      assert {:ok, 2} = Client.execute("snakebridge.release_session", release_session(s))
      assert {:ok, 0} = Client.execute("snakebridge.release_session", release_session(s))
      assert %Snakepit.Error.KeyError{} = python_error(call(method(s, a, "getvalue", [])))
      assert {:ok, 0} = Client.execute("snakebridge.release_session", release_session("never_used"))
    end

    test "a ref used from another session is SnakeBridge's session mismatch", %{session: s} do
      # one worker, so both sessions reach the registry that holds the ref
      assert {:ok, ref} = call(dynamic(s, "io", "StringIO", ["x"]), pool_name: :second)
      exception = python_error(call(method("other_#{s}", ref, "getvalue", []), pool_name: :second))

      assert %Snakepit.Error.ValueError{python_type: "ValueError"} = exception
      assert exception.message =~ ~r/^SnakeBridge reference session mismatch \(/
    end

    test "a payload without session_id runs in the :session_id option's session, else default" do
      payload = Map.delete(dynamic("x", "io", "StringIO", ["y"]), "session_id")
      assert {:ok, %{"session_id" => "from_opts"}} = call(payload, session_id: "from_opts")
      assert {:ok, %{"session_id" => "default"}} = call(payload)
    end
  end

  # -- errors --------------------------------------------------------------------------

  describe "errors" do
    test "a Python exception is Snakepit's struct for its type inside %Snakepit.Error{}", %{session: s} do
      exception = python_error(call(dynamic(s, "math", "sqrt", [-1])))

      assert %Snakepit.Error.ValueError{
               message: "math domain error",
               python_type: "ValueError",
               python_traceback: traceback,
               stacktrace: [first | _],
               context: %{
                 "tool_name" => "snakebridge.call",
                 "session_id" => ^s,
                 "library" => "math",
                 "python_module" => "math",
                 "function" => "sqrt",
                 "call_type" => "dynamic"
               }
             } = exception

      assert traceback =~ "Traceback"
      assert traceback =~ "ValueError: math domain error"
      assert first =~ "Traceback"
      refute Map.has_key?(exception.context, "snakeport_type")

      assert %Snakepit.Error.TypeError{} = python_error(call(dynamic(s, "math", "sqrt", ["x"])))
      assert %Snakepit.Error.AttributeError{} = python_error(call(dynamic(s, "math", "nope", [])))

      # types Snakepit does not map are PythonException, with their own name
      assert %Snakepit.Error.PythonException{python_type: "ModuleNotFoundError"} =
               python_error(call(dynamic(s, "no_such_module_xyz", "f", [])))

      assert %Snakepit.Error.PythonException{python_type: "JSONDecodeError"} =
               python_error(call(dynamic(s, "json", "loads", ["{"])))
    end

    test "a timeout is Snakepit's timeout error, and the call is cancelled in Python", %{session: s} do
      assert {:error,
              %Snakepit.Error{category: :timeout, message: "Worker execution timed out", details: details}} =
               call(dynamic(s, "core_helpers", "slow", [5, "late"]), timeout: 100)

      assert %{reason: :worker_timeout, timeout_ms: 100, command: "snakebridge.call"} = details
      {micros, result} = :timer.tc(fn -> call(dynamic(s, "core_helpers", "slow", [0, "mine"])) end)
      assert {:ok, "mine"} = result
      assert micros < 2_000_000
    end

    test "payloads SnakeBridge's Python refused are refused the same way, nothing sent", %{session: s} do
      old = Map.put(dynamic(s, "math", "sqrt", [4]), "protocol_version", 0)
      exception = python_error(call(old))
      assert %Snakepit.Error.PythonException{python_type: "SnakeBridgeProtocolError"} = exception
      assert exception.message =~ "SnakeBridge protocol version mismatch (caller_protocol_version=0"

      legacy = Map.drop(dynamic(s, "math", "sqrt", [4]), ["protocol_version", "min_supported_version"])

      assert %Snakepit.Error.PythonException{python_type: "SnakeBridgeProtocolError"} =
               python_error(call(legacy))

      no_module = Map.delete(function(s, "math", "sqrt", [4]), "python_module")

      assert %Snakepit.Error.ValueError{message: "snakebridge.call requires python_module"} =
               python_error(call(no_module))

      assert {:error, %Snakepit.Error{details: %{command: "snakebridge.release_ref", reason: exception}}} =
               Client.execute("snakebridge.release_ref", envelope(s, %{}))

      assert %Snakepit.Error.ValueError{message: "snakebridge.release_ref requires ref"} = exception

      bad_ref = method(s, %{"id" => nil, "library" => "x"}, "f", [])
      assert %Snakepit.Error.ValueError{message: message} = python_error(call(bad_ref))
      assert message =~ "Invalid SnakeBridge reference payload"
    end

    test "a tool SnakeBridge's adapter does not serve is its AttributeError", %{session: s} do
      assert {:error, %Snakepit.Error{details: %{command: "snakebridge.helpers", reason: exception}}} =
               Client.execute("snakebridge.helpers", envelope(s, %{}))

      assert %Snakepit.Error.AttributeError{
               message: "Tool 'snakebridge.helpers' not supported by SnakePort.SnakeBridgeClient"
             } = exception

      assert {:error, %Snakepit.Error{}} =
               Client.execute_stream("snakebridge.call", dynamic(s, "math", "sqrt", [4]), fn _ -> :ok end)
    end

    test "pool_name picks a pool Snakepit or the client config names; another is Snakepit's pool error",
         %{session: s} do
      assert {:ok, %{"session_id" => ^s}} = call(dynamic(s, "io", "StringIO", []), pool_name: "second")
      assert {:ok, _} = SnakePort.Pool.lookup({Client, :second})
      assert {:ok, 2.0} = call(dynamic(s, "math", "sqrt", [4]), pool_name: :default)

      assert {:error, %Snakepit.Error{category: :pool, details: %{reason: %SnakePort.Error{}}} = error} =
               call(dynamic(s, "math", "sqrt", [4]), pool_name: :gpu_pool)

      assert error.message =~ ":gpu_pool"
    end

    test "without Snakepit loaded, the same fields travel in SnakePort.Error" do
      meta = %{tool: "snakebridge.call", payload: %{"instance" => %{"id" => "abc"}}, pool: :p, timeout: 5}

      error = %SnakePort.Error{
        python_type: "RefNotFoundError",
        message: "unknown ref abc",
        python_module: "m"
      }

      assert %SnakePort.Error{python_type: "KeyError", message: "Unknown SnakeBridge reference: abc" <> _} =
               Errors.reason(error, meta, false)

      assert Errors.reason(:timeout, meta, false) == :timeout
    end
  end

  # -- streams -------------------------------------------------------------------------

  # The stream's result and the chunks its callback got, checking it ran in the caller.
  defp stream(payload, opts \\ [], callback \\ nil) do
    parent = self()
    callback = callback || fn chunk -> send(parent, {:chunk, self(), chunk}) end
    result = Client.execute_stream("snakebridge.stream", payload, callback, opts)
    {result, collect([])}
  end

  defp collect(acc) do
    receive do
      {:chunk, pid, chunk} ->
        assert pid == self(), "callbacks run in the caller's process"
        collect([chunk | acc])
    after
      0 -> Enum.reverse(acc)
    end
  end

  describe "snakebridge.stream" do
    test "dynamic_stream: one chunk per item under data, then the final marker", %{session: s} do
      assert {:ok, chunks} = stream(dynamic_stream(s, "builtins", "range", [3]))

      assert chunks == [
               %{"data" => 0, "is_final" => false},
               %{"data" => 1, "is_final" => false},
               %{"data" => 2, "is_final" => false},
               %{"is_final" => true}
             ]

      assert {:ok, [%{"data" => 4.0, "is_final" => false}, %{"is_final" => true}]} =
               stream(dynamic_stream(s, "math", "sqrt", [16]))
    end

    test "a generated *_stream wrapper streams the generator's items", %{session: s} do
      assert {:ok, chunks} = stream(generated_stream(s, "sbclient_helpers", "counting", [3, "gen"]))
      assert Enum.map(chunks, & &1["data"]) == [0, 1, 2, nil]
      assert List.last(chunks) == %{"is_final" => true}
    end

    test "every item travels whole under data: maps, strings, None, tuples, refs", %{session: s} do
      assert {:ok, chunks} = stream(dynamic_stream(s, "sbclient_helpers", "mixed_items", []))

      assert [
               %{"data" => %{"a" => 1}, "is_final" => false},
               %{"data" => %{"data" => 2}, "is_final" => false},
               %{"data" => "text", "is_final" => false},
               %{"data" => nil, "is_final" => false},
               %{"data" => %{"__type__" => "tuple", "elements" => [1, "two"]}, "is_final" => false},
               %{
                 "data" => %{"__type__" => "ref", "type_name" => "Pattern", "session_id" => ^s},
                 "is_final" => false
               },
               %{"is_final" => true}
             ] = chunks
    end

    test ":halt and {:halt, reason} stop the stream and close the generator", %{session: s} do
      halt_at = fn n, answer ->
        parent = self()

        fn chunk ->
          send(parent, {:chunk, self(), chunk})
          if chunk["data"] == n, do: answer, else: :ok
        end
      end

      payload = dynamic_stream(s, "sbclient_helpers", "counting", [1_000_000, "halted"])
      assert {:ok, chunks} = stream(payload, [], halt_at.(2, :halt))
      assert Enum.map(chunks, & &1["data"]) == [0, 1, 2]

      payload = dynamic_stream(s, "sbclient_helpers", "counting", [1_000_000, "halted_reason"])
      assert {{:error, :enough}, [_, _]} = stream(payload, [], halt_at.(1, {:halt, :enough}))

      assert {:ok, closed} = call(dynamic(s, "sbclient_helpers", "closed", []))
      assert "halted" in closed and "halted_reason" in closed
    end

    test "a callback that raises ends the stream with :callback_exception", %{session: s} do
      payload = dynamic_stream(s, "sbclient_helpers", "counting", [10, "raised"])

      assert {{:error, {:callback_exception, %RuntimeError{message: "boom"}, [_ | _]}}, []} =
               stream(payload, [], fn _ -> raise "boom" end)
    end

    test "an exception in the generator is the stream's error, after the items before it", %{session: s} do
      assert {{:error, %Snakepit.Error{details: %{command: "snakebridge.stream", reason: exception}}}, chunks} =
               stream(dynamic_stream(s, "sbclient_helpers", "fails_after", [2]))

      assert Enum.map(chunks, & &1["data"]) == [0, 1]
      assert %Snakepit.Error.ValueError{message: "failed after 2"} = exception
    end

    test "stream_timeout bounds the whole stream", %{session: s} do
      payload = dynamic_stream(s, "core_helpers", "slow", [5, "late"])

      assert {{:error, %Snakepit.Error{category: :timeout, details: %{timeout_ms: 100}}}, []} =
               stream(payload, stream_timeout: 100, timeout: 60_000)
    end

    test "call types a stream cannot run are refused", %{session: s} do
      assert {{:error, %Snakepit.Error{details: %{reason: %Snakepit.Error.ValueError{}}}}, []} =
               stream(module_attr(s, "math", "pi"))
    end
  end

  # -- callbacks -----------------------------------------------------------------------

  describe "Elixir callbacks through SnakeBridge's CallbackRegistry" do
    test "a callback tag becomes a fun Python calls, in args and kwargs", %{session: s} do
      multiply = CallbackRegistry.tag(fn a, b -> a * b end)
      assert {:ok, 120} = call(dynamic(s, "functools", "reduce", [multiply, [1, 2, 3, 4, 5]]))

      length = CallbackRegistry.tag(&String.length/1)

      assert {:ok, ["fig", "pear", "banana"]} =
               call(dynamic(s, "builtins", "sorted", [["pear", "fig", "banana"]], %{"key" => length}))
    end

    test "arguments arrive in SnakeBridge's form (objects as refs); results go back decoded", %{session: s} do
      parent = self()

      seen =
        CallbackRegistry.tag(fn pattern ->
          send(parent, {:arg, pattern})

          %{
            "__type__" => "tuple",
            "__schema__" => 1,
            "elements" => [pattern, %{"__type__" => "bytes", "data" => Base.encode64("hi")}]
          }
        end)

      assert {:ok, %{"__type__" => "tuple", "elements" => [pattern, "hi"]}} =
               call(dynamic(s, "sbclient_helpers", "call_with_pattern", [seen]))

      assert_received {:arg, %{"__type__" => "ref", "type_name" => "Pattern", "session_id" => ^s}}
      assert %{"__type__" => "ref", "type_name" => "Pattern"} = pattern
    end

    test "a callback may call Python again, in the same session", %{session: s} do
      nested =
        CallbackRegistry.tag(fn x ->
          {:ok, root} = call(dynamic(s, "math", "sqrt", [x]))
          root
        end)

      assert {:ok, [1.0, 2.0, 3.0]} =
               call(dynamic(s, "builtins", "eval", ["list(map(f, [1, 4, 9]))", %{"f" => nested}]))
    end

    test "a failing callback raises in Python; a wrong argument count is refused there", %{session: s} do
      failing = CallbackRegistry.tag(fn _ -> raise ArgumentError, "no" end)
      exception = python_error(call(dynamic(s, "sbclient_helpers", "call_with_pattern", [failing])))
      assert %Snakepit.Error.PythonException{python_type: "ElixirError", message: message} = exception
      assert message =~ "Elixir callback cb_"
      assert message =~ "ArgumentError"

      one = CallbackRegistry.tag(fn a -> a end)
      exception = python_error(call(dynamic(s, "functools", "reduce", [one, [1, 2, 3]])))
      assert %Snakepit.Error.TypeError{} = exception

      unknown = %{"__type__" => "callback", "ref_id" => "cb_gone", "pid" => "<0.1.0>", "arity" => 1}
      exception = python_error(call(dynamic(s, "sbclient_helpers", "call_with_pattern", [unknown])))
      assert exception.message =~ "callback_not_found"
    end
  end

  # -- SnakePort's additions ------------------------------------------------------------

  describe "SnakePort's runtime options" do
    test "arrays: :tensor answers ndarrays as tensor maps", %{session: s} do
      if numpy?() do
        assert {:ok, array} = call(dynamic(s, "numpy", "arange", [6]))
        assert %{"__type__" => "ref", "type_name" => "ndarray"} = array

        assert {:ok, %{"__type__" => "tensor", "dtype" => "s64", "shape" => shape, "data" => data}} =
                 call(dynamic(s, "numpy", "arange", [6]), arrays: :tensor)

        assert shape == %{"__type__" => "tuple", "__schema__" => 1, "elements" => [6]}
        assert data == for(i <- 0..5, into: <<>>, do: <<i::signed-native-64>>)
      end
    end

    test "thread: :main runs the call on the adapter's main thread", %{session: s} do
      assert {:ok, "MainThread"} =
               call(dynamic(s, "builtins", "eval", ["__import__('threading').current_thread().name"]),
                 thread: :main
               )
    end
  end

  defp numpy? do
    match?({_, 0}, System.cmd(SnakePort.TestPools.python(), ["-c", "import numpy"], stderr_to_stdout: true)) or
      (System.get_env("CI") == "true" and flunk("numpy is a test extra; CI must have it"))
  end

  describe "Settings and Values" do
    test "the pool's options come from Snakepit's and SnakeBridge's config" do
      options = Settings.options(:default)
      assert options[:size] == 2
      assert options[:python] == SnakePort.TestPools.python()
      assert options[:env] == [{"PYTHONPATH", @helpers}]
      assert options[:adapter_args] == ["--helper-path", @pack]
      assert options[:translator] == Values
      assert {:ok, %SnakePort.Pool{size: 2}} = Settings.pool([])
    end

    @tag :tmp_dir
    test "helper folders named twice (through a symlink too) are passed once", %{tmp_dir: dir} do
      link = Path.join(dir, "pack_link")
      File.ln_s!(@pack, link)

      on_exit(fn -> Application.put_env(:snakebridge, :helper_paths, [@pack, Path.join(@pack, "missing")]) end)

      Application.put_env(:snakebridge, :helper_paths, [@pack, link, "missing/folder"])
      assert Settings.helper_args() == ["--helper-path", @pack]
    end

    test "plain values pass both ways untouched; only what differs is rebuilt" do
      plain = %{"a" => [1, 2.5, "x", nil, true], "b" => %{"c" => []}}
      assert Values.to_snakebridge(plain) == plain
      assert Values.to_wire(plain) == plain

      assert Values.to_snakebridge([{:ok, :nan}, %{1 => :neg_infinity}]) == [
               %{
                 "__type__" => "tuple",
                 "__schema__" => 1,
                 "elements" => [
                   %{"__type__" => "atom", "__schema__" => 1, "value" => "ok"},
                   %{"__type__" => "special_float", "__schema__" => 1, "value" => "nan"}
                 ]
               },
               %{
                 "__type__" => "dict",
                 "__schema__" => 1,
                 "pairs" => [
                   [1, %{"__type__" => "special_float", "__schema__" => 1, "value" => "neg_infinity"}]
                 ]
               }
             ]

      assert Values.to_wire(%{"x" => [%{"__type__" => "bytes", "data" => Base.encode64(<<255>>)}]}) ==
               %{"x" => [%{"__type__" => "bytes", "data" => <<255>>}]}
    end
  end
end
