defmodule SnakePort.SnakeBridgeClient.Callbacks do
  @moduledoc """
  Elixir funs passed through SnakeBridge, called from Python over SnakePort's
  callback channel instead of gRPC.

  `SnakeBridge.Types.encode/1` registers each fun in SnakeBridge's
  `CallbackRegistry` (which owns it, and drops it when the process that
  registered it exits) and sends `%{"__type__" => "callback", "ref_id" =>
  id, "pid" => ..., "arity" => n}`.  Under Snakepit, Python called it back
  with the Elixir tool `"snakebridge.callback"` over gRPC.  Here the tag
  becomes a fun of the same arity (so the adapter checks the argument count
  before anything is sent, as SnakeBridge's proxy did), which the worker
  runs in a Task when Python calls it (`SnakePort.Callback`); the fun hands
  `%{"callback_id" => id, "args" => args}` to the registry's own
  `handle_tool/1`, the entry point the gRPC tool had, so SnakeBridge decodes
  the arguments, runs the registered fun in its task supervisor and encodes
  the result as it always did.

  The arguments reach the registry in SnakeBridge's form (the pool's
  translator, `SnakePort.SnakeBridgeClient.Values`, shaped them), with
  Python objects as refs of the calling session (under Snakepit they were
  `__needs_ref__` markers).  A `callback_error` answer (callback not found,
  wrong arity, the fun raised) raises `RuntimeError` here, so Python's call
  raises `snakeport.ElixirError` with the registry's reason.

  SnakeBridge's registry is looked up when a callback runs, not at compile
  time: SnakePort has no dependency on SnakeBridge.
  """

  @max_arity 20

  @doc "The fun that stands for SnakeBridge callback `tag` in a request."
  @spec fun(map()) :: function()
  def fun(%{"ref_id" => id} = tag) when is_binary(id) do
    case Map.get(tag, "arity") do
      arity when is_integer(arity) and arity in 0..@max_arity ->
        make(arity, id)

      arity ->
        raise ArgumentError,
              "SnakeBridge callback #{id} has arity #{inspect(arity)}; SnakePort passes callbacks " <>
                "of arity 0 to #{@max_arity}"
    end
  end

  def fun(tag), do: raise(ArgumentError, "a SnakeBridge callback tag without a ref_id: #{inspect(tag)}")

  for arity <- 0..@max_arity do
    args = Macro.generate_arguments(arity, __MODULE__)
    defp make(unquote(arity), id), do: fn unquote_splicing(args) -> invoke(id, unquote(args)) end
  end

  @doc """
  Run SnakeBridge callback `id` with `args` (in SnakeBridge's form) through
  its registry; its encoded result, or a `RuntimeError` with its reason.
  """
  @spec invoke(String.t(), list()) :: term()
  def invoke(id, args) do
    registry = registry()

    unless Code.ensure_loaded?(registry) and function_exported?(registry, :handle_tool, 1) do
      raise RuntimeError,
            "Elixir callback #{id} cannot run: #{inspect(registry)} is not loaded " <>
              "(callbacks come from SnakeBridge's CallbackRegistry)"
    end

    case registry.handle_tool(%{"callback_id" => id, "args" => args}) do
      %{"__type__" => "callback_error"} = error ->
        raise RuntimeError, "Elixir callback #{id} failed: #{error["reason"] || inspect(error)}"

      result ->
        result
    end
  end

  # A variable, not a literal: SnakePort compiles without SnakeBridge.
  defp registry, do: Module.concat(SnakeBridge, CallbackRegistry)
end
