defmodule SnakeBridge.Types do
  @moduledoc """
  Elixir values to the adapter's wire terms and back: SnakeBridge's
  translator for SnakePort (`SnakePort.Translator`).

  ETF carries most terms natively (atoms, tuples, binaries, maps with any
  keys, integers of any size).  What Python has no term for arrives as
  SnakeBridge's tagged maps and becomes the Elixir value here: refs and
  stream refs become `SnakeBridge.Ref` / `SnakeBridge.StreamRef` (with the
  pool, node and worker they live in), tensors (arrays sent with `arrays:
  :tensor`) `SnakeBridge.Tensor`, sets `MapSet`, dates and times `Date` / `Time` /
  `DateTime` / `NaiveDateTime`, complex numbers `%{real:, imag:}`, special
  floats `:infinity` / `:neg_infinity` / `:nan`.  On the way out, the structs
  become their tagged maps again, and `SnakeBridge.bytes/1` (a
  `SnakeBridge.Bytes`) becomes the tagged bytes map Python reads as `bytes`.

  **Datetimes keep their offset.**  An aware Python `datetime` (a pandas
  `Timestamp` too) arrives as a `DateTime` with its microseconds and its
  `utc_offset`: `2026-03-01T10:00:00.123456+01:00` is 10:00 at `+01:00`, not
  09:00 UTC.  An offset of zero is `"Etc/UTC"`; any other fixed offset has
  no zone name in Elixir's calendar, so its `time_zone` and `zone_abbr` are
  the offset's text (`"+01:00"`), which `DateTime.to_iso8601/1`, comparisons
  and `DateTime.shift_zone(dt, "Etc/UTC")` handle as they should.  A naive
  `datetime` arrives as a `NaiveDateTime`.

  An Elixir struct that Python sends back (`%URI{}`, `1..10`, any map with a
  `:__struct__` key) is rebuilt when its module exists and the keys are
  exactly the struct's; otherwise it arrives as a plain map, without the
  `:__struct__` key, rather than as a broken struct.

  Decoding runs on every reply: plain data (no tagged map, no struct) is
  found by one walk that builds nothing and is returned as it is.
  """
  @behaviour SnakePort.Translator

  alias SnakeBridge.{Bytes, Ref, StreamRef, Tensor}

  @impl SnakePort.Translator
  def encode_value(value), do: encode(value)

  @impl SnakePort.Translator
  def decode_value(value, pool), do: if(plain?(value), do: value, else: decode(value, pool))

  @impl SnakePort.Translator
  def decode_value(value, pool, origin), do: if(plain?(value), do: value, else: decode(value, {pool, origin}))

  @located :snakebridge_located_ref

  @doc """
  A request's arguments and keyword arguments encoded, and the first ref or
  stream ref found among them (`nil` if none): the request goes to its
  worker, in its session, unless it names its own.
  """
  @spec encode_request(term(), term()) :: {term(), term(), Ref.t() | StreamRef.t() | nil}
  def encode_request(args, kwargs) do
    # A raise in an earlier encode may have left one behind.
    :erlang.erase(@located)
    args = encode(args)
    kwargs = encode(kwargs)

    case :erlang.erase(@located) do
      :undefined -> {args, kwargs, nil}
      ref -> {args, kwargs, ref}
    end
  end

  @doc "An argument, as the adapter expects it."
  @spec encode(term()) :: term()
  def encode(%Ref{} = ref), do: located(ref, Ref.to_wire(ref))
  def encode(%StreamRef{} = stream), do: located(stream, StreamRef.to_wire(stream))
  def encode(%Bytes{} = bytes), do: Bytes.to_wire(bytes)
  def encode(%Tensor{} = tensor), do: Tensor.to_wire(tensor)
  def encode(%MapSet{} = set), do: %{"__type__" => "set", "elements" => Enum.map(set, &encode/1)}
  def encode(%Date{} = date), do: %{"__type__" => "date", "value" => Date.to_iso8601(date)}
  def encode(%Time{} = time), do: %{"__type__" => "time", "value" => Time.to_iso8601(time)}
  def encode(%NaiveDateTime{} = dt), do: %{"__type__" => "datetime", "value" => NaiveDateTime.to_iso8601(dt)}
  def encode(%DateTime{} = dt), do: %{"__type__" => "datetime", "value" => DateTime.to_iso8601(dt)}
  def encode(list) when is_list(list), do: encode_list(list)

  def encode(tuple) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> Enum.map(&encode/1) |> List.to_tuple()

  def encode(%{} = map) when not is_struct(map) do
    Map.new(map, fn {key, value} -> {key, encode(value)} end)
  end

  def encode(other), do: other

  # The first ref an encoding meets (see encode_request/2).
  defp located(ref, wire) do
    if :erlang.get(@located) == :undefined, do: :erlang.put(@located, ref)
    wire
  end

  # Keeps improper lists improper.
  defp encode_list([]), do: []
  defp encode_list([head | tail]) when is_list(tail), do: [encode(head) | encode_list(tail)]
  defp encode_list([head | tail]), do: [encode(head) | encode(tail)]

  @doc "Whether `value` holds no tagged map and no struct (decoding would change nothing)."
  @spec plain?(term()) :: boolean()
  def plain?(value) when is_number(value) or is_binary(value) or is_atom(value), do: true
  def plain?([head | tail]) when is_number(head) or is_binary(head) or is_atom(head), do: plain?(tail)
  def plain?([head | tail]), do: plain?(head) and plain?(tail)
  def plain?(%{"__type__" => _}), do: false
  def plain?(%{__struct__: _}), do: false
  def plain?(%{} = map), do: map |> :maps.iterator() |> plain_map?()
  def plain?(tuple) when is_tuple(tuple), do: plain_tuple?(tuple, tuple_size(tuple))
  def plain?(_pid_port_ref_fun), do: true

  defp plain_map?(iterator) do
    case :maps.next(iterator) do
      {key, value, next} -> plain?(key) and plain?(value) and plain_map?(next)
      :none -> true
    end
  end

  defp plain_tuple?(_tuple, 0), do: true
  defp plain_tuple?(tuple, i), do: plain?(elem(tuple, i - 1)) and plain_tuple?(tuple, i - 1)

  @doc """
  A reply value, with tagged maps turned into Elixir values; refs record
  `pool` (or, given `{pool, {node, worker}}`, the worker too).
  """
  @spec decode(term(), atom() | {atom(), SnakePort.Translator.origin()}) :: term()
  def decode(%{"__type__" => type} = map, pool), do: decode_tagged(type, map, pool)
  def decode(%{__struct__: module} = map, pool), do: rebuild(module, map, pool)
  def decode(%{} = map, pool), do: decode_map(map, pool)
  def decode(list, pool) when is_list(list), do: decode_list(list, pool)

  def decode(tuple, pool) when is_tuple(tuple) do
    tuple |> Tuple.to_list() |> Enum.map(&decode(&1, pool)) |> List.to_tuple()
  end

  def decode(other, _pool), do: other

  defp decode_map(map, pool), do: Map.new(map, fn {k, v} -> {decode(k, pool), decode(v, pool)} end)

  defp decode_list([], _pool), do: []
  defp decode_list([head | tail], pool) when is_list(tail), do: [decode(head, pool) | decode_list(tail, pool)]
  defp decode_list([head | tail], pool), do: [decode(head, pool) | decode(tail, pool)]

  # A struct that came back: itself when its module defines exactly these
  # keys, else its fields as a plain map.
  defp rebuild(module, map, pool) do
    fields = map |> Map.delete(:__struct__) |> decode_map(pool)

    if struct_keys(module) == fields |> Map.keys() |> Enum.sort(),
      do: Map.put(fields, :__struct__, module),
      else: fields
  end

  defp struct_keys(module) when is_atom(module) do
    if Code.ensure_loaded?(module) and function_exported?(module, :__struct__, 0) do
      module.__struct__() |> Map.delete(:__struct__) |> Map.keys() |> Enum.sort()
    end
  end

  defp struct_keys(_not_a_module), do: nil

  defp decode_tagged("ref", map, pool), do: Ref.from_wire(map, pool)
  defp decode_tagged("stream_ref", map, pool), do: StreamRef.from_wire(map, pool)

  defp decode_tagged(set, %{"elements" => elements}, pool) when set in ["set", "frozenset"] do
    MapSet.new(elements, &decode(&1, pool))
  end

  defp decode_tagged("date", %{"value" => value}, _pool), do: Date.from_iso8601!(value)
  defp decode_tagged("time", %{"value" => value}, _pool), do: Time.from_iso8601!(value)

  defp decode_tagged("datetime", %{"value" => value} = map, _pool) do
    case DateTime.from_iso8601(value) do
      {:ok, datetime, 0} -> datetime
      {:ok, datetime, offset} -> at_offset(datetime, offset)
      {:error, :missing_offset} -> NaiveDateTime.from_iso8601!(value)
      {:error, _} -> map
    end
  end

  defp decode_tagged("tensor", map, _pool), do: Tensor.from_wire(map)

  defp decode_tagged("complex", %{"real" => re, "imag" => im}, _pool), do: %{real: re, imag: im}

  defp decode_tagged("special_float", %{"value" => value}, _pool) do
    %{"infinity" => :infinity, "neg_infinity" => :neg_infinity, "nan" => :nan}[to_string(value)]
  end

  defp decode_tagged("tuple", %{"elements" => elements}, pool) do
    elements |> Enum.map(&decode(&1, pool)) |> List.to_tuple()
  end

  defp decode_tagged(_type, map, pool), do: decode_map(map, pool)

  # The same instant, told at a fixed offset (`utc` is what from_iso8601 gives).
  defp at_offset(utc, offset) do
    local = utc |> DateTime.to_naive() |> NaiveDateTime.add(offset, :second)
    sign = if offset < 0, do: "-", else: "+"
    minutes = div(abs(offset), 60)
    name = "#{sign}#{pad(div(minutes, 60))}:#{pad(rem(minutes, 60))}"

    %DateTime{
      year: local.year,
      month: local.month,
      day: local.day,
      hour: local.hour,
      minute: local.minute,
      second: local.second,
      microsecond: utc.microsecond,
      utc_offset: offset,
      std_offset: 0,
      time_zone: name,
      zone_abbr: name
    }
  end

  defp pad(n), do: n |> Integer.to_string() |> String.pad_leading(2, "0")
end
