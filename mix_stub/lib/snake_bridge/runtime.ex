defmodule SnakeBridge.Runtime do
  @moduledoc """
  SnakeBridge's runtime API over SnakePort: build each request in wire form
  (arguments through `SnakeBridge.Types`) and hand it to `SnakePort`, whose
  pools (started on first use from `config :snakebridge, pools:`) route it to
  the worker that holds the request's session and decode the reply with
  `SnakeBridge.Types`.

  Options (the last argument of most functions):

    * `:kwargs` - keyword list or map of Python keyword arguments; any other
      keyword that is not an option below is passed as a kwarg too
    * `:idempotent` - accepted for SnakeBridge compatibility (no effect)
    * `:__runtime__` - `session_id:`, `pool_name:` (default `:default`),
      `affinity:` (accepted; sessions always stick to one worker), `timeout:`
      (ms or `:infinity`), `stream_timeout:`, `timeout_profile:`

  Timeouts: an explicit `timeout:` wins; then the `timeout_profile:`, then the
  library's profile (`config :snakebridge, runtime: [profiles: %{...},
  library_profiles: %{"lib" => :profile}]`), then `default_timeout`
  (120 s).  A timed-out call returns `{:error, :timeout}` and the adapter is
  told to cancel it.  These settings are cached (`SnakeBridge.Config.reload/0`).

  No function here raises on a failure of the client: a pool that cannot
  start, a dead worker, a reply this VM refuses to decode are all
  `{:error, %SnakeBridge.Error{}}`.
  """

  alias SnakeBridge.{Config, Error, Ref, StreamRef, Types}

  @type module_ref :: module()
  @type function_name :: atom() | String.t()
  @type args :: list()
  @type opts :: keyword()
  @type error_reason :: Error.t() | :timeout

  @reserved [:kwargs, :idempotent, :__runtime__]
  @stream_credit 2
  @stream_batch 1024

  # -- calls -------------------------------------------------------------------

  @doc """
  Call a Python function: `call("math", :sqrt, [16])` -> `{:ok, 4.0}`.

  A dotted function name walks attributes (`"date.fromisoformat"`).
  """
  @spec call(module_ref() | String.t(), function_name() | String.t(), args(), opts()) ::
          {:ok, term()} | {:error, error_reason()}
  def call(module, function, args \\ [], opts \\ []) do
    request(
      %{"call_type" => "call", "python_module" => module_name(module), "function" => to_string(function)},
      args,
      opts
    )
  end

  @doc "Call a function of a module named by a string (SnakeBridge's dynamic call)."
  @spec call_dynamic(String.t(), function_name(), args(), opts()) :: {:ok, term()} | {:error, error_reason()}
  def call_dynamic(module_path, function, args \\ [], opts \\ []) do
    request(
      %{
        "call_type" => "dynamic",
        "module_path" => module_name(module_path),
        "python_module" => module_name(module_path),
        "function" => to_string(function)
      },
      args,
      opts
    )
  end

  @doc """
  Instantiate a class; the instance comes back as a `SnakeBridge.Ref`.

  `call_class("collections", "Counter", [["a", "b"]])`.
  """
  @spec call_class(module_ref() | String.t(), function_name(), args(), opts()) ::
          {:ok, term()} | {:error, error_reason()}
  def call_class(module, class, args \\ [], opts \\ []) do
    request(
      %{
        "call_type" => "class",
        "python_module" => module_name(module),
        "class" => to_string(class),
        "function" => to_string(class)
      },
      args,
      opts
    )
  end

  @doc "Call a method of a ref: `call_method(counter, \"most_common\", [1])`."
  @spec call_method(Ref.t() | StreamRef.t() | map(), function_name(), args(), opts()) ::
          {:ok, term()} | {:error, error_reason()}
  def call_method(ref, method, args \\ [], opts \\ []) do
    request(ref_fields(ref, %{"call_type" => "method", "function" => to_string(method)}), args, opts, ref)
  end

  @doc "Call a helper from the adapter's helper folders."
  @spec call_helper(String.t(), args(), opts() | map()) :: {:ok, term()} | {:error, error_reason()}
  def call_helper(helper, args \\ [], opts \\ [])
  def call_helper(helper, args, opts) when is_map(opts), do: call_helper(helper, args, kwargs: opts)

  def call_helper(helper, args, opts) do
    request(
      %{
        "call_type" => "helper",
        "helper" => helper,
        "function" => helper,
        "library" => helper |> String.split(".") |> hd()
      },
      args,
      opts
    )
  end

  @doc "Read an attribute of a ref."
  @spec get_attr(Ref.t(), atom() | String.t(), opts()) :: {:ok, term()} | {:error, error_reason()}
  def get_attr(ref, attr, opts \\ []) do
    request(ref_fields(ref, %{"call_type" => "get_attr", "attr" => to_string(attr)}), [], opts, ref)
  end

  @doc "Set an attribute of a ref; `{:ok, true}` when done."
  @spec set_attr(Ref.t(), atom() | String.t(), term(), opts()) :: {:ok, term()} | {:error, error_reason()}
  def set_attr(ref, attr, value, opts \\ []) do
    request(ref_fields(ref, %{"call_type" => "set_attr", "attr" => to_string(attr)}), [value], opts, ref)
  end

  @doc "Read a module attribute: `get_module_attr(\"math\", :pi)`."
  @spec get_module_attr(module_ref() | String.t(), atom() | String.t(), opts()) ::
          {:ok, term()} | {:error, error_reason()}
  def get_module_attr(module, attr, opts \\ []) do
    request(
      %{"call_type" => "module_attr", "python_module" => module_name(module), "attr" => to_string(attr)},
      [],
      opts
    )
  end

  # -- streams -------------------------------------------------------------------

  @doc "The next item of a stream, or `{:error, :stop_iteration}` at its end."
  @spec stream_next(StreamRef.t(), opts()) ::
          {:ok, term()} | {:error, :stop_iteration} | {:error, error_reason()}
  def stream_next(stream, opts \\ []) do
    payload = %{
      "call_type" => "stream_next",
      "stream_ref" => StreamRef.to_wire(stream),
      "library" => stream.library
    }

    case request(payload, [], opts, stream) do
      {:ok, %{"__type__" => "stop_iteration"}} -> {:error, :stop_iteration}
      other -> other
    end
  end

  @doc """
  Up to `max` items of a stream in one round trip: `{:ok, {items, done?}}`.

  `unread: n` first puts the last `n` items of the previous batch back at the
  front of the stream (items fetched but not consumed are never lost);
  `max: 0` with `unread:` only puts back.
  """
  @spec stream_take(StreamRef.t(), non_neg_integer(), opts()) ::
          {:ok, {list(), boolean()}} | {:error, error_reason()}
  def stream_take(stream, max, opts \\ []) do
    {unread, opts} = Keyword.pop(opts, :unread, 0)

    payload = %{
      "call_type" => "stream_take",
      "stream_ref" => StreamRef.to_wire(stream),
      "max" => max,
      "unread" => unread,
      "library" => stream.library
    }

    case request(payload, [], opts, stream) do
      {:ok, %{"items" => items, "done" => done}} -> {:ok, {items, done}}
      other -> other
    end
  end

  @doc "`len()` of an iterator; an error for generators."
  @spec stream_len(StreamRef.t(), opts()) :: {:ok, non_neg_integer()} | {:error, error_reason()}
  def stream_len(stream, opts \\ []) do
    request(%{"call_type" => "stream_len", "stream_ref" => StreamRef.to_wire(stream)}, [], opts, stream)
  end

  @doc """
  Call a Python function and feed each item it yields to `callback`.

  A generator or iterator result is consumed item by item; any other
  result is given to the callback once.  Returns `{:ok, :done}`, the call's
  error, or `{:error, :timeout}` when `stream_timeout` (default: the
  application's `default_stream_timeout`) runs out, in which case the
  Python generator is closed rather than left running.
  """
  @spec stream(module_ref() | String.t(), function_name() | String.t(), args(), opts(), (term() -> any())) ::
          :ok | {:ok, :done} | {:error, error_reason()}
  def stream(module, function, args, opts, callback) when is_function(callback, 1) do
    stream_dynamic(module_name(module), to_string(function), args, opts, callback)
  end

  @doc """
  As `stream/5`, for a module named by a string.

  The adapter pushes the items in chunks; at most `credit` chunks (option
  `__runtime__: [stream_credit: n]`, default 2) are in flight, so a slow
  callback stalls the Python generator rather than filling memory.
  """
  @spec stream_dynamic(String.t(), String.t(), args(), opts(), (term() -> any())) ::
          {:ok, :done} | {:error, error_reason()}
  def stream_dynamic(module_path, function, args, opts, callback) when is_function(callback, 1) do
    {runtime, kwargs} = split_opts(opts)

    request = %{
      "python_module" => module_name(module_path),
      "function" => to_string(function),
      "args" => Types.encode(args),
      "kwargs" => Types.encode(kwargs),
      "library" => library_of(%{"python_module" => module_path})
    }

    stream_opts = [
      session: Keyword.get(runtime, :session_id),
      credit: Keyword.get(runtime, :stream_credit, @stream_credit),
      batch: Keyword.get(runtime, :stream_batch, @stream_batch),
      timeout: stream_timeout(runtime, module_path)
    ]

    with {:ok, pool} <- pool(Keyword.get(runtime, :pool_name, :default)) do
      pool |> SnakePort.stream(request, stream_opts, callback) |> Error.wrap()
    end
  end

  # -- refs and sessions -----------------------------------------------------------

  @doc "Release a ref (a generator is closed: its `finally` blocks run)."
  @spec release_ref(Ref.t() | StreamRef.t(), opts()) :: :ok | {:error, error_reason()}
  def release_ref(ref, opts \\ []) do
    wire = if match?(%StreamRef{}, ref), do: StreamRef.to_wire(ref), else: Ref.to_wire(ref)

    case request(%{"call_type" => "release_ref", "ref" => wire}, [], opts, ref) do
      {:ok, _existed} -> :ok
      error -> error
    end
  end

  @doc "Release every ref and stream of a session."
  @spec release_session(String.t(), opts()) :: :ok | {:error, error_reason()}
  def release_session(session_id, opts \\ []) do
    {runtime, _kwargs} = split_opts(opts)

    with {:ok, pool} <- pool(Keyword.get(runtime, :pool_name, :default)),
         {:ok, _count} <-
           SnakePort.release_session(pool, session_id, timeout: Keyword.get(runtime, :timeout, 120_000)) do
      :ok
    else
      error -> Error.wrap(error)
    end
  end

  @doc "The calling process's session (explicit `SnakeBridge.Runtime` option aside): its auto-session."
  @spec current_session() :: String.t()
  def current_session, do: SnakePort.auto_session(Config.core_pool(:default))

  @doc "Forget this process's auto-sessions (one per pool) without releasing them in Python."
  @spec clear_auto_session() :: :ok
  def clear_auto_session, do: SnakePort.forget_auto_sessions()

  @doc "Release this process's auto-sessions (one per pool) in Python and forget them."
  @spec release_auto_session() :: :ok
  def release_auto_session, do: SnakePort.release_auto_sessions()

  @doc """
  The running SnakePort pool behind SnakeBridge's pool `name`, started from
  `config :snakebridge` on first use.
  """
  @spec pool(atom()) :: {:ok, SnakePort.Pool.t()} | {:error, Error.t()}
  def pool(name) do
    core = Config.core_pool(name)

    case SnakePort.Pool.lookup(core) do
      {:ok, pool} -> {:ok, pool}
      {:error, _} -> core |> SnakePort.start_pool(Config.pool_options(name)) |> Error.wrap()
    end
  end

  # -- plumbing --------------------------------------------------------------------

  defp request(base, args, opts, owner \\ nil) do
    {runtime, kwargs} = split_opts(opts)
    library = base["library"] || library_of(base)

    request =
      Map.merge(base, %{"args" => Types.encode(args), "kwargs" => Types.encode(kwargs), "library" => library})

    session = Keyword.get(runtime, :session_id) || owner_session(owner)

    with {:ok, pool} <- pool(Keyword.get(runtime, :pool_name) || owner_pool(owner) || :default) do
      pool
      |> SnakePort.request(request, session: session, timeout: call_timeout(runtime, library))
      |> Error.wrap()
    end
  end

  defp split_opts([]), do: {[], %{}}

  defp split_opts(opts) when is_list(opts) do
    runtime = Keyword.get(opts, :__runtime__, [])
    explicit = opts |> Keyword.get(:kwargs, []) |> Map.new(fn {k, v} -> {to_string(k), v} end)
    extra = for {k, v} <- opts, k not in @reserved, into: %{}, do: {to_string(k), v}
    {runtime, Map.merge(extra, explicit)}
  end

  defp owner_pool(%{pool_name: pool}), do: pool
  defp owner_pool(_), do: nil
  defp owner_session(%{session_id: session}), do: session
  defp owner_session(_), do: nil

  defp ref_fields(%Ref{} = ref, base) do
    Map.merge(base, %{
      "instance" => Ref.to_wire(ref),
      "python_module" => ref.python_module || ref.library,
      "library" => ref.library
    })
  end

  defp ref_fields(%StreamRef{} = stream, base) do
    Map.merge(base, %{
      "instance" => StreamRef.to_wire(stream),
      "python_module" => stream.python_module,
      "library" => stream.library
    })
  end

  defp ref_fields(%{} = wire, base), do: Map.put(base, "instance", wire)

  defp module_name(module) when is_binary(module), do: module

  defp module_name(module) when is_atom(module) do
    if function_exported?(module, :__snakebridge_python_name__, 0) do
      module.__snakebridge_python_name__()
    else
      raise ArgumentError,
            "#{inspect(module)} is not a generated SnakeBridge module; pass the Python module name"
    end
  end

  defp library_of(%{"python_module" => module}) when is_binary(module) do
    case :binary.match(module, ".") do
      {at, _} -> binary_part(module, 0, at)
      :nomatch -> module
    end
  end

  defp library_of(_), do: nil

  # An explicit timeout wins; then a named or library profile; then the default.
  defp call_timeout(runtime, library) do
    case Keyword.get(runtime, :timeout) do
      nil ->
        config = Config.cached()
        profiled(config, runtime, library)[:timeout] || config.default_timeout

      timeout ->
        timeout
    end
  end

  defp stream_timeout(runtime, module_path) do
    config = Config.cached()

    runtime[:stream_timeout] ||
      profiled(config, runtime, library_of(%{"python_module" => module_path}))[:stream_timeout] ||
      config.default_stream_timeout
  end

  defp profiled(%{profiles: profiles}, _runtime, _library) when map_size(profiles) == 0, do: []

  defp profiled(config, runtime, library) do
    name = Keyword.get(runtime, :timeout_profile) || Map.get(config.library_profiles, library)
    Map.get(config.profiles, name, [])
  end
end
