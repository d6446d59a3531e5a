defmodule SnakeBridge.CallbacksTest do
  @moduledoc "Elixir funs called from Python (re-entrant) and messages sent by Python, through the real adapter."
  use ExUnit.Case, async: false

  alias SnakeBridge.{Error, Ref, Runtime, StreamRef}

  test "a fun passed as an argument is callable from Python" do
    assert {:ok, 42} = SnakeBridge.call("test_helpers", "apply_fun", [fn x -> x * 2 end, 21])
    assert {:ok, "ab"} = SnakeBridge.call("test_helpers", "apply_fun", [&<>/2, "a", "b"])
  end

  test "funs inside containers and kwargs" do
    funs = %{"double" => fn x -> x * 2 end}
    assert {:ok, 10} = SnakeBridge.call("operator", "call", [fn -> 10 end])
    assert {:ok, %{"double" => double}} = SnakeBridge.call("builtins", "dict", [funs])
    assert double.(4) == 8
    assert {:ok, [3, 2, 1]} = SnakeBridge.call("builtins", "sorted", [[1, 3, 2]], key: fn x -> -x end)
  end

  test "sorted with an Elixir key fun" do
    words = ["pear", "fig", "banana", "kiwi"]

    assert {:ok, ["fig", "pear", "kiwi", "banana"]} =
             SnakeBridge.call("builtins", "sorted", [words], key: &String.length/1)
  end

  test "functools.reduce with an Elixir fun" do
    assert {:ok, 120} =
             SnakeBridge.call("functools", "reduce", [fn acc, x -> acc * x end, 1..5 |> Enum.to_list()])
  end

  test "map() over a StreamRef with an Elixir fun" do
    {:ok, %StreamRef{} = numbers} = Runtime.call_helper("test.counting", [5, "map"])
    {:ok, %StreamRef{} = mapped} = SnakeBridge.call("builtins", "map", [fn x -> x * 10 end, numbers])
    assert Enum.to_list(mapped) == [0, 10, 20, 30, 40]
  end

  test "a fun that itself calls Python" do
    root = fn x ->
      {:ok, value} = SnakeBridge.call("math", "sqrt", [x])
      value
    end

    assert {:ok, [1.0, 2.0, 3.0]} = SnakeBridge.call("builtins", "list", [map_ref(root, [1, 4, 9])])
  end

  defp map_ref(fun, list) do
    {:ok, %StreamRef{} = mapped} = SnakeBridge.call("builtins", "map", [fun, list])
    mapped
  end

  test "callbacks nest 50 deep (Elixir -> Python -> Elixir -> ...)" do
    nest = fn
      _nest, 0 ->
        0

      nest, n ->
        {:ok, inner} = SnakeBridge.call("test_helpers", "apply_fun", [fn k -> nest.(nest, k) end, n - 1])
        inner + 1
    end

    assert nest.(nest, 50) == 50
  end

  test "a fun uses the caller's session and its refs" do
    {:ok, %Ref{} = counter} = SnakeBridge.call("test_helpers", "Counter", [0])

    bump_twice = fn ->
      {:ok, 1} = Runtime.call_method(counter, "bump", [])
      {:ok, 2} = Runtime.call_method(counter, "bump", [])
      :bumped
    end

    assert {:ok, :bumped} = SnakeBridge.call("test_helpers", "apply_fun", [bump_twice])
    assert {:ok, 2} = Runtime.get_attr(counter, "count")
  end

  test "objects Python passes to a fun arrive as refs usable inside the fun" do
    bump = fn %Ref{type_name: "Counter"} = ref ->
      {:ok, value} = Runtime.call_method(ref, "bump", [])
      value
    end

    assert {:ok, [1, 2, 3]} = SnakeBridge.call("test_helpers", "apply_to_objects", [bump, 3])
  end

  test "a fun Python returns is the original fun" do
    f = fn x -> x + 1 end
    assert {:ok, ^f} = SnakeBridge.call("builtins", "max", [[f]])
    assert {:ok, [^f, :other]} = SnakeBridge.call("builtins", "list", [{f, :other}])
  end

  test "a stored fun keeps working in later requests" do
    assert {:ok, true} = SnakeBridge.call("test_helpers", "store_fun", [fn x -> x + 1 end])
    assert {:ok, 42} = SnakeBridge.call("test_helpers", "call_stored", [41])
    assert {:ok, 8} = SnakeBridge.call("test_helpers", "call_stored", [7])
  end

  test "a stored fun whose module is gone gives a clear error" do
    [{module, _}] =
      Code.compile_string("""
      defmodule SnakeBridge.CallbacksTest.Gone do
        def inc(x), do: x + 1
      end
      """)

    assert {:ok, true} = SnakeBridge.call("test_helpers", "store_fun", [&module.inc/1])
    assert {:ok, 2} = SnakeBridge.call("test_helpers", "call_stored", [1])
    :code.purge(module)
    :code.delete(module)
    :code.purge(module)

    assert {:error, %Error{python_type: "ElixirError", message: message}} =
             SnakeBridge.call("test_helpers", "call_stored", [1])

    assert message =~ "UndefinedFunctionError"
    assert message =~ "SnakeBridge.CallbacksTest.Gone.inc/1 is undefined"
  end

  test "other callers are served while a callback runs" do
    parent = self()

    waiting = fn ->
      send(parent, {:in_fun, self()})

      receive do
        :go -> :released
      end
    end

    task = Task.async(fn -> SnakeBridge.call("test_helpers", "apply_fun", [waiting]) end)
    assert_receive {:in_fun, fun_pid}, 5_000
    callers = for x <- 1..5, do: Task.async(fn -> SnakeBridge.call("math", "sqrt", [x * x]) end)
    assert Enum.map(callers, &Task.await/1) == for(x <- 1..5, do: {:ok, x * 1.0})
    send(fun_pid, :go)
    assert Task.await(task) == {:ok, :released}
  end

  test "concurrent callers each with their own callbacks" do
    tasks =
      for i <- 1..10 do
        Task.async(fn ->
          SnakeBridge.call("functools", "reduce", [fn a, b -> a + b end, Enum.to_list(1..i)])
        end)
      end

    assert Enum.map(tasks, &Task.await/1) == for(i <- 1..10, do: {:ok, div(i * (i + 1), 2)})
  end

  describe "errors" do
    test "a fun that raises: Python gets ElixirError with kind, type and message" do
      assert {:ok, %{"kind" => "error", "type" => "ArithmeticError", "message" => message}} =
               SnakeBridge.call("test_helpers", "catch_elixir", [fn x -> 1 / x end, 0])

      assert message =~ "bad argument in arithmetic expression"

      assert {:error, %Error{python_type: "ElixirError", message: "(ArgumentError) nope"}} =
               SnakeBridge.call("test_helpers", "apply_fun", [fn -> raise ArgumentError, "nope" end])
    end

    test "a fun that exits, throws or is killed" do
      assert {:ok, %{"kind" => "exit", "message" => exited}} =
               SnakeBridge.call("test_helpers", "catch_elixir", [fn -> exit(:boom) end])

      assert exited =~ ":boom"

      assert {:ok, %{"kind" => "throw", "message" => thrown}} =
               SnakeBridge.call("test_helpers", "catch_elixir", [fn -> throw(:ball) end])

      assert thrown =~ ":ball"

      assert {:ok, %{"kind" => "exit", "message" => killed}} =
               SnakeBridge.call("test_helpers", "catch_elixir", [fn -> Process.exit(self(), :kill) end])

      assert killed =~ "killed"
    end

    test "a fun that runs too long times out, and the port goes on" do
      start_supervised!({SnakeBridge, pools: [short_callbacks: [callback_timeout: 200]]})
      opts = [__runtime__: [pool_name: :short_callbacks]]

      assert {:ok, %{"kind" => "timeout", "message" => message}} =
               SnakeBridge.call("test_helpers", "catch_elixir", [fn -> Process.sleep(:infinity) end], opts)

      assert message =~ "did not return within 200 ms"
      assert {:ok, 2.0} = SnakeBridge.call("math", "sqrt", [4], opts)
    end

    test "wrong arity is a TypeError in Python before anything is sent" do
      assert {:error, %Error{python_type: "TypeError", message: message}} =
               SnakeBridge.call("test_helpers", "apply_fun", [fn x -> x end, 1, 2])

      assert message == "Elixir fun of arity 1 called with 2 argument(s)"
    end
  end

  describe "snakeport.send" do
    test "progress reports arrive in order before the reply" do
      assert {:ok, 55} = SnakeBridge.call("test_helpers", "progress", [self(), 10])
      {:messages, messages} = Process.info(self(), :messages)
      assert Enum.take(messages, 10) == for(i <- 1..10, do: {:progress, i, 10})
      for i <- 1..10, do: assert_received({:progress, ^i, 10})
    end

    test "a message may carry any term, refs included" do
      {:ok, counter} = SnakeBridge.call("test_helpers", "Counter", [5])

      assert {:ok, nil} =
               SnakeBridge.call("snakeport", "send", [self(), %{"counter" => counter, "list" => [1, 2]}])

      assert_received %{"counter" => %Ref{type_name: "Counter"} = ref, "list" => [1, 2]}
      assert {:ok, 6} = Runtime.call_method(ref, "bump", [])
    end

    test "sending to a dead process raises ProcessNotAliveError in the sender" do
      dead = spawn(fn -> :ok end)
      ref = Process.monitor(dead)
      assert_receive {:DOWN, ^ref, :process, ^dead, _}
      assert {:ok, message} = SnakeBridge.call("test_helpers", "send_until_refused", [dead, 5.0])
      assert message =~ "is not alive"
      assert message =~ inspect(dead)
    end
  end
end
