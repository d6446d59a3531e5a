defmodule SnakeBridge.ClientTest do
  @moduledoc "The facade over SnakePort: structs that come back, iterators released, pools that cannot start."
  use ExUnit.Case, async: false

  import ExUnit.CaptureLog

  alias SnakeBridge.{Error, Ref, Runtime}

  describe "a reply holding an Elixir struct never crashes the caller" do
    test "a struct whose module exists and whose keys fit is rebuilt" do
      uri = URI.parse("https://example.com:8443/x?y=1")
      assert {:ok, ^uri} = SnakeBridge.call("copy", "copy", [uri])
      assert {:ok, 1..10} = SnakeBridge.call("copy", "copy", [1..10])

      assert {:ok, [2..6//2, %{"k" => ^uri}]} =
               SnakeBridge.call("copy", "deepcopy", [[2..6//2, %{"k" => uri}]])
    end

    test "otherwise it is a plain map, without :__struct__" do
      assert {:ok, %{a: 1} = plain} =
               SnakeBridge.call("copy", "copy", [%{__struct__: NoSuchModule5590, a: 1}])

      refute is_struct(plain)
      assert {:ok, %{host: "x"} = partial} = SnakeBridge.call("copy", "copy", [%{__struct__: URI, host: "x"}])
      refute Map.has_key?(partial, :__struct__)

      assert {:ok, %{first: 1}} =
               SnakeBridge.call("copy", "copy", [%{__struct__: "not an atom", first: 1}]) |> drop_key()
    end
  end

  defp drop_key({:ok, map}), do: {:ok, Map.delete(map, :__struct__)}

  test "Enumerable over a Ref releases the iterator it made, however the enumeration ends" do
    {:ok, %Ref{} = range} = SnakeBridge.call("builtins", "range", [10])
    before = adapter_streams()

    for _ <- 1..97, do: assert(Enum.take(range, 3) == [0, 1, 2])
    assert Enum.sum(range) == 45
    assert Enum.zip(range, [:a, :b]) == [{0, :a}, {1, :b}]
    assert Enum.to_list(range) == Enum.to_list(0..9)
    assert_raise RuntimeError, "stop at 4", fn -> Enum.each(range, &(&1 == 4 && raise("stop at 4"))) end

    assert adapter_streams() == before
  end

  defp adapter_streams do
    {:ok, %{workers: [%{adapter: %{"streams" => streams}}]}} = SnakeBridge.stats()
    streams
  end

  test "a pool that cannot start answers each call with a SnakeBridge.Error naming the interpreter" do
    log =
      capture_log(fn ->
        start_supervised!({SnakeBridge, pools: [no_python: [python: "/nonexistent/bin/python3"]]})
      end)

    opts = [__runtime__: [pool_name: :no_python]]

    for _ <- 1..2 do
      assert {:error, %Error{python_type: "WorkerDown", message: message}} =
               SnakeBridge.call("math", "sqrt", [4], opts)

      assert message =~ "/nonexistent/bin/python3: no such file or directory"
      assert log =~ message
    end

    assert {:error, %Error{python_type: "WorkerDown"}} = Runtime.stream("builtins", "range", [3], opts, & &1)
    assert {:ok, %{workers: [%{status: :down}]}} = SnakeBridge.stats(:no_python)
  end
end
