defmodule SnakeBridge.Config do
  @moduledoc """
  Where the Python adapter is and how to start it, from `config :snakebridge`.

  * `:python` - the interpreter (default: `SNAKEPORT_PYTHON`, else `python3` on the PATH)
  * `:adapter_path` - the script to run (default: this repository's `priv/python/snakeport_adapter.py`)
  * `:adapter_args` - extra adapter options, e.g. `["--max-refs", "1000"]`
  * `:env` - extra environment variables for the adapter, e.g. `[{"PYTHONPATH", "/my/code"}]`
  * `:pools` - `[name: [size: n]]`, workers per pool (default 1)
  * `:callback_timeout` - how long an Elixir fun called from Python may run, in ms or `:infinity` (default 30 000)
  * `:runtime` - `default_timeout`, `default_stream_timeout`, `profiles`, `library_profiles`
  """

  @default_adapter Path.expand("../../../priv/python/snakeport_adapter.py", __DIR__)

  @spec python() :: String.t()
  def python do
    Application.get_env(:snakebridge, :python) || System.get_env("SNAKEPORT_PYTHON") ||
      System.find_executable("python3") ||
      raise "SnakeBridge: no python3 found; set config :snakebridge, python:"
  end

  @spec adapter_path() :: String.t()
  def adapter_path, do: Application.get_env(:snakebridge, :adapter_path) || @default_adapter

  @spec adapter_args() :: [String.t()]
  def adapter_args, do: Application.get_env(:snakebridge, :adapter_args, [])

  @doc "Extra environment variables for the adapter process, e.g. `[{\"PYTHONPATH\", \"/my/code\"}]`."
  @spec env() :: [{String.t(), String.t()}]
  def env, do: Application.get_env(:snakebridge, :env, [])

  @spec callback_timeout() :: timeout()
  def callback_timeout, do: Application.get_env(:snakebridge, :callback_timeout, 30_000)

  @spec runtime() :: keyword()
  def runtime, do: Application.get_env(:snakebridge, :runtime, [])
end
