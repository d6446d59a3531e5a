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

  **Node.**  A fun runs on the node it came from (`SnakePort.Wire.callback_node/1`):
  its closure, and the processes it may talk to, live there.  For a caller
  on another node, the worker's task runs it there with `:erpc` (one
  process on that node, decoding the frame itself), and a node that is not
  connected, or goes away meanwhile, is an `ElixirError` in Python at once.
  `&Mod.fun/arity` captures carry no node, and run on the worker's node.
  """

  alias SnakePort.{Error, Translator, Wire}

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

  @doc """
  A request made from inside callbacks tells the adapter how deep it is
  (`"callback_depth"`): its nested calls may run on other threads than the
  callbacks around them, where the adapter cannot count them itself.  Past
  the pool's `limit` it is an error, not sent.
  """
  @spec check_depth(map(), pos_integer()) :: {:ok, map()} | {:error, Error.t()}
  def check_depth(request, limit) do
    case depth() do
      0 -> {:ok, request}
      depth when depth >= limit -> {:error, depth_error(depth, limit)}
      depth -> {:ok, Map.put(request, "callback_depth", depth)}
    end
  end

  @doc "The error for a request made `depth` callbacks deep, over `limit`."
  @spec depth_error(non_neg_integer(), pos_integer()) :: Error.t()
  def depth_error(depth, limit) do
    Error.new(
      "CallbackDepthError",
      "callbacks nest #{depth} deep (Elixir -> Python -> Elixir ...); a request from that depth " <>
        "would pass the pool's max_callback_depth of #{limit}"
    )
  end

  @typedoc "What decoding needs: the pool's translator, its context, and whether it wants the origin."
  @type decoder :: %{translator: module(), context: term(), decode_origin: boolean()}

  @doc """
  The task's body: the `{:callback_reply, ...}` frame for callback `id`,
  whose `{:callback, ...}` frame is `frame`, sent by worker `origin`.
  """
  @spec run(binary(), non_neg_integer(), pos_integer(), decoder(), Translator.origin()) :: {:frame, binary()}
  def run(frame, id, depth, decoder, origin) do
    Process.put(@depth_key, depth)
    translator = decoder.translator

    result =
      case Wire.decode(frame) do
        {:ok, {:callback, ^id, fun, args}} when is_list(args) ->
          invoke(fun, Translator.decode(decoder, args, origin), translator)

        {:ok, other} ->
          error("error", "ProtocolError", "malformed callback frame #{inspect(other, limit: 5)}")

        {:error, why} ->
          error("error", "UnsafeTerm", "the Elixir side could not decode callback #{id}: #{why}")
      end

    {:frame, Wire.callback_reply(id, result)}
  end

  @doc """
  The task's body for a fun that lives on `node`: `run/5` there, in a
  process linked to this task, so that the worker's deadline, which kills
  the task, kills the fun on its node too; if that node cannot be reached
  or goes away, a reply saying so.
  """
  @spec run_on(node(), binary(), non_neg_integer(), pos_integer(), decoder(), Translator.origin()) ::
          {:frame, binary()}
  def run_on(node, frame, id, depth, decoder, origin) do
    if node in Node.list() do
      Process.flag(:trap_exit, true)
      ref = make_ref()
      pid = Node.spawn_link(node, __MODULE__, :run_for, [self(), ref, frame, id, depth, decoder, origin])

      receive do
        {^ref, result} ->
          result

        {:EXIT, ^pid, :noconnection} ->
          {:frame, Wire.callback_reply(id, not_run(node, "went down"))}

        {:EXIT, ^pid, reason} ->
          {:frame, Wire.callback_reply(id, not_run(node, "failed: #{inspect(reason)}"))}
      end
    else
      {:frame, Wire.callback_reply(id, not_run(node, "is not connected"))}
    end
  end

  @doc false
  # On the fun's node: run it and send the reply frame to the waiting task.
  @spec run_for(
          pid(),
          reference(),
          binary(),
          non_neg_integer(),
          pos_integer(),
          decoder(),
          Translator.origin()
        ) ::
          term()
  def run_for(task, ref, frame, id, depth, decoder, origin),
    do: send(task, {ref, run(frame, id, depth, decoder, origin)})

  defp not_run(node, what), do: error("exit", nil, "the node #{node}, where the fun lives, #{what}")

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
