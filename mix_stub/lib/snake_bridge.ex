defmodule SnakeBridge do
  @moduledoc """
  Use Python libraries from Elixir through SnakePort.

      {:ok, 4.0} = SnakeBridge.call("math", :sqrt, [16])
      {:ok, pi} = SnakeBridge.get("math", :pi)
      {:ok, counter} = SnakeBridge.Runtime.call_class("collections", "Counter", [["a", "b", "a"]])
      {:ok, [{"a", 2}]} = SnakeBridge.method(counter, "most_common", [1])

  Every call delegates to `SnakeBridge.Runtime`, whose docs list the options.
  The pools of `config :snakebridge, pools:` start on first use; to start
  them with your application instead, put `{SnakeBridge, pools: [default:
  [size: 2]]}` in your supervision tree (each pool's options are merged
  over its config, see `SnakeBridge.Config`).
  """

  alias SnakeBridge.{Config, Error, Runtime}

  @doc "A supervisor of SnakeBridge pools `pools: [name: options]` (options over `config :snakebridge`)."
  @spec child_spec(keyword()) :: Supervisor.child_spec()
  def child_spec(opts) do
    pools =
      for {name, pool_opts} <- Keyword.fetch!(opts, :pools),
          do: {Config.core_pool(name), Config.pool_options(name, pool_opts)}

    SnakePort.child_spec(id: Keyword.get(opts, :id, __MODULE__), pools: pools)
  end

  @doc """
  What pool `name` is doing: per worker its status, in-flight requests,
  queue, sessions, callbacks, streams, restarts, and the adapter's own
  counters (see `SnakePort.stats/1`).
  """
  @spec stats(atom()) :: {:ok, map()} | {:error, Error.t()}
  def stats(pool \\ :default) do
    with {:ok, pool} <- Runtime.pool(pool), do: pool |> SnakePort.stats() |> Error.wrap()
  end

  @doc "Call a Python function (see `SnakeBridge.Runtime.call/4`)."
  defdelegate call(module, function, args \\ [], opts \\ []), to: Runtime

  @doc "Read a module attribute (see `SnakeBridge.Runtime.get_module_attr/3`)."
  defdelegate get(module, attr, opts \\ []), to: Runtime, as: :get_module_attr

  @doc "Call a method of a ref (see `SnakeBridge.Runtime.call_method/4`)."
  defdelegate method(ref, method, args \\ [], opts \\ []), to: Runtime, as: :call_method

  @doc "Read an attribute of a ref (see `SnakeBridge.Runtime.get_attr/3`)."
  defdelegate attr(ref, attr, opts \\ []), to: Runtime, as: :get_attr

  @doc "Set an attribute of a ref (see `SnakeBridge.Runtime.set_attr/4`)."
  defdelegate set_attr(ref, attr, value, opts \\ []), to: Runtime

  @doc "Call a helper (see `SnakeBridge.Runtime.call_helper/3`)."
  defdelegate call_helper(helper, args \\ [], opts \\ []), to: Runtime

  @doc "Stream a Python generator into a callback (see `SnakeBridge.Runtime.stream/5`)."
  defdelegate stream(module, function, args, opts, callback), to: Runtime

  @doc "Release a ref (see `SnakeBridge.Runtime.release_ref/2`)."
  defdelegate release_ref(ref, opts \\ []), to: Runtime

  @doc "Release a session (see `SnakeBridge.Runtime.release_session/2`)."
  defdelegate release_session(session_id, opts \\ []), to: Runtime

  @doc "The calling process's session id."
  defdelegate current_session(), to: Runtime
end
