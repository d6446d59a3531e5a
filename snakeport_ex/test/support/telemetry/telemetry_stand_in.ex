defmodule :telemetry do
  @moduledoc """
  A stand-in for the `:telemetry` library, compiled in the test
  environments only (snakeport_ex's and mix_stub's `test/support`), so the
  events SnakePort and SnakeBridge emit when an application has `:telemetry`
  can be tested where it cannot be fetched.  It keeps the parts of the real
  API the tests use: `attach_many/4`, `attach/4`, `detach/1`, `execute/3`.
  Handlers live in `:persistent_term` (tests attach rarely).
  """

  @key {__MODULE__, :handlers}

  def attach(id, event, fun, config), do: attach_many(id, [event], fun, config)

  def attach_many(id, events, fun, config) do
    handlers = handlers()

    if Map.has_key?(handlers, id) do
      {:error, :already_exists}
    else
      :persistent_term.put(@key, Map.put(handlers, id, {events, fun, config}))
      :ok
    end
  end

  def detach(id) do
    handlers = handlers()

    if Map.has_key?(handlers, id) do
      :persistent_term.put(@key, Map.delete(handlers, id))
      :ok
    else
      {:error, :not_found}
    end
  end

  def execute(event, measurements, metadata) do
    for {_id, {events, fun, config}} <- handlers(), event in events do
      fun.(event, measurements, metadata, config)
    end

    :ok
  end

  defp handlers, do: :persistent_term.get(@key, %{})
end
