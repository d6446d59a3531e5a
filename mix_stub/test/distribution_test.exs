defmodule SnakeBridge.DistributionTest do
  @moduledoc """
  Several nodes on 127.0.0.1: this test node (its config names `:default` and
  `:pair`, not `:gpu`) and `:peer` nodes that run pools of their own, every
  node a real BEAM with real adapters.  Calls, classes, methods, refs passed
  between processes of two nodes, pull and push streams, callbacks, sends,
  session release on owner exit and on disconnect, node death mid-call and
  after, a partition, and a node's return.
  """
  use ExUnit.Case, async: false

  # Nodes lost on purpose: net_kernel and global log it.
  @moduletag :capture_log

  alias SnakeBridge.{Error, Ref, Runtime, StreamRef, TestPeerSide}
  alias SnakePort.TestCluster

  @gpu [__runtime__: [pool_name: :gpu]]

  setup_all do
    TestCluster.start!()

    {peer, node} =
      start_node(:"gpu1_#{System.unique_integer([:positive])}",
        gpu: [size: 2],
        default: [size: 1],
        short_callbacks: [size: 1, callback_timeout: 300]
      )

    on_exit(fn -> TestCluster.stop(peer) end)
    %{gpu: node}
  end

  # A test that lost a node may have had gpu1 disconnected too (see SnakePort.TestCluster).
  setup %{gpu: gpu} do
    TestCluster.reconnect(gpu)
    :ok = SnakePort.await_pool({SnakeBridge, :gpu}, 10_000)
  end

  # A peer running SnakeBridge with this node's settings and `pools`, all started.
  defp start_node(name, pools) do
    env = Keyword.put(Application.get_all_env(:snakebridge), :pools, pools)
    {peer, node} = TestCluster.start_peer(name, [snakebridge: env], [:snakebridge])
    for {pool, _} <- pools, do: {:ok, _} = :erpc.call(node, Runtime, :pool, [pool])
    for {pool, _} <- pools, do: :ok = SnakePort.await_pool({SnakeBridge, pool}, 10_000)
    {peer, node}
  end

  defp python_pids(node, pool) do
    {:ok, %{workers: workers}} = :erpc.call(node, SnakeBridge, :stats, [pool])
    Enum.map(workers, & &1.python_pid)
  end

  test "a pool of another node serves this node's calls, and is not started here", %{gpu: gpu} do
    assert {:ok, pid} = SnakeBridge.call("os", "getpid", [], @gpu)
    assert pid in python_pids(gpu, :gpu)
    assert {:ok, 4.0} = SnakeBridge.call("math", "sqrt", [16], @gpu)
    assert {:error, _} = SnakePort.Pool.lookup({SnakeBridge, :gpu})
    assert {:ok, %SnakePort.Remote{}} = Runtime.pool(:gpu)
    assert :ok = SnakeBridge.check(:gpu)
  end

  test "a pool this node does not name and no node runs is an error here, never a pool of this node" do
    assert {:error, %Error{python_type: "PoolNotStarted", message: message}} =
             SnakeBridge.call("math", "sqrt", [4], __runtime__: [pool_name: :nowhere])

    assert message =~ "pool :nowhere is not in this node's config"
    assert {:error, _} = SnakePort.Pool.lookup({SnakeBridge, :nowhere})
  end

  test "local workers first; node: pins a node", %{gpu: gpu} do
    {:ok, here} = SnakeBridge.call("os", "getpid", [])
    assert here in python_pids(node(), :default)
    {:ok, there} = SnakeBridge.call("os", "getpid", [], __runtime__: [node: gpu])
    assert there in python_pids(gpu, :default)
    assert {:ok, ^here} = SnakeBridge.call("os", "getpid", [], __runtime__: [node: node()])

    assert {:error, %Error{python_type: "NodeDown", message: message}} =
             SnakeBridge.call("os", "getpid", [], __runtime__: [node: :"nowhere@127.0.0.1"])

    assert message =~ "nowhere@127.0.0.1"
  end

  test "new sessions spread over the workers of every node that runs the pool", %{gpu: gpu} do
    {peer, gpu2} = start_node(:"gpu2_#{System.unique_integer([:positive])}", gpu: [size: 2])
    on_exit(fn -> TestCluster.stop(peer) end)
    assert Enum.sort(SnakePort.Cluster.nodes({SnakeBridge, :gpu})) == Enum.sort([gpu, gpu2])
    base = "spread-#{System.unique_integer([:positive])}"

    pids =
      for n <- 1..4 do
        opts = [__runtime__: [pool_name: :gpu, session_id: "#{base}-#{n}"]]
        {:ok, pid} = SnakeBridge.call("os", "getpid", [], opts)
        pid
      end

    assert Enum.sort(pids) == Enum.sort(python_pids(gpu, :gpu) ++ python_pids(gpu2, :gpu))
    for n <- 1..4, do: :ok = Runtime.release_session("#{base}-#{n}", @gpu)
  end

  test "classes, methods and attributes of another node's objects, from processes of both nodes",
       %{gpu: gpu} do
    {:ok, %Ref{} = counter} = Runtime.call_class("collections", "Counter", [["a", "b", "a"]], @gpu)
    assert counter.node == gpu
    assert inspect(counter) =~ "#SnakeBridge.Ref<collections.Counter "
    refute inspect(counter) =~ Atom.to_string(gpu)

    # Another process of this node, then a process of the pool's node.
    assert {:ok, [{"a", 2}]} =
             Task.async(fn -> Runtime.call_method(counter, "most_common", [1]) end) |> Task.await()

    assert {:ok, [{"a", 2}]} = :erpc.call(gpu, Runtime, :call_method, [counter, "most_common", [1]])
    assert {:ok, 2} = :erpc.call(gpu, Runtime, :call_method, [counter, "__getitem__", ["a"]])
    assert {:ok, %Ref{}} = Runtime.get_attr(counter, "__class__")

    # A ref as an argument, from a process that did not make it.
    assert {:ok, 2} = Task.async(fn -> SnakeBridge.call("builtins", "len", [counter]) end) |> Task.await()

    # A ref made on the pool's node (by a process that exits: an explicit session), used here.
    there = [__runtime__: [pool_name: :gpu, session_id: "made-there"]]
    {:ok, made_there} = :erpc.call(gpu, Runtime, :call_class, ["collections", "Counter", [["z"]], there])
    assert made_there.node == gpu
    assert {:ok, 1} = Runtime.call_method(made_there, "__getitem__", ["z"])
    # Printed as on one node, on both nodes: the node and worker are not shown.
    printed = inspect(made_there)
    assert printed == :erpc.call(gpu, Kernel, :inspect, [made_there])
    refute printed =~ Atom.to_string(gpu)
    assert printed =~ "collections.Counter"

    assert :ok = Runtime.release_ref(counter)
    assert {:error, %Error{python_type: "RefNotFoundError"}} = Runtime.get_attr(counter, "__class__")
    assert :ok = Runtime.release_session("made-there", there)
  end

  test "a ref of this node's pool, used from the other node", %{gpu: gpu} do
    {:ok, %Ref{} = here} = Runtime.call_class("collections", "Counter", [["x", "x"]])
    assert here.node == node()
    assert {:ok, 2} = :erpc.call(gpu, Runtime, :call_method, [here, "__getitem__", ["x"]])
    assert {:ok, 1} = :erpc.call(gpu, SnakeBridge, :call, ["builtins", "len", [here]])
  end

  test "pull streams: Enum over another node's StreamRef, from both nodes", %{gpu: gpu} do
    {:ok, %StreamRef{} = stream} = Runtime.call_helper("test.counting", [10, "pull"], @gpu)
    assert stream.node == gpu
    assert Enum.take(stream, 3) == [0, 1, 2]
    assert :erpc.call(gpu, Enum, :take, [stream, 2]) == [3, 4]
    assert Task.async(fn -> Enum.to_list(stream) end) |> Task.await() == [5, 6, 7, 8, 9]
    assert :ok = Runtime.release_ref(stream)
  end

  test "push streams from another node's pool" do
    parent = self()

    assert {:ok, :done} =
             Runtime.stream("test_helpers", "counting", [5, "push"], @gpu, fn item ->
               send(parent, {:item, item})
             end)

    for i <- 0..4, do: assert_receive({:item, ^i})

    assert {:error, %Error{python_type: "ValueError", message: message}} =
             Runtime.stream("test_helpers", "failing", [2], @gpu, fn _ -> :ok end)

    assert message =~ "failed after 2 items"
  end

  test "a callback past the pool node's callback_timeout is stopped on the caller's node too" do
    parent = self()
    slow = fn x -> Process.sleep(1_000) && send(parent, {:finished, x}) && x end

    assert {:error, %Error{message: message}} =
             SnakeBridge.call("test_helpers", "apply_fun", [slow, 1],
               __runtime__: [pool_name: :short_callbacks]
             )

    assert message =~ "did not return within 300 ms"
    refute_receive {:finished, 1}, 1_500
  end

  test "callbacks run on the caller's node; snakeport.send reaches a pid of another node", %{gpu: gpu} do
    me = node()
    parent = self()

    assert {:ok, {42, ^me}} =
             SnakeBridge.call("test_helpers", "apply_fun", [fn x -> {x * 2, node()} end, 21], @gpu)

    assert {:ok, 6} =
             SnakeBridge.call(
               "test_helpers",
               "apply_fun",
               [fn x -> send(parent, {:called, x}) && x * 2 end, 3],
               @gpu
             )

    assert_received {:called, 3}

    # A fun made on the pool's node runs there.
    assert {:ok, {1, ^gpu}} = :erpc.call(gpu, TestPeerSide, :callback_here, [:gpu])

    assert {:ok, 6} = SnakeBridge.call("test_helpers", "progress", [self(), 3], @gpu)
    for i <- 1..3, do: assert_receive({:progress, ^i, 3})
  end

  test "an auto-session is released on the pool's node when its owner exits", %{gpu: gpu} do
    holder = TestPeerSide.hold(self(), :gpu, "owner-exit")
    assert_receive {:held, ^holder, %StreamRef{node: ^gpu}, session}, 10_000
    send(holder, :stop)
    assert :ok = :erpc.call(gpu, SnakePort, :await_released, [{SnakeBridge, :gpu}, session])
    assert_released(gpu, "owner-exit")
  end

  test "clear_auto_session disowns a session on the pool's node: the owner's exit no longer releases it",
       %{gpu: gpu} do
    parent = self()

    holder =
      spawn(fn ->
        {:ok, ref} = SnakeBridge.call("builtins", "object", [], @gpu)
        :ok = Runtime.clear_auto_session()
        send(parent, {:kept, ref})
      end)

    assert_receive {:kept, %Ref{node: ^gpu} = ref}, 10_000
    owned = :erpc.call(gpu, :sys, :get_state, [SnakePort.Sessions]).owned
    refute Map.has_key?(owned, {{SnakeBridge, :gpu}, ref.session_id})
    monitor = Process.monitor(holder)
    assert_receive {:DOWN, ^monitor, :process, _, _}
    # a release on the owner's exit would have come by now
    Process.sleep(300)
    assert {:ok, _} = Runtime.get_attr(ref, "__class__")
    assert :ok = Runtime.release_session(ref.session_id, @gpu)
  end

  test "an auto-session is released on the pool's node when the owner's node goes away", %{gpu: gpu} do
    {web, web_node} = start_node(:"web_#{System.unique_integer([:positive])}", [])
    on_exit(fn -> TestCluster.stop(web) end)
    assert :erpc.call(web_node, Node, :connect, [gpu])
    assert :ok = :erpc.call(web_node, SnakePort, :await_pool, [{SnakeBridge, :gpu}, 10_000])

    holder = :erpc.call(web_node, TestPeerSide, :hold, [self(), :gpu, "node-gone"])
    assert_receive {:held, ^holder, %StreamRef{node: ^gpu}, session}, 10_000
    # The web node's pool list is empty: nothing was started there.
    assert {:error, _} = :erpc.call(web_node, SnakePort.Pool, :lookup, [{SnakeBridge, :gpu}])

    TestCluster.signal(TestCluster.os_pid(web_node), "KILL")
    assert :ok = :erpc.call(gpu, SnakePort, :await_released, [{SnakeBridge, :gpu}, session, 10_000])
    assert_released(gpu, "node-gone")
  end

  test "release_session works from any node", %{gpu: gpu} do
    session = [__runtime__: [pool_name: :gpu, session_id: "shared-#{System.unique_integer([:positive])}"]]
    {:ok, ref} = SnakeBridge.call("builtins", "object", [], session)
    assert :ok = :erpc.call(gpu, Runtime, :release_session, [ref.session_id, session])
    assert {:error, %Error{python_type: "RefNotFoundError"}} = Runtime.get_attr(ref, "__class__")

    {:ok, ref} = :erpc.call(gpu, SnakeBridge, :call, ["builtins", "object", [], session])
    assert :ok = Runtime.release_session(ref.session_id, session)
    assert {:error, %Error{python_type: "RefNotFoundError"}} = Runtime.get_attr(ref, "__class__")
  end

  test "a node that dies mid-call: the caller and later uses of its refs get NodeDown naming it, fast; " <>
         "started again, it serves new calls" do
    name = :"doomed_#{System.unique_integer([:positive])}"
    {peer, node} = start_node(name, doomed: [size: 1])
    on_exit(fn -> TestCluster.stop(peer) end)
    doomed = [__runtime__: [pool_name: :doomed]]
    {:ok, ref} = Runtime.call_class("collections", "Counter", [["a"]], doomed)
    os_pid = TestCluster.os_pid(node)

    call = Task.async(fn -> SnakeBridge.call("test_helpers", "slow", [30], doomed) end)
    Process.sleep(300)
    killed = System.monotonic_time(:millisecond)
    TestCluster.signal(os_pid, "KILL")

    assert {:error, %Error{python_type: "NodeDown", message: message}} = Task.await(call, 5_000)
    assert System.monotonic_time(:millisecond) - killed < 2_000
    assert message =~ Atom.to_string(node)

    assert {:error, %Error{python_type: "NodeDown", message: message}} =
             Runtime.call_method(ref, "most_common")

    assert message =~ Atom.to_string(node)
    assert {:error, %Error{python_type: "NodeDown"}} = SnakeBridge.call("math", "sqrt", [4], doomed)

    # The same node again (a new BEAM under the old name): new calls use it.
    {peer, ^node} = start_node(name, doomed: [size: 1])
    on_exit(fn -> TestCluster.stop(peer) end)
    assert {:ok, 2.0} = SnakeBridge.call("math", "sqrt", [4], doomed)

    # The old ref's object died with the old node.
    assert {:error, %Error{python_type: "RefNotFoundError", message: message}} =
             Runtime.call_method(ref, "most_common")

    assert message =~ Atom.to_string(node)
  end

  test "a partitioned node (alive, silent): the call in flight fails within the tick time" do
    {peer, node} = start_node(:"cut_#{System.unique_integer([:positive])}", cut: [size: 1])
    on_exit(fn -> TestCluster.stop(peer) end)
    cut = [__runtime__: [pool_name: :cut]]
    assert {:ok, 3.0} = SnakeBridge.call("math", "sqrt", [9], cut)
    os_pid = TestCluster.os_pid(node)

    call = Task.async(fn -> SnakeBridge.call("test_helpers", "slow", [30], cut) end)
    Process.sleep(300)
    stopped = System.monotonic_time(:millisecond)
    TestCluster.signal(os_pid, "STOP")

    try do
      assert {:error, %Error{python_type: "NodeDown", message: message}} = Task.await(call, 10_000)
      assert System.monotonic_time(:millisecond) - stopped <= TestCluster.ticktime() * 1_000 + 1_000
      assert message =~ Atom.to_string(node)
    after
      TestCluster.signal(os_pid, "CONT")
    end
  end

  defp assert_released(node, tag) do
    assert TestCluster.eventually(fn -> tag in :erpc.call(node, TestPeerSide, :released, [:gpu]) end)
  end
end
