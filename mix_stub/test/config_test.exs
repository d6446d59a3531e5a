defmodule SnakeBridge.ConfigTest do
  @moduledoc """
  Every pool option SnakeBridge passes to the adapter, app-wide and per pool,
  and the errors for options that are not options.
  """
  use ExUnit.Case, async: false

  import ExUnit.CaptureLog

  alias SnakeBridge.{Config, Error}

  @helpers Path.expand("helpers", __DIR__)

  defp start_pool(name, opts) do
    start_supervised!({SnakeBridge, id: name, pools: [{name, opts}]})
    [__runtime__: [pool_name: name]]
  end

  # App-wide settings for one test.
  defp put_app_env(settings) do
    old = Application.get_all_env(:snakebridge)
    for {key, value} <- settings, do: Application.put_env(:snakebridge, key, value)

    on_exit(fn ->
      for {key, _} <- settings, do: Application.delete_env(:snakebridge, key)
      for {key, value} <- old, do: Application.put_env(:snakebridge, key, value)
    end)
  end

  @tag :tmp_dir
  test "python_path: first on sys.path, ahead of the adapter's own folder and of PYTHONPATH", %{tmp_dir: dir} do
    File.write!(Path.join(dir, "my_own_module.py"), "def hello(name):\n    return 'hi ' + name\n")
    opts = start_pool(:python_path_pool, python_path: [dir])
    assert {:ok, "hi ada"} = SnakeBridge.call("my_own_module", "hello", ["ada"], opts)

    {:ok, path} = SnakeBridge.get("sys", "path", opts)
    mine = Enum.find_index(path, &(&1 == dir))
    # (the launcher's folder: the copy in the build, never in snakeport_ex/)
    own = Enum.find_index(path, &(&1 == Application.app_dir(:snakeport, "priv/python")))
    refute Enum.any?(path, &String.contains?(&1, "snakeport_ex/priv"))
    pythonpath = Enum.find_index(path, &(&1 == @helpers))
    assert mine == 0
    assert own != nil and own > mine
    assert pythonpath != nil and pythonpath > own
  end

  test "env: extra environment variables" do
    opts = start_pool(:env_pool, env: [{"PYTHONPATH", @helpers}, {"SNAKEBRIDGE_TEST_VAR", "forty-two"}])
    assert {:ok, "forty-two"} = SnakeBridge.call("os", "getenv", ["SNAKEBRIDGE_TEST_VAR"], opts)
  end

  test "adapter_args: options of the adapter" do
    opts = start_pool(:args_pool, adapter_args: ["--max-refs", "2"])
    {:ok, first} = SnakeBridge.call("builtins", "object", [], opts)
    for _ <- 1..2, do: {:ok, _} = SnakeBridge.call("builtins", "object", [], opts)
    assert {:error, %Error{python_type: "RefEvictedError"}} = SnakeBridge.attr(first, "__class__")
  end

  test "size: and threads:" do
    opts = start_pool(:sized_pool, size: 2, threads: 3)
    assert {:ok, %{workers: [_, _] = workers}} = SnakeBridge.stats(:sized_pool)
    assert {:ok, 1} = SnakeBridge.call("operator", "pos", [1], opts)
    assert Enum.all?(workers, &(&1.adapter["threads"] == 3))

    for worker <- workers,
        key <- ~w(sessions refs streams running queued threads pool_threads protocol_errors),
        do: assert(Map.has_key?(worker.adapter, key), "stats lacks #{key}")

    {:ok, pool} = SnakeBridge.Runtime.pool(:sized_pool)
    assert {:ok, %{"threads" => 3}} = SnakePort.info(pool, 1)
  end

  test "callback_timeout: a fun that runs too long raises in Python" do
    opts = start_pool(:callback_pool, callback_timeout: 100)
    slow = fn x -> Process.sleep(1_000) && x end

    assert {:ok, %{"kind" => "timeout"}} = SnakeBridge.call("test_helpers", "catch_elixir", [slow, 1], opts)
  end

  @tag :tmp_dir
  test "record: every frame to a file", %{tmp_dir: dir} do
    path = Path.join(dir, "pool.frames")
    opts = start_pool(:record_pool, record: path)
    assert {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16], opts)
    stop_supervised!(:record_pool)
    assert "SNAKEPORT-FRAMES 1\n" <> records = File.read!(path)
    assert byte_size(records) > 0
  end

  test "adapter: :module runs python -m snakeport (the package installed in the interpreter's venv)" do
    opts = start_pool(:module_pool, adapter: :module, python_path: [@helpers])
    assert {:ok, "hello ada!"} = SnakeBridge.call("test_helpers", "greet", ["ada"], opts)
    {:ok, file} = SnakeBridge.get("snakeport", "__file__", opts)
    refute file =~ "/priv/python/"
  end

  test "app-wide settings apply to every pool; a pool's own win" do
    put_app_env(threads: 2, pools: [default: [size: 1], app_a: [], app_b: [threads: 5]])
    assert {:ok, opts} = Config.pool_options(:app_a)
    assert opts[:threads] == 2
    assert {:ok, opts} = Config.pool_options(:app_b)
    assert opts[:threads] == 5
    assert {:ok, opts} = Config.pool_options(:app_b, threads: 7)
    assert opts[:threads] == 7
    assert opts[:translator] == SnakeBridge.Types

    start_supervised!({SnakeBridge, pools: [app_b: []]})
    {:ok, pool} = SnakeBridge.Runtime.pool(:app_b)
    assert {:ok, %{"threads" => 5}} = SnakePort.info(pool)
  end

  test "app-wide record: pools other than :default record to FILE.POOL" do
    put_app_env(record: "/tmp/x.frames")
    assert {:ok, opts} = Config.pool_options(:default)
    assert opts[:record] == "/tmp/x.frames"
    assert {:ok, opts} = Config.pool_options(:ml)
    assert opts[:record] == "/tmp/x.frames.ml"
  end

  describe "options that are not options are clear errors at start" do
    test "a misspelt app-wide key" do
      put_app_env(pythn: "/usr/bin/python3")

      assert {:error, %Error{python_type: "PoolStartError", message: message}} =
               SnakeBridge.call("math", "sqrt", [4], __runtime__: [pool_name: :never_started])

      assert message =~ "config :snakebridge: unknown option :pythn (did you mean :python?"
    end

    test "a misspelt key of a pool, in config and in a supervision tree" do
      put_app_env(pools: [default: [size: 1], typo: [szie: 2]])

      assert {:error, %Error{message: message}} =
               SnakeBridge.call("math", "sqrt", [4], __runtime__: [pool_name: :typo])

      assert message =~ "pool :typo: unknown option :szie (did you mean :size?"

      assert_raise ArgumentError, ~r/pool :tree: unknown option :threds \(did you mean :threads\?/, fn ->
        SnakeBridge.child_spec(pools: [tree: [threds: 2]])
      end

      assert_raise ArgumentError, ~r/unknown option :pool/, fn -> SnakeBridge.child_spec(pool: []) end
    end

    test "a value of the wrong kind fails the supervisor's start with its reason" do
      Process.flag(:trap_exit, true)

      assert {:error, {{:shutdown, {:failed_to_start_child, _, %SnakePort.Error{message: message}}}, _}} =
               start_supervised({SnakeBridge, id: :bad_value, pools: [bad_value: [size: 0]]})

      assert message =~ "bad pool option :size: 0 (a positive integer)"
    end

    test "a misspelt runtime setting and a bad arrays: default" do
      put_app_env(runtime: [default_timout: 5])
      assert {:error, %Error{message: message}} = Config.pool_options(:default)
      assert message =~ "runtime: unknown option :default_timout (did you mean :default_timeout?"

      put_app_env(runtime: [], arrays: :tensors)
      assert {:error, %Error{message: message}} = Config.pool_options(:default)
      assert message =~ "arrays: must be :ref or :tensor"
    end
  end

  describe "call options" do
    test "a misspelt __runtime__ key is an ArgumentError naming it" do
      assert_raise ArgumentError, ~r/unknown __runtime__ option :timout \(did you mean :timeout\?/, fn ->
        SnakeBridge.call("math", "sqrt", [4], __runtime__: [timout: 100])
      end

      assert_raise ArgumentError, ~r/bad __runtime__ option :arrays: :tensors/, fn ->
        SnakeBridge.call("math", "sqrt", [4], __runtime__: [arrays: :tensors])
      end
    end

    test "a call's keyword named like a runtime option is refused, not sent to Python" do
      assert_raise ArgumentError, ~r/timeout: 100 looks like a runtime option in the wrong place/, fn ->
        SnakeBridge.call("time", "sleep", [1], timeout: 100)
      end

      # Said explicitly, it is Python's keyword argument.
      assert {:ok, "timeout=5"} = SnakeBridge.call("test_helpers", "with_timeout", [], kwargs: [timeout: 5])
    end

    test "other keywords of a call are Python's keyword arguments, as in SnakeBridge" do
      assert {:ok, 3.14} = SnakeBridge.call("builtins", "round", [3.14159], ndigits: 2)

      assert {:ok, [3, 2, 1]} =
               SnakeBridge.call("builtins", "sorted", [[1, 3, 2]], kwargs: %{"reverse" => true})

      assert {:ok, 6} = SnakeBridge.call("builtins", "max", [1], __args__: [6, 2])
    end

    test "functions that pass no kwargs refuse unknown keywords" do
      {:ok, ns} = SnakeBridge.Runtime.call_class("types", "SimpleNamespace", [], x: 1)

      assert_raise ArgumentError,
                   ~r/get_attr\/3: unknown option :timeout .*passes no keyword arguments/,
                   fn ->
                     SnakeBridge.attr(ns, "x", timeout: 5)
                   end

      assert_raise ArgumentError, ~r/get_module_attr\/3: unknown option :sesion_id/, fn ->
        SnakeBridge.get("math", "pi", sesion_id: "x")
      end

      assert {:ok, 1} = SnakeBridge.attr(ns, "x", idempotent: true, __runtime__: [timeout: 5_000])
    end
  end

  test "a pool that cannot start logs once and answers every call with the interpreter's name" do
    log =
      capture_log(fn ->
        opts = start_pool(:gone_python, python: "/nonexistent/python3.99")

        for _ <- 1..3 do
          assert {:error, %Error{python_type: "WorkerDown", message: message}} =
                   SnakeBridge.call("math", "sqrt", [4], opts)

          assert message =~ "/nonexistent/python3.99"
        end
      end)

    assert length(String.split(log, "/nonexistent/python3.99: no such file")) == 2
  end

  test "without the application started (a release's eval) a call is an error saying so, not an exit" do
    code = ~S"""
    IO.puts(inspect(SnakeBridge.call("math", "sqrt", [4])))
    IO.puts(inspect(SnakeBridge.check(:default)))
    """

    paths = Enum.flat_map([:snakeport, :snakebridge], &["-pa", Application.app_dir(&1, "ebin")])
    {out, 0} = System.cmd("elixir", paths ++ ["-e", code], stderr_to_stdout: true)
    assert [call, check] = String.split(String.trim(out), "\n")
    assert call =~ ~s(python_type: "NotStarted") and call =~ "the :snakeport application is not started"
    assert check =~ ~s({:error, %SnakeBridge.Error{) and check =~ "NotStarted"
  end
end
