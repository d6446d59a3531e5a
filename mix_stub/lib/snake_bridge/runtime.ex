defmodule SnakeBridge.Runtime do
  @moduledoc """
  SnakeBridge's runtime API over SnakePort: build each request, send it to the
  worker that holds the request's session, decode the reply.

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
  told to cancel it.
  """

  alias SnakeBridge.{Error, Pool, Ref, SessionManager, StreamRef, Types, Worker}

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
    pool = Keyword.get(runtime, :pool_name, :default)
    session = Keyword.get(runtime, :session_id) || SessionManager.auto_session(pool)
    credit = Keyword.get(runtime, :stream_credit, @stream_credit)

    payload = %{
      "call_type" => "stream",
      "python_module" => module_name(module_path),
      "function" => to_string(function),
      "args" => Types.encode(args),
      "kwargs" => Types.encode(kwargs),
      "session_id" => session,
      "library" => library_of(%{"python_module" => module_path}),
      "credit" => credit,
      "batch" => Keyword.get(runtime, :stream_batch, @stream_batch)
    }

    worker = Pool.worker(pool, session)
    deadline = deadline(stream_timeout(opts, module_path))

    case Worker.open_stream(worker, payload) do
      {:ok, id} -> receive_chunks(worker, id, pool, callback, deadline)
      error -> error
    end
  end

  defp receive_chunks(worker, id, pool, callback, deadline) do
    receive do
      {:snakebridge_chunk, ^id, items} ->
        if feed(Types.decode(items, pool), callback, deadline) do
          Worker.credit(worker, id, 1)
          receive_chunks(worker, id, pool, callback, deadline)
        else
          cancel_stream(worker, id)
        end

      {:snakebridge_done, ^id, {:ok, _done}} ->
        {:ok, :done}

      {:snakebridge_done, ^id, {:error, _} = error} ->
        error
    after
      remaining(deadline) -> cancel_stream(worker, id)
    end
  end

  # Each item to the callback while time remains; false once the deadline passed.
  defp feed([], _callback, _deadline), do: true

  defp feed([item | rest], callback, deadline) do
    if past?(deadline) do
      false
    else
      callback.(item)
      feed(rest, callback, deadline)
    end
  end

  # The stream ran out of time: Python closes the generator; drop what is in flight.
  defp cancel_stream(worker, id) do
    Worker.cancel(worker, id)

    receive do
      {:snakebridge_done, ^id, _} -> :ok
    after
      5_000 -> :ok
    end

    flush_chunks(id)
    {:error, :timeout}
  end

  defp flush_chunks(id) do
    receive do
      {:snakebridge_chunk, ^id, _} -> flush_chunks(id)
    after
      0 -> :ok
    end
  end

  defp deadline(:infinity), do: :infinity
  defp deadline(ms), do: System.monotonic_time(:millisecond) + ms
  defp past?(:infinity), do: false
  defp past?(deadline), do: System.monotonic_time(:millisecond) >= deadline
  defp remaining(:infinity), do: :infinity
  defp remaining(deadline), do: max(deadline - System.monotonic_time(:millisecond), 0)

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
    case request(%{"call_type" => "release_session"}, [], put_runtime(opts, :session_id, session_id)) do
      {:ok, _count} -> :ok
      error -> error
    end
  end

  @doc "The calling process's session (explicit `SnakeBridge.Runtime` option aside): its auto-session."
  @spec current_session() :: String.t()
  def current_session, do: SessionManager.auto_session(:default)

  @doc "Forget this process's auto-session without releasing it in Python."
  @spec clear_auto_session() :: :ok
  def clear_auto_session, do: SessionManager.clear()

  @doc "Release this process's auto-session in Python and forget it."
  @spec release_auto_session() :: :ok
  def release_auto_session, do: SessionManager.release()

  # -- plumbing --------------------------------------------------------------------

  defp request(base, args, opts, owner \\ nil) do
    {runtime, kwargs} = split_opts(opts)
    pool = Keyword.get(runtime, :pool_name) || owner_pool(owner) || :default
    session = Keyword.get(runtime, :session_id) || owner_session(owner) || SessionManager.auto_session(pool)
    library = base["library"] || library_of(base)

    payload =
      Map.merge(base, %{
        "session_id" => session,
        "args" => Types.encode(args),
        "kwargs" => Types.encode(kwargs),
        "library" => library
      })

    case Worker.request(Pool.worker(pool, session), payload, call_timeout(runtime, library)) do
      {:ok, value} -> {:ok, Types.decode(value, pool)}
      error -> error
    end
  end

  defp split_opts([]), do: {[], %{}}

  defp split_opts(opts) when is_list(opts) do
    runtime = Keyword.get(opts, :__runtime__, [])
    explicit = opts |> Keyword.get(:kwargs, []) |> Map.new(fn {k, v} -> {to_string(k), v} end)
    extra = for {k, v} <- opts, k not in @reserved, into: %{}, do: {to_string(k), v}
    {runtime, Map.merge(extra, explicit)}
  end

  defp put_runtime(opts, key, value) do
    Keyword.update(opts, :__runtime__, [{key, value}], &Keyword.put(&1, key, value))
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
        config = SnakeBridge.Config.runtime()
        profiled(config, runtime, library)[:timeout] || Keyword.get(config, :default_timeout, 120_000)

      timeout ->
        timeout
    end
  end

  defp stream_timeout(opts, module_path) do
    runtime = opts[:__runtime__] || []
    config = SnakeBridge.Config.runtime()

    runtime[:stream_timeout] ||
      profiled(config, runtime, library_of(%{"python_module" => module_path}))[:stream_timeout] ||
      Keyword.get(config, :default_stream_timeout, 1_800_000)
  end

  defp profiled(config, runtime, library) do
    case Keyword.get(config, :profiles) do
      nil ->
        []

      profiles ->
        name =
          Keyword.get(runtime, :timeout_profile) ||
            Map.get(Keyword.get(config, :library_profiles, %{}), library)

        Map.get(profiles, name, [])
    end
  end
end
