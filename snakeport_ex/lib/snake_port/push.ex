defmodule SnakePort.Push do
  @moduledoc """
  The caller's side of a push stream, for a local pool (`SnakePort.Client`)
  and a pool of another node (`SnakePort.Remote`) alike: chunks fed to the
  caller's fun under a deadline, a credit granted per chunk, and the final
  reply.  What differs between the two (how credit and cancels are sent,
  how the final reply and a lost worker read) comes in the `t:run/0` map.
  """

  alias SnakePort.{Error, Wire}

  @typedoc """
  A stream being consumed: `tag` (the monitor or alias its messages carry),
  `id` (the request id), `fun` (called on each item), `deadline`, and
  `decode` (chunk items to values), `credit`, `cancel` (0-arity: grant one
  chunk; stop the stream and drop what is in flight), `final` (the reply
  that ends it) and `down` (the worker's exit reason), plus the caller's own keys.
  """
  @type run :: %{
          required(:tag) => reference(),
          required(:id) => integer(),
          required(:fun) => (term() -> any()),
          required(:deadline) => deadline(),
          required(:decode) => (list() -> list()),
          required(:credit) => (() -> any()),
          required(:cancel) => (() -> any()),
          required(:final) => (term() -> {:ok, :done} | {:error, term()}),
          required(:down) => (term() -> {:error, term()}),
          optional(atom()) => term()
        }
  @type deadline :: integer() | :infinity

  @doc """
  Feed chunks to the run's fun until the final reply, a timeout or a bad
  chunk.  A fun that raises (or exits, or throws) cancels the stream first,
  then the raise goes on to the caller.
  """
  @spec consume(run()) :: {:ok, :done} | {:error, Error.t() | :timeout | term()}
  def consume(run) do
    consume(run, 1)
  catch
    kind, reason ->
      run.cancel.()
      :erlang.raise(kind, reason, __STACKTRACE__)
  end

  defp consume(%{tag: tag} = run, n) do
    receive do
      {^tag, :chunk, bin} ->
        case decode_chunk(bin, run.decode) do
          {:ok, items} ->
            if feed(items, run.fun, run.deadline) do
              run.credit.()
              consume(run, n + 1)
            else
              run.cancel.()
              {:error, :timeout}
            end

          {:error, why} ->
            run.cancel.()

            {:error,
             Error.new(
               "UnsafeTerm",
               "chunk #{n} of push stream #{run.id} could not be decoded: #{why}; the stream was cancelled"
             )}
        end

      {^tag, reply} ->
        Process.demonitor(tag, [:flush])
        run.final.(reply)

      {:DOWN, ^tag, :process, _, reason} ->
        run.down.(reason)
    after
      remaining(run.deadline) ->
        run.cancel.()
        {:error, :timeout}
    end
  end

  @doc """
  The wire request of a push stream in `session`: `credit:` chunks may be in
  flight (default 2), each of up to `batch:` items (default 1024).
  """
  @spec request(map(), String.t(), keyword()) :: map()
  def request(request, session, opts) do
    Map.merge(request, %{
      "call_type" => "stream",
      "session_id" => session,
      "credit" => Keyword.get(opts, :credit, 2),
      "batch" => Keyword.get(opts, :batch, 1024)
    })
  end

  @doc "Drop the chunks of `tag` already in the mailbox (after a cancel)."
  @spec flush_chunks(reference()) :: :ok
  def flush_chunks(tag) do
    receive do
      {^tag, :chunk, _} -> flush_chunks(tag)
    after
      0 -> :ok
    end
  end

  @doc "The deadline `ms` from now."
  @spec deadline(timeout()) :: deadline()
  def deadline(:infinity), do: :infinity
  def deadline(ms), do: System.monotonic_time(:millisecond) + ms

  defp decode_chunk(bin, decode) do
    case Wire.decode(bin) do
      {:ok, {:chunk, _id, items}} when is_list(items) -> {:ok, decode.(items)}
      {:ok, other} -> {:error, "it is not a chunk: #{inspect(other, limit: 5)}"}
      {:error, _} = error -> error
    end
  end

  # Each item to `fun` while time remains; false once the deadline passed.
  defp feed([], _fun, _deadline), do: true

  defp feed([item | rest], fun, deadline) do
    if past?(deadline) do
      false
    else
      fun.(item)
      feed(rest, fun, deadline)
    end
  end

  defp past?(:infinity), do: false
  defp past?(deadline), do: System.monotonic_time(:millisecond) >= deadline
  defp remaining(:infinity), do: :infinity
  defp remaining(deadline), do: max(deadline - System.monotonic_time(:millisecond), 0)
end
