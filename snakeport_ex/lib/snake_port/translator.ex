defmodule SnakePort.Translator do
  @moduledoc """
  How a pool turns wire values into the values its users see, and back.

  SnakePort itself speaks wire form: request maps with binary keys, and
  replies holding the adapter's tagged maps (`%{"__type__" => "ref", ...}`).
  A library built on it (SnakeBridge's facade) has its own structs for those
  (`%SnakeBridge.Ref{}`, `MapSet`, `Date`); it names a translator module in
  the pool's options (`translator: MyTranslator, context: term`) and
  SnakePort applies it at every place a value crosses the boundary:

    * `decode_value/2` on reply values, push stream items, the arguments
      Python passes to an Elixir fun, and the terms Python sends with
      `snakeport.send`; it runs in the process that receives the value
      (the caller, the callback's task, the worker for messages);
    * `encode_value/1` on what an Elixir fun returns to Python.

  Request arguments are the caller's to encode (it builds the request map).
  `context` is the pool's `:context` option (SnakeBridge passes its pool name,
  which its refs record).  Decoding runs on every reply, so it should return
  plain data as it is without rebuilding it.
  """

  @doc "A wire value (already decoded from ETF) as the user should see it."
  @callback decode_value(value :: term(), context :: term()) :: term()

  @doc "A value an Elixir fun returned, as the adapter should receive it."
  @callback encode_value(value :: term()) :: term()
end

defmodule SnakePort.Translator.Wire do
  @moduledoc "The default translator: values stay in wire form both ways."
  @behaviour SnakePort.Translator

  @impl true
  def decode_value(value, _context), do: value

  @impl true
  def encode_value(value), do: value
end
