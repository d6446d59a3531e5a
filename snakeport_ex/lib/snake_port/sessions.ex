defmodule SnakePort.Sessions do
  @moduledoc """
  Auto-sessions: each is owned by the process that made it, and released
  in Python (and unstuck from its worker) when that process exits.

  The server monitors each owner once, whatever the number of pools it uses;
  a release runs in a task, so a slow Python never blocks the server.  An
  owner may be on another node (a caller of a pool that runs here): its
  node disconnecting is its exit, and its sessions are released here.  An
  auto-session this node's process made in a pool of another node is
  released by that node; here it is only forgotten.
  `await_released/3` waits until a given session has been released, for
  code (and tests) that must know its Python objects are gone.
  """
  use GenServer

  alias SnakePort.Pool

  @type key :: {Pool.name(), String.t()}

  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(_opts), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  @doc "`owner` made `session` in `pool`: release it when `owner` exits."
  @spec own(pid(), Pool.name(), String.t()) :: :ok
  def own(owner, pool, session), do: GenServer.call(__MODULE__, {:own, owner, {pool, session}})

  @doc """
  As `own/3` without waiting (a worker placing a remote caller's session:
  `owner` may be on another node, and its node disconnecting counts as its
  exit).
  """
  @spec own_async(pid(), Pool.name(), String.t()) :: :ok
  def own_async(owner, pool, session), do: GenServer.cast(__MODULE__, {:own, owner, {pool, session}})

  @doc "Stop watching `sessions` (they were released or forgotten by their owner)."
  @spec disown(pid(), [key()]) :: :ok
  def disown(owner, sessions), do: GenServer.call(__MODULE__, {:disown, owner, sessions})

  @doc """
  Wait until `session` of `pool` has been released after its owner exited
  (at once if it is not owned); `:timeout` after `timeout` ms.
  """
  @spec await_released(Pool.name(), String.t(), timeout()) :: :ok | :timeout
  def await_released(pool, session, timeout \\ 10_000) do
    GenServer.call(__MODULE__, {:await, {pool, session}}, timeout)
  catch
    :exit, {:timeout, _} -> :timeout
  end

  @impl true
  def init(:ok) do
    # owners: owner pid => {monitor, [key]}; owned: key => owner; releasing:
    # key => waiters; tasks: task ref => key
    {:ok, %{owners: %{}, owned: %{}, releasing: %{}, tasks: %{}}}
  end

  @impl true
  def handle_call({:own, owner, key}, _from, state), do: {:reply, :ok, owned(state, owner, key)}

  def handle_call({:disown, owner, keys}, _from, state) do
    state = %{state | owned: Map.drop(state.owned, keys)}

    owners =
      case Map.fetch(state.owners, owner) do
        {:ok, {monitor, owned}} ->
          case owned -- keys do
            [] ->
              Process.demonitor(monitor, [:flush])
              Map.delete(state.owners, owner)

            left ->
              Map.put(state.owners, owner, {monitor, left})
          end

        :error ->
          state.owners
      end

    {:reply, :ok, %{state | owners: owners}}
  end

  def handle_call({:await, key}, from, state) do
    if Map.has_key?(state.owned, key) or Map.has_key?(state.releasing, key) do
      {:noreply, %{state | releasing: Map.update(state.releasing, key, [from], &[from | &1])}}
    else
      {:reply, :ok, state}
    end
  end

  @impl true
  def handle_cast({:own, owner, key}, state), do: {:noreply, owned(state, owner, key)}

  defp owned(state, owner, key) do
    owners =
      Map.update(state.owners, owner, {Process.monitor(owner), [key]}, fn {monitor, keys} ->
        {monitor, [key | keys]}
      end)

    %{state | owners: owners, owned: Map.put(state.owned, key, owner)}
  end

  @impl true
  # A release task ended (its result, then its DOWN, or only a DOWN if it crashed).
  def handle_info({ref, _result}, %{tasks: tasks} = state) when is_map_key(tasks, ref) do
    Process.demonitor(ref, [:flush])
    {:noreply, released(state, ref)}
  end

  def handle_info({:DOWN, ref, :process, _pid, _reason}, %{tasks: tasks} = state) when is_map_key(tasks, ref),
    do: {:noreply, released(state, ref)}

  def handle_info({:DOWN, _monitor, :process, owner, _reason}, state) do
    {{_monitor, keys}, owners} = Map.pop(state.owners, owner, {nil, []})

    tasks =
      Enum.reduce(keys, state.tasks, fn {pool, session} = key, tasks ->
        task =
          Task.Supervisor.async_nolink(SnakePort.TaskSupervisor, fn ->
            SnakePort.release_owned(pool, session)
          end)

        Map.put(tasks, task.ref, key)
      end)

    releasing = Enum.reduce(keys, state.releasing, &Map.put_new(&2, &1, []))

    {:noreply,
     %{state | owners: owners, owned: Map.drop(state.owned, keys), tasks: tasks, releasing: releasing}}
  end

  def handle_info(_other, state), do: {:noreply, state}

  defp released(state, ref) do
    {key, tasks} = Map.pop!(state.tasks, ref)
    {waiters, releasing} = Map.pop(state.releasing, key, [])
    Enum.each(waiters, &GenServer.reply(&1, :ok))
    %{state | tasks: tasks, releasing: releasing}
  end
end
