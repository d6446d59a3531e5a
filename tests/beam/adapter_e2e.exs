# End to end through the real BEAM: Elixir opens priv/python/snakeport_adapter.py
# as a Port exactly as a client would, runs a script of calls, and checks each
# reply (decoded with binary_to_term(bin, [:safe])).  Exits non-zero on the
# first wrong reply.  Run by tests/test_beam_e2e.py; SNAKEPORT_PYTHON picks
# the interpreter.
defmodule E2E do
  @root Path.expand("../..", __DIR__)

  # Atoms the adapter may send; [:safe] refuses atoms the VM has not seen.
  @protocol_atoms [:ready, :reply, :ok, :error, :protocol_error, :startup_error, :infinity, :neg_infinity, :nan]

  def open do
    python = System.get_env("SNAKEPORT_PYTHON") || System.find_executable("python3")
    launcher = Path.join(@root, "priv/python/snakeport_adapter.py")
    port = Port.open({:spawn_executable, python}, [:binary, {:packet, 4}, :exit_status, args: [launcher]])
    {:ready, info} = recv(port)
    check("ready frame", info["protocol"] == 1 and is_integer(info["pid"]), info)
    port
  end

  def recv(port) do
    receive do
      {^port, {:data, bin}} -> :erlang.binary_to_term(bin, [:safe])
    after
      10_000 -> fail("no frame from the adapter within 10 s")
    end
  end

  def call(port, request) do
    id = System.unique_integer([:positive])
    Port.command(port, :erlang.term_to_binary({:call, id, request}))
    {:reply, ^id, result} = recv(port)
    result
  end

  def ok(port, label, request, expected) do
    case call(port, request) do
      {:ok, value} when expected == :any -> check(label, true, value)
      {:ok, value} -> check(label, value == expected, value)
      other -> fail("#{label}: #{inspect(other, limit: 20)}")
    end
  end

  def check(label, true, value) do
    IO.puts("ok    #{label}: #{inspect(value, limit: 12, printable_limit: 60)}")
    value
  end

  def check(label, false, value), do: fail("#{label}: unexpected #{inspect(value, limit: 20)}")

  def fail(message) do
    IO.puts("FAIL  #{message}")
    System.halt(1)
  end

  def known_atoms, do: @protocol_atoms
end

port = E2E.open()

E2E.ok(port, "math.sqrt(16)", %{"call_type" => "call", "python_module" => "math", "function" => "sqrt", "args" => [16], "kwargs" => %{}}, 4.0)
E2E.ok(port, "operator.add(1, 2), atom keys", %{python_module: "operator", function: "add", args: [1, 2]}, 3)
E2E.ok(port, "math.pi", %{"call_type" => "module_attr", "python_module" => "math", "attr" => "pi"}, :math.pi())

counter = E2E.ok(port, "Counter instance", %{"call_type" => "class", "python_module" => "collections", "class" => "Counter", "args" => [["a", "b", "a"]]}, :any)
E2E.check("a Counter is a ref", counter["__type__"] == "ref" and counter["type_name"] == "Counter", counter)
E2E.ok(port, "Counter.most_common(1)", %{"call_type" => "method", "instance" => counter, "function" => "most_common", "args" => [1]}, [{"a", 2}])

# builtins.range(10): a ref (re-iterable, as the streaming guide's Enum
# examples need); its __iter__ is the stream ref that stream_next walks.
range = E2E.ok(port, "builtins.range(10)", %{"python_module" => "builtins", "function" => "range", "args" => [10]}, :any)
E2E.check("range is a ref", range["__type__"] == "ref" and range["type_name"] == "range", range)
E2E.ok(port, "len(range)", %{"python_module" => "builtins", "function" => "len", "args" => [range]}, 10)
stream = E2E.ok(port, "iter(range)", %{"call_type" => "method", "instance" => range, "function" => "__iter__"}, :any)
E2E.check("iter(range) is a stream ref", stream["__type__"] == "stream_ref" and stream["stream_type"] == "iterator", stream)

items =
  for _ <- 1..10 do
    {:ok, item} = E2E.call(port, %{"call_type" => "stream_next", "stream_ref" => stream})
    item
  end

E2E.check("stream_next x10", items == Enum.to_list(0..9), items)
E2E.ok(port, "stream_next after the end", %{"call_type" => "stream_next", "stream_ref" => stream}, %{"__type__" => "stop_iteration"})
E2E.ok(port, "and ever after", %{"call_type" => "stream_next", "stream_ref" => stream}, %{"__type__" => "stop_iteration"})

E2E.ok(port, "types round trip", %{"python_module" => "builtins", "function" => "list", "args" => [[nil, true, :atom, 1.5, <<255>>, {1, 2}, %{"k" => [1]}]]},
  [nil, true, :atom, 1.5, <<255>>, {1, 2}, %{"k" => [1]}])
E2E.ok(port, "a set comes back tagged", %{"python_module" => "builtins", "function" => "set", "args" => [[3]]}, %{"__type__" => "set", "elements" => [3]})

{:error, error} = E2E.call(port, %{"python_module" => "math", "function" => "sqrt", "args" => [-1]})
E2E.check("Python error", error["type"] == "ValueError" and error["message"] == "math domain error" and error["traceback"] =~ "Traceback", error)

ref = E2E.ok(port, "object() in session s1", %{"python_module" => "builtins", "function" => "object", "session_id" => "s1"}, :any)
{:error, mismatch} = E2E.call(port, %{"call_type" => "get_attr", "instance" => ref, "attr" => "__class__", "session_id" => "s2"})
E2E.check("another session's ref", mismatch["type"] == "SessionMismatchError", mismatch)
E2E.ok(port, "print() in Python does not corrupt the stream", %{"python_module" => "builtins", "function" => "print", "args" => ["stray output to stderr"]}, nil)
E2E.ok(port, "release_ref", %{"call_type" => "release_ref", "ref" => ref, "session_id" => "s1"}, true)
E2E.ok(port, "release_session", %{"call_type" => "release_session", "session_id" => "default"}, 3)
E2E.ok(port, "ping", %{"call_type" => "ping"}, "pong")

Port.command(port, "not a term")
{:protocol_error, bad} = E2E.recv(port)
E2E.check("garbage frame", bad["type"] == "ProtocolError", bad["message"])
E2E.ok(port, "still serving", %{"call_type" => "ping"}, "pong")

Port.close(port)
IO.puts("all end-to-end checks passed")
