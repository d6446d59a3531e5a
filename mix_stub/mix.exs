defmodule SnakeBridge.MixProject do
  use Mix.Project

  def project do
    [
      app: :snakebridge,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: [{:snakeport, path: "../snakeport_ex"}]
    ]
  end

  def application do
    [extra_applications: [:logger]]
  end
end
