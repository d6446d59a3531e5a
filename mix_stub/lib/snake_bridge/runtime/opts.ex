defmodule SnakeBridge.Runtime.Opts do
  @moduledoc """
  The last argument of `SnakeBridge.Runtime`'s functions, read strictly.

  Two kinds of function, as in SnakeBridge:

    * **calls** (`call`, `call_dynamic`, `call_class`, `call_method`,
      `call_helper`, `stream`): keywords other than the options below are
      the Python call's keyword arguments, as SnakeBridge passes them
      (`SnakeBridge.call("builtins", "round", [3.14159], ndigits: 2)`), and
      so is `kwargs:` (a keyword list or a map, merged over them);
      `__args__:` appends positional arguments;
    * **everything else** (`get_attr`, `set_attr`, `get_module_attr`,
      `stream_next`, `stream_take`, `stream_len`, `release_ref`,
      `release_session`): no keyword arguments go to Python, so an unknown
      keyword is an `ArgumentError` (SnakeBridge passes them as kwargs that
      Python then ignores).

  Both accept `idempotent:` (SnakeBridge's retry hint; SnakePort never
  retries a call, so it has no effect) and `__runtime__:`, whose keys are
  checked: `session_id`, `pool_name`, `timeout` (ms or `:infinity`),
  `timeout_profile`, `stream_timeout`, `stream_credit`, `stream_batch`,
  `affinity` (accepted: sessions always stick to one worker), `arrays`
  (`:ref` or `:tensor`, see `SnakeBridge.Tensor`), `thread` (`:main` runs
  the call on Python's main thread; `:any`, the default, on any) and `node`
  (run the call on that node's workers of the pool: see the README's
  "Several nodes").  A
  misspelt key is an `ArgumentError` naming it, never silently ignored.

  **One deliberate difference from SnakeBridge:** a call's keyword named
  like a `__runtime__` option (`timeout: 100`, `session_id: "s"`,
  `pool_name: :ml`, ...) is refused with an `ArgumentError` instead of
  going to Python as a kwarg, since it is nearly always a runtime option in
  the wrong place.  Say which you mean: `__runtime__: [timeout: 100]` for
  the call's deadline, `kwargs: [timeout: 100]` for Python's `timeout=`.
  """

  @runtime_keys [
    :session_id,
    :pool_name,
    :timeout,
    :timeout_profile,
    :stream_timeout,
    :stream_credit,
    :stream_batch,
    :affinity,
    :arrays,
    :thread,
    :node
  ]

  @enforce_keys [:runtime, :kwargs, :args]
  defstruct [:runtime, :kwargs, :args]

  @type t :: %__MODULE__{runtime: keyword(), kwargs: map(), args: list()}

  @doc "The `__runtime__` options there are."
  @spec runtime_keys() :: [atom()]
  def runtime_keys, do: @runtime_keys

  @doc """
  Read `opts` for function `fun` (named in errors): `:call` takes kwargs,
  `:strict` does not (`extra` names keywords `fun` takes besides).
  """
  @spec read(keyword(), String.t(), :call | :strict, [atom()]) :: t()
  def read(opts, fun, kind, extra \\ [])

  def read([], _fun, _kind, _extra), do: %__MODULE__{runtime: [], kwargs: %{}, args: []}

  def read(opts, fun, kind, extra) when is_list(opts) do
    unless Keyword.keyword?(opts), do: raise(ArgumentError, "#{fun}: options must be a keyword list")
    runtime = opts |> Keyword.get(:__runtime__, []) |> runtime(fun)
    rest = Keyword.drop(opts, [:__runtime__, :idempotent, :kwargs, :__args__ | extra])

    kwargs =
      case kind do
        :call -> call_kwargs(rest, fun)
        :strict -> strict(rest, fun, extra)
      end

    explicit = opts |> Keyword.get(:kwargs, []) |> kwargs_map(fun)
    %__MODULE__{runtime: runtime, kwargs: Map.merge(kwargs, explicit), args: List.wrap(opts[:__args__])}
  end

  def read(opts, fun, _kind, _extra),
    do: raise(ArgumentError, "#{fun}: options must be a keyword list, got #{inspect(opts)}")

  defp runtime(runtime, fun) when is_list(runtime) do
    unless Keyword.keyword?(runtime),
      do: raise(ArgumentError, "#{fun}: __runtime__ must be a keyword list, got #{inspect(runtime)}")

    for {key, value} <- runtime do
      unless key in @runtime_keys,
        do:
          raise(
            ArgumentError,
            "#{fun}: " <> SnakePort.Options.unknown("__runtime__ option", key, @runtime_keys)
          )

      check_runtime(key, value, fun)
    end

    runtime
  end

  defp runtime(other, fun),
    do: raise(ArgumentError, "#{fun}: __runtime__ must be a keyword list, got #{inspect(other)}")

  defp check_runtime(key, value, fun) do
    valid =
      case key do
        key when key in [:timeout, :stream_timeout] ->
          value == :infinity or (is_integer(value) and value >= 0)

        key when key in [:stream_credit, :stream_batch] ->
          is_integer(value) and value > 0

        :session_id ->
          is_nil(value) or is_binary(value)

        :arrays ->
          value in [:ref, :tensor]

        :thread ->
          value in [:main, :any]

        :node ->
          is_nil(value) or is_atom(value)

        _ ->
          true
      end

    unless valid,
      do: raise(ArgumentError, "#{fun}: bad __runtime__ option #{inspect(key)}: #{inspect(value)}")
  end

  defp call_kwargs(rest, fun) do
    case Enum.find(rest, fn {key, _} -> key in @runtime_keys end) do
      nil ->
        Map.new(rest, fn {key, value} -> {Atom.to_string(key), value} end)

      {key, value} ->
        raise ArgumentError,
              "#{fun}: #{key}: #{inspect(value)} looks like a runtime option in the wrong place; " <>
                "write __runtime__: [#{key}: #{inspect(value)}] for the call's own #{key}, or " <>
                "kwargs: [#{key}: #{inspect(value)}] to pass #{key}= to the Python function"
    end
  end

  defp strict([], _fun, _extra), do: %{}

  defp strict([{key, _} | _], fun, extra) do
    known = [:__runtime__, :idempotent | extra]

    raise ArgumentError,
          "#{fun}: " <>
            SnakePort.Options.unknown("option", key, known) <>
            " (it passes no keyword arguments to Python)"
  end

  defp kwargs_map(kwargs, _fun) when is_map(kwargs), do: Map.new(kwargs, fn {k, v} -> {to_string(k), v} end)

  defp kwargs_map(kwargs, fun) when is_list(kwargs) do
    if Keyword.keyword?(kwargs),
      do: Map.new(kwargs, fn {k, v} -> {Atom.to_string(k), v} end),
      else: raise(ArgumentError, "#{fun}: kwargs must be a keyword list or a map, got #{inspect(kwargs)}")
  end

  defp kwargs_map(kwargs, fun),
    do: raise(ArgumentError, "#{fun}: kwargs must be a keyword list or a map, got #{inspect(kwargs)}")
end
