defmodule SnakeBridge.TestSupport do
  @moduledoc "Helpers shared by the ExUnit tests."
  import ExUnit.Assertions

  @doc "Retry `check` every 50 ms until it returns true; flunk after `tries`."
  def assert_eventually(check, tries \\ 100) do
    cond do
      check.() -> :ok
      tries == 0 -> flunk("condition never became true")
      true -> Process.sleep(50) && assert_eventually(check, tries - 1)
    end
  end
end

ExUnit.start()
