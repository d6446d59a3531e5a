defmodule SnakeBridge do
  @moduledoc """
  Use Python libraries from Elixir through SnakePort.

      {:ok, 4.0} = SnakeBridge.call("math", :sqrt, [16])
      {:ok, pi} = SnakeBridge.get("math", :pi)
      {:ok, counter} = SnakeBridge.Runtime.call_class("collections", "Counter", [["a", "b", "a"]])
      {:ok, [{"a", 2}]} = SnakeBridge.method(counter, "most_common", [1])
      4.0 = SnakeBridge.call!("math", :sqrt, [16])

  Every call delegates to `SnakeBridge.Runtime`, whose docs list the
  options.  The pools of `config :snakebridge, pools:` start on first use;
  to start them with your application instead (and fail its start when
  their configuration is wrong), put `{SnakeBridge, pools: [default: [size:
  2]]}` in your supervision tree (each pool's options are merged over the
  app-wide config, see `SnakeBridge.Config`), and `SnakeBridge.check/1`
  after it to know at boot that Python answers.
  """

  alias SnakeBridge.{Bytes, Config, Error, Runtime}

  @doc """
  A supervisor of SnakeBridge pools `pools: [name: options]` (options over
  `config :snakebridge`), for your supervision tree.  A configuration
  SnakeBridge refuses (an unknown or misspelt option) raises
  `ArgumentError` here, so your application does not start with it.  A pool
  whose Python cannot start still starts: its calls answer why (see
  `check/1`).
  """
  @spec child_spec(keyword()) :: Supervisor.child_spec()
  def child_spec(opts) do
    case Enum.find(Keyword.keys(opts), &(&1 not in [:pools, :id])) do
      nil -> :ok
      key -> raise ArgumentError, "SnakeBridge: " <> SnakePort.Options.unknown("option", key, [:pools, :id])
    end

    pools =
      for {name, pool_opts} <- Keyword.get(opts, :pools, Config.pools()) do
        case Config.pool_options(name, pool_opts) do
          {:ok, options} -> {Config.core_pool(name), options}
          {:error, %Error{message: message}} -> raise ArgumentError, "SnakeBridge: " <> message
        end
      end

    SnakePort.child_spec(id: Keyword.get(opts, :id, __MODULE__), pools: pools)
  end

  @doc """
  Start pool `name` if it is not running, and ask each of its workers to
  answer a ping: `:ok`, or the first worker's error (the interpreter or
  script that could not start and why, a Python too old, a bad
  configuration).  For an application's boot, or a health check:

      :ok = SnakeBridge.check(:default)

  `timeout:` (ms, default 10 000) per worker.
  """
  @spec check(atom(), keyword()) :: :ok | {:error, Error.t() | :timeout}
  def check(name \\ :default, opts \\ []) do
    with {:ok, pool} <- Runtime.pool(name),
         do: pool |> SnakePort.check(Keyword.get(opts, :timeout, 10_000)) |> Error.wrap()
  end

  @doc """
  What pool `name` is doing: per worker its status, in-flight requests,
  queue, sessions, callbacks, streams, restarts, and the adapter's own
  counters: its `stats` call (sessions, refs, streams, frames and bytes,
  `running`, `queued`, `threads`, `pool_threads`, `protocol_errors`; see
  `SnakePort.stats/1`).
  """
  @spec stats(atom()) :: {:ok, map()} | {:error, Error.t()}
  def stats(pool \\ :default) do
    with {:ok, pool} <- Runtime.pool(pool), do: pool |> SnakePort.stats() |> Error.wrap()
  end

  @doc """
  A binary that must arrive in Python as `bytes` (a binary that is valid
  UTF-8 would otherwise arrive as `str`):
  `SnakeBridge.call("hashlib", "md5", [SnakeBridge.bytes("abc")])`.
  """
  @spec bytes(binary()) :: Bytes.t()
  def bytes(data) when is_binary(data), do: Bytes.new(data)

  @doc "Call a Python function (see `SnakeBridge.Runtime.call/4`)."
  defdelegate call(module, function, args \\ [], opts \\ []), to: Runtime

  @doc "Call a Python function; its value, or a raised `SnakeBridge.Error`."
  defdelegate call!(module, function, args \\ [], opts \\ []), to: Runtime

  @doc "Read a module attribute (see `SnakeBridge.Runtime.get_module_attr/3`)."
  defdelegate get(module, attr, opts \\ []), to: Runtime, as: :get_module_attr

  @doc "Read a module attribute; its value, or a raised `SnakeBridge.Error`."
  defdelegate get!(module, attr, opts \\ []), to: Runtime, as: :get_module_attr!

  @doc "Call a method of a ref (see `SnakeBridge.Runtime.call_method/4`)."
  defdelegate method(ref, method, args \\ [], opts \\ []), to: Runtime, as: :call_method

  @doc "Call a method of a ref; its value, or a raised `SnakeBridge.Error`."
  defdelegate method!(ref, method, args \\ [], opts \\ []), to: Runtime, as: :call_method!

  @doc "Read an attribute of a ref (see `SnakeBridge.Runtime.get_attr/3`)."
  defdelegate attr(ref, attr, opts \\ []), to: Runtime, as: :get_attr

  @doc "Read an attribute of a ref; its value, or a raised `SnakeBridge.Error`."
  defdelegate attr!(ref, attr, opts \\ []), to: Runtime, as: :get_attr!

  @doc "Set an attribute of a ref (see `SnakeBridge.Runtime.set_attr/4`)."
  defdelegate set_attr(ref, attr, value, opts \\ []), to: Runtime

  @doc "Set an attribute of a ref; `true`, or a raised `SnakeBridge.Error`."
  defdelegate set_attr!(ref, attr, value, opts \\ []), to: Runtime

  @doc "Call a helper (see `SnakeBridge.Runtime.call_helper/3`)."
  defdelegate call_helper(helper, args \\ [], opts \\ []), to: Runtime

  @doc "Call a helper; its value, or a raised `SnakeBridge.Error`."
  defdelegate call_helper!(helper, args \\ [], opts \\ []), to: Runtime

  @doc "Stream a Python generator into a callback (see `SnakeBridge.Runtime.stream/5`)."
  defdelegate stream(module, function, args, opts, callback), to: Runtime

  @doc "Release a ref (see `SnakeBridge.Runtime.release_ref/2`)."
  defdelegate release_ref(ref, opts \\ []), to: Runtime

  @doc "Release a session (see `SnakeBridge.Runtime.release_session/2`)."
  defdelegate release_session(session_id, opts \\ []), to: Runtime

  @doc "The calling process's session id."
  defdelegate current_session(), to: Runtime
end
