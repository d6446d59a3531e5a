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

  alias SnakePort.{Callback, Error, Pending, Pool, Push, Route, Router, Translator, Wire}

  @type result :: {:ok, term()} | {:error, Error.t() | :timeout}

  @cancel_wait 5_000

  @doc """
  Run `request` (a wire map) in `pool`.  Options: `session:` (default: the
  caller's auto-session of the pool), `timeout:` (ms or `:infinity`; default:
  the pool's `default_timeout`).
  """
  @spec request(Pool.t(), map(), keyword()) :: result()
  def request(%Pool{} = pool, request, opts) do
    with {:ok, request} <- Callback.check_depth(request, pool.max_callback_depth),
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
    case Wire.read_reply(bin) do
      {:ok, value} -> {:ok, Translator.decode(pool, value, {node(), route.index})}
      {:python_error, error} -> {:error, error |> Error.from_wire() |> explain_restart(pool, route)}
      {:error, _} = error -> error
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
    with {:ok, request} <- Callback.check_depth(request, pool.max_callback_depth),
         {:ok, session, index} <- route(pool, opts) do
      request = Push.request(request, session, opts)

      open_stream(
        pool,
        Pool.route(pool, index),
        request,
        Push.deadline(Keyword.get(opts, :timeout, :infinity)),
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
        run = %{
          id: id,
          tag: tag,
          fun: fun,
          deadline: deadline,
          decode: &Translator.decode(pool, &1, {node(), route.index}),
          credit: fn -> Route.write(route, nil, Wire.credit(id, 1)) end,
          cancel: fn -> cancel(route, id, tag) end,
          final: &done(answer(pool, route, &1)),
          down: &{:error, worker_gone(route, &1)}
        }

        Push.consume(run)

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

  # Python closes the generator and answers Cancelled; drop what is in flight.
  defp cancel(route, id, tag) do
    Route.write(route, nil, Wire.cancel(id))

    receive do
      {^tag, _final_reply} -> :ok
      {:DOWN, ^tag, :process, _, _} -> :ok
    after
      @cancel_wait -> take(route, id)
    end

    Process.demonitor(tag, [:flush])
    Push.flush_chunks(tag)
  end

  defp done({:ok, _done}), do: {:ok, :done}
  defp done(error), do: error
end
