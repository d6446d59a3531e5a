defmodule SnakeBridge.StreamsTest do
  @moduledoc "Batched pulls with exact semantics, push streams with back-pressure, async generators."
  use ExUnit.Case

  alias SnakeBridge.{Error, Runtime, StreamRef}

  defp counter do
    {:ok, counter} = SnakeBridge.call("itertools", "count", [1])
    counter
  end

  defp next(stream), do: Runtime.stream_next(stream)

  describe "every early halt leaves the stream right after the last consumed item" do
    test "Enum.take twice" do
      c = counter()
      assert Enum.take(c, 10) == Enum.to_list(1..10)
      assert Enum.take(c, 5) == Enum.to_list(11..15)
      assert next(c) == {:ok, 16}
    end

    test "Enum.take_while" do
      c = counter()
      assert Enum.take_while(c, &(&1 < 7)) == Enum.to_list(1..6)
      # take_while consumed 7 to decide: the stream goes on after it
      assert next(c) == {:ok, 8}
    end

    test "Enum.find and Enum.find_index" do
      c = counter()
      assert Enum.find(c, &(rem(&1, 13) == 0)) == 13
      assert next(c) == {:ok, 14}
      assert Enum.find_index(c, &(&1 == 20)) == 5
      assert next(c) == {:ok, 21}
    end

    test "Stream.take inside a pipeline" do
      c = counter()
      assert c |> Stream.map(&(&1 * 10)) |> Stream.take(3) |> Enum.to_list() == [10, 20, 30]
      assert c |> Stream.filter(&(rem(&1, 2) == 0)) |> Enum.take(2) == [4, 6]
      assert next(c) == {:ok, 7}
    end

    test "a halted Enum.reduce_while" do
      c = counter()

      sum =
        Enum.reduce_while(c, 0, fn x, acc -> if acc + x > 20, do: {:halt, acc}, else: {:cont, acc + x} end)

      assert sum == 15
      assert next(c) == {:ok, 7}
    end

    test "Enum.at, Enum.member? fallback and Stream.zip" do
      c = counter()
      assert Enum.at(c, 2) == 3
      assert next(c) == {:ok, 4}
      assert Enum.member?(c, 9)
      assert next(c) == {:ok, 10}
      assert c |> Stream.zip([:a, :b]) |> Enum.to_list() == [{11, :a}, {12, :b}]
    end

    test "stream_next and batched pulls mix" do
      c = counter()
      assert next(c) == {:ok, 1}
      assert Enum.take(c, 3) == [2, 3, 4]
      assert next(c) == {:ok, 5}
    end
  end

  test "exhaustion: a finite stream ends and answers stop_iteration ever after" do
    {:ok, gen} = SnakeBridge.call("test_helpers", "counting", [5, "exhaust"])
    assert Enum.to_list(gen) == [0, 1, 2, 3, 4]
    assert Enum.to_list(gen) == []
    assert next(gen) == {:error, :stop_iteration}
  end

  test "releasing a stream closes its generator (its finally runs)" do
    {:ok, gen} = SnakeBridge.call("test_helpers", "counting", [1_000, "released-early"])
    assert Enum.take(gen, 3) == [0, 1, 2]
    assert :ok = Runtime.release_ref(gen)
    {:ok, released} = SnakeBridge.call("test_helpers", "released", [])
    assert "released-early" in released
  end

  test "batches grow: a long stream costs few round trips" do
    {:ok, gen} = SnakeBridge.call("builtins", "iter", [Enum.to_list(1..100_000)])
    {:ok, before} = SnakeBridge.call("builtins", "len", [[]]) |> then(fn _ -> stats() end)
    assert Enum.sum(gen) == 5_000_050_000
    {:ok, after_} = stats()
    assert after_["frames_in"] - before["frames_in"] < 50
  end

  test "an exception mid-stream comes after the items produced before it" do
    {:ok, gen} = SnakeBridge.call("test_helpers", "failing", [3])
    assert Enum.take(gen, 3) == [0, 1, 2]
    assert_raise Error, ~r/failed after 3 items/, fn -> Enum.to_list(gen) end

    {:ok, gen} = SnakeBridge.call("test_helpers", "failing", [3])
    assert_raise Error, ~r/ValueError: failed after 3 items/, fn -> Enum.to_list(gen) end
  end

  test "a stream inside a container" do
    {:ok, %{"data" => %StreamRef{} = data}} = Runtime.call_helper("test.with_generator", [])
    assert Enum.take(data, 2) == [0, 2]
    assert Enum.to_list(data) == [4, 6, 8, 10, 12, 14, 16, 18]
  end

  describe "push streams" do
    test "stream/5 delivers every item in order" do
      parent = self()
      assert {:ok, :done} = Runtime.stream("builtins", "range", [10_000], [], &send(parent, {:item, &1}))
      items = for _ <- 1..10_000, do: assert_receive({:item, item}) && item
      assert items == Enum.to_list(0..9_999)
    end

    test "back-pressure: the generator never runs ahead of the credit window" do
      # 2 chunks of at most 10 items in flight: Python is at most 20 items ahead.
      opts = [__runtime__: [stream_credit: 2, stream_batch: 10, session_id: "bp"]]
      parent = self()

      callback = fn item ->
        if rem(item, 5) == 0 do
          {:ok, produced} = SnakeBridge.call("test_helpers", "produced", [], __runtime__: [session_id: "bp"])
          send(parent, {:ahead, produced - (item + 1)})
        end
      end

      assert {:ok, :done} = Runtime.stream("test_helpers", "tracked", [200], opts, callback)
      aheads = for _ <- 1..40, do: assert_receive({:ahead, ahead}) && ahead
      assert Enum.max(aheads) <= 20
      assert Enum.max(aheads) > 0
    end

    test "a timeout cancels the generator" do
      opts = [__runtime__: [stream_timeout: 200]]

      assert {:error, :timeout} =
               Runtime.stream("test_helpers", "slow_counting", [1_000, 0.01, "push-timeout"], opts, fn _ ->
                 :ok
               end)

      {:ok, released} = SnakeBridge.call("test_helpers", "released", [])
      assert "push-timeout" in released
      assert {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16])
    end

    test "an exception ends the stream after the items produced" do
      parent = self()

      assert {:error, %Error{python_type: "ValueError"}} =
               Runtime.stream("test_helpers", "failing", [3], [], &send(parent, {:item, &1}))

      assert_received {:item, 0}
      assert_received {:item, 1}
      assert_received {:item, 2}
    end

    test "other requests are served while a stream waits for credit" do
      parent = self()

      # The consumer holds its first chunk until told to go on: the stream
      # has used its credit and waits.
      consumer =
        spawn_link(fn ->
          result =
            Runtime.stream("builtins", "range", [100_000], [], fn
              0 ->
                send(parent, :stalled)
                receive do: (:go -> :ok)

              _ ->
                :ok
            end)

          send(parent, {:stream_over, result})
        end)

      assert_receive :stalled, 5_000
      assert {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16], __runtime__: [timeout: 500])
      send(consumer, :go)
      assert_receive {:stream_over, {:ok, :done}}, 5_000
    end
  end

  describe "async generators" do
    test "pull path" do
      {:ok, gen} = SnakeBridge.call("test_helpers", "agen", [5])
      assert gen.stream_type == "async_generator"
      assert Enum.take(gen, 2) == [0, 1]
      assert Enum.to_list(gen) == [2, 3, 4]
    end

    test "push path" do
      parent = self()
      assert {:ok, :done} = Runtime.stream("test_helpers", "agen", [4], [], &send(parent, {:item, &1}))
      for i <- 0..3, do: assert_received({:item, ^i})
    end

    test "coroutines are awaited, including asyncio.sleep" do
      assert {:ok, 5} = SnakeBridge.call("test_helpers", "async_add", [2, 3])
    end
  end

  defp stats do
    {:ok, %{workers: [worker]}} = SnakeBridge.stats()
    {:ok, worker.adapter}
  end
end
