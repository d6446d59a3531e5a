defmodule SnakeBridge.TestPeerSide do
  @moduledoc """
  Code the distribution tests run on their peer nodes.  In test/support (compiled
  to .beam files on the code path the peers boot with): funs defined in a test
  file live only in the test node's memory and cannot run on a peer.
  """

  @doc """
  A process of this node that makes a generator (tagged `tag`) in its
  auto-session of `pool`, tells `parent` `{:held, pid, stream, session}` and
  waits for `:stop`; its exit (or its node's) releases the session.
  """
  @spec hold(pid(), atom(), String.t()) :: pid()
  def hold(parent, pool, tag) do
    spawn(fn ->
      {:ok, stream} = SnakeBridge.call("test_helpers", "counting", [10, tag], __runtime__: [pool_name: pool])
      {:ok, 0} = SnakeBridge.Runtime.stream_next(stream)
      send(parent, {:held, self(), stream, stream.session_id})

      receive do
        :stop -> :ok
      end
    end)
  end

  @doc "Call `fun` of this node with Python calling back an Elixir fun made here: what the fun saw."
  @spec callback_here(atom()) :: {:ok, term()} | {:error, term()}
  def callback_here(pool) do
    SnakeBridge.call("test_helpers", "apply_fun", [fn x -> {x, node()} end, 1], __runtime__: [pool_name: pool])
  end

  @doc "What `test_helpers.released()` holds in every worker of this node's `pool`."
  @spec released(atom()) :: [String.t()]
  def released(pool) do
    {:ok, pool} = SnakePort.Pool.lookup({SnakeBridge, pool})
    request = %{"call_type" => "call", "python_module" => "test_helpers", "function" => "released"}
    request = Map.merge(request, %{"args" => [], "kwargs" => %{}, "session_id" => "released-probe"})

    Enum.flat_map(SnakePort.Pool.routes(pool), fn route ->
      {:ok, released} = SnakePort.Client.on_worker(pool, route.index, request, 10_000)
      released
    end)
  end
end
