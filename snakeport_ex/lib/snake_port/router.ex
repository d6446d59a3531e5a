defmodule SnakePort.Router do
  @moduledoc """
  Which worker of a pool serves a session.

  A session's refs and streams live in one Python process, so once a
  session has been routed it sticks to its worker (the pool's sticky table,
  `session -> worker index`), for auto-sessions and explicit sessions alike,
  until it is released (`unstick/2`; auto-sessions are released when their
  owner exits, see `SnakePort.Sessions`).  A session seen for the first time
  goes to the least busy worker that is up: fewest requests in flight, then
  fewest sessions.

  Auto-sessions are per pool: a process that uses two pools has one session
  in each.  Its id lives in the process dictionary; on a distributed node
  it names the node too, since callers of several nodes share a pool.

  Requests of callers on other nodes are placed by the worker they reach
  (`place/4`), in the same sticky table, so a session has one worker
  whichever node its callers are on.
  """

  alias SnakePort.{Pending, Pool, Route, Sessions}

  @doc "The session to use (`nil`: the caller's auto-session of this pool) and its worker index."
  @spec route(Pool.t(), String.t() | nil) :: {String.t(), non_neg_integer()}
  def route(%Pool{} = pool, nil), do: route(pool, auto_session(pool.name))

  def route(%Pool{sticky: sticky} = pool, session) when is_binary(session) do
    case :ets.lookup(sticky, session) do
      [{_, index}] -> {session, index}
      [] -> {session, stick(pool, session)}
    end
  end

  @doc "The calling process's auto-session of `pool_name`, made (and its owner watched) on first use."
  @spec auto_session(Pool.name()) :: String.t()
  def auto_session(pool_name) do
    key = {:snakeport_auto_session, pool_name}

    case Process.get(key) do
      nil ->
        session = "auto_#{:erlang.pid_to_list(self())}_#{System.unique_integer([:positive])}#{suffix()}"
        :ok = Sessions.own(self(), pool_name, session)
        Process.put(key, session)
        session

      session ->
        session
    end
  end

  # Pids and unique integers repeat across nodes; node names do not.
  defp suffix do
    case node() do
      :nonode@nohost -> ""
      node -> "_#{node}"
    end
  end

  @doc """
  Where worker `index` should serve `session` for a caller on another node:
  `:here` when the session is stuck to it, or new and the worker is as idle
  as the least busy one, or `pinned` (the caller asked for this worker): it
  is stuck there then, and `owner`, if given, owns it (it is released when
  that process exits or its node disconnects); `{:moved, other}` when it is
  stuck to, or is better served by, worker `other`.
  """
  @spec place(Pool.t(), String.t(), non_neg_integer(), pid() | nil, boolean()) ::
          :here | {:moved, non_neg_integer()}
  def place(%Pool{sticky: sticky} = pool, session, index, owner, pinned) do
    case :ets.lookup(sticky, session) do
      [{_, ^index}] ->
        :here

      [{_, other}] ->
        {:moved, other}

      [] ->
        best = if pinned, do: index, else: least_busy(pool)
        chosen = if load(pool, index) <= load(pool, best), do: index, else: best

        if :ets.insert_new(sticky, {session, chosen}) do
          :counters.add(pool.sessions, chosen + 1, 1)
          if owner, do: Sessions.own_async(owner, pool.name, session)
          if chosen == index, do: :here, else: {:moved, chosen}
        else
          place(pool, session, index, owner, pinned)
        end
    end
  end

  @doc "The calling process's auto-sessions, `[{pool_name, session}]`, forgotten here."
  @spec drop_auto_sessions() :: [{Pool.name(), String.t()}]
  def drop_auto_sessions do
    for {{:snakeport_auto_session, pool_name} = key, session} <- Process.get() do
      Process.delete(key)
      {pool_name, session}
    end
  end

  defp stick(pool, session) do
    index = least_busy(pool)

    if :ets.insert_new(pool.sticky, {session, index}) do
      :counters.add(pool.sessions, index + 1, 1)
      index
    else
      # Another process routed it first.
      :ets.lookup_element(pool.sticky, session, 2)
    end
  end

  @doc "Forget where `session` lives (it was released)."
  @spec unstick(Pool.t(), String.t()) :: :ok
  def unstick(%Pool{} = pool, session) do
    case :ets.take(pool.sticky, session) do
      [{_, index}] -> :counters.sub(pool.sessions, index + 1, 1)
      [] -> :ok
    end

    :ok
  rescue
    # The pool stopped meanwhile: its table went with it.
    ArgumentError -> :ok
  end

  @doc "The worker index `session` is stuck to, if any."
  @spec stuck_to(Pool.t(), String.t()) :: non_neg_integer() | nil
  def stuck_to(%Pool{sticky: sticky}, session) do
    case :ets.lookup(sticky, session) do
      [{_, index}] -> index
      [] -> nil
    end
  rescue
    ArgumentError -> nil
  end

  @doc "Sessions stuck to worker `index`."
  @spec sessions(Pool.t(), non_neg_integer()) :: non_neg_integer()
  def sessions(%Pool{sessions: counters}, index), do: :counters.get(counters, index + 1)

  # Workers that are up (or starting) first, then fewest in flight, then fewest sessions.
  defp least_busy(%Pool{size: 1}), do: 0

  defp least_busy(pool) do
    pool
    |> Pool.routes()
    |> Enum.min_by(fn %Route{index: index} -> load(pool, index) end)
    |> Map.fetch!(:index)
  end

  defp load(pool, index) do
    route = Pool.route(pool, index)
    {Pool.state(pool, index).status in [:down, :backoff], Pending.count(route.pending), sessions(pool, index)}
  end
end
