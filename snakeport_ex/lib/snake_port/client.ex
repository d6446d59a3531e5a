defmodule SnakePort.Client do
  @moduledoc """
  The caller's side of a request, run in the caller's own process.

  A call costs one process hop: the caller takes an id, registers it in the
  worker's pending table, encodes `{:call, id, request}` and writes it to the
  port itself; the worker routes the reply binary back, tagged with the
  caller's monitor of the worker (so a dead worker is noticed at once); the
  caller decodes it with `[:safe]` and applies the pool's translator.
  Nothing bigger than a binary crosses between processes.

  A timeout takes the request back from the pending table and sends
  `{:cancel, id}`; if the worker took it first, the reply is already on its
  way and is returned.  A reply that comes after the caller timed out (the
  adapter's late result, or its `Cancelled` error once it interrupts calls)
  finds no entry and is dropped by the worker.
  """

  alias SnakePort.{Callback, Error, Pending, Pool, Route, Router, Translator, Wire}

  @type result :: {:ok, term()} | {:error, Error.t() | :timeout}

  @cancel_wait 5_000

  @doc """
  Run `request` (a wire map) in `pool`.  Options: `session:` (default: the
  caller's auto-session of the pool), `timeout:` (ms or `:infinity`; default:
  the pool's `default_timeout`).
  """
  @spec request(Pool.t(), map(), keyword()) :: result()
  def request(%Pool{} = pool, request, opts) do
    with {:ok, request} <- check_depth(pool, request),
         {:ok, session, index} <- route(pool, opts) do
      timeout = Keyword.get(opts, :timeout, pool.default_timeout)
      on_worker(pool, index, Map.put(request, "session_id", session), timeout)
    end
  end

  defp route(pool, opts) do
    {session, index} = Router.route(pool, Keyword.get(opts, :session))
    {:ok, session, index}
  rescue
    # The pool stopped: its tables are gone.
    ArgumentError -> {:error, not_started(pool)}
  end

  @doc "Run `request` on worker `index` of `pool`, whatever its session (stats, diagnostics)."
  @spec on_worker(Pool.t(), non_neg_integer(), map(), timeout()) :: result()
  def on_worker(pool, index, request, timeout), do: exchange(pool, Pool.route(pool, index), request, timeout)

  # A request made from inside callbacks tells the adapter how deep it is
  # (`"callback_depth"`): its nested calls may run on other threads than the
  # callbacks around them, where the adapter cannot count them itself.
  defp check_depth(pool, request) do
    case Callback.depth() do
      0 ->
        {:ok, request}

      depth when depth >= pool.max_callback_depth ->
        {:error, Callback.depth_error(depth, pool.max_callback_depth)}

      depth ->
        {:ok, Map.put(request, "callback_depth", depth)}
    end
  end

  defp exchange(pool, route, request, timeout) do
    id = Route.next_id(route)
    tag = Route.monitor(route)

    case register(route, id, %Pending.Call{tag: tag, caller: self()}) do
      :ok ->
        Route.write(route, id, Wire.call(id, request))
        await(pool, route, id, tag, timeout)

      {:error, _} = error ->
        Process.demonitor(tag, [:flush])
        error
    end
  end

  # The pending table dies with its worker.
  defp register(route, id, entry) do
    Pending.put(route.pending, id, entry)
    :ok
  rescue
    ArgumentError -> {:error, worker_gone(route, :noproc)}
  end

  defp await(pool, route, id, tag, timeout) do
    receive do
      {^tag, reply} ->
        Process.demonitor(tag, [:flush])
        answer(pool, route, reply)

      {:DOWN, ^tag, :process, _, reason} ->
        {:error, worker_gone(route, reason)}
    after
      timeout ->
        case take(route, id) do
          nil ->
            await(pool, route, id, tag, :infinity)

          _entry ->
            Route.write(route, nil, Wire.cancel(id))
            Process.demonitor(tag, [:flush])
            {:error, :timeout}
        end
    end
  end

  defp take(route, id) do
    Pending.take(route.pending, id)
  rescue
    ArgumentError -> nil
  end

  defp answer(_pool, _route, {:error, %Error{}} = error), do: error

  defp answer(pool, route, bin) do
    case Wire.decode(bin) do
      {:ok, {:reply, _id, {:ok, value}}} ->
        {:ok, Translator.decode(pool, value, {node(), route.index})}

      {:ok, {:reply, _id, {:error, error}}} when is_map(error) ->
        {:error, error |> Error.from_wire() |> explain_restart(pool, route)}

      {:ok, other} ->
        {:error, Error.new("ProtocolError", "malformed reply #{inspect(other, limit: 10)}")}

      {:error, why} ->
        {:error, Error.new("UnsafeTerm", "the reply could not be decoded: #{why}")}
    end
  end

  # After a restart, an unknown ref most likely belonged to the Python process that died.
  defp explain_restart(%Error{python_type: "RefNotFoundError"} = error, pool, route) do
    case Pool.state(pool, route.index).restarts do
      0 ->
        error

      n ->
        %{
          error
          | message:
              error.message <>
                " (the Python adapter of pool #{inspect(pool.name)} worker #{route.index} has been " <>
                "restarted #{n} time(s); refs made before a restart are gone)"
        }
    end
  rescue
    ArgumentError -> error
  end

  defp explain_restart(error, _pool, _route), do: error

  defp worker_gone(route, reason) do
    Error.new("WorkerDown", "the SnakePort worker #{route.index} exited before replying: #{inspect(reason)}")
  end

  defp not_started(pool),
    do: Error.new("PoolNotStarted", "SnakePort pool #{inspect(pool.name)} is not started")

  # -- push streams -----------------------------------------------------------------

  @doc """
  Run `request` as a push stream and call `fun` on each item.

  Options: `session:`, `timeout:` (the whole stream's deadline, default
  `:infinity`), `credit:` (chunks in flight, default 2), `batch:` (items per
  chunk at most, default 1024).  At most `credit` chunks are ever in flight,
  so a slow `fun` stalls the Python generator, not memory.  Returns
  `{:ok, :done}`, the generator's error, `{:error, :timeout}` (the generator
  is cancelled in Python), or an `UnsafeTerm` error when a chunk cannot be
  decoded (the stream is cancelled too: never a silent gap).  If `fun`
  raises, the stream is cancelled and the exception goes on.
  """
  @spec stream(Pool.t(), map(), keyword(), (term() -> any())) :: {:ok, :done} | {:error, Error.t() | :timeout}
  def stream(%Pool{} = pool, request, opts, fun) when is_function(fun, 1) do
    with {:ok, request} <- check_depth(pool, request),
         {:ok, session, index} <- route(pool, opts) do
      request =
        Map.merge(request, %{
          "call_type" => "stream",
          "session_id" => session,
          "credit" => Keyword.get(opts, :credit, 2),
          "batch" => Keyword.get(opts, :batch, 1024)
        })

      open_stream(
        pool,
        Pool.route(pool, index),
        request,
        deadline(Keyword.get(opts, :timeout, :infinity)),
        fun
      )
    end
  end

  defp open_stream(pool, route, request, deadline, fun) do
    id = Route.next_id(route)
    tag = Route.monitor(route)
    entry = %Pending.Stream{tag: tag, caller: self()}

    case start_stream(route, id, entry, Wire.call(id, request)) do
      :ok ->
        run = %{pool: pool, route: route, id: id, tag: tag, fun: fun, deadline: deadline}

        try do
          chunks(run, 1)
        catch
          kind, reason ->
            cancel(run)
            :erlang.raise(kind, reason, __STACKTRACE__)
        end

      {:error, _} = error ->
        Process.demonitor(tag, [:flush])
        error
    end
  end

  # Through the worker: it monitors the consumer, to cancel the stream if it exits.
  defp start_stream(route, id, entry, frame) do
    GenServer.call(route.worker, {:stream, id, entry, frame}, :infinity)
  catch
    :exit, reason -> {:error, worker_gone(route, reason)}
  end

  defp chunks(%{tag: tag} = run, n) do
    receive do
      {^tag, :chunk, bin} ->
        case decode_chunk(run, bin) do
          {:ok, items} ->
            if feed(items, run.fun, run.deadline) do
              Route.write(run.route, nil, Wire.credit(run.id, 1))
              chunks(run, n + 1)
            else
              cancel(run)
              {:error, :timeout}
            end

          {:error, why} ->
            cancel(run)

            {:error,
             Error.new(
               "UnsafeTerm",
               "chunk #{n} of push stream #{run.id} could not be decoded: #{why}; the stream was cancelled"
             )}
        end

      {^tag, reply} ->
        Process.demonitor(tag, [:flush])

        case answer(run.pool, run.route, reply) do
          {:ok, _done} -> {:ok, :done}
          error -> error
        end

      {:DOWN, ^tag, :process, _, reason} ->
        {:error, worker_gone(run.route, reason)}
    after
      remaining(run.deadline) ->
        cancel(run)
        {:error, :timeout}
    end
  end

  defp decode_chunk(run, bin) do
    case Wire.decode(bin) do
      {:ok, {:chunk, _id, items}} when is_list(items) ->
        {:ok, Translator.decode(run.pool, items, {node(), run.route.index})}

      {:ok, other} ->
        {:error, "it is not a chunk: #{inspect(other, limit: 5)}"}

      {:error, _} = error ->
        error
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

  # Python closes the generator and answers Cancelled; drop what is in flight.
  defp cancel(%{route: route, id: id, tag: tag}) do
    Route.write(route, nil, Wire.cancel(id))

    receive do
      {^tag, _final_reply} -> :ok
      {:DOWN, ^tag, :process, _, _} -> :ok
    after
      @cancel_wait -> take(route, id)
    end

    Process.demonitor(tag, [:flush])
    flush_chunks(tag)
  end

  defp flush_chunks(tag) do
    receive do
      {^tag, :chunk, _} -> flush_chunks(tag)
    after
      0 -> :ok
    end
  end

  defp deadline(:infinity), do: :infinity
  defp deadline(ms), do: System.monotonic_time(:millisecond) + ms
  defp past?(:infinity), do: false
  defp past?(deadline), do: System.monotonic_time(:millisecond) >= deadline
  defp remaining(:infinity), do: :infinity
  defp remaining(deadline), do: max(deadline - System.monotonic_time(:millisecond), 0)
end
