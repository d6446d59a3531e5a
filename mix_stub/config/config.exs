import Config

# The adapter the workers launch.  Defaults: python3 on the PATH (or
# SNAKEPORT_PYTHON) and this repository's priv/python/snakeport_adapter.py.
config :snakebridge,
  python: System.get_env("SNAKEPORT_PYTHON"),
  adapter_args: [],
  pools: [default: [size: 1]],
  runtime: [default_timeout: 120_000, default_stream_timeout: 1_800_000]

if config_env() == :test, do: import_config("test.exs")
