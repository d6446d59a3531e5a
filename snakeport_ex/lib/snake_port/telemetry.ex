defmodule SnakePort.Telemetry do
  @moduledoc """
  `:telemetry` events, emitted only when the application that runs SnakePort
  has `:telemetry` (SnakePort does not depend on it: add `{:telemetry, "~>
  1.0"}` to your own deps, as Phoenix and Ecto apps already have).

  Whether `:telemetry` is there is asked once, at the first event, and
  remembered (`:persistent_term`), so an app without it pays a lookup per
  event and nothing else.  A handler that raises is `:telemetry`'s business
  (it detaches the handler); an emission never fails a call.

  Events of the core (measurements in native time units, as
  `System.monotonic_time/0`; metadata always has `pool` and `index`, the
  worker's index in its pool):

    * `[:snakeport, :worker, :start]` - an adapter is ready; measurements
      `duration` (spawn to ready), metadata `python_pid`, `restarts`
    * `[:snakeport, :worker, :start_error]` - an adapter could not start
      (the worker stays down); metadata `error` (`SnakePort.Error`)
    * `[:snakeport, :worker, :exit]` - a running adapter exited; metadata
      `status`, `error`
    * `[:snakeport, :worker, :restart]` - the worker restarts its adapter;
      measurements `delay` (ms, 0 when at once), metadata `reason`
      (`:exit` or `:stuck`), `restarts` (the total so far)
    * `[:snakeport, :worker, :stuck]` - the adapter reported a cancelled call
      still running; metadata `id`, `info` (the adapter's report)

  SnakeBridge's facade adds `[:snakebridge, :runtime, :call, ...]`
  (`SnakeBridge.Telemetry`).
  """

  @key {__MODULE__, :available}

  @doc "Emit `event` if `:telemetry` is loaded in this VM."
  @spec execute([atom()], map(), map()) :: :ok
  def execute(event, measurements, metadata) do
    if available?() do
      apply(:telemetry, :execute, [event, measurements, metadata])
    end

    :ok
  rescue
    # :telemetry is loaded but not started (no handler table): nobody listens.
    ArgumentError -> :ok
  end

  @doc "Whether `:telemetry` is loaded (asked once, then remembered)."
  @spec available?() :: boolean()
  def available? do
    case :persistent_term.get(@key, nil) do
      nil ->
        available = Code.ensure_loaded?(:telemetry) and function_exported?(:telemetry, :execute, 3)
        :persistent_term.put(@key, available)
        available

      available ->
        available
    end
  end

  @doc false
  # Tests load a stand-in :telemetry after the first question: ask again.
  @spec forget() :: :ok
  def forget do
    :persistent_term.erase(@key)
    :ok
  end
end
