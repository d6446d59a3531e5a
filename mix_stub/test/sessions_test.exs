defmodule SnakeBridge.SessionsTest do
  @moduledoc "Sessions, release, auto-sessions, workers, pools, timeouts."
  use ExUnit.Case

  alias SnakeBridge.{Config, Error, Ref, Runtime}

  test "release_ref: the ref is gone afterwards" do
    {:ok, ref} = SnakeBridge.call("builtins", "object", [])
    assert :ok = Runtime.release_ref(ref)
    assert {:error, %Error{python_type: "RefNotFoundError"}} = Runtime.get_attr(ref, "__class__")
  end

  test "explicit sessions are isolated" do
    {:ok, ref} = SnakeBridge.call("builtins", "object", [], __runtime__: [session_id: "alice"])
    assert ref.session_id == "alice"

    assert {:error, %Error{python_type: "SessionMismatchError"}} =
             Runtime.get_attr(ref, "__class__", __runtime__: [session_id: "bob"])

    assert {:ok, %Ref{}} = Runtime.get_attr(ref, "__class__")
    assert :ok = Runtime.release_session("alice")
    assert {:error, %Error{python_type: "RefNotFoundError"}} = Runtime.get_attr(ref, "__class__")
  end

  test "auto-session: one per process, released when the process exits" do
    parent = self()

    child =
      spawn(fn ->
        session = Runtime.current_session()
        {:ok, gen} = SnakeBridge.call("test_helpers", "counting", [10, "auto-released"])
        {:ok, 0} = Runtime.stream_next(gen)
        send(parent, {:made, session, gen.session_id})
        receive do: (:stop -> :ok)
      end)

    assert_receive {:made, session, session}, 5_000
    assert session =~ "auto_"
    assert session != Runtime.current_session()
    monitor = Process.monitor(child)
    send(child, :stop)
    assert_receive {:DOWN, ^monitor, :process, ^child, _}
    assert :ok = SnakePort.await_released(Config.core_pool(:default), session)

    {:ok, released} = SnakeBridge.call("test_helpers", "released", [])
    assert "auto-released" in released
  end

  test "release_auto_session and clear_auto_session" do
    task =
      Task.async(fn ->
        first = Runtime.current_session()
        {:ok, ref} = SnakeBridge.call("builtins", "object", [])
        :ok = Runtime.release_auto_session()
        gone = Runtime.get_attr(ref, "__class__", __runtime__: [session_id: first])
        :ok = Runtime.clear_auto_session()
        {first, Runtime.current_session(), gone}
      end)

    {first, second, gone} = Task.await(task)
    assert first != second
    assert {:error, %Error{python_type: "RefNotFoundError"}} = gone
  end

  @tag :capture_log
  test "a crashed Python process is restarted; its refs fail naming the restart" do
    session = [__runtime__: [session_id: "crashy"]]
    {:ok, ref} = SnakeBridge.call("builtins", "object", [], session)

    assert {:error, %Error{python_type: "WorkerDown", message: down}} =
             Runtime.call_helper("test.crash", [], session)

    assert down =~ "exited with status 3"
    # The worker restarts its adapter at once; a call made meanwhile waits for it.
    assert {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16], session)

    assert {:error, %Error{python_type: "RefNotFoundError", message: message}} =
             Runtime.get_attr(ref, "__class__", session)

    assert message =~ "restarted"
  end

  test "pool affinity: every session's refs resolve on the worker that made them" do
    refs =
      for i <- 1..20 do
        opts = [__runtime__: [pool_name: :pair, session_id: "s#{i}"]]
        {:ok, ref} = Runtime.call_class("collections", "Counter", [[i]], opts)
        assert ref.pool_name == :pair
        {ref, i}
      end

    for {ref, i} <- refs do
      assert {:ok, [{^i, 1}]} = Runtime.call_method(ref, "most_common", [1])
    end

    # New sessions went to the least busy worker: both got some.
    {:ok, %{workers: [first, second]}} = SnakeBridge.stats(:pair)
    assert first.sessions > 0 and second.sessions > 0
    assert first.python_pid != second.python_pid
  end

  test "a per-call timeout answers {:error, :timeout} and the worker goes on" do
    assert {:error, :timeout} = Runtime.call_helper("test.slow", [0.5], __runtime__: [timeout: 100])
    assert {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16])
  end

  test "many callers pipelined on one worker" do
    results =
      1..50
      |> Task.async_stream(fn i -> SnakeBridge.call("operator", "mul", [i, 2]) end, max_concurrency: 25)
      |> Enum.map(fn {:ok, {:ok, value}} -> value end)

    assert results == Enum.map(1..50, &(&1 * 2))
  end
end
