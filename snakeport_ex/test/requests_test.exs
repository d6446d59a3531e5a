defmodule SnakePort.RequestsTest do
  @moduledoc "Requests in wire form through the real adapter: values, errors, timeouts, streams, callbacks."
  use ExUnit.Case, async: false

  import SnakePort.TestPools

  alias SnakePort.Error

  setup_all do
    start_supervised!({SnakePort, pools: [core: options(size: 1)]})
    :ok
  end

  test "a call answers the adapter's value in wire form" do
    assert {:ok, 4.0} = SnakePort.request(:core, call("math", "sqrt", [16]))

    assert {:ok, %{"__type__" => "ref", "type_name" => "Counter", "session_id" => session}} =
             SnakePort.request(:core, %{
               "call_type" => "class",
               "python_module" => "collections",
               "class" => "Counter"
             })

    assert session == SnakePort.auto_session(:core)
  end

  test "a Python exception is an error struct, never a raise" do
    assert {:error, %Error{python_type: "ValueError", message: "math domain error"} = error} =
             SnakePort.request(:core, call("math", "sqrt", [-1]))

    assert error.python_traceback =~ "Traceback"

    assert {:error, %Error{python_type: "PoolNotStarted"}} =
             SnakePort.request(:no_such_pool, call("math", "sqrt", [1]))
  end

  test "a timeout answers {:error, :timeout}, cancels, and the late reply is dropped" do
    assert {:error, :timeout} =
             SnakePort.request(:core, call("core_helpers", "slow", [0.3, "late"]), timeout: 50)

    # The adapter is busy with the slow call; this one waits for it, and gets its own reply.
    assert {:ok, "mine"} = SnakePort.request(:core, call("core_helpers", "slow", [0, "mine"]))
    refute_received _
  end

  test "many callers pipelined on one worker each get their own reply" do
    results =
      1..100
      |> Task.async_stream(fn i -> SnakePort.request(:core, call("operator", "mul", [i, 3])) end,
        max_concurrency: 50
      )
      |> Enum.map(fn {:ok, {:ok, value}} -> value end)

    assert results == Enum.map(1..100, &(&1 * 3))
  end

  test "a push stream feeds every item in order" do
    parent = self()

    assert {:ok, :done} =
             SnakePort.stream(:core, call("builtins", "range", [2_000]), [batch: 64], &send(parent, &1))

    assert for(_ <- 1..2_000, do: assert_receive(item) && item) == Enum.to_list(0..1_999)
  end

  test "an Elixir fun in the request is called back, and may call Python itself" do
    root = fn x ->
      {:ok, r} = SnakePort.request(:core, call("math", "sqrt", [x]))
      r
    end

    assert {:ok, 3.0} = SnakePort.request(:core, call("core_helpers", "apply_fun", [root, 9]))
  end

  @tag :capture_log
  test "a callback reply for an id Python never sent is logged by the adapter and changes nothing" do
    {:ok, pool} = SnakePort.Pool.lookup(:core)
    worker = SnakePort.Pool.route(pool, 0).worker
    assert :ok = SnakePort.Worker.write(worker, SnakePort.Wire.callback_reply(987_654, {:ok, 1}))
    assert {:ok, 3.0} = SnakePort.request(:core, call("math", "sqrt", [9]))
  end

  test "stats: per worker counters and the adapter's own" do
    start_supervised!({SnakePort, id: :stats, pools: [stats: options(size: 2)]})
    assert {:ok, 1} = SnakePort.request(:stats, call("operator", "pos", [1]))
    assert {:ok, %{pool: :stats, workers: [worker, other]}} = SnakePort.stats(:stats)
    assert %{status: :up, in_flight: 0, restarts: 0, callbacks: 0, streams: 0, queue: _} = worker
    assert worker.sessions + other.sessions == 1
    assert %{"sessions" => _, "refs" => _, "streams" => _, "frames_in" => _} = worker.adapter
    assert {:ok, %{"pid" => pid}} = SnakePort.info(:stats)
    assert pid == worker.python_pid
  end
end
