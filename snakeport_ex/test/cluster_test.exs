defmodule SnakePort.ClusterTest do
  @moduledoc """
  The core API across two nodes on 127.0.0.1 (this one and a `:peer` node,
  both real BEAMs running the real adapter): a pool found through `:pg`, local
  workers first, `node:` and `worker:` pins, push streams, `snakeport.send` to
  a process of another node, `release_session` from the other node.
  """
  use ExUnit.Case, async: false

  import SnakePort.TestPools

  alias SnakePort.TestCluster

  setup_all do
    TestCluster.start!()
    {peer, node} = TestCluster.start_peer(:"core_#{System.unique_integer([:positive])}", [], [:snakeport])
    on_exit(fn -> TestCluster.stop(peer) end)
    %{peer: node}
  end

  setup %{peer: peer} do
    name = unique(:cluster)
    {:ok, _} = :erpc.call(peer, SnakePort, :start_pool, [name, options(size: 2)])
    :ok = SnakePort.await_pool(name, 10_000)
    %{name: name}
  end

  defp python_pids(node, name) do
    {:ok, %{workers: workers}} = :erpc.call(node, SnakePort, :stats, [name])
    Enum.map(workers, & &1.python_pid)
  end

  test "a pool that runs only on another node serves requests by its name", %{peer: peer, name: name} do
    assert SnakePort.Cluster.nodes(name) == [peer]
    assert {:ok, pid} = SnakePort.request(name, call("os", "getpid"))
    assert pid in python_pids(peer, name)
    assert {:ok, 5} = SnakePort.request(name, call("operator", "add", [2, 3]), session: "explicit")
    assert {:error, :timeout} = SnakePort.request(name, call("core_helpers", "slow", [5, "t"]), timeout: 100)
    # The worker is free again at once (the call was cancelled in Python).
    assert {:ok, 7} = SnakePort.request(name, call("operator", "add", [3, 4]), timeout: 2_000)

    assert {:error, %SnakePort.Error{python_type: "ZeroDivisionError", context: %{"node" => ^peer}}} =
             SnakePort.request(name, call("operator", "truediv", [1, 0]))
  end

  test "local workers first; node: and worker: pin", %{peer: peer, name: name} do
    start_supervised!({SnakePort, id: name, pools: [{name, options(size: 1)}]})
    [here] = python_pids(node(), name)
    [there0, there1] = python_pids(peer, name)
    assert {:ok, ^here} = SnakePort.request(name, call("os", "getpid"))
    assert {:ok, pid} = SnakePort.request(name, call("os", "getpid"), node: peer)
    assert pid in [there0, there1]

    for {index, pid} <- [{1, there1}, {0, there0}] do
      assert {:ok, ^pid} =
               SnakePort.request(name, call("os", "getpid"), worker: {peer, index}, session: "w#{index}")
    end

    assert {:ok, ^here} = SnakePort.request(name, call("os", "getpid"), node: node())
  end

  test "push streams from another node's pool", %{name: name} do
    parent = self()
    request = call("builtins", "range", [5])

    assert {:ok, :done} = SnakePort.stream(name, request, [batch: 2], &send(parent, {:item, &1}))
    for i <- 0..4, do: assert_receive({:item, ^i})
  end

  test "snakeport.send reaches a process of this node; a dead one is refused", %{name: name} do
    assert {:ok, true} = SnakePort.request(name, call("core_helpers", "send_to", [self(), "hello"]))
    assert_receive "hello", 5_000

    dead = spawn(fn -> :ok end)
    Process.sleep(50)
    request = call("core_helpers", "send_until_refused", [dead, 5])

    assert {:ok, refused} = SnakePort.request(name, request, session: "refused")
    assert refused =~ "not alive"
  end

  test "release_session from the node that does not run the pool", %{peer: peer, name: name} do
    assert {:ok, %{"__type__" => "ref"}} =
             SnakePort.request(name, call("builtins", "object"), session: "gone")

    assert {:ok, %{workers: workers}} = :erpc.call(peer, SnakePort, :stats, [name])
    assert Enum.sum(Enum.map(workers, & &1.sessions)) == 1
    assert {:ok, 1} = SnakePort.release_session(name, "gone")
    assert {:ok, %{workers: workers}} = :erpc.call(peer, SnakePort, :stats, [name])
    assert Enum.sum(Enum.map(workers, & &1.sessions)) == 0
  end
end
