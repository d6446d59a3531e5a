defmodule SnakeBridge.ApiTest do
  @moduledoc "Bang functions, bytes/1, the module form, check/1."
  use ExUnit.Case, async: false

  alias SnakeBridge.{Error, Runtime}
  alias SnakeBridge.TestModules.{Math, Numpy, OsPath}

  describe "bang functions return the value or raise SnakeBridge.Error" do
    test "call!, get!, method!, attr!, set_attr!, call_helper!" do
      assert SnakeBridge.call!("math", :sqrt, [16]) == 4.0
      assert_in_delta SnakeBridge.get!("math", :pi), 3.14159, 0.0001
      counter = Runtime.call_class!("collections", "Counter", [["a", "b", "a"]])
      assert SnakeBridge.method!(counter, "most_common", [1]) == [{"a", 2}]
      ns = Runtime.call_class!("types", "SimpleNamespace", [], x: 1)
      assert SnakeBridge.set_attr!(ns, "x", 2) == true
      assert SnakeBridge.attr!(ns, "x") == 2
      assert SnakeBridge.call_helper!("test.greet", ["ada"]) == "hello ada!"
      assert Runtime.call_dynamic!("operator", "add", [1, 2]) == 3
      assert Runtime.get_module_attr!("math", "e") > 2.7
    end

    test "errors raise the SnakeBridge.Error the tuple would hold" do
      error =
        assert_raise Error, "ValueError: math domain error", fn -> SnakeBridge.call!("math", "sqrt", [-1]) end

      assert error.python_traceback =~ "Traceback"
      assert_raise Error, ~r/^AttributeError/, fn -> SnakeBridge.get!("math", "nope") end
      {:ok, ns} = Runtime.call_class("types", "SimpleNamespace", [])
      assert_raise Error, ~r/^AttributeError/, fn -> SnakeBridge.attr!(ns, "missing") end
      assert_raise Error, ~r/^AttributeError/, fn -> SnakeBridge.method!(ns, "missing") end
      assert_raise Error, ~r/^HelperNotFoundError/, fn -> SnakeBridge.call_helper!("test.nope") end
    end

    test "a timeout raises a Timeout error" do
      assert_raise Error, "Timeout: time.sleep timed out", fn ->
        SnakeBridge.call!("time", "sleep", [1], __runtime__: [timeout: 50])
      end
    end
  end

  test "bytes/1: a binary that arrives as Python bytes, even when it is valid UTF-8" do
    assert {:ok, "bytes"} = type_name(SnakeBridge.bytes("abc"))
    assert {:ok, "str"} = type_name("abc")
    assert {:ok, "900150983cd24fb0d6963f7d28e17f72"} = md5(SnakeBridge.bytes("abc"))
    assert {:ok, "YWJj"} = SnakeBridge.call("base64", "b64encode", [SnakeBridge.bytes("abc")])
    assert {:ok, <<0, 0, 48, 57>>} = SnakeBridge.call("struct", "pack", [">I", 12_345])
    assert {:ok, {12_345}} = SnakeBridge.call("struct", "unpack", [">I", SnakeBridge.bytes(<<0, 0, 48, 57>>)])
  end

  defp type_name(value) do
    with {:ok, type} <- SnakeBridge.call("builtins", "type", [value]), do: SnakeBridge.attr(type, "__name__")
  end

  defp md5(bytes) do
    with {:ok, hash} <- SnakeBridge.call("hashlib", "md5", [bytes]),
         do: SnakeBridge.method(hash, "hexdigest", [])
  end

  describe "the module form: use SnakeBridge.PythonModule" do
    test "the Runtime API takes the module" do
      assert Math.__snakebridge_python_name__() == "math"
      assert Math.__snakebridge_library__() == "math"
      assert {:ok, 4.0} = Runtime.call(Math, :sqrt, [16])
      assert {:ok, 4.0} = SnakeBridge.call(Math, "sqrt", [16])
      assert {:ok, pi} = SnakeBridge.get(Math, :pi)
      assert_in_delta pi, 3.14159, 0.0001
      assert {:ok, "a/b"} = Runtime.call(OsPath, :join, ["a", "b"])
      assert OsPath.__snakebridge_library__() == "os"
      # RUNTIME_API.md's example, as written.
      assert {:ok, 2.0} = SnakeBridge.Runtime.call(Numpy, :mean, [[1, 2, 3]])
    end

    test "wrappers, and their docs from Python's signature and docstring" do
      assert {:ok, 3.0} = Math.sqrt([9])
      assert Math.floor!([2.5]) == 2
      assert {:ok, "a/b/c"} = OsPath.join(["a", "b", "c"])

      {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(Math)
      {_, _, _, %{"en" => sqrt_doc}, _} = Enum.find(docs, &match?({{:function, :sqrt, 2}, _, _, _, _}, &1))
      assert sqrt_doc =~ "Python's `math.sqrt(x, /)`"
      assert sqrt_doc =~ "Return the square root of x."
    end

    test "a module that is not a Python module is an ArgumentError" do
      assert_raise ArgumentError, ~r/Enum is not a Python module for SnakeBridge/, fn ->
        Runtime.call(Enum, :map, [])
      end
    end

    test "unknown options of the module form are an error at compile time" do
      assert_raise ArgumentError, ~r/unknown option :pyhton \(did you mean :python\?/, fn ->
        Code.compile_string("""
        defmodule SnakeBridge.ApiTest.Broken do
          use SnakeBridge.PythonModule, pyhton: "math"
        end
        """)
      end
    end
  end

  describe "check/1" do
    test ":ok when every worker answers" do
      start_supervised!({SnakeBridge, id: :check_ok, pools: [check_ok: [size: 2]]})
      assert :ok = SnakeBridge.check(:check_ok)
    end

    @tag :capture_log
    test "the error of a pool whose Python cannot start" do
      assert {:error, %Error{python_type: "WorkerDown", message: message}} =
               start_and_check(:check_missing, python: "/nonexistent/bin/python3")

      assert message =~ "/nonexistent/bin/python3: no such file or directory"
    end

    @tag :capture_log
    @tag :tmp_dir
    test "each kind of start failure, with its reason", %{tmp_dir: dir} do
      not_executable = Path.join(dir, "python3")
      File.write!(not_executable, "#!/bin/sh\n")
      fakes = Path.expand("../../snakeport_ex/test/fakes", __DIR__)

      for {name, opts, expected} <- [
            {:k_path, [python: "no-such-python-7731"], ~s("no-such-python-7731" is not on the PATH)},
            {:k_exec, [python: not_executable], "#{not_executable} is not executable"},
            {:k_script, [adapter: "/nonexistent/adapter.py"], "the adapter script /nonexistent/adapter.py"},
            {:k_exit, [adapter: Path.join(fakes, "exits_at_start.py")],
             "exited with status 3 before it was ready; its last stderr lines:\n    fake adapter: loading"},
            {:k_startup, [adapter_args: ["--helper-path", "/nonexistent/helpers"]],
             "failed to start: HelperLoadError"}
          ] do
        assert {:error, %Error{python_type: "WorkerDown", message: message}} = start_and_check(name, opts)
        assert message =~ expected

        # A call answers the same, never raises.
        assert {:error, %Error{message: ^message}} =
                 SnakeBridge.call("math", "sqrt", [1], __runtime__: [pool_name: name])
      end
    end

    @tag :capture_log
    test "a Python older than 3.10 is named, with its version" do
      fake = Path.expand("../../snakeport_ex/test/fakes/old_python", __DIR__)

      assert {:error, %Error{python_type: "WorkerDown", message: message}} =
               start_and_check(:check_old, env: [{"PYTHONPATH", fake}])

      assert message =~ "failed to start: PythonTooOld: the SnakePort adapter needs Python 3.10 or newer"
      assert message =~ "is Python 3.8.10"
    end
  end

  defp start_and_check(name, opts) do
    start_supervised!({SnakeBridge, id: name, pools: [{name, opts}]})
    SnakeBridge.check(name)
  end
end
