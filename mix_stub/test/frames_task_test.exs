defmodule Mix.Tasks.Snakebridge.FramesTest do
  @moduledoc "`mix snakebridge.frames dump|replay` with the configured interpreter, on a recorded session."
  use ExUnit.Case, async: false

  import ExUnit.CaptureIO

  alias Mix.Tasks.Snakebridge.Frames

  @tag :tmp_dir
  test "dump and replay a session a pool recorded", %{tmp_dir: dir} do
    path = Path.join(dir, "task.frames")
    start_supervised!({SnakeBridge, id: :task_pool, pools: [task_pool: [record: path]]})
    opts = [__runtime__: [pool_name: :task_pool, session_id: "task"]]
    {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16], opts)
    {:ok, "hello ada!"} = SnakeBridge.call_helper("test.greet", ["ada"], opts)
    {:ok, "hello bob!"} = SnakeBridge.call("test_helpers", "greet", ["bob"], opts)
    stop_supervised!(:task_pool)

    dump = capture_io(fn -> assert :ok = Frames.run(["dump", path]) end)
    assert dump =~ "{:reply, 1, {:ok, 4.0}}"
    assert dump =~ ~s({:reply, 2, {:ok, "hello ada!"}})

    only = capture_io(fn -> assert :ok = Frames.run(["dump", path, "--id", "3", "--direction", "out"]) end)
    assert [line] = String.split(only, "\n", trim: true)
    assert line =~ ~s({:reply, 3, {:ok, "hello bob!"}})

    # The replay's adapter gets the pool's settings: the test config's PYTHONPATH and helper folder.
    replay = capture_io(fn -> assert :ok = Frames.run(["replay", path, "--pool", "task_pool"]) end)
    assert replay =~ "replay OK"
  end

  @tag :tmp_dir
  test "a replay that differs exits with the tool's status", %{tmp_dir: dir} do
    path = Path.join(dir, "differs.frames")
    start_supervised!({SnakeBridge, id: :differs, pools: [differs: [record: path]]})
    {:ok, _} = SnakeBridge.call("os", "getpid", [], __runtime__: [pool_name: :differs])
    stop_supervised!(:differs)

    output = capture_io(fn -> assert catch_exit(Frames.run(["replay", path])) == {:shutdown, 1} end)
    assert output =~ "replay FAILED"
  end
end
