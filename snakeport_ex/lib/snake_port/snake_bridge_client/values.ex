defmodule SnakePort.SnakeBridgeClient.Values do
  @moduledoc """
  Values between SnakeBridge's JSON-shaped form and the adapter's wire terms:
  the translator (`SnakePort.Translator`) of the pools that
  `SnakePort.SnakeBridgeClient` runs.

  SnakeBridge encodes every argument for JSON (`SnakeBridge.Types.encode`)
  and decodes every result from it (`SnakeBridge.Types.decode`); under
  Snakepit the JSON text crossed gRPC.  Here the same shapes cross a Port as
  ETF, so only what differs is changed:

    * **to the wire** (request arguments, what an Elixir callback returns):
      `bytes` tags carry base64 text, which becomes the raw binary the
      adapter reads; `callback` tags (funs SnakeBridge registered in its
      `CallbackRegistry`) become real Elixir funs of the same arity, which
      Python calls over SnakePort's callback channel
      (`SnakePort.SnakeBridgeClient.Callbacks`).  Every other tag (tuple,
      set, atom, dict, datetime, special_float, ref) the adapter reads as
      SnakeBridge's Python did.
    * **from the wire** (reply values, push stream items, a callback's
      arguments, messages Python sends): terms JSON has no form for get
      SnakeBridge's tags, so `Types.decode` rebuilds them exactly as it did
      under Snakepit: tuples (`tuple`), atoms (`atom`, which `Types.decode`
      admits only through its `:atom_allowlist`), `:infinity`,
      `:neg_infinity` and `:nan` (`special_float`), maps with keys that are
      not all strings (`dict` with `pairs`); refs and stream refs gain
      `__type_name__` beside `type_name`.  Binaries stay binaries, valid
      UTF-8 or not: `Types.decode` passes any binary through, which is what
      a `bytes` tag decodes to, so a 1 MB result is not base64-encoded to
      be decoded again.  Tensor maps (`"arrays" => "tensor"`) arrive with
      their raw data, and their shape as a `tuple` tag (a tuple once
      decoded).

  Both directions first check whether anything needs changing, so plain
  data (numbers, strings, lists and string-keyed maps of them) is returned
  as it is, without being rebuilt.
  """
  @behaviour SnakePort.Translator

  alias SnakePort.SnakeBridgeClient.Callbacks

  @schema 1
  @special_floats %{infinity: "infinity", neg_infinity: "neg_infinity", nan: "nan"}

  @impl SnakePort.Translator
  def decode_value(value, _context), do: to_snakebridge(value)

  @impl SnakePort.Translator
  def encode_value(value), do: to_wire(value)

  # -- from the wire to SnakeBridge's shapes -----------------------------------------

  @doc "A wire value in the form `SnakeBridge.Types.decode/1` reads."
  @spec to_snakebridge(term()) :: term()
  def to_snakebridge(value), do: if(shaped?(value), do: value, else: shape(value))

  @doc "Whether `value` is already in SnakeBridge's form (nothing to change)."
  @spec shaped?(term()) :: boolean()
  def shaped?(value) when is_binary(value) or is_number(value), do: true
  def shaped?(value) when value in [nil, true, false], do: true
  def shaped?(value) when is_atom(value), do: false
  def shaped?([head | tail]) when is_binary(head) or is_number(head), do: shaped?(tail)
  def shaped?([head | tail]), do: shaped?(head) and shaped?(tail)
  def shaped?([]), do: true
  def shaped?(%{"__type__" => type}) when type in ["ref", "stream_ref"], do: false
  def shaped?(%{} = map), do: map |> :maps.iterator() |> shaped_map?()
  def shaped?(value) when is_tuple(value), do: false
  # pids, ports, references and funs: Types.decode passes them through
  def shaped?(_other), do: true

  defp shaped_map?(iterator) do
    case :maps.next(iterator) do
      {key, value, next} -> is_binary(key) and shaped?(value) and shaped_map?(next)
      :none -> true
    end
  end

  defp shape(value) when is_binary(value) or is_number(value), do: value
  defp shape(value) when value in [nil, true, false], do: value

  defp shape(value) when is_map_key(@special_floats, value),
    do: tagged("special_float", %{"value" => Map.fetch!(@special_floats, value)})

  defp shape(value) when is_atom(value), do: tagged("atom", %{"value" => Atom.to_string(value)})
  defp shape(list) when is_list(list), do: shape_list(list)

  defp shape(tuple) when is_tuple(tuple),
    do: tagged("tuple", %{"elements" => tuple |> Tuple.to_list() |> Enum.map(&shape/1)})

  defp shape(%{"__type__" => type} = ref) when type in ["ref", "stream_ref"] do
    case ref do
      %{"type_name" => name} -> Map.put_new(ref, "__type_name__", name)
      _ -> ref
    end
  end

  defp shape(%{} = map) do
    if Enum.all?(map, fn {key, _} -> is_binary(key) end),
      do: Map.new(map, fn {key, value} -> {key, shape(value)} end),
      else: tagged("dict", %{"pairs" => Enum.map(map, fn {key, value} -> [shape(key), shape(value)] end)})
  end

  defp shape(other), do: other

  # Improper lists (rare: Python's ImproperList) keep their shape.
  defp shape_list([]), do: []
  defp shape_list([head | tail]) when is_list(tail), do: [shape(head) | shape_list(tail)]
  defp shape_list([head | tail]), do: [shape(head) | shape(tail)]

  defp tagged(type, fields), do: Map.merge(fields, %{"__type__" => type, "__schema__" => @schema})

  # -- from SnakeBridge's shapes to the wire -----------------------------------------

  @doc """
  A value SnakeBridge encoded (an argument, a callback's result) as the
  adapter reads it.  Raises `ArgumentError` for a `callback` tag it cannot
  make a fun of (no `ref_id`, or an arity past 20).
  """
  @spec to_wire(term()) :: term()
  def to_wire(value), do: if(wire?(value), do: value, else: unshape(value))

  defp wire?(%{"__type__" => type}) when type in ["bytes", "callback"], do: false
  defp wire?(%{} = map), do: map |> :maps.iterator() |> wire_map?()
  defp wire?([head | tail]) when is_binary(head) or is_number(head), do: wire?(tail)
  defp wire?([head | tail]), do: wire?(head) and wire?(tail)
  defp wire?(_other), do: true

  defp wire_map?(iterator) do
    case :maps.next(iterator) do
      {_key, value, next} -> wire?(value) and wire_map?(next)
      :none -> true
    end
  end

  defp unshape(%{"__type__" => "bytes"} = tag) do
    data = Map.get(tag, "data") || Map.get(tag, "value")

    raw =
      case is_binary(data) && Base.decode64(data) do
        {:ok, raw} -> raw
        # not base64: the text itself, as the adapter reads a text `data`
        _ -> data
      end

    %{"__type__" => "bytes", "data" => raw}
  end

  defp unshape(%{"__type__" => "callback"} = tag), do: Callbacks.fun(tag)
  defp unshape(%{} = map), do: Map.new(map, fn {key, value} -> {key, unshape(value)} end)
  defp unshape(list) when is_list(list), do: Enum.map(list, &unshape/1)
  defp unshape(other), do: other
end
