defmodule SnakePort.SnakeBridgeClient.Chunks do
  @moduledoc """
  A push stream's items as the chunks SnakeBridge's stream callbacks read.

  Under Snakepit, `execute_stream/4` called its callback once per gRPC
  chunk with a map: the item under `"data"` and `"is_final" => false`, then
  one last `%{"is_final" => true}` when the generator was exhausted.  A
  callback returning `:halt` stopped the stream (`:ok`), `{:halt, reason}`
  stopped it with `{:error, reason}`, and one that raised ended it with
  `{:error, {:callback_exception, exception, stacktrace}}`.

  Here the items come from SnakePort's push stream (under credit, so a slow
  callback stalls the Python generator, not memory), are shaped by the
  pool's translator, and the callback runs in the caller's own process, one
  call per item, in order.  Every item is `%{"data" => item, "is_final" =>
  false}`: SnakeBridge's `stream_dynamic` reads it as the item, a generated
  `*_stream` wrapper's callback sees it decoded.  (Snakepit merged a map
  item's keys into the chunk, sent a string item as raw bytes and dropped a
  `None`; here nothing is lost or reread.)  Halting, or a raise, cancels
  the generator in Python (its `finally` runs).
  """

  @doc "A fun for `SnakePort.stream/4` that feeds `callback` one chunk per item."
  @spec feeder((map() -> term()), reference()) :: (term() -> :ok)
  def feeder(callback, tag) do
    fn item ->
      answer =
        try do
          callback.(%{"data" => item, "is_final" => false})
        rescue
          exception -> throw({tag, {:error, {:callback_exception, exception, __STACKTRACE__}}})
        end

      case answer do
        :halt -> throw({tag, :ok})
        {:halt, reason} -> throw({tag, {:error, reason}})
        _ -> :ok
      end
    end
  end

  @doc "The marker after the last item of a stream that ran to its end."
  @spec final() :: map()
  def final, do: %{"is_final" => true}

  @doc """
  Run `stream` (a function taking the feeder) and turn a halt thrown by the
  feeder made with `tag` into the stream's result.
  """
  @spec run(reference(), (() -> result)) :: result | :ok | {:error, term()} when result: term()
  def run(tag, stream) do
    stream.()
  catch
    :throw, {^tag, result} -> result
  end
end
