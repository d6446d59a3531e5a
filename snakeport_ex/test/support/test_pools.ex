defmodule SnakePort.TestPools do
  @moduledoc "Pool options for the tests: the real adapter (or a fake one), with the test fixtures on PYTHONPATH."

  @root Path.expand("../../..", __DIR__)
  @helpers Path.expand("../helpers", __DIR__)
  @fakes Path.expand("../fakes", __DIR__)

  @doc "The interpreter the tests use."
  def python, do: System.get_env("SNAKEPORT_PYTHON") || "python3"

  @doc "Options for a pool of the real adapter, with `extra` on top."
  def options(extra \\ []) do
    Keyword.merge([python: python(), env: [{"PYTHONPATH", @helpers}]], extra)
  end

  @doc "Options for a pool running one of test/fakes/ as its adapter."
  def fake(script, extra \\ []) do
    Keyword.merge(
      [
        python: python(),
        adapter_path: Path.join(@fakes, script),
        env: [{"PYTHONPATH", Path.join(@root, "adapter")}]
      ],
      extra
    )
  end

  @doc "A pool name no other test uses."
  def unique(prefix), do: :"#{prefix}_#{System.unique_integer([:positive])}"

  @doc "A call request for `module.function(*args)`."
  def call(module, function, args \\ [], kwargs \\ %{}) do
    %{"python_module" => module, "function" => function, "args" => args, "kwargs" => kwargs}
  end
end
