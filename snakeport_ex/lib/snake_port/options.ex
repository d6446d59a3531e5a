defmodule SnakePort.Options do
  @moduledoc """
  A pool's options, checked once when the pool starts: a misspelt or unknown
  option, or a value of the wrong kind, fails the start with a message that
  names it (and the option it was probably meant to be), rather than being
  ignored.  SnakePort reads no application environment: what a library such
  as SnakeBridge keeps in its config, it passes here.

  Where Python comes from:

    * `:python` - the interpreter: a path, or a name looked up on the PATH
      (default `"python3"`); a virtualenv's `bin/python` uses that venv
    * `:adapter` - what the interpreter runs: `:priv` (default) the launcher
      this application carries in its `priv/python/` (copied there at compile
      time with the `snakeport` package, so a release needs nothing else);
      `:module`, `python -m snakeport`, the package installed in the
      interpreter's environment (`pip install /path/to/snakeport`); or the
      path of a script of your own
    * `:adapter_path` - the same as `adapter: path` (kept for older configs)
    * `:python_path` - folders put first on the adapter's `sys.path`, ahead
      of the adapter's own folder (which is ahead of `PYTHONPATH`): your own
      Python modules, e.g. `[Application.app_dir(:my_app, "priv/python")]`;
      relative paths are expanded against the current directory when the
      worker starts
    * `:env` - extra environment variables, `[{"HF_HOME", "/data/hf"}]`
    * `:adapter_args` - extra adapter options, e.g. `["--max-refs", "1000"]`
      (`python -m snakeport --help` lists them)
    * `:threads` - requests one adapter runs at once (`--threads N`; default:
      the adapter's, 32, started as needed; `1` runs everything on Python's
      main thread, one at a time)

  How the pool behaves:

    * `:size` - workers, each one Python process (default 1)
    * `:default_timeout` - ms per request when the call names none (default 120 000)
    * `:callback_timeout` - how long an Elixir fun called from Python may run,
      ms or `:infinity` (default 30 000)
    * `:max_callback_depth` - how deep Elixir -> Python -> Elixir callbacks
      may nest (default 50; the adapter's own stack gives out near 100)
    * `:record` - record every frame to this file (worker N > 0: `FILE.N`)
    * `:on_stuck` - what a `{:stuck, id, info}` frame (a cancelled call still
      running) does: `:log` (default) or `:restart` the adapter
    * `:max_restarts`, `:max_seconds` - a worker restarts a crashed adapter at
      once up to `max_restarts` times within `max_seconds` (defaults 3 and 5);
      beyond that it waits, `:backoff_initial` ms (default 100) doubling up
      to `:backoff_max` (default 5 000)
    * `:ready_timeout` - ms to wait for the adapter's `{:ready, info}` (default 60 000)
    * `:capture_stderr` - keep the first 64 KB of the adapter's stderr (still
      shown on the BEAM's stderr) to quote in start errors (default true;
      needs `/bin/sh`)
    * `:translator`, `:context` - see `SnakePort.Translator` (default: wire form)
  """

  @defaults [
    size: 1,
    python: "python3",
    adapter: :priv,
    adapter_path: nil,
    python_path: [],
    adapter_args: [],
    env: [],
    threads: nil,
    translator: SnakePort.Translator.Wire,
    context: nil,
    default_timeout: 120_000,
    callback_timeout: 30_000,
    max_callback_depth: 50,
    record: nil,
    on_stuck: :log,
    max_restarts: 3,
    max_seconds: 5,
    backoff_initial: 100,
    backoff_max: 5_000,
    ready_timeout: 60_000,
    capture_stderr: true
  ]

  @type t :: keyword()

  @doc "Every option a pool takes."
  @spec keys() :: [atom()]
  def keys, do: Keyword.keys(@defaults)

  @doc """
  The launcher this application carries, `priv/python/snakeport_adapter.py`
  of the `:snakeport` application (found where the application is, so a
  release works wherever it is moved).
  """
  @spec default_adapter() :: Path.t()
  def default_adapter, do: Application.app_dir(:snakeport, "priv/python/snakeport_adapter.py")

  @doc """
  `opts` with defaults filled in, or `{:error, message}` naming the bad
  option.  `nil` values mean "the default".  After validation `:adapter` is
  `:module` or a script path (`:priv` and `:adapter_path` resolved).
  """
  @spec validate(keyword()) :: {:ok, t()} | {:error, String.t()}
  def validate(opts) when is_list(opts) do
    with :ok <- keyword(opts),
         :ok <- known(opts) do
      opts = Keyword.merge(@defaults, Enum.reject(opts, fn {_key, value} -> is_nil(value) end))

      case Enum.find(opts, fn {key, value} -> not valid?(key, value) end) do
        nil -> {:ok, resolve_adapter(opts)}
        {key, value} -> {:error, "bad pool option #{inspect(key)}: #{inspect(value)} (#{expected(key)})"}
      end
    end
  end

  def validate(opts), do: {:error, "pool options must be a keyword list, got #{inspect(opts)}"}

  defp keyword(opts) do
    if Keyword.keyword?(opts),
      do: :ok,
      else: {:error, "pool options must be a keyword list, got #{inspect(opts)}"}
  end

  defp known(opts) do
    case Enum.find(Keyword.keys(opts), &(not Keyword.has_key?(@defaults, &1))) do
      nil -> :ok
      key -> {:error, unknown("pool option", key, keys())}
    end
  end

  @doc """
  The message for an unknown option `key` of a kind (`"pool option"`), with
  the known key it most resembles.
  """
  @spec unknown(String.t(), term(), [atom()]) :: String.t()
  def unknown(kind, key, known) do
    guess =
      known
      |> Enum.map(&{String.jaro_distance(to_string(&1), to_string(key)), &1})
      |> Enum.max(fn -> {0, nil} end)

    hint =
      case guess do
        {score, name} when score >= 0.8 -> "did you mean #{inspect(name)}? "
        _ -> ""
      end

    "unknown #{kind} #{inspect(key)} (#{hint}known: #{Enum.map_join(known, ", ", &inspect/1)})"
  end

  defp resolve_adapter(opts) do
    adapter =
      case {opts[:adapter_path], opts[:adapter]} do
        {path, _} when is_binary(path) -> path
        {nil, :priv} -> default_adapter()
        {nil, other} -> other
      end

    Keyword.put(opts, :adapter, adapter)
  end

  defp valid?(key, n) when key in [:size, :max_callback_depth], do: is_integer(n) and n > 0
  defp valid?(:threads, n), do: is_nil(n) or (is_integer(n) and n > 0)

  defp valid?(key, n) when key in [:max_restarts, :max_seconds, :backoff_initial, :backoff_max],
    do: is_integer(n) and n >= 0

  defp valid?(key, t) when key in [:default_timeout, :callback_timeout, :ready_timeout],
    do: t == :infinity or (is_integer(t) and t >= 0)

  defp valid?(:python, path), do: is_binary(path) and path != ""
  defp valid?(:adapter, adapter), do: adapter in [:priv, :module] or (is_binary(adapter) and adapter != "")
  defp valid?(:adapter_path, path), do: is_nil(path) or (is_binary(path) and path != "")
  defp valid?(key, list) when key in [:adapter_args, :python_path], do: strings?(list)

  defp valid?(:env, env),
    do: is_list(env) and Enum.all?(env, &match?({k, v} when is_binary(k) and is_binary(v), &1))

  defp valid?(:translator, module), do: is_atom(module)
  defp valid?(:context, _), do: true
  defp valid?(:record, path), do: is_nil(path) or is_binary(path)
  defp valid?(:on_stuck, action), do: action in [:log, :restart]
  defp valid?(:capture_stderr, flag), do: is_boolean(flag)

  defp strings?(list), do: is_list(list) and Enum.all?(list, &is_binary/1)

  defp expected(key) when key in [:size, :max_callback_depth, :threads], do: "a positive integer"

  defp expected(key) when key in [:max_restarts, :max_seconds, :backoff_initial, :backoff_max],
    do: "a non-negative integer"

  defp expected(key) when key in [:default_timeout, :callback_timeout, :ready_timeout],
    do: "milliseconds, or :infinity"

  defp expected(:python), do: "the interpreter's path or name, a string"
  defp expected(:adapter), do: ":priv, :module, or the path of a script"
  defp expected(key) when key in [:adapter_path, :record], do: "a path, a string"
  defp expected(key) when key in [:adapter_args, :python_path], do: "a list of strings"
  defp expected(:env), do: ~s(a list of {"NAME", "value"} string pairs)
  defp expected(:translator), do: "a module"
  defp expected(:on_stuck), do: ":log or :restart"
  defp expected(:capture_stderr), do: "true or false"
end
