defmodule SnakePort.CallbacksTest do
  @moduledoc "Elixir funs called from Python: the nesting limit, and the translator on every crossing."
  use ExUnit.Case, async: false

  import SnakePort.TestPools

  alias SnakePort.Error

  defmodule Tagging do
    @moduledoc "A translator that marks what it touched: \"wire\" decodes to \"decoded:<context>\", \"elixir\" encodes to \"encoded\"."
    @behaviour SnakePort.Translator

    @impl true
    def decode_value(value, context), do: walk(value, "wire", "decoded:#{context}")

    @impl true
    def encode_value(value), do: walk(value, "elixir", "encoded")

    defp walk(from, from, to), do: to
    defp walk(list, from, to) when is_list(list), do: Enum.map(list, &walk(&1, from, to))

    defp walk(tuple, from, to) when is_tuple(tuple),
      do: tuple |> Tuple.to_list() |> walk(from, to) |> List.to_tuple()

    defp walk(other, _from, _to), do: other
  end

  setup_all do
    start_supervised!({SnakePort, pools: [callbacks: options(), shallow: options(max_callback_depth: 3)]})
    :ok
  end

  # Elixir -> Python -> Elixir ... `n` levels deep; the innermost failure is sent to `parent`.
  defp nest(pool, n, parent) do
    if n == 0 do
      0
    else
      case SnakePort.request(
             pool,
             call("core_helpers", "apply_fun", [fn k -> nest(pool, k, parent) end, n - 1])
           ) do
        {:ok, inner} when is_integer(inner) ->
          inner + 1

        {:ok, refused} ->
          refused

        {:error, %Error{python_type: "CallbackDepthError"} = error} ->
          send(parent, {:refused, SnakePort.Callback.depth(), error})
          :refused
      end
    end
  end

  test "callbacks nest up to max_callback_depth (default 50)" do
    assert nest(:callbacks, 50, self()) == 50
    refute_received {:refused, _, _}
  end

  test "a request one level deeper is a CallbackDepthError, long before Python's own limit" do
    # 200 levels would end in a bare RecursionError in the adapter near 100.
    assert nest(:callbacks, 200, self()) == :refused
    assert_received {:refused, 50, %Error{message: message}}
    assert message =~ "callbacks nest 50 deep"
    assert message =~ "max_callback_depth of 50"
    refute_received {:refused, _, _}
    assert {:ok, 2.0} = SnakePort.request(:callbacks, call("math", "sqrt", [4]))
  end

  test "the limit is a pool option" do
    assert nest(:shallow, 3, self()) == 3
    assert nest(:shallow, 4, self()) == :refused
    assert_received {:refused, 3, %Error{python_type: "CallbackDepthError"}}
  end

  test "a callback reached through a process a callback spawned is one level deeper" do
    # The spawned task's own depth is 0, but the callback it triggers nests on
    # the adapter's stack above the two running ones.
    inner = fn ->
      Task.async(fn ->
        SnakePort.request(:shallow, call("core_helpers", "apply_fun", [fn -> SnakePort.Callback.depth() end]))
      end)
      |> Task.await()
    end

    outer = fn -> SnakePort.request(:shallow, call("core_helpers", "apply_fun", [inner])) end

    assert {:ok, {:ok, {:ok, depth}}} =
             SnakePort.request(:shallow, call("core_helpers", "apply_fun", [outer]))

    assert depth == 3
  end

  test "the pool's translator decodes replies, chunks, callback arguments and messages, and encodes callback results" do
    name = unique(:translated)
    start_supervised!({SnakePort, id: name, pools: [{name, options(translator: Tagging, context: "ctx")}]})
    parent = self()

    assert {:ok, ["decoded:ctx", 1]} = SnakePort.request(name, call("builtins", "list", [["wire", 1]]))

    fun = fn arg ->
      send(parent, {:argument, arg})
      "elixir"
    end

    assert {:ok, "encoded"} = SnakePort.request(name, call("core_helpers", "apply_fun", [fun, "wire"]))
    assert_received {:argument, "decoded:ctx"}

    assert {:ok, :done} =
             SnakePort.stream(name, call("builtins", "iter", [["wire"]]), [], &send(parent, {:item, &1}))

    assert_received {:item, "decoded:ctx"}

    assert {:ok, true} = SnakePort.request(name, call("core_helpers", "send_to", [self(), {"wire", 2}]))
    assert_received {"decoded:ctx", 2}
  end
end
