defmodule SnakeBridge.StreamRef do
  @moduledoc """
  A Python generator or iterator, consumed lazily from Elixir.

  `Enumerable`: `reduce` pulls items from the adapter in batches that grow
  (1, 2, 4, ... up to `config :snakebridge, stream_batch_max:`, default
  4096), and items fetched but not consumed are put back in Python when the
  reduction halts, so `Enum.take(counter, 10)` then `Enum.take(counter, 5)`
  on `itertools.count(1)` gives 1..10 then 11..15;
  `count` is `{:error, __MODULE__}` for generators (their length is unknown)
  and Python's `__len__` for other iterators; `member?` and `slice` are
  `{:error, __MODULE__}`, so `Enum` falls back to reducing.

  Like `SnakeBridge.Ref`, it records its worker (`node`, `worker`), so it can
  be enumerated from any process on any connected node.
  """
  defstruct [
    :ref_id,
    :session_id,
    :pool_name,
    :stream_type,
    :python_module,
    :library,
    :node,
    :worker,
    exhausted: false
  ]

  @type t :: %__MODULE__{
          ref_id: String.t(),
          session_id: String.t(),
          pool_name: atom() | nil,
          stream_type: String.t(),
          python_module: String.t() | nil,
          library: String.t() | nil,
          node: node() | nil,
          worker: non_neg_integer() | nil,
          exhausted: boolean()
        }

  @doc "The tagged wire map the adapter resolves back to the iterator."
  @spec to_wire(t()) :: map()
  def to_wire(%__MODULE__{} = stream) do
    %{
      "__type__" => "stream_ref",
      "__schema__" => 1,
      "id" => stream.ref_id,
      "session_id" => stream.session_id,
      "stream_type" => stream.stream_type,
      "python_module" => stream.python_module,
      "library" => stream.library
    }
  end

  @doc false
  @spec from_wire(map(), atom() | {atom(), SnakePort.Translator.origin()}) :: t()
  def from_wire(wire, {pool, {node, worker}}), do: %{from_wire(wire, pool) | node: node, worker: worker}

  def from_wire(wire, pool) do
    %__MODULE__{
      ref_id: wire["id"],
      session_id: wire["session_id"],
      pool_name: pool,
      stream_type: wire["stream_type"],
      python_module: wire["python_module"],
      library: wire["library"]
    }
  end
end

defimpl Inspect, for: SnakeBridge.StreamRef do
  def inspect(stream, _opts) do
    "#SnakeBridge.StreamRef<#{stream.stream_type} #{stream.python_module} " <>
      "#{String.slice(stream.ref_id || "", 0, 8)} session=#{stream.session_id}>"
  end
end

defimpl Enumerable, for: SnakeBridge.StreamRef do
  alias SnakeBridge.Runtime

  def count(%{stream_type: "generator"}), do: {:error, __MODULE__}

  def count(stream) do
    case Runtime.stream_len(stream) do
      {:ok, n} when is_integer(n) -> {:ok, n}
      _ -> {:error, __MODULE__}
    end
  end

  def member?(_stream, _value), do: {:error, __MODULE__}
  def slice(_stream), do: {:error, __MODULE__}

  # Batches grow 1, 2, 4, ... up to the cap, so Enum.take(s, 1) costs one
  # small round trip and Enum.to_list of a million items few.  Items fetched
  # but not consumed when the reduction halts are put back in Python.
  def reduce(stream, acc, fun), do: pull(stream, [], 1, false, acc, fun)

  defp pull(stream, buffer, _size, _done, {:halt, acc}, _fun) do
    if buffer != [], do: Runtime.stream_take(stream, 0, unread: length(buffer))
    {:halted, acc}
  end

  defp pull(stream, buffer, size, done, {:suspend, acc}, fun) do
    {:suspended, acc, &pull(stream, buffer, size, done, &1, fun)}
  end

  defp pull(stream, [item | rest], size, done, {:cont, acc}, fun) do
    pull(stream, rest, size, done, fun.(item, acc), fun)
  end

  defp pull(_stream, [], _size, true, {:cont, acc}, _fun), do: {:done, acc}

  defp pull(stream, [], size, false, {:cont, acc}, fun) do
    case Runtime.stream_take(stream, size) do
      {:ok, {items, done}} -> pull(stream, items, min(size * 2, batch_cap()), done, {:cont, acc}, fun)
      {:error, reason} -> SnakeBridge.Error.raise!(reason)
    end
  end

  defp batch_cap, do: SnakeBridge.Config.cached().stream_batch_max
end
