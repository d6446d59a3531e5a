defmodule SnakeBridge.MixProject do
  use Mix.Project

  def project do
    [
      app: :snakebridge,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      elixirc_paths: elixirc_paths(Mix.env()),
      deps: [{:snakeport, path: "../snakeport_ex"}]
    ]
  end

  def application do
    [extra_applications: [:logger]]
  end

  # test/support: Python-free helpers of the tests; the :telemetry stand-in and
  # the peer-node helper are the core's (one copy, test environments only).
  defp elixirc_paths(:test),
    do: [
      "lib",
      "test/support",
      Path.expand("../snakeport_ex/test/support/telemetry", __DIR__),
      Path.expand("../snakeport_ex/test/support/cluster", __DIR__)
    ]

  defp elixirc_paths(_), do: ["lib"]
end
