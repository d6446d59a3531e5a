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

  A translator that exports `decode_value/3` is also told which worker a
  value came from (its node and index in the pool): a ref made from it can
  record where its object lives, and be used from any node.

  Request arguments are the caller's to encode (it builds the request map).
  `context` is the pool's `:context` option (SnakeBridge passes its pool name,
  which its refs record).  Decoding runs on every reply, so it should return
  plain data as it is without rebuilding it.
  """

  @doc "A wire value (already decoded from ETF) as the user should see it."
  @callback decode_value(value :: term(), context :: term()) :: term()

  @doc """
  As `decode_value/2`, told which worker the value came from (`origin`: its
  node and index), so the refs made from it can record where their objects
  live and be used from any node (SnakeBridge's refs do).  Optional: a
  translator without it gets `decode_value/2`.
  """
  @callback decode_value(value :: term(), context :: term(), origin :: origin()) :: term()

  @optional_callbacks decode_value: 3

  @typedoc "The worker a value came from: its node and its index in the pool."
  @type origin :: {node(), non_neg_integer()}

  @doc "Whether `translator` wants to know where values come from (exports `decode_value/3`)."
  @spec origin?(module()) :: boolean()
  def origin?(translator) do
    Code.ensure_loaded?(translator) and function_exported?(translator, :decode_value, 3)
  end

  @doc """
  Decode `value` with the translator of `holder` (a pool, or a remote pool),
  telling it the value came from worker `origin` if it wants to know.
  """
  @spec decode(map(), term(), origin()) :: term()
  def decode(%{translator: translator, context: context, decode_origin: true}, value, origin),
    do: translator.decode_value(value, context, origin)

  def decode(%{translator: translator, context: context}, value, _origin),
    do: translator.decode_value(value, context)

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
