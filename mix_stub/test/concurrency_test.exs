defmodule SnakeBridge.ConcurrencyTest do
  @moduledoc """
  One adapter runs calls concurrently, a timeout cancels the Python call, a
  call stuck in C code restarts the worker with `on_stuck: :restart`, and
  `thread: :main` runs a call on Python's main thread.
  """
  use ExUnit.Case, async: false

  alias SnakeBridge.Error

  defp start_pool(name, opts \\ []) do
    start_supervised!({SnakeBridge, id: name, pools: [{name, Keyword.merge([size: 1], opts)}]})
    [__runtime__: [pool_name: name]]
  end

  defp timed(fun) do
    {micros, result} = :timer.tc(fun)
    {div(micros, 1000), result}
  end

  test "a timeout cancels the Python call: the next call on the same worker answers at once" do
    opts = start_pool(:cancel_pool)
    assert {:ok, _} = SnakeBridge.call("math", "sqrt", [1], opts)

    {took, result} =
      timed(fn ->
        SnakeBridge.call("time", "sleep", [2], __runtime__: [pool_name: :cancel_pool, timeout: 300])
      end)

    assert result == {:error, :timeout}
    assert took < 1_000

    {took, result} = timed(fn -> SnakeBridge.call("operator", "add", [1, 2], opts) end)
    assert result == {:ok, 3}
    # ~100 ms at most (the sleep had 1.7 s to go); a margin for a busy machine.
    assert took < 200, "the call after a cancelled sleep took #{took} ms"
    assert {:ok, %{workers: [%{in_flight: 0, restarts: 0}]}} = SnakeBridge.stats(:cancel_pool)
  end

  test "a quick call during a long one on a pool of size 1 answers fast" do
    opts = start_pool(:overlap_pool)
    assert {:ok, _} = SnakeBridge.call("math", "sqrt", [1], opts)
    long = Task.async(fn -> SnakeBridge.call("time", "sleep", [1.5], opts) end)
    Process.sleep(100)

    {took, result} = timed(fn -> SnakeBridge.call("operator", "mul", [6, 7], opts) end)
    assert result == {:ok, 42}
    assert took < 300, "the quick call took #{took} ms beside a long one"
    assert {:ok, nil} = Task.await(long, 5_000)
  end

  @tag :capture_log
  test "on_stuck: :restart: a call stuck in C code restarts the worker; callers in flight get WorkerRestarted" do
    opts = start_pool(:stuck_pool, on_stuck: :restart)
    {:ok, %{workers: [%{python_pid: old_pid}]}} = SnakeBridge.stats(:stuck_pool)

    waiting = Task.async(fn -> SnakeBridge.call("time", "sleep", [30], opts) end)
    Process.sleep(100)

    assert {:error, :timeout} =
             SnakeBridge.call("test_helpers", "c_sleep", [5],
               __runtime__: [pool_name: :stuck_pool, timeout: 300]
             )

    # The adapter reports the call stuck 1 s after its cancel; the worker restarts.
    assert {:error, %Error{python_type: "WorkerRestarted", message: message}} = Task.await(waiting, 10_000)
    assert message =~ "c_sleep"
    assert {:ok, 3} = SnakeBridge.call("operator", "add", [1, 2], opts)
    assert {:ok, %{workers: [%{python_pid: new_pid, restarts: 1}]}} = SnakeBridge.stats(:stuck_pool)
    assert new_pid != old_pid
  end

  test "thread: :main runs the call on Python's main thread" do
    opts = start_pool(:main_pool, threads: 4)
    main = [__runtime__: [pool_name: :main_pool, thread: :main]]
    assert {:ok, true} = SnakeBridge.call("test_helpers", "on_main_thread", [], main)

    # While the main thread sleeps, another call runs on another thread.
    long = Task.async(fn -> SnakeBridge.call("time", "sleep", [0.5], main) end)
    Process.sleep(100)
    assert {:ok, false} = SnakeBridge.call("test_helpers", "on_main_thread", [], opts)
    assert {:ok, nil} = Task.await(long)
  end
end
