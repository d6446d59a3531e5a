# The main demo: Elixir uses Python through SnakeBridge's API, served by
# SnakePort's adapter over a real Port.  Run from mix_stub/:
#   mix run ../examples/snakebridge_demo.exs      (scripts/demo does)
alias SnakeBridge.Runtime

show = fn label, result ->
  IO.puts(String.pad_trailing(label, 46) <> " -> " <> inspect(result, limit: 10, printable_limit: 70))
  result
end

{:ok, pool} = Runtime.pool(:default)
{:ok, info} = SnakePort.info(pool)
IO.puts("SnakePort adapter: Python #{info["python"]}, pid #{info["pid"]}, session #{Runtime.current_session()}\n")

show.(~s|SnakeBridge.call("math", :sqrt, [16])|, SnakeBridge.call("math", :sqrt, [16]))
show.(~s|get_module_attr("math", :pi)|, Runtime.get_module_attr("math", :pi))
show.(~s|statistics.mean([1, 2, 3, 4])|, SnakeBridge.call("statistics", "mean", [[1, 2, 3, 4]]))
show.(~s|sorted([3, 1, 2], reverse: true)|, SnakeBridge.call("builtins", "sorted", [[3, 1, 2]], reverse: true))
show.(~s|date.fromisoformat("2026-11-21")|, SnakeBridge.call("datetime", "date.fromisoformat", ["2026-11-21"]))

{:ok, counter} = show.(~s|call_class("collections", "Counter", ...)|, Runtime.call_class("collections", "Counter", ["abracadabra"]))
show.(~s|call_method(counter, "most_common", [2])|, Runtime.call_method(counter, "most_common", [2]))

{:ok, range} = show.(~s|SnakeBridge.call("builtins", "range", [10])|, SnakeBridge.call("builtins", "range", [10]))
show.("Enum.take(range, 5)", Enum.take(range, 5))
show.("Enum.sum(range)", Enum.sum(range))

{:ok, counter} = show.(~s|SnakeBridge.call("itertools", "count", [1])|, SnakeBridge.call("itertools", "count", [1]))
show.("Enum.take(counter, 10)", Enum.take(counter, 10))
show.("Enum.take(counter, 5)  (continues)", Enum.take(counter, 5))

show.(~s|SnakeBridge.call("math", "sqrt", [-1])|, SnakeBridge.call("math", "sqrt", [-1]) |> then(fn {:error, e} -> {:error, Exception.message(e)} end))
show.(~s|call_helper("snakeport.echo", [:atom, {1, 2}])|, Runtime.call_helper("snakeport.echo", [:atom, {1, 2}]))
# Callbacks: Python calls Elixir funs (which may call Python again).
show.(~s|sorted(words, key: &String.length/1)|, SnakeBridge.call("builtins", "sorted", [~w(pear fig banana)], key: &String.length/1))
show.(~s|functools.reduce(fn a, b -> a * b end, 1..5)|, SnakeBridge.call("functools", "reduce", [fn a, b -> a * b end, Enum.to_list(1..5)]))
root = fn x -> elem(SnakeBridge.call("math", "sqrt", [x]), 1) end
{:ok, roots} = SnakeBridge.call("builtins", "map", [root, [1, 4, 9]])
show.("map(fn x -> SnakeBridge.call(sqrt) end, ...)", Enum.to_list(roots))

# Messages: a Python job reports its progress while it works.
caller = self()
job = Task.async(fn -> Runtime.call_helper("snakeport.count_with_progress", [caller, 3]) end)
for _ <- 1..3 do
  receive do
    {:progress, i, n} -> IO.puts(String.pad_trailing("  progress", 46) <> " -> #{i}/#{n}")
  end
end
show.("count_with_progress(self(), 3)", Task.await(job))
{:ok, %{workers: [worker]}} = SnakeBridge.stats()
show.("SnakeBridge.stats()  (worker 0)", Map.take(worker, [:status, :restarts, :python_pid]))
show.("release_auto_session()", Runtime.release_auto_session())
