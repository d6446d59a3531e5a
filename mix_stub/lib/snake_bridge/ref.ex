defmodule SnakeBridge.Ref do
  @moduledoc """
  A Python object held by the adapter, in the session that made it.

  Pass it back as an argument, call its methods (`SnakeBridge.Runtime.call_method/4`),
  read its attributes; release it with `release_ref/2` or with its session.
  It records where its object lives (`node`, and `worker`: the index of the
  worker in its pool), so any process on any connected node can use it:
  calls on it go to that worker.  (Neither shows when it is inspected.)
  `Enumerable` iterates it through Python's `__iter__` (so a `range` can be
  enumerated again and again; each enumeration releases the iterator it
  made, also when it halts early or raises), counts with `__len__` and checks
  membership with `__contains__`.
  """
  defstruct [:id, :session_id, :pool_name, :python_module, :library, :type_name, :node, :worker, schema: 1]

  @type t :: %__MODULE__{
          id: String.t(),
          session_id: String.t(),
          pool_name: atom() | nil,
          python_module: String.t() | nil,
          library: String.t() | nil,
          type_name: String.t() | nil,
          node: node() | nil,
          worker: non_neg_integer() | nil,
          schema: pos_integer()
        }

  @doc "The tagged wire map the adapter resolves back to the object."
  @spec to_wire(t()) :: map()
  def to_wire(%__MODULE__{} = ref) do
    %{
      "__type__" => "ref",
      "__schema__" => ref.schema,
      "id" => ref.id,
      "session_id" => ref.session_id,
      "python_module" => ref.python_module,
      "library" => ref.library
    }
  end

  @doc false
  @spec from_wire(map(), atom() | {atom(), SnakePort.Translator.origin()}) :: t()
  def from_wire(wire, {pool, {node, worker}}), do: %{from_wire(wire, pool) | node: node, worker: worker}

  def from_wire(wire, pool) do
    %__MODULE__{
      id: wire["id"],
      session_id: wire["session_id"],
      pool_name: pool,
      python_module: wire["python_module"],
      library: wire["library"],
      type_name: wire["type_name"],
      schema: wire["__schema__"] || 1
    }
  end
end

defimpl Inspect, for: SnakeBridge.Ref do
  def inspect(ref, _opts) do
    "#SnakeBridge.Ref<#{ref.python_module}.#{ref.type_name} #{String.slice(ref.id || "", 0, 8)} " <>
      "session=#{ref.session_id}>"
  end
end

defimpl Enumerable, for: SnakeBridge.Ref do
  alias SnakeBridge.Runtime

  def count(ref) do
    case Runtime.call_method(ref, "__len__", []) do
      {:ok, n} when is_integer(n) -> {:ok, n}
      _ -> {:error, __MODULE__}
    end
  end

  def member?(ref, value) do
    case Runtime.call_method(ref, "__contains__", [value]) do
      {:ok, found} when is_boolean(found) -> {:ok, found}
      _ -> {:error, __MODULE__}
    end
  end

  def slice(_ref), do: {:error, __MODULE__}

  # The iterator __iter__ makes is released however the reduction ends:
  # done, halted, suspended and then halted, or raised.  (An exhausted
  # iterator stays in its session, answering "done", until released.)
  def reduce(ref, acc, fun) do
    case Runtime.call_method(ref, "__iter__", []) do
      {:ok, %SnakeBridge.StreamRef{} = stream} ->
        releasing(stream, fn -> Enumerable.reduce(stream, acc, fun) end)

      {:ok, other} ->
        Enumerable.reduce(List.wrap(other), acc, fun)

      {:error, reason} ->
        SnakeBridge.Error.raise!(reason)
    end
  end

  defp releasing(stream, step) do
    case step.() do
      {:suspended, acc, continuation} ->
        {:suspended, acc, fn command -> releasing(stream, fn -> continuation.(command) end) end}

      finished ->
        Runtime.release_ref(stream)
        finished
    end
  catch
    kind, reason ->
      Runtime.release_ref(stream)
      :erlang.raise(kind, reason, __STACKTRACE__)
  end
end
