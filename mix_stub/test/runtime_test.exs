defmodule SnakeBridge.RuntimeTest do
  @moduledoc "SnakeBridge's Runtime API (RUNTIME_API.md) through the real adapter."
  use ExUnit.Case

  alias SnakeBridge.{Error, Ref, Runtime}

  test "the API examples" do
    assert {:ok, 4.0} = SnakeBridge.Runtime.call("math", :sqrt, [16])
    assert {:ok, pi} = SnakeBridge.Runtime.get_module_attr("math", "pi")
    assert {:ok, ^pi} = SnakeBridge.Runtime.get_module_attr("math", :pi)
    assert_in_delta pi, 3.14159, 0.0001
    assert {:ok, 4.0} = SnakeBridge.call("math", :sqrt, [16])
    assert {:ok, 3} = Runtime.call_dynamic("operator", "add", [1, 2])
  end

  test "kwargs, as an option and as extra keywords" do
    assert {:ok, [3, 2, 1]} = Runtime.call("builtins", "sorted", [[1, 3, 2]], kwargs: [reverse: true])
    assert {:ok, [3, 2, 1]} = Runtime.call("builtins", "sorted", [[1, 3, 2]], reverse: true)
    assert {:ok, "hello ada?"} = Runtime.call_helper("test.greet", ["ada"], %{"punctuation" => "?"})
  end

  test "classes and methods: collections.Counter" do
    {:ok, counter} = Runtime.call_class("collections", "Counter", [["a", "b", "a"]])
    assert %Ref{type_name: "Counter", python_module: "collections"} = counter
    assert {:ok, [{"a", 2}]} = Runtime.call_method(counter, "most_common", [1])
    assert {:ok, [{"a", 2}]} = SnakeBridge.method(counter, :most_common, [1])
  end

  test "classes, attributes and methods: pathlib" do
    {:ok, path} = Runtime.call_class("pathlib", "PurePosixPath", ["/usr", "lib"])
    assert {:ok, "lib"} = Runtime.get_attr(path, :name)
    assert {:ok, %Ref{} = child} = Runtime.call_method(path, "joinpath", ["python3"])
    assert {:ok, "/usr/lib/python3"} = Runtime.call("builtins", "str", [child])
    {:ok, ns} = Runtime.call_class("types", "SimpleNamespace", [], kwargs: [x: 1])
    assert {:ok, true} = Runtime.set_attr(ns, "x", 42)
    assert {:ok, 42} = SnakeBridge.attr(ns, "x")
  end

  test "helpers from the test helper folder" do
    assert {:ok, "hello ada!"} = Runtime.call_helper("test.greet", ["ada"])
    assert {:error, %Error{python_type: "HelperNotFoundError"}} = Runtime.call_helper("test.nope", [])
  end

  test "errors are exception structs" do
    assert {:error, %Error{} = error} = SnakeBridge.call("math", "sqrt", [-1])
    assert error.python_type == "ValueError"
    assert error.message == "math domain error"
    assert error.python_traceback =~ "Traceback"
    assert Exception.message(error) == "ValueError: math domain error"

    assert {:error, %Error{python_type: "ModuleNotFoundError"}} =
             SnakeBridge.call("no_such_module_x", "f", [])
  end

  test "tagged Python types decode to Elixir types" do
    {:ok, types} = Runtime.call_helper("test.python_types", [])
    assert types["set"] == MapSet.new([1, 2])
    assert types["date"] == ~D[2026-11-21]
    assert types["datetime"] == ~U[2026-11-21 10:00:00Z]
    assert types["naive"] == ~N[2026-11-21 10:00:00]
    assert types["time"] == ~T[10:11:12]
    assert types["complex"] == %{real: 1.0, imag: -2.0}
    assert types["inf"] == :infinity
    assert types["tuple"] == {1, "a"}
  end

  test "Elixir types encode for Python" do
    assert {:ok, "set"} = Runtime.call("builtins", "type", [MapSet.new([1])]) |> type_name()
    assert {:ok, "date"} = Runtime.call("builtins", "type", [~D[2026-01-01]]) |> type_name()
    assert {:ok, "2026-01-02"} = Runtime.call("builtins", "str", [~D[2026-01-02]])
    assert {:ok, {1, :ok, "x"}} = Runtime.call("builtins", "tuple", [[1, :ok, "x"]])
  end

  test "an atom the VM has never seen is an error for that call only" do
    assert {:error, %Error{python_type: "UnsafeTerm"}} = Runtime.call_helper("test.unknown_atom", [])
    assert {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16])
  end

  test "Ref inspect needs no round trip" do
    {:ok, ref} = SnakeBridge.call("builtins", "object", [])
    assert inspect(ref) =~ "#SnakeBridge.Ref<builtins.object"
  end

  defp type_name({:ok, %Ref{}} = result), do: result |> elem(1) |> then(&Runtime.get_attr(&1, "__name__"))
end

defmodule SnakeBridge.ProfilesTest do
  @moduledoc "Timeout profiles and library profiles from the application config."
  use ExUnit.Case

  alias SnakeBridge.Runtime

  setup do
    old = Application.get_env(:snakebridge, :runtime)

    Application.put_env(:snakebridge, :runtime,
      default_timeout: 120_000,
      profiles: %{quick: [timeout: 100, stream_timeout: 200]},
      library_profiles: %{"test_helpers" => :quick}
    )

    SnakeBridge.Config.reload()

    on_exit(fn ->
      Application.put_env(:snakebridge, :runtime, old)
      SnakeBridge.Config.reload()
    end)
  end

  test "a library profile sets the timeout of its calls" do
    assert {:error, :timeout} = SnakeBridge.call("test_helpers", "slow", [0.5])
    # Cancelling cannot interrupt Python code that is running: the adapter
    # is busy until the slow call ends (a call without the profile waits for
    # that), and its late reply is dropped.
    assert {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16])
    assert {:ok, "done"} = SnakeBridge.call("test_helpers", "slow", [0.01])
  end

  test "a named profile, and an explicit timeout that wins over it" do
    assert {:error, :timeout} =
             SnakeBridge.call("time", "sleep", [0.5], __runtime__: [timeout_profile: :quick])

    assert {:ok, "done"} = SnakeBridge.call("test_helpers", "slow", [0.3], __runtime__: [timeout: 5_000])
  end

  test "stream_timeout from the profile" do
    assert {:error, :timeout} =
             Runtime.stream("test_helpers", "slow_counting", [50, 0.05, "profiled"], [], fn _ -> :ok end)
  end
end
