defmodule SnakeBridge.TelemetryTest do
  @moduledoc """
  The `:telemetry` events, through the test-only stand-in `:telemetry`
  (test/support of snakeport_ex, compiled in the test environment only).
  """
  use ExUnit.Case, async: false

  alias SnakeBridge.{Error, Runtime}

  @call [:snakebridge, :runtime, :call]

  setup do
    SnakePort.Telemetry.forget()
    parent = self()
    id = {__MODULE__, make_ref()}
    events = for(name <- [:start, :stop, :exception], do: @call ++ [name])
    worker = for(name <- [:start, :start_error, :exit, :restart, :stuck], do: [:snakeport, :worker, name])

    :ok =
      :telemetry.attach_many(
        id,
        events ++ worker,
        fn event, measurements, metadata, _ -> send(parent, {:event, event, measurements, metadata}) end,
        nil
      )

    on_exit(fn -> :telemetry.detach(id) end)
  end

  test "a call: start and stop, with module, function, call type and duration" do
    assert {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16])

    assert_received {:event, [:snakebridge, :runtime, :call, :start], %{system_time: _, monotonic_time: _},
                     %{
                       module: "math",
                       function: "sqrt",
                       call_type: "function",
                       library: "math",
                       pool: :default
                     }}

    assert_received {:event, [:snakebridge, :runtime, :call, :stop], %{duration: duration},
                     %{module: "math", function: "sqrt", python_module: "math", call_type: "function"}}

    assert is_integer(duration) and duration > 0
  end

  test "each kind of call has its SnakeBridge call type" do
    {:ok, counter} = Runtime.call_class("collections", "Counter", [["a"]])
    {:ok, _} = SnakeBridge.method(counter, "most_common", [])
    {:ok, _} = SnakeBridge.attr(counter, "total")
    {:ok, _} = SnakeBridge.get("math", "pi")
    {:ok, _} = SnakeBridge.call_helper("test.greet", ["ada"])
    {:ok, _} = Runtime.call_dynamic("operator", "add", [1, 2])
    {:ok, :done} = SnakeBridge.stream("builtins", "range", [3], [], fn _ -> :ok end)

    types =
      for _ <- 1..7 do
        assert_received {:event, [:snakebridge, :runtime, :call, :stop], _, %{call_type: type}}
        type
      end

    assert types == ~w(class method get_attr module_attr helper dynamic stream)
  end

  test "an error reply is an :exception event with the error, as SnakeBridge emits it" do
    assert {:error, %Error{python_type: "ValueError"} = error} = SnakeBridge.call("math", "sqrt", [-1])
    assert_received {:event, [:snakebridge, :runtime, :call, :exception], %{duration: _}, %{error: ^error}}
    refute_received {:event, [:snakebridge, :runtime, :call, :stop], _, _}
  end

  test "a raise inside a stream's callback is an :exception event, and goes on" do
    assert_raise RuntimeError, "boom", fn ->
      SnakeBridge.stream("builtins", "range", [3], [], fn _ -> raise "boom" end)
    end

    assert_received {:event, [:snakebridge, :runtime, :call, :exception], _,
                     %{kind: :error, reason: %RuntimeError{message: "boom"}, call_type: "stream"}}
  end

  @tag :capture_log
  test "worker events: start, exit, restart, start_error" do
    start_supervised!({SnakeBridge, id: :observed, pools: [observed: [size: 1]]})

    assert_received {:event, [:snakeport, :worker, :start], %{duration: _},
                     %{pool: {SnakeBridge, :observed}, index: 0, python_pid: pid}}

    assert {:error, %Error{python_type: "WorkerDown"}} =
             SnakeBridge.call("os", "_exit", [9], __runtime__: [pool_name: :observed])

    assert_receive {:event, [:snakeport, :worker, :exit], _, %{status: 9, pool: {SnakeBridge, :observed}}},
                   5_000

    assert_receive {:event, [:snakeport, :worker, :restart], %{delay: 0}, %{reason: :exit, restarts: 1}},
                   5_000

    # The restarted adapter is ready a start later (~30 ms; more on a busy machine).
    assert_receive {:event, [:snakeport, :worker, :start], _, %{python_pid: new_pid, restarts: 1}}, 10_000
    assert new_pid != pid

    start_supervised!({SnakeBridge, id: :unstartable, pools: [unstartable: [python: "/nonexistent/python"]]})

    assert_received {:event, [:snakeport, :worker, :start_error], _,
                     %{error: %SnakePort.Error{message: message}}}

    assert message =~ "/nonexistent/python"
  end

  test "without :telemetry loaded nothing is emitted and calls work" do
    :persistent_term.put({SnakePort.Telemetry, :available}, false)
    assert {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16])
    refute_received {:event, _, _, _}
  end
end
