defmodule SnakePort.FailuresTest do
  @moduledoc """
  Adapters that cannot start, crash, crash in storms, or get stuck: every call
  gets an error saying why, nothing raises, and a worker's trouble stays its own.
  """
  use ExUnit.Case, async: false

  import ExUnit.CaptureLog
  import SnakePort.TestPools

  alias SnakePort.{Error, Restarts}

  # Starts a pool, makes three calls, and returns their results with the log.
  defp start_and_call(opts) do
    name = unique(:broken)

    log =
      capture_log(fn ->
        start_supervised!({SnakePort, id: name, pools: [{name, opts}]})
        send(self(), {:results, for(_ <- 1..3, do: SnakePort.request(name, call("math", "sqrt", [4])))})
      end)

    assert_received {:results, results}
    {name, results, log}
  end

  defp assert_start_error(opts, expected) do
    {name, results, log} = start_and_call(opts)
    assert [{:error, %Error{python_type: "WorkerDown", message: message}} | _] = results
    assert Enum.uniq(results) == [hd(results)]
    for text <- List.wrap(expected), do: assert(message =~ text)
    # Logged once, at the start, not per call.
    assert length(String.split(log, message)) == 2
    assert {:ok, %{workers: [%{status: :down, error: ^message}]}} = SnakePort.stats(name)
    message
  end

  describe "a pool whose adapter cannot start answers every call with the reason" do
    test "the interpreter does not exist" do
      assert_start_error(options(python: "/nonexistent/bin/python3"), [
        "/nonexistent/bin/python3",
        "no such file or directory"
      ])
    end

    test "the interpreter is not on the PATH" do
      assert_start_error(options(python: "no-such-python-5591"), ~s("no-such-python-5591" is not on the PATH))
    end

    @tag :tmp_dir
    test "the interpreter is not executable", %{tmp_dir: dir} do
      path = Path.join(dir, "python3")
      File.write!(path, "#!/bin/sh\n")
      File.chmod!(path, 0o644)
      assert_start_error(options(python: path), [path, "is not executable"])
    end

    test "the adapter script does not exist" do
      assert_start_error(options(adapter_path: "/nonexistent/snakeport_adapter.py"), [
        "the adapter script /nonexistent/snakeport_adapter.py"
      ])
    end

    test "the adapter exits before it is ready: its status and last stderr lines" do
      assert_start_error(fake("exits_at_start.py"), [
        "exits_at_start.py",
        "exited with status 3 before it was ready",
        "fake adapter: loading the model failed\n    fake adapter: CUDA device not found"
      ])
    end

    test "the adapter sends {:startup_error, error}" do
      assert_start_error(options(adapter_args: ["--helper-path", "/nonexistent/helpers"]), [
        "snakeport_adapter.py",
        "failed to start: HelperLoadError",
        "/nonexistent/helpers"
      ])
    end

    test "the recording file cannot be opened" do
      assert_start_error(options(record: "/nonexistent/dir/x.frames"), [
        "cannot record to /nonexistent/dir/x.frames: no such file"
      ])
    end

    test "streams and stats answer too, and nothing raises" do
      {name, _results, _log} = start_and_call(options(python: "/nonexistent/bin/python3"))

      assert {:error, %Error{python_type: "WorkerDown"}} =
               SnakePort.stream(name, call("builtins", "range", [3]), [], & &1)

      assert {:ok, %{workers: [%{status: :down, adapter: nil}]}} = SnakePort.stats(name)
    end
  end

  test "bad pool options are a start error" do
    assert {:error, %Error{python_type: "PoolStartError", message: message}} =
             SnakePort.start_pool(unique(:bad_options), size: 0)

    assert message =~ "bad pool option :size: 0"
  end

  describe "crashes" do
    test "a crash answers the calls in flight, and the worker restarts its adapter in place" do
      name = unique(:crash)
      start_supervised!({SnakePort, id: name, pools: [{name, options()}]})

      {:ok, ref} =
        SnakePort.request(name, %{
          "call_type" => "class",
          "python_module" => "collections",
          "class" => "Counter"
        })

      log =
        capture_log(fn ->
          assert {:error, %Error{python_type: "WorkerDown", message: message}} =
                   SnakePort.request(name, call("os", "_exit", [7]))

          send(self(), {:message, message})
        end)

      assert_received {:message, message}
      assert message =~ "exited with status 7"
      refute log =~ "restarting in"
      # The next call waits for the restart; the old adapter's refs are gone, and the error says why.
      assert {:error, %Error{python_type: "RefNotFoundError", message: gone}} =
               SnakePort.request(name, %{"call_type" => "get_attr", "instance" => ref, "attr" => "total"})

      assert gone =~ "has been restarted 1 time(s)"
      assert {:ok, %{workers: [%{status: :up, restarts: 1}]}} = SnakePort.stats(name)
    end

    @tag :capture_log
    test "a crash storm on one worker (12 crashes) leaves its sibling and the sibling's refs alone" do
      name = unique(:storm)
      opts = options(size: 2, backoff_initial: 1, backoff_max: 20)
      start_supervised!({SnakePort, id: name, pools: [{name, opts}]})

      # The first two sessions go to the two workers (least busy, then fewest sessions).
      {:ok, counter} =
        SnakePort.request(
          name,
          %{"call_type" => "class", "python_module" => "collections", "class" => "Counter"},
          session: "healthy"
        )

      assert {:ok, 1} = SnakePort.request(name, call("operator", "pos", [1]), session: "storm")
      {:ok, pool} = SnakePort.Pool.lookup(name)
      [healthy, storm] = for session <- ["healthy", "storm"], do: SnakePort.Router.stuck_to(pool, session)
      assert healthy != storm
      {:ok, %{workers: before}} = SnakePort.stats(name)

      for _ <- 1..12 do
        assert {:error, %Error{python_type: "WorkerDown", message: message}} =
                 SnakePort.request(name, call("os", "_exit", [1]), session: "storm")

        assert message =~ "exited with status 1"
      end

      {:ok, %{workers: workers}} = SnakePort.stats(name)
      assert %{restarts: 0, status: :up} = Enum.at(workers, healthy)
      assert Enum.at(workers, healthy).python_pid == Enum.at(before, healthy).python_pid
      assert %{restarts: 12} = Enum.at(workers, storm)

      most_common = %{
        "call_type" => "method",
        "instance" => counter,
        "function" => "most_common",
        "args" => []
      }

      assert {:ok, []} = SnakePort.request(name, most_common, session: "healthy")

      # The storm worker serves again.
      assert {:ok, 2} = SnakePort.request(name, call("operator", "pos", [2]), session: "storm")
    end

    test "restart intensity: at once up to max_restarts in max_seconds, then doubling backoff" do
      policy = Restarts.new(max_restarts: 3, max_seconds: 5, backoff_initial: 100, backoff_max: 1_000)

      {delays, _} =
        Enum.map_reduce([0, 10, 20, 30, 40, 50, 60, 70], policy, fn at, policy ->
          Restarts.crashed(policy, at)
        end)

      assert delays == [0, 0, 0, 100, 200, 400, 800, 1_000]
      # Crashes older than the window no longer count.
      {_, policy} = Enum.reduce([0, 10, 20, 30], {0, policy}, fn at, {_, p} -> Restarts.crashed(p, at) end)
      assert {0, _} = Restarts.crashed(policy, 6_000)
    end
  end

  describe "stuck calls" do
    test "on_stuck: :log logs the stuck request once" do
      name = unique(:stuck_log)
      start_supervised!({SnakePort, id: name, pools: [{name, fake("fake_adapter.py")}]})

      log =
        capture_log(fn ->
          assert {:error, :timeout} =
                   SnakePort.request(name, call("fake", "hang", [], %{"on_cancel" => "stuck"}), timeout: 20)

          # The fake sends its two stuck frames before this reply.
          assert {:ok, [1]} = SnakePort.request(name, call("fake", "echo", [1]))
        end)

      assert [_, _] = String.split(log, "is stuck")
      assert log =~ "(call fake.hang, session auto_"
      assert log =~ "still running 1500 ms after it started and 1000 ms after it was cancelled"
    end

    @tag :capture_log
    test "on_stuck: :restart restarts the adapter; callers in flight get WorkerRestarted naming the stuck call" do
      name = unique(:stuck_restart)
      start_supervised!({SnakePort, id: name, pools: [{name, fake("fake_adapter.py", on_stuck: :restart)}]})
      {:ok, %{workers: [%{python_pid: old_pid}]}} = SnakePort.stats(name)

      parent = self()

      waiting =
        Task.async(fn -> SnakePort.request(name, call("fake", "hang", [parent]), session: "other") end)

      # The fake tells us (snakeport.send-style) once the request hangs in it.
      assert_receive "hanging", 5_000

      assert {:error, :timeout} =
               SnakePort.request(name, call("fake", "hang", [], %{"on_cancel" => "stuck"}), timeout: 20)

      assert {:error, %Error{python_type: "WorkerRestarted", message: message}} = Task.await(waiting)
      assert message =~ "restarted its adapter because request"
      assert message =~ "(call fake.hang, session auto_"
      assert {:ok, [2]} = SnakePort.request(name, call("fake", "echo", [2]))
      assert {:ok, %{workers: [%{python_pid: new_pid, restarts: 1}]}} = SnakePort.stats(name)
      assert new_pid != old_pid
    end

    test "a Cancelled reply after the caller timed out is dropped quietly" do
      name = unique(:cancelled)
      start_supervised!({SnakePort, id: name, pools: [{name, fake("fake_adapter.py")}]})

      log =
        capture_log(fn ->
          assert {:error, :timeout} =
                   SnakePort.request(name, call("fake", "hang", [], %{"on_cancel" => "reply"}), timeout: 20)

          assert {:ok, [3]} = SnakePort.request(name, call("fake", "echo", [3]))
        end)

      assert log == ""
      refute_received _
      assert {:ok, %{workers: [%{in_flight: 0}]}} = SnakePort.stats(name)
    end
  end
end
