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
  on; every level is one more request nested on the adapter's single stack,
  which gives out (a bare `RecursionError`) near 100 levels.  Each task
  knows its depth (`depth/0`, 0 outside callbacks), requests made from it
  carry that depth, and a request from depth `>= max_callback_depth` (pool
  option, default 50) is refused with a `CallbackDepthError` before it is
  sent.  The worker gives a new callback the depth `1 +` the deepest request
  in flight on that adapter: the request that called the fun is one of them,
  so the depth is never underestimated (with several deep chains on one
  worker at once it can be overestimated).
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
