defmodule SnakePort.Callback do
  @moduledoc """
  Runs an Elixir fun that Python called, in a Task of its own.

  The worker hands the task the `{:callback, CbId, Fun, Args}` frame as it
  arrived; the task decodes it (so the worker never does), translates the
  arguments with the pool's translator, applies the fun, and returns the
  `{:callback_reply, CbId, ...}` frame ready to write.  Whatever happens
  (the frame holds an atom this VM does not know, the fun raises, exits or
  throws, the arity is wrong), the reply is an answer Python can raise from
  at once, never silence.

  **Depth.**  A fun may call Python, whose code may call another fun, and so
  on; the adapter serves everything on one stack, so every callback waiting
  for its answer is one more level nested on it, and the stack gives out (a
  bare `RecursionError`) near 100 levels.  A callback's depth is therefore
  1 + the callbacks already running on its worker (in a plain chain, its
  level in the chain; callbacks of other callers running at the same time
  are nested on the same Python stack and count too).  The task running it
  knows its depth (`depth/0`, 0 outside callbacks), and a request made from
  depth `>= max_callback_depth` (pool option, default 50) is refused with a
  `CallbackDepthError` before it is sent.  Counting on the worker rather
  than per caller also covers funs that call Python from a process they
  spawn.
  """

  alias SnakePort.{Error, Wire}

  @depth_key :snakeport_callback_depth

  defmodule Running do
    @moduledoc "A callback the worker is running: its id in Python, its task, its deadline timer."
    @enforce_keys [:id, :pid]
    defstruct [:id, :pid, :timer, :timeout]

    @type t :: %__MODULE__{
            id: non_neg_integer(),
            pid: pid(),
            timer: reference() | nil,
            timeout: timeout()
          }
  end

  @doc "The callback depth of the calling process: 0 unless it runs an Elixir fun Python called."
  @spec depth() :: non_neg_integer()
  def depth, do: Process.get(@depth_key, 0)

  @doc "The error for a request made `depth` callbacks deep, over `limit`."
  @spec depth_error(non_neg_integer(), pos_integer()) :: Error.t()
  def depth_error(depth, limit) do
    Error.new(
      "CallbackDepthError",
      "callbacks nest #{depth} deep (Elixir -> Python -> Elixir ...); a request from that depth " <>
        "would pass the pool's max_callback_depth of #{limit}"
    )
  end

  @doc """
  The task's body: the `{:callback_reply, ...}` frame for callback `id`,
  whose `{:callback, ...}` frame is `frame`.
  """
  @spec run(binary(), non_neg_integer(), pos_integer(), module(), term()) :: {:frame, binary()}
  def run(frame, id, depth, translator, context) do
    Process.put(@depth_key, depth)

    result =
      case Wire.decode(frame) do
        {:ok, {:callback, ^id, fun, args}} when is_list(args) ->
          invoke(fun, translator.decode_value(args, context), translator)

        {:ok, other} ->
          error("error", "ProtocolError", "malformed callback frame #{inspect(other, limit: 5)}")

        {:error, why} ->
          error("error", "UnsafeTerm", "the Elixir side could not decode callback #{id}: #{why}")
      end

    {:frame, Wire.callback_reply(id, result)}
  end

  defp invoke(fun, args, translator) when is_function(fun, length(args)) do
    {:ok, fun |> apply(args) |> translator.encode_value()}
  rescue
    exception -> error("error", inspect(exception.__struct__), Exception.message(exception))
  catch
    :exit, reason -> error("exit", nil, "the fun exited: #{inspect(reason)}")
    :throw, value -> error("throw", nil, "the fun threw #{inspect(value)}")
  end

  defp invoke(fun, args, _translator) when is_function(fun) do
    error("error", "BadArityError", "#{inspect(fun)} cannot take #{length(args)} argument(s)")
  end

  defp invoke(other, _args, _translator),
    do: error("error", "BadFunctionError", "#{inspect(other)} is not a fun")

  @doc "A callback failure as the adapter reads it: `{:error, %{\"kind\", \"type\", \"message\"}}`."
  @spec error(String.t(), String.t() | nil, String.t()) :: {:error, map()}
  def error(kind, type, message), do: {:error, %{"kind" => kind, "type" => type, "message" => message}}
end
