defmodule SnakeBridge.Config do
  @moduledoc """
  SnakeBridge's settings, from `config :snakebridge` (in `config/runtime.exs`
  for anything that depends on the machine, such as the interpreter's path).

  Every pool option may be set app-wide, for every pool, and per pool under
  `pools:` (a pool's own value wins; lists such as `python_path:` are
  replaced, not appended):

      config :snakebridge,
        python: "/srv/app/venv/bin/python",                  # default: SNAKEPORT_PYTHON, else python3
        python_path: [Application.app_dir(:my_app, "priv/python")],
        pools: [default: [size: 2], ml: [size: 1, threads: 4, on_stuck: :restart]]

  * `:python` - the interpreter (a path or a name on the PATH; default:
    `SNAKEPORT_PYTHON`, else `python3`); a venv's `bin/python` uses the venv
  * `:python_path` - folders put first on the adapter's `sys.path`: your own
    Python modules
  * `:env` - extra environment variables, `[{"NAME", "value"}]`
  * `:adapter` - `:priv` (default: the adapter this library carries, what a
    release needs), `:module` (`python -m snakeport`, installed with pip in
    the interpreter's environment) or a script's path; `:adapter_path` is
    the same as `adapter: path`
  * `:adapter_args` - extra adapter options (`python -m snakeport --help`)
  * `:size` - Python processes per pool (default 1)
  * `:threads` - requests one Python process runs at once (`--threads N`)
  * `:on_stuck` - `:log` (default) or `:restart` the adapter when a
    cancelled call is still running a second later
  * `:callback_timeout` - how long an Elixir fun called from Python may run
    (ms or `:infinity`, default 30 000)
  * `:max_callback_depth` - how deep Elixir -> Python -> Elixir callbacks
    may nest (default 50)
  * `:record` - record every frame to this file; app-wide, pools other than
    `:default` record to `FILE.POOL` (and worker N > 0 of a pool to `....N`)
  * `:max_restarts`, `:max_seconds`, `:backoff_initial`, `:backoff_max`,
    `:ready_timeout`, `:capture_stderr` - see `SnakePort.Options`

  App-wide only:

  * `:pools` - `[name: [option: value, ...]]` (default `[default: [size: 1]]`)
  * `:runtime` - `default_timeout` (120 000 ms), `default_stream_timeout`
    (1 800 000), `profiles: %{name => [timeout: ms, stream_timeout: ms]}`,
    `library_profiles: %{"library" => profile_name}`
  * `:arrays` - how numpy arrays (and other array-likes) in results travel
    when a call does not say: `:ref` (default, a `SnakeBridge.Ref` to the
    array in Python) or `:tensor` (a `SnakeBridge.Tensor` with its bytes)
  * `:stream_batch_max` - the largest batch a `StreamRef` pulls at once (default 4096)

  An unknown or misspelt key, here or in a pool, is an error when the pool
  starts (`{:error, %SnakeBridge.Error{python_type: "PoolStartError"}}` from
  the first call, or a failed start of `{SnakeBridge, pools: ...}` in your
  supervision tree), naming the key and the one it most resembles.

  Pool settings are read when a pool starts (on first use, or with
  `{SnakeBridge, pools: [...]}` in a supervision tree): SnakeBridge passes
  them to `SnakePort`, which reads no config of its own.  The `:runtime`
  settings, `:arrays` and `:stream_batch_max` are read once and cached; after
  changing them at run time, call `reload/0`.
  """

  alias SnakeBridge.Error

  @cache {__MODULE__, :cached}

  # SnakePort's pool options a SnakeBridge user may set (the translator is SnakeBridge's own).
  @pool_keys SnakePort.Options.keys() -- [:translator, :context, :default_timeout]
  @app_keys [:pools, :runtime, :arrays, :stream_batch_max]
  @runtime_keys [:default_timeout, :default_stream_timeout, :profiles, :library_profiles]

  @type cached :: %{
          default_timeout: timeout(),
          default_stream_timeout: timeout(),
          profiles: map(),
          library_profiles: map(),
          arrays: :ref | :tensor,
          stream_batch_max: pos_integer()
        }

  @doc "The pool options SnakeBridge accepts, app-wide and per pool."
  @spec pool_keys() :: [atom()]
  def pool_keys, do: @pool_keys

  @doc "The interpreter: `config :snakebridge, python:`, else `SNAKEPORT_PYTHON`, else `python3` on the PATH."
  @spec python() :: String.t()
  def python do
    Application.get_env(:snakebridge, :python) || System.get_env("SNAKEPORT_PYTHON") ||
      System.find_executable("python3") || "python3"
  end

  @doc """
  The adapter script the pools run: `config :snakebridge, adapter:` (or
  `adapter_path:`) when it is a path, else the launcher the `:snakeport`
  application carries (for tools and benchmarks that start it by hand).
  """
  @spec adapter_path() :: String.t()
  def adapter_path do
    case {Application.get_env(:snakebridge, :adapter_path), Application.get_env(:snakebridge, :adapter)} do
      {path, _} when is_binary(path) -> path
      {nil, path} when is_binary(path) -> path
      _ -> SnakePort.Options.default_adapter()
    end
  end

  @doc "The name SnakePort knows SnakeBridge's pool `name` by (pools of other users of SnakePort never clash)."
  @spec core_pool(atom()) :: {SnakeBridge, atom()}
  def core_pool(name), do: {SnakeBridge, name}

  @doc """
  The SnakePort options of pool `name`: the app-wide settings, then the
  pool's own entry in `:pools`, then `overrides`; values decode with
  `SnakeBridge.Types`, and refs record the pool's name.  An unknown key in
  the app-wide settings or the pool's is `{:error, %SnakeBridge.Error{}}`
  (SnakePort checks the values when the pool starts).
  """
  @spec pool_options(atom(), keyword()) :: {:ok, keyword()} | {:error, Error.t()}
  def pool_options(name, overrides \\ []) do
    env = Application.get_all_env(:snakebridge)

    with :ok <- check_app_env(env),
         {:ok, configured} <- configured_pool(env, name),
         :ok <- check_pool(name, overrides) do
      app_wide =
        env
        |> Keyword.take(@pool_keys)
        |> Keyword.update(:record, nil, &record_for(&1, name))

      opts =
        [python: python(), default_timeout: cached().default_timeout]
        |> Keyword.merge(reject_nil(app_wide))
        |> Keyword.merge(configured)
        |> Keyword.merge(overrides)
        |> Keyword.merge(translator: SnakeBridge.Types, context: name)

      {:ok, opts}
    end
  end

  @doc "The pools of `config :snakebridge, pools:` (default `[default: [size: 1]]`)."
  @spec pools() :: keyword()
  def pools, do: Application.get_env(:snakebridge, :pools, default: [size: 1])

  @doc """
  Whether this node's config names pool `name` (`:default` is named when
  `pools:` is not set): a distributed node starts on first use only the
  pools it names; a node that is not distributed, any pool.
  """
  @spec configured?(atom()) :: boolean()
  def configured?(name) do
    case pools() do
      pools when is_list(pools) -> Keyword.has_key?(pools, name)
      _ -> false
    end
  end

  defp configured_pool(env, name) do
    pools = Keyword.get(env, :pools, default: [size: 1])

    case pools do
      pools when is_list(pools) ->
        configured = Keyword.get(pools, name, [])
        with :ok <- check_pool(name, configured), do: {:ok, configured}

      other ->
        config_error("config :snakebridge, pools: must be a keyword list of pools, got #{inspect(other)}")
    end
  end

  defp check_pool(name, opts) when is_list(opts) do
    case Enum.find(opts, &(not match?({key, _} when key in @pool_keys, &1))) do
      nil ->
        :ok

      {key, _} ->
        config_error("pool #{inspect(name)}: " <> SnakePort.Options.unknown("option", key, @pool_keys))

      other ->
        config_error("pool #{inspect(name)}: options must be a keyword list, got #{inspect(other)}")
    end
  end

  defp check_pool(name, other),
    do: config_error("pool #{inspect(name)}: options must be a keyword list, got #{inspect(other)}")

  defp check_app_env(env) do
    known = @app_keys ++ @pool_keys

    with nil <- Enum.find(Keyword.keys(env), &(&1 not in known)),
         nil <- Enum.find(Keyword.keys(Keyword.get(env, :runtime, [])), &(&1 not in @runtime_keys)) do
      check_arrays(Keyword.get(env, :arrays, :ref))
    else
      key ->
        if Keyword.has_key?(env, key),
          do: config_error("config :snakebridge: " <> SnakePort.Options.unknown("option", key, known)),
          else:
            config_error(
              "config :snakebridge, runtime: " <> SnakePort.Options.unknown("option", key, @runtime_keys)
            )
    end
  end

  defp check_arrays(arrays) when arrays in [:ref, :tensor], do: :ok

  defp check_arrays(arrays),
    do: config_error("config :snakebridge, arrays: must be :ref or :tensor, got #{inspect(arrays)}")

  defp config_error(message), do: {:error, Error.new("PoolStartError", message)}

  defp record_for(nil, _pool), do: nil
  defp record_for(path, :default), do: path
  defp record_for(path, pool), do: "#{path}.#{pool}"

  defp reject_nil(opts), do: Enum.reject(opts, fn {_key, value} -> is_nil(value) end)

  @doc "The cached `:runtime`, `:arrays` and `:stream_batch_max` settings."
  @spec cached() :: cached()
  def cached do
    case :persistent_term.get(@cache, nil) do
      nil -> reload()
      cached -> cached
    end
  end

  @doc "Read the `:runtime`, `:arrays` and `:stream_batch_max` settings again (after `Application.put_env/3`)."
  @spec reload() :: cached()
  def reload do
    runtime = Application.get_env(:snakebridge, :runtime, [])

    cached = %{
      default_timeout: Keyword.get(runtime, :default_timeout, 120_000),
      default_stream_timeout: Keyword.get(runtime, :default_stream_timeout, 1_800_000),
      profiles: Keyword.get(runtime, :profiles) || %{},
      library_profiles: Keyword.get(runtime, :library_profiles) || %{},
      arrays: Application.get_env(:snakebridge, :arrays, :ref),
      stream_batch_max: Application.get_env(:snakebridge, :stream_batch_max, 4096)
    }

    :persistent_term.put(@cache, cached)
    cached
  end
end
