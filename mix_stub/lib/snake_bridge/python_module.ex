defmodule SnakeBridge.PythonModule do
  @moduledoc """
  An Elixir module that stands for a Python module, as SnakeBridge's
  generated modules do:

      defmodule Numpy do
        use SnakeBridge.PythonModule, python: "numpy"
      end

      {:ok, 2.0} = SnakeBridge.Runtime.call(Numpy, :mean, [[1, 2, 3]])
      {:ok, pi} = SnakeBridge.get(Numpy, :pi)

  It defines the hooks the runtime API reads: `__snakebridge_python_name__/0`
  (the Python module, `"numpy"`) and `__snakebridge_library__/0` (its
  library, the first segment of the name unless `library:` says otherwise,
  which picks the library's timeout profile).

  Options:

    * `:python` - the Python module's name (required)
    * `:library` - the library it belongs to (default: the name's first segment)
    * `:functions` - functions to wrap: `functions: [:mean, :std]` defines
      `Numpy.mean(args \\\\ [], opts \\\\ [])` and `Numpy.mean!/2`, calling
      `SnakeBridge.Runtime.call/4` (and `call!/4`) with the same arguments
    * `:docs` - with `docs: true`, the wrappers' `@doc` is the Python
      function's signature and docstring, read at compile time by running
      the configured interpreter (`config :snakebridge, python:`, else
      `SNAKEPORT_PYTHON`, else `python3`; with `python_path:` on its path).
      Where that Python or the module is not available, the module still
      compiles, with a warning and a generic `@doc`; the wrappers are the
      same either way, so code using them does not depend on it.
  """

  @options [:python, :library, :functions, :docs]

  @introspect """
  import importlib, inspect, sys
  module = importlib.import_module(sys.argv[1])
  out = []
  for name in sys.argv[2:]:
      obj = getattr(module, name, None)
      if obj is None:
          out.append(name + "\\x1f!\\x1f")
          continue
      try:
          signature = str(inspect.signature(obj))
      except (TypeError, ValueError):
          signature = "(...)"
      out.append(name + "\\x1f" + signature + "\\x1f" + (inspect.getdoc(obj) or ""))
  sys.stdout.write("\\x1e".join(out))
  """

  defmacro __using__(opts) do
    for {key, _} <- opts, key not in @options do
      raise ArgumentError,
            "use SnakeBridge.PythonModule: " <> SnakePort.Options.unknown("option", key, @options)
    end

    python = Keyword.get(opts, :python)

    unless is_binary(python) and python != "",
      do:
        raise(
          ArgumentError,
          ~s[use SnakeBridge.PythonModule needs python: "module.name", got #{inspect(python)}]
        )

    library = Keyword.get(opts, :library) || python |> String.split(".") |> hd()
    functions = Keyword.get(opts, :functions, [])

    unless is_list(functions) and Enum.all?(functions, &is_atom/1),
      do: raise(ArgumentError, "use SnakeBridge.PythonModule: functions: must be a list of atoms")

    docs = if Keyword.get(opts, :docs, false), do: introspect(python, functions), else: %{}

    wrappers =
      for function <- functions do
        doc = doc(python, function, Map.get(docs, Atom.to_string(function)))
        name = Atom.to_string(function)

        quote do
          @doc unquote(doc)
          @spec unquote(function)(list(), keyword()) ::
                  {:ok, term()} | {:error, SnakeBridge.Error.t() | :timeout}
          def unquote(function)(args \\ [], opts \\ []),
            do: SnakeBridge.Runtime.call(__MODULE__, unquote(name), args, opts)

          @doc "As `#{unquote(function)}/2`, returning the value or raising `SnakeBridge.Error`."
          @spec unquote(:"#{function}!")(list(), keyword()) :: term()
          def unquote(:"#{function}!")(args \\ [], opts \\ []),
            do: SnakeBridge.Runtime.call!(__MODULE__, unquote(name), args, opts)
        end
      end

    quote do
      @doc "The Python module this module stands for: `#{unquote(python)}`."
      @spec __snakebridge_python_name__() :: String.t()
      def __snakebridge_python_name__, do: unquote(python)

      @doc "The library the Python module belongs to: `#{unquote(library)}`."
      @spec __snakebridge_library__() :: String.t()
      def __snakebridge_library__, do: unquote(library)

      unquote_splicing(wrappers)
    end
  end

  defp doc(python, function, nil) do
    """
    Python's `#{python}.#{function}`: `args` are its positional arguments,
    `opts` its keyword arguments and SnakeBridge's options (as for
    `SnakeBridge.Runtime.call/4`).
    """
  end

  defp doc(python, function, {signature, docstring}) do
    body = if docstring == "", do: "", else: "\n" <> indent(docstring) <> "\n"

    """
    Python's `#{python}.#{function}#{signature}`.
    #{body}
    `args` are its positional arguments, `opts` its keyword arguments and
    SnakeBridge's options (as for `SnakeBridge.Runtime.call/4`).
    """
  end

  defp indent(text), do: text |> String.split("\n") |> Enum.map_join("\n", &("    " <> &1))

  # %{"name" => {signature, docstring}} from the configured Python, or %{} with a warning.
  defp introspect(_python, []), do: %{}

  defp introspect(python, functions) do
    interpreter = SnakeBridge.Config.python()
    path = Application.get_env(:snakebridge, :python_path, []) |> Enum.map(&Path.expand/1)
    inherited = System.get_env("PYTHONPATH")
    env = [{"PYTHONPATH", Enum.join(path ++ List.wrap(inherited), ":")}]
    args = ["-c", @introspect, python | Enum.map(functions, &Atom.to_string/1)]

    case System.cmd(interpreter, args, env: env, stderr_to_stdout: true) do
      {out, 0} ->
        for record <- String.split(out, "\x1e", trim: true), into: %{} do
          [name, signature, docstring] = String.split(record, "\x1f", parts: 3)
          if signature == "!", do: IO.warn("SnakeBridge.PythonModule: #{python} has no #{name}", [])
          {name, if(signature == "!", do: nil, else: {signature, docstring})}
        end

      {out, status} ->
        IO.warn(
          "SnakeBridge.PythonModule: no docs for #{python} (#{interpreter} exited with status #{status}): " <>
            String.slice(out, -500, 500),
          []
        )

        %{}
    end
  rescue
    error in ErlangError ->
      IO.warn("SnakeBridge.PythonModule: no docs for #{python}: #{Exception.message(error)}", [])
      %{}
  end
end
