defmodule SnakeBridge.ClientRequestsTest do
  @moduledoc """
  The request maps SnakeBridge's client sends for a fixed list of calls,
  recorded with the worker's `record:` option.

  The Python harness (`snakeport.testing.wire`) promises to build requests
  exactly as this client does; `tests/test_testing_equivalence.py` holds it
  to that, field by field, against `tests/recordings/client_requests.frames`.
  This test keeps that file true to the client: normally it records the
  calls again and compares every request with the committed file (ref ids
  and session ids normalised); with `SNAKEPORT_RECORD_CLIENT_REQUESTS=path`
  it writes the recording to `path` instead (to commit it:
  `SNAKEPORT_RECORD_CLIENT_REQUESTS=$PWD/../tests/recordings/client_requests.frames mix test
  test/client_requests_test.exs`).

  The calls (and their order) are the pytest's too: change both together.
  """
  use ExUnit.Case, async: false

  alias SnakeBridge.Runtime

  @committed Path.expand("../../tests/recordings/client_requests.frames", __DIR__)
  @header "SNAKEPORT-FRAMES 1\n"

  @tag :tmp_dir
  test "the client's requests are the committed ones", %{tmp_dir: dir} do
    path = Path.join(dir, "client_requests.frames")
    record_calls(path)

    case System.get_env("SNAKEPORT_RECORD_CLIENT_REQUESTS") do
      target when target not in [nil, ""] ->
        File.cp!(path, target)

      _ ->
        recorded = requests(path)
        committed = requests(@committed)
        assert length(recorded) == length(committed)

        for {{now, then}, n} <- Enum.with_index(Enum.zip(recorded, committed), 1) do
          assert now == then, "request #{n} differs from the committed recording"
        end
    end
  end

  # The fixed list of calls (mirrored in tests/test_testing_equivalence.py).
  defp record_calls(path) do
    start_supervised!({SnakeBridge, id: :requests, pools: [requests: [size: 1, record: path]]})
    opts = [__runtime__: [pool_name: :requests, session_id: "equivalence"]]

    {:ok, [3, 2, 1]} = SnakeBridge.call("builtins", "sorted", [[3, 1, 2]], [reverse: true] ++ opts)
    {:ok, counter} = Runtime.call_class("collections", "Counter", [["a", "b", "a"]], opts)
    {:ok, [{"a", 2}]} = Runtime.call_method(counter, "most_common", [1], opts)
    {:ok, ns} = Runtime.call_class("types", "SimpleNamespace", [], [x: 1] ++ opts)
    {:ok, 1} = Runtime.get_attr(ns, "x")
    {:ok, true} = Runtime.set_attr(ns, "x", 2)
    {:ok, _pi} = Runtime.get_module_attr("math", "pi", opts)

    {:ok, "hello ada?"} =
      Runtime.call_helper("test.greet", ["ada"], [kwargs: %{"punctuation" => "?"}] ++ opts)

    {:ok, stream} = SnakeBridge.call("itertools", "count", [1], opts)
    {:ok, {[1, 2, 3], false}} = Runtime.stream_take(stream, 3)
    :ok = Runtime.release_ref(counter)
    {:ok, 3} = SnakeBridge.call("builtins", "len", [SnakeBridge.bytes("abc")], opts)
    {:ok, [1, 2, 3]} = SnakeBridge.call("builtins", "sorted", [MapSet.new([3, 1, 2])], opts)
    {:ok, "2026-01-02"} = SnakeBridge.call("builtins", "str", [~D[2026-01-02]], opts)
    {:ok, [1, "a"]} = SnakeBridge.call("builtins", "list", [{1, "a"}], opts)
    {:ok, "hello"} = SnakeBridge.call("builtins", "str", [:hello], opts)
    {:ok, 2} = SnakeBridge.call("builtins", "len", [[ns, %{"k" => ns}]], opts)
    :ok = Runtime.release_session("equivalence", __runtime__: [pool_name: :requests])

    stop_supervised!(:requests)
  end

  # The request maps of the {:call, id, request} frames sent to Python, normalised.
  defp requests(path) do
    assert @header <> records = File.read!(path)

    for {?i, frame} <- records(records, []),
        {:call, _id, request} <- [:erlang.binary_to_term(frame)],
        do: normalise(request)
  end

  defp records(<<>>, acc), do: Enum.reverse(acc)

  defp records(<<direction, _time::float-64, size::32, frame::binary-size(size), rest::binary>>, acc),
    do: records(rest, [{direction, frame} | acc])

  # Ref ids are random, session ids made per run: keep their place, not their value.
  defp normalise(%{"__type__" => type, "id" => _} = ref) when type in ["ref", "stream_ref"],
    do: %{normalise_map(ref) | "id" => "REF"}

  defp normalise(%{} = map) when not is_struct(map), do: normalise_map(map)
  defp normalise(list) when is_list(list), do: Enum.map(list, &normalise/1)
  defp normalise(tuple) when is_tuple(tuple), do: tuple |> Tuple.to_list() |> normalise() |> List.to_tuple()
  defp normalise(other), do: other

  defp normalise_map(map) do
    map
    |> Map.new(fn {key, value} -> {key, normalise(value)} end)
    |> then(fn map ->
      if Map.has_key?(map, "session_id"), do: %{map | "session_id" => "SESSION"}, else: map
    end)
  end
end
