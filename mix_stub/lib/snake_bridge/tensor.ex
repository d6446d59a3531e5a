defmodule SnakeBridge.Tensor do
  @moduledoc """
  A numpy array's bytes, ready for Nx: `%SnakeBridge.Tensor{dtype, shape, data}`.

  `dtype` is in Nx's type notation (`{:f, 32}`, `{:s, 64}`, `{:u, 8}`,
  `{:bf, 16}`, `{:c, 64}`; numpy's `bool` arrives as `{:u, 8}`), `shape` a
  tuple (`{}` for a 0-d array), `data` the elements in row-major order,
  native-endian: exactly the binary `Nx.from_binary/2` reads, so

      tensor = Nx.from_binary(t.data, t.dtype) |> Nx.reshape(t.shape)

  is the whole conversion (`to_nx/1` and `from_nx/1` do it, and exist when
  Nx is a dependency of your application at compile time).

  Arrays travel this way, instead of as a `SnakeBridge.Ref` to the array in
  Python, when a call asks for it (`__runtime__: [arrays: :tensor]`) or the
  application does (`config :snakebridge, arrays: :tensor`): every ndarray
  (and array-like: PIL images, torch CPU tensors) in the result, at any
  depth, becomes a `Tensor`.  An array already held as a ref comes over with
  `fetch/2`.  Passed as an argument, a `Tensor` arrives in Python as a
  read-only ndarray over its bytes (no copy).  Arrays of object, string,
  structured or date dtypes have no tensor form: the call answers a
  `TypeError`.

  On the wire: `%{"__type__" => "tensor", "dtype" => "f32", "shape" => {2, 3},
  "data" => <<...>>}` (docs/PROTOCOL.md).
  """

  alias SnakeBridge.{Error, Ref, Runtime}

  @enforce_keys [:dtype, :shape, :data]
  defstruct [:dtype, :shape, :data]

  @type dtype :: {:s | :u | :f | :bf | :c, pos_integer()}
  @type t :: %__MODULE__{dtype: dtype(), shape: tuple(), data: binary()}

  @kinds %{"s" => :s, "u" => :u, "f" => :f, "bf" => :bf, "c" => :c}
  @wire_kinds Map.new(@kinds, fn {text, kind} -> {kind, text} end)

  @doc """
  The array a ref holds (an ndarray, a pandas Series or DataFrame of one
  dtype, anything with `__array__`), brought over as a tensor: the method
  call `__array__()` on the ref, with `arrays: :tensor`.  `opts` as for
  `SnakeBridge.Runtime.call_method/4`.
  """
  @spec fetch(Ref.t(), keyword()) :: {:ok, t()} | {:error, Error.t() | :timeout}
  def fetch(%Ref{} = ref, opts \\ []) do
    runtime = Keyword.merge(Keyword.get(opts, :__runtime__, []), arrays: :tensor)

    case Runtime.call_method(ref, "__array__", [], Keyword.put(opts, :__runtime__, runtime)) do
      {:ok, %__MODULE__{}} = ok ->
        ok

      {:ok, other} ->
        {:error, Error.new("TypeError", "__array__() of #{inspect(ref)} gave #{inspect(other, limit: 5)}")}

      error ->
        error
    end
  end

  @doc "The number of elements (the product of the shape; 1 for a 0-d array)."
  @spec size(t()) :: non_neg_integer()
  def size(%__MODULE__{shape: shape}), do: shape |> Tuple.to_list() |> Enum.reduce(1, &(&1 * &2))

  @doc false
  @spec from_wire(map()) :: t() | map()
  def from_wire(%{"dtype" => dtype, "shape" => shape, "data" => data} = wire) when is_binary(data) do
    case parse_dtype(dtype) do
      {:ok, type} -> %__MODULE__{dtype: type, shape: shape(shape), data: data}
      :error -> wire
    end
  end

  def from_wire(wire), do: wire

  @doc "The tagged wire map the adapter reads as a read-only ndarray."
  @spec to_wire(t()) :: map()
  def to_wire(%__MODULE__{dtype: {kind, bits}, shape: shape, data: data}) do
    %{
      "__type__" => "tensor",
      "dtype" => "#{Map.fetch!(@wire_kinds, kind)}#{bits}",
      "shape" => shape,
      "data" => data
    }
  end

  defp parse_dtype(text) when is_binary(text) do
    case Regex.run(~r/^(bf|s|u|f|c)(\d+)$/, text) do
      [_, kind, bits] -> {:ok, {Map.fetch!(@kinds, kind), String.to_integer(bits)}}
      nil -> :error
    end
  end

  defp parse_dtype(_), do: :error

  defp shape(shape) when is_tuple(shape), do: shape
  defp shape(shape) when is_list(shape), do: List.to_tuple(shape)

  if Code.ensure_loaded?(Nx) do
    @doc "As an `Nx.Tensor` (`Nx.from_binary(t.data, t.dtype) |> Nx.reshape(t.shape)`)."
    @spec to_nx(t()) :: Nx.Tensor.t()
    def to_nx(%__MODULE__{dtype: dtype, shape: shape, data: data}),
      do: data |> Nx.from_binary(dtype) |> Nx.reshape(shape)

    @doc "From an `Nx.Tensor`, to pass to Python as an ndarray."
    @spec from_nx(Nx.Tensor.t()) :: t()
    def from_nx(tensor),
      do: %__MODULE__{dtype: Nx.type(tensor), shape: Nx.shape(tensor), data: Nx.to_binary(tensor)}
  end
end

defimpl Inspect, for: SnakeBridge.Tensor do
  def inspect(%{dtype: {kind, bits}, shape: shape, data: data}, _opts) do
    "#SnakeBridge.Tensor<#{kind}#{bits}#{inspect(shape)} #{byte_size(data)} bytes>"
  end
end
