defmodule SnakePort.TestCluster do
  @moduledoc """
  Real distribution for the tests, on 127.0.0.1: this node made distributed
  (epmd started if it is not running), and `:peer` nodes booted with this
  node's code paths, each running the `:snakeport` application (and the
  applications a test asks for).  Nothing is faked: the peers are BEAMs of
  their own, with adapters of their own.

  The net tick time is 2 s on every node, so a node that stops answering
  (a partition) is declared down within 2 s, as the README advises.  After a
  node is lost, `global` may disconnect other nodes from each other (it
  prevents overlapping partitions); `reconnect/1` connects them again, as a
  deployment's cluster manager would.
  """

  @ticktime 2

  @doc "The net tick time (s) of the test nodes."
  @spec ticktime() :: pos_integer()
  def ticktime, do: @ticktime

  @doc """
  Make this node distributed (once).  Raises when distribution cannot
  start: the tests that need it fail, never skip.
  """
  @spec start!() :: node()
  def start! do
    unless Node.alive?() do
      epmd!()
      name = :"snakeport_test_#{System.unique_integer([:positive])}@127.0.0.1"

      case :net_kernel.start(name, %{name_domain: :longnames, net_ticktime: @ticktime}) do
        {:ok, _} -> :ok
        {:error, reason} -> raise "this node could not start distribution: #{inspect(reason)}"
      end
    end

    node()
  end

  defp epmd! do
    case System.find_executable("epmd") do
      nil ->
        raise "epmd is not installed (Debian's erlang-base has it); distribution cannot start"

      epmd ->
        {_, 0} = System.cmd(epmd, ["-daemon"], stderr_to_stdout: true)
        :ok
    end
  end

  @doc """
  Boot peer node `name@127.0.0.1` with this node's code paths, set the
  application env `env` (`[{app, [key: value]}]`) and start `apps`.
  Returns `{peer, node}`; the peer is not linked to the caller (`stop/1`).
  """
  @spec start_peer(atom(), keyword(), [atom()]) :: {pid(), node()}
  def start_peer(name, env, apps) do
    paths = Enum.flat_map(:code.get_path(), &[~c"-pa", &1])

    args =
      paths ++
        [
          ~c"-setcookie",
          Atom.to_charlist(Node.get_cookie()),
          ~c"-kernel",
          ~c"net_ticktime",
          ~c"#{@ticktime}"
        ]

    {:ok, peer, node} =
      :peer.start(%{name: name, host: ~c"127.0.0.1", longnames: true, args: args, wait_boot: 30_000})

    for {app, config} <- env, {key, value} <- config do
      :ok = :erpc.call(node, :application, :set_env, [app, key, value, [persistent: true]])
    end

    for app <- [:logger, :elixir | apps] do
      {:ok, _} = :erpc.call(node, :application, :ensure_all_started, [app])
    end

    {peer, node}
  end

  @doc "Connect this node to `node` again if `global` or a fault disconnected them."
  @spec reconnect(node()) :: :ok
  def reconnect(node) do
    unless node in Node.list() do
      true = Node.connect(node)
    end

    :ok
  end

  @doc "Stop a peer (it may be dead already)."
  @spec stop(pid()) :: :ok
  def stop(peer) do
    if Process.alive?(peer), do: :peer.stop(peer)
    :ok
  catch
    :exit, _ -> :ok
  end

  @doc "The OS process id of `node`'s emulator."
  @spec os_pid(node()) :: String.t()
  def os_pid(node), do: node |> :erpc.call(:os, :getpid, []) |> to_string()

  @doc "Send `signal` (`\"KILL\"`, `\"STOP\"`, `\"CONT\"`) to `node`'s emulator, known by `os_pid`."
  @spec signal(String.t(), String.t()) :: :ok
  def signal(os_pid, signal) do
    {_, 0} = System.cmd("kill", ["-#{signal}", os_pid])
    :ok
  end

  @doc "Wait until `fun` returns a truthy value (every 20 ms, `timeout` ms at most); its value or nil."
  @spec eventually((() -> term()), non_neg_integer()) :: term()
  def eventually(fun, timeout \\ 5_000) do
    deadline = System.monotonic_time(:millisecond) + timeout
    poll(fun, deadline)
  end

  defp poll(fun, deadline) do
    case fun.() do
      value when value not in [nil, false] ->
        value

      _ ->
        if System.monotonic_time(:millisecond) >= deadline do
          nil
        else
          Process.sleep(20)
          poll(fun, deadline)
        end
    end
  end
end
