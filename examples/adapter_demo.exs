# The main demo: Elixir drives Python through SnakePort's adapter over a real
# Port.  Run with: elixir examples/adapter_demo.exs  (scripts/demo does).
defmodule Demo do
  @moduledoc "A few lines of Port plumbing; mix_stub/ will hide them behind SnakeBridge's API."

  def start do
    python = System.get_env("SNAKEPORT_PYTHON") || System.find_executable("python3")
    launcher = Path.expand("../priv/python/snakeport_adapter.py", __DIR__)
    port = Port.open({:spawn_executable, python}, [:binary, {:packet, 4}, :exit_status, args: [launcher]])
    {:ready, info} = recv(port)
    IO.puts("adapter ready: Python #{info["python"]}, protocol #{info["protocol"]}, pid #{info["pid"]}\n")
    port
  end

  def recv(port) do
    receive do
      {^port, {:data, bin}} -> :erlang.binary_to_term(bin, [:safe])
    after
      10_000 -> raise "no reply from the adapter"
    end
  end

  def call(port, request) do
    id = System.unique_integer([:positive])
    Port.command(port, :erlang.term_to_binary({:call, id, request}))
    {:reply, ^id, result} = recv(port)
    result
  end

  def show(port, label, request) do
    result = call(port, request)
    IO.puts(String.pad_trailing(label, 44) <> " -> " <> inspect(result, limit: 8, printable_limit: 70))
    result
  end
end

_atoms = [:ready, :reply, :ok, :error, :protocol_error, :infinity, :neg_infinity, :nan]
port = Demo.start()

Demo.show(port, ~s|math.sqrt(16)|, %{"python_module" => "math", "function" => "sqrt", "args" => [16]})
Demo.show(port, ~s|math.pi|, %{"call_type" => "module_attr", "python_module" => "math", "attr" => "pi"})
Demo.show(port, ~s|statistics.mean([1, 2, 3, 4])|, %{"python_module" => "statistics", "function" => "mean", "args" => [[1, 2, 3, 4]]})
Demo.show(port, ~s|datetime.date.fromisoformat(...)|, %{"python_module" => "datetime", "function" => "date.fromisoformat", "args" => ["2026-11-21"]})

{:ok, counter} = Demo.show(port, ~s|collections.Counter("abracadabra")|,
  %{"call_type" => "class", "python_module" => "collections", "class" => "Counter", "args" => ["abracadabra"]})
Demo.show(port, ~s|counter.most_common(2)|, %{"call_type" => "method", "instance" => counter, "function" => "most_common", "args" => [2]})

{:ok, gen} = Demo.show(port, ~s|itertools.count(1)  (a stream ref)|, %{"python_module" => "itertools", "function" => "count", "args" => [1]})
items = for _ <- 1..5, do: elem(Demo.call(port, %{"call_type" => "stream_next", "stream_ref" => gen}), 1)
IO.puts(String.pad_trailing("stream_next x5", 44) <> " -> " <> inspect(items))

Demo.show(port, ~s|json.loads("{\\"a\\": [1, null]}")|, %{"python_module" => "json", "function" => "loads", "args" => [~s|{"a": [1, null]}|]})
Demo.show(port, ~s|helper snakeport.echo(:atom, {1, 2})|, %{"call_type" => "helper", "helper" => "snakeport.echo", "args" => [:atom, {1, 2}]})
{:error, error} = Demo.call(port, %{"python_module" => "math", "function" => "sqrt", "args" => [-1]})
IO.puts(String.pad_trailing(~s|math.sqrt(-1)|, 44) <> " -> {:error, #{error["type"]}: #{error["message"]}}")
Demo.show(port, ~s|stats|, %{"call_type" => "stats"})

Port.close(port)
IO.puts("\ndone")
