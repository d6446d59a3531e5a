defmodule SnakePort.Launcher do
  @moduledoc """
  Opens the adapter's Port, and says in words why it could not.

  Before spawning, the interpreter and the script are checked (not found,
  not executable), so those errors name the path and the cause rather than
  `:enoent`.  A Port cannot read its child's stderr, so to quote the last
  lines of an adapter that died before it was ready the adapter runs under a
  small `/bin/sh` wrapper: its stdout (the protocol) goes straight to the
  Port, its stderr still reaches the BEAM's stderr, and the first 64 KB of
  it are also kept in a file (`capture_stderr: false` turns this off).  The
  wrapper exits with the adapter's status.
  """

  alias SnakePort.Error

  @capture_bytes 65_536
  # $0: capture file; "$@": the interpreter and its arguments.  fd 3 is the
  # Port's stdout: the adapter writes frames there; its stderr goes through
  # head|tee (the first 64 KB also into the file), then cat, to our stderr.
  @wrapper """
  exec 3>&1
  s=$( { { "$@" 2>&1 >&3 3>&- 4>&-; echo $? >&4; } | { head -c #{@capture_bytes} | tee "$0"; cat; } >&2 3>&- 4>&-; } 4>&1 )
  exit "$s"
  """

  defmodule Launched do
    @moduledoc "A started adapter: its port, and where its stderr is captured (or `nil`)."
    @enforce_keys [:port, :command]
    defstruct [:port, :command, :capture]
    @type t :: %__MODULE__{port: port(), command: String.t(), capture: Path.t() | nil}
  end

  @doc """
  Spawn the adapter described by the (validated) pool options `opts`: the
  interpreter running the launcher script (`adapter:` a path) or `-m
  snakeport` (`adapter: :module`), with the adapter arguments, `--threads`,
  and the environment (`env:`, and `python_path:` as `SNAKEPORT_PYTHON_PATH`
  for the launcher or at the front of `PYTHONPATH` for the module).
  """
  @spec open(keyword()) :: {:ok, Launched.t()} | {:error, Error.t()}
  def open(opts) do
    runs = runs(opts[:adapter])

    with {:ok, python} <- interpreter(opts[:python]),
         :ok <- script(opts[:adapter]) do
      args = runs ++ opts[:adapter_args] ++ threads(opts[:threads])
      env = for {name, value} <- environment(opts), do: {String.to_charlist(name), String.to_charlist(value)}
      launched = %Launched{port: nil, command: Enum.join([python | runs], " ")}
      spawn_port(python, args, env, capture_path(opts), launched)
    else
      {:error, cause} ->
        command = Enum.join([opts[:python] | runs], " ")
        {:error, Error.new("WorkerDown", "cannot start #{command}: #{cause}")}
    end
  end

  defp runs(:module), do: ["-m", "snakeport"]
  defp runs(script), do: [script]

  defp threads(nil), do: []
  defp threads(n), do: ["--threads", Integer.to_string(n)]

  @doc """
  The environment the adapter gets on top of the BEAM's: `env:`, with
  `python_path:` (expanded) where the adapter reads it.
  """
  @spec environment(keyword()) :: [{String.t(), String.t()}]
  def environment(opts) do
    folders = Enum.map(opts[:python_path], &Path.expand/1)
    env = opts[:env]

    case opts[:adapter] do
      :module when folders == [] ->
        env

      :module ->
        inherited = List.keyfind(env, "PYTHONPATH", 0, {nil, System.get_env("PYTHONPATH")}) |> elem(1)
        path = Enum.join(folders ++ List.wrap(if inherited not in [nil, ""], do: inherited), ":")
        List.keystore(env, "PYTHONPATH", 0, {"PYTHONPATH", path})

      _script ->
        List.keystore(env, "SNAKEPORT_PYTHON_PATH", 0, {"SNAKEPORT_PYTHON_PATH", Enum.join(folders, ":")})
    end
  end

  defp spawn_port(python, args, env, capture, launched) do
    options = [:binary, {:packet, 4}, :exit_status, env: env]

    port =
      case capture do
        nil ->
          Port.open({:spawn_executable, python}, [{:args, args} | options])

        path ->
          File.write!(path, "")

          Port.open({:spawn_executable, "/bin/sh"}, [{:args, ["-c", @wrapper, path, python | args]} | options])
      end

    {:ok, %{launched | port: port, capture: capture}}
  rescue
    error in [ErlangError, File.Error] ->
      {:error, Error.new("WorkerDown", "cannot start #{launched.command}: #{Exception.message(error)}")}
  end

  defp capture_path(opts) do
    if opts[:capture_stderr] and File.exists?("/bin/sh") do
      Path.join(System.tmp_dir!(), "snakeport-stderr-#{System.unique_integer([:positive])}.log")
    end
  end

  defp interpreter(python) do
    if String.contains?(python, "/") do
      executable(Path.expand(python), "the Python interpreter")
    else
      case System.find_executable(python) do
        nil -> {:error, "the Python interpreter #{inspect(python)} is not on the PATH"}
        path -> {:ok, path}
      end
    end
  end

  defp executable(path, what) do
    case File.stat(path) do
      {:ok, %File.Stat{type: :directory}} -> {:error, "#{what} #{path} is a directory"}
      {:ok, %File.Stat{mode: mode}} when Bitwise.band(mode, 0o111) != 0 -> {:ok, path}
      {:ok, _} -> {:error, "#{what} #{path} is not executable"}
      {:error, reason} -> {:error, "#{what} #{path}: #{:file.format_error(reason)}"}
    end
  end

  defp script(:module), do: :ok

  defp script(path) do
    case File.stat(path) do
      {:ok, %File.Stat{type: :regular}} -> :ok
      {:ok, _} -> {:error, "the adapter script #{path} is not a regular file"}
      {:error, reason} -> {:error, "the adapter script #{path}: #{:file.format_error(reason)}"}
    end
  end

  @doc "The last `n` lines the adapter wrote to its stderr (from the capture), or `[]`."
  @spec last_lines(Launched.t(), pos_integer()) :: [String.t()]
  def last_lines(%Launched{capture: nil}, _n), do: []

  def last_lines(%Launched{capture: path}, n) do
    case File.read(path) do
      {:ok, text} -> text |> String.split("\n", trim: true) |> Enum.take(-n)
      {:error, _} -> []
    end
  end

  @doc "Remove the capture file (the adapter has exited or is closed)."
  @spec discard(Launched.t()) :: :ok
  def discard(%Launched{capture: nil}), do: :ok
  def discard(%Launched{capture: path}), do: File.rm(path) |> then(fn _ -> :ok end)
end
