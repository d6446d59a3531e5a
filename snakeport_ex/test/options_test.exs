defmodule SnakePort.OptionsTest do
  @moduledoc "Pool options: checked strictly, and what each one does to the adapter."
  use ExUnit.Case, async: false

  import ExUnit.CaptureLog
  import SnakePort.TestPools

  alias SnakePort.{Error, Options}

  @helpers Path.expand("helpers", __DIR__)
  @old_python Path.expand("fakes/old_python", __DIR__)

  test "the default adapter is the launcher this application carries in priv/" do
    launcher = Options.default_adapter()
    assert launcher == Application.app_dir(:snakeport, "priv/python/snakeport_adapter.py")
    assert File.regular?(launcher)
    assert File.regular?(Path.join(Path.dirname(launcher), "snakeport/__init__.py"))
    assert File.regular?(Path.join(Path.dirname(launcher), "helpers/snakeport_examples.py"))
    assert {:ok, opts} = Options.validate([])
    assert opts[:adapter] == launcher
    assert {:ok, opts} = Options.validate(adapter: :module)
    assert opts[:adapter] == :module
    assert {:ok, opts} = Options.validate(adapter_path: "/x/y.py")
    assert opts[:adapter] == "/x/y.py"
  end

  test "an unknown option names itself and the option it resembles" do
    assert {:error, message} = Options.validate(pyhton: "python3")
    assert message =~ "unknown pool option :pyhton (did you mean :python?"
    assert {:error, message} = Options.validate(frobnicate: 1)
    assert message =~ "unknown pool option :frobnicate (known: :size, :python"
    refute message =~ "did you mean"
    assert {:error, message} = Options.validate(threads: 0)
    assert message == "bad pool option :threads: 0 (a positive integer)"
    assert {:error, message} = Options.validate(python_path: "/one/dir")
    assert message =~ "bad pool option :python_path: \"/one/dir\" (a list of strings)"
    assert {:error, _} = Options.validate(adapter: :pip)
    assert {:error, _} = Options.validate([:size])
  end

  @tag :tmp_dir
  test "python_path goes first on sys.path; threads is --threads", %{tmp_dir: dir} do
    name = unique(:pathed)
    start_supervised!({SnakePort, id: name, pools: [{name, options(python_path: [dir], threads: 2)}]})
    assert {:ok, %{"threads" => 2}} = SnakePort.info(name)

    assert {:ok, [^dir | rest]} =
             SnakePort.request(name, %{
               "call_type" => "module_attr",
               "python_module" => "sys",
               "attr" => "path"
             })

    # (sys.path holds the launcher's folder with links resolved: _build links priv/.)
    own = Enum.find_index(rest, &String.ends_with?(&1, "/priv/python"))
    assert own != nil and own < Enum.find_index(rest, &(&1 == @helpers))
  end

  test "adapter: :module runs python -m snakeport" do
    name = unique(:module)
    start_supervised!({SnakePort, id: name, pools: [{name, options(adapter: :module)}]})
    assert {:ok, 4.0} = SnakePort.request(name, call("math", "sqrt", [16]))
    assert {:ok, "mod"} = SnakePort.request(name, call("core_helpers", "slow", [0, "mod"]))
  end

  test "adapter: :module with an interpreter that does not exist names the command" do
    name = unique(:module_missing)

    log =
      capture_log(fn ->
        start_supervised!(
          {SnakePort, id: name, pools: [{name, options(adapter: :module, python: "/nonexistent/py")}]}
        )
      end)

    assert {:error, %Error{message: message}} = SnakePort.check(name)
    assert message =~ "cannot start /nonexistent/py -m snakeport"
    assert log =~ message
  end

  test "a Python older than 3.10: the launcher answers {:startup_error, ...} with its version" do
    name = unique(:old)

    capture_log(fn ->
      start_supervised!({SnakePort, id: name, pools: [{name, options(env: [{"PYTHONPATH", @old_python}])}]})
    end)

    assert {:error, %Error{python_type: "WorkerDown", message: message}} = SnakePort.check(name)
    assert message =~ "failed to start: PythonTooOld: the SnakePort adapter needs Python 3.10 or newer;"
    assert message =~ "is Python 3.8.10"
  end

  test "check/2: :ok for a pool that answers" do
    name = unique(:checked)
    start_supervised!({SnakePort, id: name, pools: [{name, options(size: 2)}]})
    assert :ok = SnakePort.check(name)
    assert {:error, %Error{python_type: "PoolNotStarted"}} = SnakePort.check(:no_such_pool_4412)
  end
end
