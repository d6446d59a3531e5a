defmodule SnakeBridge.RecordingTest do
  @moduledoc """
  The worker's `record:` option through the real BEAM: sessions are recorded,
  dumped and replayed with `python -m snakeport frames`.  With
  `SNAKEPORT_UPDATE_RECORDINGS=1` the recordings are also copied to
  `tests/recordings/`, where pytest replays them as regression tests.
  """
  use ExUnit.Case, async: false

  alias SnakeBridge.Runtime

  @root Path.expand("../..", __DIR__)
  @helpers Path.expand("helpers", __DIR__)

  setup do
    path = Path.join(System.tmp_dir!(), "snakebridge_#{System.unique_integer([:positive])}.frames")
    on_exit(fn -> File.rm(path) end)
    %{path: path}
  end

  defp record(name, path, session) do
    pool = :"recorded_#{name}"
    start_supervised!({SnakeBridge, pools: [{pool, [size: 1, record: path]}]})
    session.(__runtime__: [pool_name: pool, session_id: "recorded"])
    stop_supervised!(SnakeBridge)

    if System.get_env("SNAKEPORT_UPDATE_RECORDINGS") == "1" do
      File.cp!(path, Path.join([@root, "tests", "recordings", "#{name}.frames"]))
    end
  end

  defp frames(args) do
    python = SnakeBridge.Config.python()
    python = if String.contains?(python, "/"), do: Path.expand(python), else: python
    env = [{"PYTHONPATH", Enum.join([Path.join(@root, "adapter"), @helpers], ":")}]
    System.cmd(python, ["-m", "snakeport", "frames" | args], env: env, stderr_to_stdout: true)
  end

  test "a basic session: calls, a ref, an error, a stream, a helper", %{path: path} do
    record("basic", path, fn opts ->
      {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16], opts)
      {:ok, counter} = Runtime.call_class("collections", "Counter", ["abracadabra"], opts)
      {:ok, [{"a", 5}, {"b", 2}]} = Runtime.call_method(counter, "most_common", [2], opts)
      {:error, %SnakeBridge.Error{python_type: "ValueError"}} = SnakeBridge.call("math", "sqrt", [-1], opts)
      {:ok, stream} = SnakeBridge.call("itertools", "count", [1], opts)
      [1, 2, 3] = Enum.take(stream, 3)
      {:ok, "hello ada!"} = Runtime.call_helper("test.greet", ["ada"], opts)
      :ok = Runtime.release_ref(counter)
    end)

    {dump, 0} = frames(["dump", path])
    assert dump =~ ~r/^\s+1  out\s+\d+\.\d{6}  \{:ready, %\{"protocol" => 1, /
    assert dump =~ ~s({:call, 1, %{)
    assert dump =~ ~s("function" => "sqrt")
    assert dump =~ "{:reply, 1, {:ok, 4.0}}"
    assert dump =~ ~s({:reply, 3, {:ok, [{"a", 5}, {"b", 2}]}})

    assert dump =~
             ~s({:reply, 4, {:error, %{"type" => "ValueError", "module" => "builtins", "message" => "math domain error")

    assert dump =~ ~s({:reply, 8, {:ok, "hello ada!"}})

    {only_8, 0} = frames(["dump", path, "--id", "8"])
    assert [call, reply] = String.split(only_8, "\n", trim: true)
    assert call =~ ~r/^\s+\d+  in\s+\d+\.\d+  \{:call, 8, %\{/
    assert reply =~ ~s({:reply, 8, {:ok, "hello ada!"}})

    assert {"replay OK: " <> _, 0} = frames(["replay", path, "--", "--helper-path", @helpers])
  end

  test "a session with callbacks and messages", %{path: path} do
    record("callbacks", path, fn opts ->
      {:ok, ["fig", "pear", "banana"]} =
        SnakeBridge.call("builtins", "sorted", [~w(pear fig banana)], [key: &String.length/1] ++ opts)

      {:ok, 6} = SnakeBridge.call("test_helpers", "progress", [self(), 3], opts)
      for i <- 1..3, do: assert_received({:progress, ^i, 3})
    end)

    {dump, 0} = frames(["dump", path])
    assert dump =~ ~r/\{:callback, 1, &String\.length\/1, \["pear"\]\}/
    assert dump =~ "{:callback_reply, 1, {:ok, 4}}"
    # A pid of this node: `#PID<0.N.0>`, with the node's name once it is distributed.
    assert dump =~ ~r/\{:send, #PID<(0|[^>. ]+@[^>. ]+(\.[^>. ]+)*)\.\d+\.\d+>, \{:progress, 1, 3\}\}/

    {outs, 0} = frames(["dump", path, "--direction", "out", "--json"])
    decoded = outs |> String.split("\n", trim: true) |> Enum.map(&json_direction/1)
    assert Enum.all?(decoded, &(&1 == "out"))

    assert {"replay OK: " <> _, 0} = frames(["replay", path, "--", "--helper-path", @helpers])
  end

  # No JSON library in the stub: the direction field is enough to check.
  defp json_direction(line) do
    [_, direction] = Regex.run(~r/"direction": "(\w+)"/, line)
    direction
  end
end
