defmodule SnakeBridge.Config do
  @moduledoc """
  SnakeBridge's settings, from `config :snakebridge`.

  * `:python` - the interpreter (default: `SNAKEPORT_PYTHON`, else `python3` on the PATH)
  * `:adapter_path` - the script to run (default: this repository's `priv/python/snakeport_adapter.py`)
  * `:adapter_args` - extra adapter options, e.g. `["--max-refs", "1000"]`
  * `:env` - extra environment variables for the adapter, e.g. `[{"PYTHONPATH", "/my/code"}]`
  * `:pools` - `[name: [size: n, ...]]` (default `[default: [size: 1]]`); any other key of a pool
    is a `SnakePort.Options` pool option (`record:`, `on_stuck:`, `max_restarts:`, ...)
  * `:callback_timeout` - how long an Elixir fun called from Python may run, in ms or `:infinity`
    (default 30 000)
  * `:max_callback_depth` - how deep Elixir -> Python -> Elixir callbacks may nest (default 50)
  * `:runtime` - `default_timeout`, `default_stream_timeout`, `profiles`, `library_profiles`
  * `:stream_batch_max` - the largest batch a `StreamRef` pulls at once (default 4096)

  Pool settings are read when the pool starts (on first use, or with
  `{SnakeBridge, pools: [...]}` in a supervision tree): SnakeBridge passes
  them to `SnakePort`, which reads no config of its own.  The `:runtime`
  timeouts and `:stream_batch_max` are read once and cached; after changing
  them at run time, call `reload/0`.
  """

  @cache {__MODULE__, :cached}

  @type cached :: %{
          default_timeout: timeout(),
          default_stream_timeout: timeout(),
          profiles: map(),
          library_profiles: map(),
          stream_batch_max: pos_integer()
        }

  @spec python() :: String.t()
  def python do
    Application.get_env(:snakebridge, :python) || System.get_env("SNAKEPORT_PYTHON") ||
      System.find_executable("python3") || "python3"
  end

  @spec adapter_path() :: String.t()
  def adapter_path,
    do: Application.get_env(:snakebridge, :adapter_path) || SnakePort.Options.default_adapter()

  @spec adapter_args() :: [String.t()]
  def adapter_args, do: Application.get_env(:snakebridge, :adapter_args, [])

  @doc "Extra environment variables for the adapter process, e.g. `[{\"PYTHONPATH\", \"/my/code\"}]`."
  @spec env() :: [{String.t(), String.t()}]
  def env, do: Application.get_env(:snakebridge, :env, [])

  @spec callback_timeout() :: timeout()
  def callback_timeout, do: Application.get_env(:snakebridge, :callback_timeout, 30_000)

  @doc "The name SnakePort knows SnakeBridge's pool `name` by (pools of other users of SnakePort never clash)."
  @spec core_pool(atom()) :: {SnakeBridge, atom()}
  def core_pool(name), do: {SnakeBridge, name}

  @doc """
  The SnakePort options of pool `name`: the global settings, then the pool's
  own entry in `:pools`, then `overrides`; values decode with
  `SnakeBridge.Types`, and refs record the pool's name.
  """
  @spec pool_options(atom(), keyword()) :: keyword()
  def pool_options(name, overrides \\ []) do
    configured = Application.get_env(:snakebridge, :pools, default: [size: 1]) |> Keyword.get(name, [])

    [
      python: python(),
      adapter_path: adapter_path(),
      adapter_args: adapter_args(),
      env: env(),
      callback_timeout: callback_timeout(),
      max_callback_depth: Application.get_env(:snakebridge, :max_callback_depth),
      default_timeout: cached().default_timeout
    ]
    |> Keyword.merge(configured)
    |> Keyword.merge(overrides)
    |> Keyword.merge(translator: SnakeBridge.Types, context: name)
  end

  @doc "The cached `:runtime` and `:stream_batch_max` settings."
  @spec cached() :: cached()
  def cached do
    case :persistent_term.get(@cache, nil) do
      nil -> reload()
      cached -> cached
    end
  end

  @doc "Read the `:runtime` and `:stream_batch_max` settings again (after `Application.put_env/3`)."
  @spec reload() :: cached()
  def reload do
    runtime = Application.get_env(:snakebridge, :runtime, [])

    cached = %{
      default_timeout: Keyword.get(runtime, :default_timeout, 120_000),
      default_stream_timeout: Keyword.get(runtime, :default_stream_timeout, 1_800_000),
      profiles: Keyword.get(runtime, :profiles) || %{},
      library_profiles: Keyword.get(runtime, :library_profiles) || %{},
      stream_batch_max: Application.get_env(:snakebridge, :stream_batch_max, 4096)
    }

    :persistent_term.put(@cache, cached)
    cached
  end
end
