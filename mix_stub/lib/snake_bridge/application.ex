defmodule SnakeBridge.Application do
  @moduledoc """
  Supervision tree: a registry of workers, one supervisor per pool (started on
  first use), the session manager that releases auto-sessions, and a task
  supervisor for stream consumers and session clean-up.
  """
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      {Registry, keys: :unique, name: SnakeBridge.WorkerRegistry},
      {DynamicSupervisor, name: SnakeBridge.PoolSupervisor, strategy: :one_for_one},
      {Task.Supervisor, name: SnakeBridge.TaskSupervisor},
      SnakeBridge.SessionManager
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: SnakeBridge.Supervisor)
  end
end
