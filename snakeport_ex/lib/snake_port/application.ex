defmodule SnakePort.Application do
  @moduledoc """
  SnakePort's supervision tree: the `:pg` scope where workers make their
  pools known to other nodes and what this node knows of pools on other
  nodes (`SnakePort.Cluster`), the registry of pools, the supervisor of
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
      %{id: SnakePort.Cluster.scope(), start: {:pg, :start_link, [SnakePort.Cluster.scope()]}},
      SnakePort.Cluster,
      {Registry, keys: :unique, name: SnakePort.Registry},
      {Task.Supervisor, name: SnakePort.TaskSupervisor},
      SnakePort.Sessions,
      {DynamicSupervisor, name: SnakePort.PoolSupervisor, strategy: :one_for_one},
      SnakePort.Manager
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: SnakePort.Supervisor)
  end
end
