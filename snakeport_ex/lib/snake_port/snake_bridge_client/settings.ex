defmodule SnakePort.SnakeBridgeClient.Settings do
  @moduledoc """
  Which SnakePort pool serves a SnakeBridge call, and with what options.

  A SnakeBridge app already says how its Python runs, in Snakepit's config;
  those settings carry over, so switching needs only the `runtime_client`
  line:

    * `config :snakepit, python_executable: path` (or `$SNAKEPIT_PYTHON`):
      the interpreter (else SnakePort's default, `python3`);
    * `config :snakepit, pool_config: %{pool_size: n, adapter_env: env}` for
      the default pool, and `pools: [%{name: name, ...}]` for named ones:
      `pool_size` is the pool's `size` (default 1: one adapter already runs
      calls concurrently on its `--threads`), `adapter_env` its `env`
      (`PYTHONPATH` and the rest); Snakepit's `adapter_args` are for its
      gRPC server and are not used;
    * `config :snakebridge, helper_paths: [...], helper_pack_enabled: bool`:
      the helper folders, loaded by each adapter when it starts
      (`--helper-path`): SnakeBridge's own helper pack
      (`priv/python/helpers` of the `:snakebridge` app) when enabled, then
      each of `helper_paths` (default `priv/python/helpers`, relative to the
      working directory); folders that do not exist are skipped, as
      SnakeBridge's Python skipped them, and a folder named twice (through a
      symlink too) is loaded once.  Each request's `helper_allowlist` is
      applied per call.

  On top, `config :snakeport, SnakePort.SnakeBridgeClient, pool_options:
  [...]` (any `SnakePort.Options`, for the default pool) and `pools: [name:
  [...]]` (for named pools) override what was derived; their
  `adapter_args` are added after the helper folders.

  SnakeBridge's `__runtime__: [pool_name: name]` (kept on refs it decodes)
  picks the pool: `:default` when absent, else a name Snakepit's `pools` or
  this client's `pools` know (an atom or its string); another name is a
  `PoolNotStarted` error, as Snakepit's `Pool not found` was.  Pools are
  started on first use under SnakePort's own supervisor, named
  `{SnakePort.SnakeBridgeClient, name}`, with the settings read then.
  """

  alias SnakePort.{Error, Options, Pool}
  alias SnakePort.SnakeBridgeClient.Values

  @client SnakePort.SnakeBridgeClient

  @doc "The running pool for SnakeBridge runtime options `opts`, started if it is not."
  @spec pool(keyword()) :: {:ok, Pool.t()} | {:error, Error.t()}
  def pool(opts) do
    with {:ok, name} <- pool_name(Keyword.get(opts, :pool_name)) do
      case Pool.lookup({@client, name}) do
        {:ok, pool} -> {:ok, pool}
        {:error, _} -> SnakePort.start_pool({@client, name}, options(name))
      end
    end
  end

  @doc "Every pool of this client that is running."
  @spec running() :: [Pool.t()]
  def running do
    for name <- names(), {:ok, pool} <- [Pool.lookup({@client, name})], do: pool
  end

  @doc "The pool name for SnakeBridge's `pool_name` option."
  @spec pool_name(atom() | String.t() | nil) :: {:ok, atom()} | {:error, Error.t()}
  def pool_name(nil), do: {:ok, :default}

  def pool_name(name) do
    text = to_string(name)

    case Enum.find(names(), &(Atom.to_string(&1) == text)) do
      nil ->
        {:error,
         Error.new(
           "PoolNotStarted",
           "no SnakePort pool for SnakeBridge pool_name #{inspect(name)}: name it in " <>
             "config :snakepit, pools: [...] or config :snakeport, SnakePort.SnakeBridgeClient, pools: [...]"
         )}

      found ->
        {:ok, found}
    end
  end

  defp names do
    snakepit = for pool <- snakepit_pools(), is_atom(pool[:name]) and pool[:name] != nil, do: pool[:name]
    Enum.uniq([:default | snakepit] ++ Keyword.keys(Keyword.get(client_config(), :pools, [])))
  end

  @doc "The SnakePort pool options for pool `name` (see the moduledoc)."
  @spec options(atom()) :: keyword()
  def options(name) do
    snakepit = snakepit_pool(name)
    client = client_config()

    own =
      if name == :default,
        do: Keyword.get(client, :pool_options, []),
        else: client |> Keyword.get(:pools, []) |> Keyword.get(name, [])

    derived = [size: snakepit[:pool_size] || 1, env: env(snakepit[:adapter_env]), context: name] ++ python()

    derived
    |> Keyword.merge(own)
    |> Keyword.put(:adapter_args, helper_args() ++ Keyword.get(own, :adapter_args, []))
    |> Keyword.put(:translator, Values)
  end

  defp client_config, do: Application.get_env(:snakeport, @client, [])

  defp python do
    case Application.get_env(:snakepit, :python_executable) || System.get_env("SNAKEPIT_PYTHON") do
      python when is_binary(python) and python != "" -> [python: python]
      _ -> []
    end
  end

  defp snakepit_pools do
    :snakepit |> Application.get_env(:pools, []) |> List.wrap() |> Enum.map(&to_map/1)
  end

  defp snakepit_pool(name) do
    Enum.find(snakepit_pools(), &(&1[:name] == name)) ||
      if(name == :default, do: to_map(Application.get_env(:snakepit, :pool_config, %{})), else: %{})
  end

  defp to_map(%{} = map), do: map
  defp to_map(list) when is_list(list), do: if(Keyword.keyword?(list), do: Map.new(list), else: %{})
  defp to_map(_other), do: %{}

  defp env(nil), do: []

  defp env(entries) when is_map(entries) or is_list(entries) do
    for {key, value} <- entries, not is_nil(value), do: {to_string(key), to_string(value)}
  end

  defp env(_other), do: []

  @doc "The `--helper-path` arguments for SnakeBridge's helper folders (see the moduledoc)."
  @spec helper_args() :: [String.t()]
  def helper_args do
    pack =
      if Application.get_env(:snakebridge, :helper_pack_enabled, true) == true do
        case :code.priv_dir(:snakebridge) do
          {:error, _} -> nil
          priv -> Path.join([to_string(priv), "python", "helpers"])
        end
      end

    paths = :snakebridge |> Application.get_env(:helper_paths, ["priv/python/helpers"]) |> List.wrap()
    # The adapter always loads its own helper folder; naming it again would load it twice.
    own = Path.join(Path.dirname(Options.default_adapter()), "helpers")

    [pack | Enum.map(paths, &Path.expand(to_string(&1)))]
    |> Enum.filter(&(is_binary(&1) and File.dir?(&1)))
    |> Enum.uniq_by(&identity/1)
    |> Enum.reject(&(identity(&1) == identity(own)))
    |> Enum.flat_map(&["--helper-path", &1])
  end

  # A folder's identity, the same through any symlink.
  defp identity(path) do
    case File.stat(path) do
      {:ok, %File.Stat{major_device: device, inode: inode}} -> {device, inode}
      {:error, _} -> path
    end
  end
end
