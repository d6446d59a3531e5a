defmodule SnakePort.Application do
  @moduledoc """
  SnakePort's supervision tree: the registry of pools, the supervisor of
  pools started on demand (`SnakePort.Manager`), the task supervisor where
  callbacks and session releases run, and the auto-session owners
  (`SnakePort.Sessions`).  Pools a user starts with `{SnakePort, pools: ...}`
  live in the user's tree instead.
  """
  use Application

  @impl true
  def start(_type, _args) do
    # The protocol's atoms must exist before the first [:safe] decode.
    _ = SnakePort.Wire.protocol_atoms()

    children = [
      {Registry, keys: :unique, name: SnakePort.Registry},
      {Task.Supervisor, name: SnakePort.TaskSupervisor},
      SnakePort.Sessions,
      {DynamicSupervisor, name: SnakePort.PoolSupervisor, strategy: :one_for_one},
      SnakePort.Manager
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: SnakePort.Supervisor)
  end
end
