defmodule SnakeBridge.Types do
  @moduledoc """
  Elixir values to the adapter's wire terms and back.

  ETF carries most terms natively (atoms, tuples, binaries, maps with any
  keys, integers of any size).  What Python has no term for arrives as
  SnakeBridge's tagged maps and becomes the Elixir value here: refs and
  stream refs become `SnakeBridge.Ref` / `SnakeBridge.StreamRef` (with the
  pool they live in), sets `MapSet`, dates and times `Date` / `Time` /
  `DateTime` / `NaiveDateTime`, complex numbers `%{real:, imag:}`, special
  floats `:infinity` / `:neg_infinity` / `:nan`.  On the way out, the structs
  become their tagged maps again.
  """

  alias SnakeBridge.{Ref, StreamRef}

  @doc "An argument, as the adapter expects it."
  @spec encode(term()) :: term()
  def encode(%Ref{} = ref), do: Ref.to_wire(ref)
  def encode(%StreamRef{} = stream), do: StreamRef.to_wire(stream)
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

  # Keeps improper lists improper.
  defp encode_list([]), do: []
  defp encode_list([head | tail]) when is_list(tail), do: [encode(head) | encode_list(tail)]
  defp encode_list([head | tail]), do: [encode(head) | encode(tail)]

  @doc "A reply value, with tagged maps turned into Elixir values; refs record `pool`."
  @spec decode(term(), atom()) :: term()
  def decode(%{"__type__" => type} = map, pool), do: decode_tagged(type, map, pool)
  def decode(%{} = map, pool), do: Map.new(map, fn {key, value} -> {key, decode(value, pool)} end)
  def decode(list, pool) when is_list(list), do: decode_list(list, pool)

  def decode(tuple, pool) when is_tuple(tuple) do
    tuple |> Tuple.to_list() |> Enum.map(&decode(&1, pool)) |> List.to_tuple()
  end

  def decode(other, _pool), do: other

  defp decode_list([], _pool), do: []
  defp decode_list([head | tail], pool) when is_list(tail), do: [decode(head, pool) | decode_list(tail, pool)]
  defp decode_list([head | tail], pool), do: [decode(head, pool) | decode(tail, pool)]

  defp decode_tagged("ref", map, pool), do: Ref.from_wire(map, pool)
  defp decode_tagged("stream_ref", map, pool), do: StreamRef.from_wire(map, pool)

  defp decode_tagged(set, %{"elements" => elements}, pool) when set in ["set", "frozenset"] do
    MapSet.new(elements, &decode(&1, pool))
  end

  defp decode_tagged("date", %{"value" => value}, _pool), do: Date.from_iso8601!(value)
  defp decode_tagged("time", %{"value" => value}, _pool), do: Time.from_iso8601!(value)

  defp decode_tagged("datetime", %{"value" => value} = map, _pool) do
    case DateTime.from_iso8601(value) do
      {:ok, datetime, _offset} -> datetime
      {:error, :missing_offset} -> NaiveDateTime.from_iso8601!(value)
      {:error, _} -> map
    end
  end

  defp decode_tagged("complex", %{"real" => re, "imag" => im}, _pool), do: %{real: re, imag: im}

  defp decode_tagged("special_float", %{"value" => value}, _pool) do
    %{"infinity" => :infinity, "neg_infinity" => :neg_infinity, "nan" => :nan}[to_string(value)]
  end

  defp decode_tagged("tuple", %{"elements" => elements}, pool) do
    elements |> Enum.map(&decode(&1, pool)) |> List.to_tuple()
  end

  defp decode_tagged(_type, map, pool), do: Map.new(map, fn {k, v} -> {k, decode(v, pool)} end)
end
