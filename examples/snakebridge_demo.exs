# The main demo: Elixir uses Python through SnakeBridge's API, served by
# SnakePort's adapter over a real Port.  Run from mix_stub/:
#   mix run ../examples/snakebridge_demo.exs      (scripts/demo does)
alias SnakeBridge.Runtime

show = fn label, result ->
  IO.puts(String.pad_trailing(label, 46) <> " -> " <> inspect(result, limit: 10, printable_limit: 70))
  result
end

worker = SnakeBridge.Pool.worker(:default, Runtime.current_session())
info = SnakeBridge.Worker.info(worker)
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
show.("release_auto_session()", Runtime.release_auto_session())
