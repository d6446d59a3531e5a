import Config

config :snakebridge,
  adapter_args: ["--helper-path", Path.expand("../test/helpers", __DIR__)],
  env: [{"PYTHONPATH", Path.expand("../test/helpers", __DIR__)}],
  pools: [default: [size: 1], pair: [size: 2]]
