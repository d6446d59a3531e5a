defmodule SnakeBridge.Telemetry do
  @moduledoc """
  SnakeBridge's `:telemetry` events, named as SnakeBridge names them, emitted
  only when the application has `:telemetry` (see `SnakePort.Telemetry`,
  which also emits the workers' events, `[:snakeport, :worker, ...]`).

  Around each call of `SnakeBridge.Runtime` (`call`, `call_dynamic`,
  `call_class`, `call_method`, `get_attr`, `set_attr`, `get_module_attr`,
  `call_helper`, `stream`):

    * `[:snakebridge, :runtime, :call, :start]` - measurements
      `system_time`, `monotonic_time`
    * `[:snakebridge, :runtime, :call, :stop]` - the call answered
      `{:ok, _}` (or a stream ended); measurements `duration`,
      `monotonic_time`
    * `[:snakebridge, :runtime, :call, :exception]` - the call answered
      `{:error, reason}` (metadata `error: reason`, as SnakeBridge does), or
      raised (a stream's callback; metadata `kind`, `reason`, `stacktrace`,
      and the exception goes on); measurements `duration`, `monotonic_time`

  Metadata of all three: `module` (the module as given: a Python module
  name or a `SnakeBridge.PythonModule`; a ref's module for methods and
  attributes), `function` (a string), `library`, `python_module`,
  `call_type` (SnakeBridge's names: `"function"`, `"dynamic"`, `"class"`,
  `"method"`, `"get_attr"`, `"set_attr"`, `"module_attr"`, `"helper"`,
  `"stream"`) and `pool` (the pool's name).  Durations are in native time
  units (`System.convert_time_unit/3`).  The steps of an `Enum` over a
  stream and the releases are not events (as in SnakeBridge), so that a
  stream of a million items is not a million events.
  """

  @prefix [:snakebridge, :runtime, :call]

  @doc "Run `fun` (a call) inside the three events, when anyone can listen."
  @spec span(map(), (() -> result)) :: result when result: term()
  def span(metadata, fun) do
    if SnakePort.Telemetry.available?(), do: measured(metadata, fun), else: fun.()
  end

  defp measured(metadata, fun) do
    start = System.monotonic_time()
    emit(:start, %{system_time: System.system_time(), monotonic_time: start}, metadata)

    try do
      fun.()
    catch
      kind, reason ->
        stop = System.monotonic_time()

        emit(
          :exception,
          %{duration: stop - start, monotonic_time: stop},
          Map.merge(metadata, %{kind: kind, reason: reason, stacktrace: __STACKTRACE__})
        )

        :erlang.raise(kind, reason, __STACKTRACE__)
    else
      result ->
        stop = System.monotonic_time()
        measurements = %{duration: stop - start, monotonic_time: stop}

        case result do
          {:error, reason} -> emit(:exception, measurements, Map.put(metadata, :error, reason))
          _ -> emit(:stop, measurements, metadata)
        end

        result
    end
  end

  defp emit(name, measurements, metadata),
    do: SnakePort.Telemetry.execute(@prefix ++ [name], measurements, metadata)
end
