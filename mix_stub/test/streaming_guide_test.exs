defmodule SnakeBridge.StreamingGuideTest do
  @moduledoc "The examples of SnakeBridge's STREAMING_GUIDE.md, as written."
  use ExUnit.Case

  alias SnakeBridge.StreamRef

  test "Enumerable over builtins.range(10)" do
    # Create a Python range iterator
    {:ok, stream} = SnakeBridge.call("builtins", "range", [10])

    # Use standard Enum functions
    first_five = Enum.take(stream, 5)
    total = Enum.sum(stream)
    doubled = Enum.map(stream, &(&1 * 2))
    list = Enum.to_list(stream)

    assert first_five == [0, 1, 2, 3, 4]
    assert total == 45
    assert doubled == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
    assert list == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
  end

  test "lazy iteration continues where it left off" do
    # Create an infinite counter
    {:ok, counter} = SnakeBridge.call("itertools", "count", [1])
    assert %StreamRef{stream_type: "iterator"} = counter

    # Fetch only what you need
    first_ten = Enum.take(counter, 10)
    # The iterator continues from where it left off
    next_five = Enum.take(counter, 5)

    assert first_ten == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert next_five == [11, 12, 13, 14, 15]
  end

  test "converting to a list in Python" do
    # Create a range reference
    {:ok, range_ref} = SnakeBridge.call("builtins", "range", [100])

    # Convert to list in Python (single round-trip)
    {:ok, list} = SnakeBridge.call("builtins", "list", [range_ref])
    assert list == Enum.to_list(0..99)
  end

  test "processing large datasets in chunks" do
    {:ok, data_stream} = SnakeBridge.call_helper("test.load_large_dataset", [])
    parent = self()

    # Process in chunks without loading everything into memory
    data_stream
    |> Stream.chunk_every(100)
    |> Stream.each(fn batch -> send(parent, {:batch, length(batch), hd(batch)}) end)
    |> Stream.run()

    batches = for _ <- 1..10, do: assert_receive({:batch, 100, _first})
    assert length(batches) == 10
    refute_received {:batch, _, _}
  end

  test "generators in containers (graceful serialization)" do
    {:ok, result} = SnakeBridge.call_helper("test.with_generator", [])

    assert %{"status" => "ok", "data" => %StreamRef{}} = result
    assert result["status"] == "ok"
    assert Enum.to_list(result["data"]) == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
  end

  test "stream/5 calls the callback per item" do
    parent = self()

    callback = fn chunk ->
      send(parent, {:chunk, chunk})
      :ok
    end

    assert SnakeBridge.Runtime.stream("test_helpers", "counting", [3, "cb"], [], callback) == {:ok, :done}
    assert_received {:chunk, 0}
    assert_received {:chunk, 1}
    assert_received {:chunk, 2}
  end

  test "stream/5 with a non-iterable result calls back once" do
    parent = self()
    assert {:ok, :done} = SnakeBridge.Runtime.stream("math", "sqrt", [16], [], &send(parent, {:item, &1}))
    assert_received {:item, 4.0}
    refute_received {:item, _}
  end

  test "stream timeouts: per call, :infinity, and a timeout closes the generator" do
    parent = self()
    opts = [__runtime__: [stream_timeout: :infinity]]

    assert {:ok, :done} =
             SnakeBridge.Runtime.stream("test_helpers", "counting", [2, "inf"], opts, &send(parent, &1))

    opts = [__runtime__: [stream_timeout: 300]]

    assert {:error, :timeout} =
             SnakeBridge.Runtime.stream(
               "test_helpers",
               "slow_counting",
               [100, 0.1, "timed-out"],
               opts,
               fn _ -> :ok end
             )

    # The cancel has been answered: Python closed the generator before serving this call.
    {:ok, released} = SnakeBridge.call("test_helpers", "released", [])
    assert "timed-out" in released
  end

  test "StreamRef counting: generators have no length, iterators use __len__" do
    {:ok, generator} = SnakeBridge.call("test_helpers", "counting", [4, "count"])
    assert Enumerable.count(generator) == {:error, Enumerable.SnakeBridge.StreamRef}
    assert Enum.count(generator) == 4

    {:ok, sized} = SnakeBridge.Runtime.call_class("test_helpers", "Sized", [3])
    assert Enum.count(sized) == 3
    assert Enumerable.member?(sized, 1) == {:error, Enumerable.SnakeBridge.StreamRef}
    assert Enumerable.slice(sized) == {:error, Enumerable.SnakeBridge.StreamRef}
  end

  test "exhaustion: stop_iteration ever after" do
    {:ok, stream} = SnakeBridge.call("builtins", "iter", [[1]])
    assert SnakeBridge.Runtime.stream_next(stream) == {:ok, 1}
    assert SnakeBridge.Runtime.stream_next(stream) == {:error, :stop_iteration}
    assert SnakeBridge.Runtime.stream_next(stream) == {:error, :stop_iteration}
  end
end
