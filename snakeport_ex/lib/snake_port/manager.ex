defmodule SnakePort.Manager do
  @moduledoc """
  Starts pools on demand, one at a time.

  A library whose pools come from its config (SnakeBridge's facade) asks for
  a pool by name on first use: `ensure/2` returns the running pool at once
  if it is published, and otherwise starts it under
  `SnakePort.PoolSupervisor` in this server (so two first uses never start
  it twice) and returns it only when every worker has started, or failed to
  start (a worker that cannot start its adapter stays down and its calls
  answer why; the pool itself starts).  A pool that cannot start at all
  (bad options) is `{:error, %SnakePort.Error{}}`.
  """
  use GenServer

  alias SnakePort.{Error, Pool}

  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(_opts), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  @doc "The running pool `name`, started with `opts` if it is not running."
  @spec ensure(Pool.name(), keyword()) :: {:ok, Pool.t()} | {:error, Error.t()}
  def ensure(name, opts) do
    case Pool.lookup(name) do
      {:ok, pool} -> {:ok, pool}
      {:error, _} -> start(name, opts, Process.whereis(__MODULE__))
    end
  end

  # Without the application (a release's `bin/app eval`, a script that forgot
  # it) there is no manager: an error that says so, never an exit from a call.
  defp start(name, _opts, nil) do
    {:error,
     Error.new(
       "NotStarted",
       "pool #{inspect(name)}: the :snakeport application is not started " <>
         "(in `bin/my_app eval`, call Application.ensure_all_started(:my_app) first)"
     )}
  end

  defp start(name, opts, _manager), do: GenServer.call(__MODULE__, {:ensure, name, opts}, :infinity)

  @doc "Stop pool `name` if it was started here or under a `SnakePort` supervisor."
  @spec stop(Pool.name()) :: :ok | {:error, :not_found}
  def stop(name) do
    case Pool.whereis(name) do
      nil ->
        {:error, :not_found}

      pid ->
        case DynamicSupervisor.terminate_child(SnakePort.PoolSupervisor, pid) do
          :ok -> :ok
          {:error, :not_found} -> Supervisor.stop(pid)
        end
    end
  end

  @impl true
  def init(:ok), do: {:ok, nil}

  @impl true
  def handle_call({:ensure, name, opts}, _from, state) do
    reply =
      with {:error, _} <- Pool.lookup(name) do
        case DynamicSupervisor.start_child(SnakePort.PoolSupervisor, {Pool, {name, opts}}) do
          {:ok, _pid} ->
            Pool.lookup(name)

          {:error, {:already_started, _pid}} ->
            Pool.lookup(name)

          {:error, %Error{} = error} ->
            {:error, error}

          {:error, reason} ->
            {:error, Error.new("PoolStartError", "pool #{inspect(name)}: #{inspect(reason)}")}
        end
      end

    {:reply, reply, state}
  end
end
