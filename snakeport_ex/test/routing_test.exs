defmodule SnakePort.RoutingTest do
  @moduledoc "Sessions to workers: least busy when new, sticky after; auto-sessions per pool, released at exit."
  use ExUnit.Case, async: false

  import SnakePort.TestPools

  alias SnakePort.Router

  setup do
    name = unique(:routing)
    start_supervised!({SnakePort, id: name, pools: [{name, options(size: 2)}]})
    {:ok, pool} = SnakePort.Pool.lookup(name)
    %{name: name, pool: pool}
  end

  defp python_pid(name, session) do
    {:ok, pid} = SnakePort.request(name, call("os", "getpid"), session: session)
    pid
  end

  # Occupies the worker of `session` until the returned task is awaited.
  defp keep_busy(name, session, seconds) do
    parent = self()

    task =
      Task.async(fn ->
        SnakePort.request(name, call("core_helpers", "busy", [parent, seconds]), session: session)
      end)

    assert_receive "busy", 5_000
    task
  end

  test "a new session goes to the least busy worker, then to the one with fewer sessions", %{
    name: name,
    pool: pool
  } do
    assert python_pid(name, "a") > 0
    a = Router.stuck_to(pool, "a")
    busy = keep_busy(name, "a", 0.3)

    # Worker a is busy: new sessions go to the other one, whatever the session counts.
    for session <- ["b", "c"], do: python_pid(name, session)
    assert Router.stuck_to(pool, "b") == 1 - a
    assert Router.stuck_to(pool, "c") == 1 - a
    assert {:ok, "done"} = Task.await(busy)

    # Both idle: the one with fewer sessions.
    python_pid(name, "d")
    assert Router.stuck_to(pool, "d") == a
    assert Router.sessions(pool, a) == 2 and Router.sessions(pool, 1 - a) == 2
  end

  test "a routed session keeps its worker, even while that worker is busy", %{name: name} do
    pid = python_pid(name, "sticky")
    busy = keep_busy(name, "sticky", 0.2)
    # Queued behind the busy call on the same Python process, not moved to the idle one.
    assert python_pid(name, "sticky") == pid
    assert {:ok, "done"} = Task.await(busy)
    assert for(_ <- 1..10, uniq: true, do: python_pid(name, "sticky")) == [pid]
  end

  test "releasing a session unsticks it", %{name: name, pool: pool} do
    {:ok, _ref} =
      SnakePort.request(
        name,
        %{"call_type" => "class", "python_module" => "collections", "class" => "Counter"},
        session: "gone"
      )

    index = Router.stuck_to(pool, "gone")
    assert Router.sessions(pool, index) == 1
    assert {:ok, 1} = SnakePort.release_session(name, "gone")
    assert Router.stuck_to(pool, "gone") == nil
    assert Router.sessions(pool, index) == 0
    # Never routed: nothing to release, no round trip.
    assert {:ok, 0} = SnakePort.release_session(name, "never-used")
  end

  test "auto-sessions are per pool, and all of a process's are released when it exits", %{
    name: name,
    pool: pool
  } do
    other = unique(:routing_other)
    start_supervised!({SnakePort, id: other, pools: [{other, options()}]})
    {:ok, other_pool} = SnakePort.Pool.lookup(other)
    parent = self()

    owner =
      spawn(fn ->
        for pool_name <- [name, other] do
          {:ok, _} =
            SnakePort.request(pool_name, %{
              "call_type" => "class",
              "python_module" => "collections",
              "class" => "Counter"
            })
        end

        send(parent, {:sessions, SnakePort.auto_session(name), SnakePort.auto_session(other)})
        receive do: (:stop -> :ok)
      end)

    assert_receive {:sessions, first, second}
    assert first != second
    assert Router.stuck_to(pool, first) != nil and Router.stuck_to(other_pool, second) != nil

    monitor = Process.monitor(owner)
    send(owner, :stop)
    assert_receive {:DOWN, ^monitor, :process, ^owner, _}
    assert :ok = SnakePort.await_released(name, first)
    assert :ok = SnakePort.await_released(other, second)
    assert Router.stuck_to(pool, first) == nil and Router.stuck_to(other_pool, second) == nil

    assert {:ok, %{workers: [%{adapter: %{"sessions" => 0}}]}} = SnakePort.stats(other)
  end

  test "forget and release the caller's auto-sessions", %{name: name, pool: pool} do
    first = SnakePort.auto_session(name)
    assert :ok = SnakePort.forget_auto_sessions()
    second = SnakePort.auto_session(name)
    assert first != second
    python_pid(name, nil)
    assert Router.stuck_to(pool, second) != nil
    assert :ok = SnakePort.release_auto_sessions()
    assert Router.stuck_to(pool, second) == nil
    assert SnakePort.auto_session(name) != second
  end
end
