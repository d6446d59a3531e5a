defmodule SnakeBridge.SessionManager do
  @moduledoc """
  Auto-sessions: one per calling process, released in Python when that
  process exits.

  The first call from a process makes its session id (`"auto_<pid>_<n>"`),
  remembered in the process dictionary; this server monitors the process and,
  when it goes down, releases the session in the adapter (in a task, so a
  slow Python never blocks the manager).  Also counts worker starts, so an
  error after a restart can say so.
  """
  use GenServer

  @key :snakebridge_auto_session

  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(_opts), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  @doc "The calling process's auto-session, made and monitored on first use."
  @spec auto_session(atom()) :: String.t()
  def auto_session(pool) do
    case Process.get(@key) do
      nil ->
        id = "auto_#{:erlang.pid_to_list(self())}_#{System.unique_integer([:positive])}"
        :ok = GenServer.call(__MODULE__, {:own, self(), id, pool})
        Process.put(@key, {id, pool})
        id

      {id, _pool} ->
        id
    end
  end

  @doc "Forget the calling process's auto-session without releasing it in Python."
  @spec clear() :: :ok
  def clear do
    case Process.delete(@key) do
      {id, _pool} -> GenServer.call(__MODULE__, {:disown, id})
      nil -> :ok
    end
  end

  @doc "Release the calling process's auto-session in Python and forget it."
  @spec release() :: :ok
  def release do
    case Process.delete(@key) do
      {id, pool} ->
        GenServer.call(__MODULE__, {:disown, id})
        SnakeBridge.Runtime.release_session(id, __runtime__: [pool_name: pool])
        :ok

      nil ->
        :ok
    end
  end

  @doc false
  @spec count_start(term()) :: pos_integer()
  def count_start(worker_key), do: :ets.update_counter(__MODULE__, worker_key, 1, {worker_key, 0})

  @impl true
  def init(:ok) do
    :ets.new(__MODULE__, [:named_table, :public, :set])
    {:ok, %{}}
  end

  @impl true
  def handle_call({:own, pid, id, pool}, _from, owners) do
    ref = Process.monitor(pid)
    {:reply, :ok, Map.put(owners, ref, {id, pool})}
  end

  def handle_call({:disown, id}, _from, owners) do
    {refs, keep} = Enum.split_with(owners, fn {_ref, {owned, _}} -> owned == id end)
    Enum.each(refs, fn {ref, _} -> Process.demonitor(ref, [:flush]) end)
    {:reply, :ok, Map.new(keep)}
  end

  @impl true
  def handle_info({:DOWN, ref, :process, _pid, _reason}, owners) do
    case Map.pop(owners, ref) do
      {{id, pool}, rest} ->
        Task.Supervisor.start_child(SnakeBridge.TaskSupervisor, fn ->
          SnakeBridge.Runtime.release_session(id, __runtime__: [pool_name: pool, timeout: 10_000])
        end)

        {:noreply, rest}

      {nil, _} ->
        {:noreply, owners}
    end
  end
end
