defmodule SnakeBridge.Runtime do
  @moduledoc """
  SnakeBridge's runtime API over SnakePort: build each request in wire form
  (arguments through `SnakeBridge.Types`) and hand it to `SnakePort`, whose
  pools (started on first use from `config :snakebridge`, see
  `SnakeBridge.Config`) route it to the worker that holds the request's
  session and decode the reply with `SnakeBridge.Types`.

  Options (the last argument), read strictly by `SnakeBridge.Runtime.Opts`:

    * calls (`call/4`, `call_dynamic/4`, `call_class/4`, `call_method/4`,
      `call_helper/3`, `stream/5`) pass any other keyword to Python as a
      keyword argument, as SnakeBridge does, and `kwargs:` too; the other
      functions take no keyword arguments, and refuse unknown keywords
    * `:idempotent` - accepted for SnakeBridge compatibility (no effect)
    * `:__runtime__` - `session_id:`, `pool_name:` (default `:default`),
      `timeout:` (ms or `:infinity`), `timeout_profile:`, `stream_timeout:`,
      `stream_credit:`, `stream_batch:`, `arrays:` (`:ref` or `:tensor`),
      `thread:` (`:main` runs the call on Python's main thread), `node:`
      (that node's workers of the pool), `affinity:` (accepted; sessions
      always stick to one worker); a misspelt key is an `ArgumentError`

  **Refs go home.**  A call on a ref (`call_method/4`, `get_attr/3`,
  `release_ref/2`, a `StreamRef`'s `Enum`) runs in the ref's session on the
  worker that holds its object, from any process on any connected node.  A
  call that passes refs as arguments, and names no `session_id:`, does the
  same for the first of them (its results live in that ref's session).

  Timeouts: an explicit `timeout:` wins; then the `timeout_profile:`, then the
  library's profile (`config :snakebridge, runtime: [profiles: %{...},
  library_profiles: %{"lib" => :profile}]`), then `default_timeout`
  (120 s).  A timed-out call returns `{:error, :timeout}` and the adapter is
  told to cancel it: Python raises `snakeport.Cancelled` in the call at its
  next bytecode (and `time.sleep` wakes), so the worker is free again at
  once; C code that ignores the interrupt keeps running until it returns,
  and is reported (`on_stuck:`, see `SnakeBridge.Config`).  Whatever the
  adapter answers for a cancelled call is dropped.  These settings are
  cached (`SnakeBridge.Config.reload/0`).

  No function here raises on a failure of the client or of Python: a pool
  that cannot start, a dead worker, a reply this VM refuses to decode are
  all `{:error, %SnakeBridge.Error{}}`.  The bang variants (`call!/4`, ...)
  return the value or raise that `SnakeBridge.Error`.  Options that are not
  options raise `ArgumentError` (a bug in the calling code).

  Calls emit `:telemetry` events when the application has `:telemetry`
  (`SnakeBridge.Telemetry`).
  """

  alias SnakeBridge.{Config, Error, Ref, StreamRef, Telemetry, Types}
  alias SnakeBridge.Runtime.Opts

  @type module_ref :: module()
  @type function_name :: atom() | String.t()
  @type args :: list()
  @type opts :: keyword()
  @type error_reason :: Error.t() | :timeout

  @stream_credit 2
  @stream_batch 1024

  # -- calls -------------------------------------------------------------------

  @doc """
  Call a Python function: `call("math", :sqrt, [16])` -> `{:ok, 4.0}`.

  `module` is a Python module name, or a module defined with `use
  SnakeBridge.PythonModule, python: "numpy"`.  A dotted function name walks
  attributes (`"date.fromisoformat"`).
  """
  @spec call(module_ref() | String.t(), function_name() | String.t(), args(), opts()) ::
          {:ok, term()} | {:error, error_reason()}
  def call(module, function, args \\ [], opts \\ []) do
    o = Opts.read(opts, "call/4", :call)
    base = %{"call_type" => "call", "python_module" => module_name(module), "function" => to_string(function)}
    run(library(base, module), args ++ o.args, o, nil, {module, "function"})
  end

  @doc "As `call/4`, returning the value or raising `SnakeBridge.Error`."
  @spec call!(module_ref() | String.t(), function_name() | String.t(), args(), opts()) :: term()
  def call!(module, function, args \\ [], opts \\ []),
    do: module |> call(function, args, opts) |> Error.unwrap!("#{Error.name(module)}.#{function}")

  @doc "Call a function of a module named by a string (SnakeBridge's dynamic call)."
  @spec call_dynamic(String.t(), function_name(), args(), opts()) :: {:ok, term()} | {:error, error_reason()}
  def call_dynamic(module_path, function, args \\ [], opts \\ []) do
    o = Opts.read(opts, "call_dynamic/4", :call)

    base = %{
      "call_type" => "dynamic",
      "module_path" => module_name(module_path),
      "python_module" => module_name(module_path),
      "function" => to_string(function)
    }

    run(library(base, module_path), args ++ o.args, o, nil, {module_path, "dynamic"})
  end

  @doc "As `call_dynamic/4`, returning the value or raising `SnakeBridge.Error`."
  @spec call_dynamic!(String.t(), function_name(), args(), opts()) :: term()
  def call_dynamic!(module_path, function, args \\ [], opts \\ []),
    do: module_path |> call_dynamic(function, args, opts) |> Error.unwrap!("#{module_path}.#{function}")

  @doc """
  Instantiate a class; the instance comes back as a `SnakeBridge.Ref`.

  `call_class("collections", "Counter", [["a", "b"]])`.
  """
  @spec call_class(module_ref() | String.t(), function_name(), args(), opts()) ::
          {:ok, term()} | {:error, error_reason()}
  def call_class(module, class, args \\ [], opts \\ []) do
    o = Opts.read(opts, "call_class/4", :call)

    base = %{
      "call_type" => "class",
      "python_module" => module_name(module),
      "class" => to_string(class),
      "function" => to_string(class)
    }

    run(library(base, module), args ++ o.args, o, nil, {module, "class"})
  end

  @doc "As `call_class/4`, returning the instance or raising `SnakeBridge.Error`."
  @spec call_class!(module_ref() | String.t(), function_name(), args(), opts()) :: term()
  def call_class!(module, class, args \\ [], opts \\ []),
    do: module |> call_class(class, args, opts) |> Error.unwrap!("#{Error.name(module)}.#{class}()")

  @doc "Call a method of a ref: `call_method(counter, \"most_common\", [1])`."
  @spec call_method(Ref.t() | StreamRef.t() | map(), function_name(), args(), opts()) ::
          {:ok, term()} | {:error, error_reason()}
  def call_method(ref, method, args \\ [], opts \\ []) do
    o = Opts.read(opts, "call_method/4", :call)
    base = ref_fields(ref, %{"call_type" => "method", "function" => to_string(method)})
    run(base, args ++ o.args, o, ref, {base["python_module"], "method"})
  end

  @doc "As `call_method/4`, returning the value or raising `SnakeBridge.Error`."
  @spec call_method!(Ref.t() | StreamRef.t() | map(), function_name(), args(), opts()) :: term()
  def call_method!(ref, method, args \\ [], opts \\ []),
    do: ref |> call_method(method, args, opts) |> Error.unwrap!("#{inspect(ref)}.#{method}()")

  @doc """
  Call a helper from the adapter's helper folders (`priv/python/helpers`
  of the adapter, and `--helper-path` folders); a map as the last argument
  is the helper's keyword arguments.
  """
  @spec call_helper(String.t(), args(), opts() | map()) :: {:ok, term()} | {:error, error_reason()}
  def call_helper(helper, args \\ [], opts \\ [])
  def call_helper(helper, args, opts) when is_map(opts), do: call_helper(helper, args, kwargs: opts)

  def call_helper(helper, args, opts) do
    o = Opts.read(opts, "call_helper/3", :call)

    base = %{
      "call_type" => "helper",
      "helper" => helper,
      "function" => helper,
      "library" => helper |> String.split(".") |> hd()
    }

    run(base, args ++ o.args, o, nil, {helper, "helper"})
  end

  @doc "As `call_helper/3`, returning the value or raising `SnakeBridge.Error`."
  @spec call_helper!(String.t(), args(), opts() | map()) :: term()
  def call_helper!(helper, args \\ [], opts \\ []),
    do: helper |> call_helper(args, opts) |> Error.unwrap!("helper #{helper}")

  @doc "Read an attribute of a ref."
  @spec get_attr(Ref.t(), atom() | String.t(), opts()) :: {:ok, term()} | {:error, error_reason()}
  def get_attr(ref, attr, opts \\ []) do
    o = Opts.read(opts, "get_attr/3", :strict)
    base = ref_fields(ref, %{"call_type" => "get_attr", "attr" => to_string(attr)})
    run(base, [], o, ref, {base["python_module"], "get_attr"})
  end

  @doc "As `get_attr/3`, returning the value or raising `SnakeBridge.Error`."
  @spec get_attr!(Ref.t(), atom() | String.t(), opts()) :: term()
  def get_attr!(ref, attr, opts \\ []),
    do: ref |> get_attr(attr, opts) |> Error.unwrap!("#{inspect(ref)}.#{attr}")

  @doc "Set an attribute of a ref; `{:ok, true}` when done."
  @spec set_attr(Ref.t(), atom() | String.t(), term(), opts()) :: {:ok, term()} | {:error, error_reason()}
  def set_attr(ref, attr, value, opts \\ []) do
    o = Opts.read(opts, "set_attr/4", :strict)
    base = ref_fields(ref, %{"call_type" => "set_attr", "attr" => to_string(attr)})
    run(base, [value], o, ref, {base["python_module"], "set_attr"})
  end

  @doc "As `set_attr/4`, returning `true` or raising `SnakeBridge.Error`."
  @spec set_attr!(Ref.t(), atom() | String.t(), term(), opts()) :: term()
  def set_attr!(ref, attr, value, opts \\ []),
    do: ref |> set_attr(attr, value, opts) |> Error.unwrap!("setting #{inspect(ref)}.#{attr}")

  @doc "Read a module attribute: `get_module_attr(\"math\", :pi)`."
  @spec get_module_attr(module_ref() | String.t(), atom() | String.t(), opts()) ::
          {:ok, term()} | {:error, error_reason()}
  def get_module_attr(module, attr, opts \\ []) do
    o = Opts.read(opts, "get_module_attr/3", :strict)
    base = %{"call_type" => "module_attr", "python_module" => module_name(module), "attr" => to_string(attr)}
    run(library(base, module), [], o, nil, {module, "module_attr"})
  end

  @doc "As `get_module_attr/3`, returning the value or raising `SnakeBridge.Error`."
  @spec get_module_attr!(module_ref() | String.t(), atom() | String.t(), opts()) :: term()
  def get_module_attr!(module, attr, opts \\ []),
    do: module |> get_module_attr(attr, opts) |> Error.unwrap!("#{Error.name(module)}.#{attr}")

  # -- streams -------------------------------------------------------------------

  @doc "The next item of a stream, or `{:error, :stop_iteration}` at its end."
  @spec stream_next(StreamRef.t(), opts()) ::
          {:ok, term()} | {:error, :stop_iteration} | {:error, error_reason()}
  def stream_next(stream, opts \\ []) do
    o = Opts.read(opts, "stream_next/2", :strict)

    payload = %{
      "call_type" => "stream_next",
      "stream_ref" => StreamRef.to_wire(stream),
      "library" => stream.library
    }

    case run(payload, [], o, stream, nil) do
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
    o = Opts.read(opts, "stream_take/3", :strict, [:unread])

    payload = %{
      "call_type" => "stream_take",
      "stream_ref" => StreamRef.to_wire(stream),
      "max" => max,
      "unread" => Keyword.get(opts, :unread, 0),
      "library" => stream.library
    }

    case run(payload, [], o, stream, nil) do
      {:ok, %{"items" => items, "done" => done}} -> {:ok, {items, done}}
      other -> other
    end
  end

  @doc "`len()` of an iterator; an error for generators."
  @spec stream_len(StreamRef.t(), opts()) :: {:ok, non_neg_integer()} | {:error, error_reason()}
  def stream_len(stream, opts \\ []) do
    o = Opts.read(opts, "stream_len/2", :strict)
    run(%{"call_type" => "stream_len", "stream_ref" => StreamRef.to_wire(stream)}, [], o, stream, nil)
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
    push(module, to_string(function), args, Opts.read(opts, "stream/5", :call), callback)
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
    push(module_path, to_string(function), args, Opts.read(opts, "stream_dynamic/5", :call), callback)
  end

  defp push(module, function, args, %Opts{runtime: runtime} = o, callback) do
    base = library(%{"python_module" => module_name(module), "function" => function}, module)
    {args, kwargs, located} = Types.encode_request(args ++ o.args, o.kwargs)

    request =
      base
      |> Map.merge(%{"args" => args, "kwargs" => kwargs})
      |> runtime_fields(runtime)

    session = Keyword.get(runtime, :session_id) || owner_session(located)
    pool_name = Keyword.get(runtime, :pool_name) || owner_pool(located) || :default

    stream_opts = [
      session: session,
      credit: Keyword.get(runtime, :stream_credit, @stream_credit),
      batch: Keyword.get(runtime, :stream_batch, @stream_batch),
      timeout: stream_timeout(runtime, base["library"])
    ]

    Telemetry.span(metadata({module, "stream"}, request, pool_name), fn ->
      case where(runtime, located, session, pool_name) do
        nil ->
          with {:ok, pool} <- pool(pool_name) do
            pool |> SnakePort.stream(request, stream_opts, callback) |> Error.wrap()
          end

        pin ->
          pool_name
          |> Config.core_pool()
          |> SnakePort.stream(request, [pin | stream_opts], callback)
          |> Error.wrap()
      end
    end)
  end

  # -- refs and sessions -----------------------------------------------------------

  @doc "Release a ref (a generator is closed: its `finally` blocks run)."
  @spec release_ref(Ref.t() | StreamRef.t(), opts()) :: :ok | {:error, error_reason()}
  def release_ref(ref, opts \\ []) do
    o = Opts.read(opts, "release_ref/2", :strict)
    wire = if match?(%StreamRef{}, ref), do: StreamRef.to_wire(ref), else: Ref.to_wire(ref)

    case run(%{"call_type" => "release_ref", "ref" => wire}, [], o, ref, nil) do
      {:ok, _existed} -> :ok
      error -> error
    end
  end

  @doc "Release every ref and stream of a session."
  @spec release_session(String.t(), opts()) :: :ok | {:error, error_reason()}
  def release_session(session_id, opts \\ []) do
    %Opts{runtime: runtime} = Opts.read(opts, "release_session/2", :strict)

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
  `config :snakebridge` on first use (a configuration it refuses is
  `{:error, %SnakeBridge.Error{python_type: "PoolStartError"}}`).  A pool
  this node's config does not name, which runs (or ran) on another node, is
  not started here: the remote pool (`SnakePort.Remote`) is returned; on a
  distributed node such a pool is never started here (`PoolNotStarted`).
  """
  @spec pool(atom()) :: {:ok, SnakePort.Pool.t() | SnakePort.Remote.t()} | {:error, Error.t()}
  def pool(name) do
    core = Config.core_pool(name)

    case SnakePort.Pool.lookup(core) do
      {:ok, pool} ->
        {:ok, pool}

      {:error, _} ->
        cond do
          Config.configured?(name) -> start(name, core)
          elsewhere?(core) -> core |> SnakePort.Remote.lookup() |> Error.wrap()
          Node.alive?() -> with {:ok, _} <- Config.pool_options(name), do: {:error, not_here(name)}
          true -> start(name, core)
        end
    end
  end

  defp start(name, core) do
    with {:ok, opts} <- Config.pool_options(name), do: core |> SnakePort.start_pool(opts) |> Error.wrap()
  end

  # On a distributed node a pool starts only where it is configured: a call made
  # before :pg has learnt the cluster, or while the pool's nodes are away, is an
  # error rather than a pool of this node that would then hide the cluster's.
  defp not_here(name) do
    Error.new(
      "PoolNotStarted",
      "pool #{inspect(name)} is not in this node's config :snakebridge, pools: " <>
        "and no connected node runs it (a distributed node starts only the pools it names)"
    )
  end

  # Runs on another node, or did (a node that died: its callers get NodeDown, not a new pool here).
  defp elsewhere?(core), do: SnakePort.Cluster.running_elsewhere?(core) or SnakePort.Cluster.seen?(core)

  # -- plumbing --------------------------------------------------------------------

  # `telemetry`: {module as given, SnakeBridge's call type}, or nil for the
  # stream and release plumbing.
  defp run(base, args, %Opts{runtime: runtime, kwargs: kwargs}, owner, telemetry) do
    {args, kwargs, located} = Types.encode_request(args, kwargs)
    owner = owner || located

    request =
      base
      |> Map.merge(%{"args" => args, "kwargs" => kwargs})
      |> Map.put("library", base["library"] || library_of(base["python_module"]))
      |> runtime_fields(runtime)

    session = Keyword.get(runtime, :session_id) || owner_session(owner)
    pool_name = Keyword.get(runtime, :pool_name) || owner_pool(owner) || :default
    timeout = call_timeout(runtime, request["library"])

    execute = fn ->
      case where(runtime, owner, session, pool_name) do
        nil ->
          with {:ok, pool} <- pool(pool_name) do
            pool |> SnakePort.request(request, session: session, timeout: timeout) |> Error.wrap()
          end

        pin ->
          pool_name
          |> Config.core_pool()
          |> SnakePort.request(request, [pin, session: session, timeout: timeout])
          |> Error.wrap()
      end
    end

    case telemetry do
      nil -> execute.()
      telemetry -> Telemetry.span(metadata(telemetry, request, pool_name), execute)
    end
  end

  # Where a request must run when that is not this node: `node:` of
  # `__runtime__`, else the worker of the ref it concerns (the method's ref,
  # else the first ref among its arguments) when the ref lives on another
  # node and the request runs in the ref's session of the ref's pool.
  defp where(runtime, owner, session, pool_name) do
    case Keyword.get(runtime, :node) do
      nil -> ref_worker(owner, session, pool_name)
      node -> if local?(node), do: nil, else: {:node, node}
    end
  end

  defp ref_worker(%{node: node, worker: worker, session_id: session, pool_name: pool}, session, pool)
       when node != nil and worker != nil do
    if local?(node), do: nil, else: {:worker, {node, worker}}
  end

  defp ref_worker(_owner, _session, _pool_name), do: nil

  defp local?(node), do: node == node() or node == :nonode@nohost

  defp metadata({module, call_type}, request, pool_name) do
    %{
      module: module,
      function: request["function"] || request["attr"],
      library: request["library"],
      python_module: request["python_module"],
      call_type: call_type,
      pool: pool_name
    }
  end

  # The request fields of __runtime__ options Python reads, and the app's `arrays:` default.
  defp runtime_fields(request, runtime) do
    request =
      case Keyword.get(runtime, :arrays) || Config.cached().arrays do
        :tensor -> Map.put(request, "arrays", "tensor")
        :ref -> request
      end

    case Keyword.get(runtime, :thread) do
      :main -> Map.put(request, "thread", "main")
      _ -> request
    end
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
    if python_module?(module) do
      module.__snakebridge_python_name__()
    else
      raise ArgumentError,
            "#{Error.name(module)} is not a Python module for SnakeBridge: pass the Python module's name " <>
              ~s[("numpy"), or define it with `use SnakeBridge.PythonModule, python: "numpy"`]
    end
  end

  defp python_module?(module),
    do: Code.ensure_loaded?(module) and function_exported?(module, :__snakebridge_python_name__, 0)

  # The request's library: a PythonModule's own, else the module's first segment.
  defp library(base, module) when is_atom(module) do
    if function_exported?(module, :__snakebridge_library__, 0),
      do: Map.put(base, "library", module.__snakebridge_library__()),
      else: Map.put(base, "library", library_of(base["python_module"]))
  end

  defp library(base, _module), do: Map.put(base, "library", library_of(base["python_module"]))

  defp library_of(module) when is_binary(module) do
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

  defp stream_timeout(runtime, library) do
    config = Config.cached()

    runtime[:stream_timeout] || profiled(config, runtime, library)[:stream_timeout] ||
      config.default_stream_timeout
  end

  defp profiled(%{profiles: profiles}, _runtime, _library) when map_size(profiles) == 0, do: []

  defp profiled(config, runtime, library) do
    name = Keyword.get(runtime, :timeout_profile) || Map.get(config.library_profiles, library)
    Map.get(config.profiles, name, [])
  end
end
