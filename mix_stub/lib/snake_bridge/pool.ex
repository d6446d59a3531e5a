defmodule SnakeBridge.Pool do
  @moduledoc """
  A named pool of workers, each owning one Python adapter process.

  Sessions stick to one worker (`:erlang.phash2(session_id, size)`), so a
  session's refs and streams are always resolved in the process that holds
  them.  Pools are configured under `config :snakebridge, pools: [name: [size: n]]`
  (default `1`; other keys, such as `record: "session.frames"`, are worker
  options, see `SnakeBridge.Worker`) and started on first use; a crashed
  worker is restarted by the pool's supervisor.
  """
  use Supervisor

  @type name :: atom()

  @doc "The worker pid that serves `session_id` in `pool`, starting the pool if needed."
  @spec worker(name(), String.t()) :: pid()
  def worker(pool, session_id) do
    size = size(pool)
    index = :erlang.phash2(session_id, size)

    case Registry.lookup(SnakeBridge.WorkerRegistry, {pool, index}) do
      [{pid, _}] -> pid
      [] -> ensure_started(pool) && wait_for(pool, index, 50)
    end
  end

  @doc "How many workers `pool` has (from the application config)."
  @spec size(name()) :: pos_integer()
  def size(pool) do
    pools = Application.get_env(:snakebridge, :pools, [])
    (pools[pool] || [])[:size] || 1
  end

  @doc false
  def start_link(pool), do: Supervisor.start_link(__MODULE__, pool)

  @impl true
  def init(pool) do
    options = Application.get_env(:snakebridge, :pools, []) |> Keyword.get(pool, []) |> Keyword.delete(:size)

    workers =
      for index <- 0..(size(pool) - 1) do
        Supervisor.child_spec({SnakeBridge.Worker, [pool: pool, index: index] ++ options},
          id: {:worker, index}
        )
      end

    Supervisor.init(workers, strategy: :one_for_one, max_restarts: 10, max_seconds: 5)
  end

  defp ensure_started(pool) do
    spec = %{id: {:pool, pool}, start: {__MODULE__, :start_link, [pool]}, type: :supervisor}

    case DynamicSupervisor.start_child(SnakeBridge.PoolSupervisor, spec) do
      {:ok, _} -> true
      {:error, {:already_started, _}} -> true
      {:error, _} -> true
    end
  end

  defp wait_for(pool, index, 0), do: raise("SnakeBridge pool #{inspect(pool)} worker #{index} did not start")

  defp wait_for(pool, index, tries) do
    case Registry.lookup(SnakeBridge.WorkerRegistry, {pool, index}) do
      [{pid, _}] ->
        pid

      [] ->
        Process.sleep(20)
        wait_for(pool, index, tries - 1)
    end
  end
end
