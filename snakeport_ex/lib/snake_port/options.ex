defmodule SnakePort.Options do
  @moduledoc """
  A pool's options, checked once when the pool starts (SnakePort reads no
  application environment: what a library such as SnakeBridge keeps in its
  config, it passes here).

    * `:size` - workers, each one Python process (default 1)
    * `:python` - the interpreter: a path, or a name looked up on the PATH
      (default `"python3"`)
    * `:adapter_path` - the script the interpreter runs (default: this
      repository's `priv/python/snakeport_adapter.py`)
    * `:adapter_args` - extra adapter options, e.g. `["--max-refs", "1000"]`
    * `:env` - extra environment variables, `[{"PYTHONPATH", "/my/code"}]`
    * `:translator`, `:context` - see `SnakePort.Translator` (default: wire form)
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
  """

  @default_adapter Path.expand("../../../priv/python/snakeport_adapter.py", __DIR__)

  @defaults [
    size: 1,
    python: "python3",
    adapter_path: @default_adapter,
    adapter_args: [],
    env: [],
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

  @doc "The default adapter script (this repository's `priv/python/snakeport_adapter.py`)."
  @spec default_adapter() :: Path.t()
  def default_adapter, do: @default_adapter

  @doc "`opts` with defaults filled in, or `{:error, message}` naming the bad option."
  @spec validate(keyword()) :: {:ok, t()} | {:error, String.t()}
  def validate(opts) when is_list(opts) do
    opts = Keyword.merge(@defaults, Enum.reject(opts, fn {_key, value} -> is_nil(value) end))

    case Enum.find(opts, fn {key, value} -> not valid?(key, value) end) do
      nil -> {:ok, opts}
      {key, value} -> {:error, "bad pool option #{inspect(key)}: #{inspect(value)}"}
    end
  end

  def validate(opts), do: {:error, "pool options must be a keyword list, got #{inspect(opts)}"}

  defp valid?(key, n) when key in [:size, :max_callback_depth], do: is_integer(n) and n > 0

  defp valid?(key, n) when key in [:max_restarts, :max_seconds, :backoff_initial, :backoff_max],
    do: is_integer(n) and n >= 0

  defp valid?(key, t) when key in [:default_timeout, :callback_timeout, :ready_timeout],
    do: t == :infinity or (is_integer(t) and t >= 0)

  defp valid?(key, path) when key in [:python, :adapter_path], do: is_binary(path)
  defp valid?(:adapter_args, args), do: is_list(args) and Enum.all?(args, &is_binary/1)

  defp valid?(:env, env),
    do: is_list(env) and Enum.all?(env, &match?({k, v} when is_binary(k) and is_binary(v), &1))

  defp valid?(:translator, module), do: is_atom(module)
  defp valid?(:context, _), do: true
  defp valid?(:record, path), do: is_nil(path) or is_binary(path)
  defp valid?(:on_stuck, action), do: action in [:log, :restart]
  defp valid?(:capture_stderr, flag), do: is_boolean(flag)
  defp valid?(_key, _value), do: false
end
