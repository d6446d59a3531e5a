defmodule Mix.Tasks.Snakebridge.Frames do
  @shortdoc "Dumps or replays a recorded session (the adapter's frames tool)"
  @moduledoc """
  Runs the adapter's recorded-frames tool (`python -m snakeport frames`)
  with the interpreter and settings of a configured pool, so a session
  recorded with `record:` can be read without setting up Python by hand:

      mix snakebridge.frames dump session.frames
      mix snakebridge.frames dump session.frames --id 8 --full
      mix snakebridge.frames replay session.frames
      mix snakebridge.frames replay session.frames --pool ml -- --max-refs 100

  `--pool NAME` (default `default`) picks the pool whose `python:`,
  `python_path:`, `env:`, `adapter:` and `adapter_args:` are used; every
  other argument goes to the tool (`dump --help`, `replay --help`).  A
  replay starts a fresh adapter with the pool's `adapter_args` and the
  adapter's default helper folder before the arguments after `--`.  The
  task exits with the tool's status (a replay that differs: 1).

  The tool needs nothing installed: it runs from the adapter this
  application carries.  (With a `pip install` of the snakeport checkout in a
  venv, `python -m snakeport frames ...` is the same tool.)
  """
  use Mix.Task

  @impl true
  def run(args) do
    case frames(args) do
      0 -> :ok
      status -> exit({:shutdown, status})
    end
  end

  @doc false
  # The tool's exit status, its output on stdout.
  @spec frames([String.t()]) :: non_neg_integer()
  def frames(args) do
    Mix.Task.run("app.config")
    {pool, args} = pool_arg(args, :default, [])

    {:ok, configured} =
      with {:error, error} <- SnakeBridge.Config.pool_options(pool), do: Mix.raise(error.message)

    opts =
      case SnakePort.Options.validate(configured) do
        {:ok, opts} -> opts
        {:error, message} -> Mix.raise("pool #{inspect(pool)}: #{message}")
      end

    {command, env} = command(opts)
    args = adapter_args(args, opts)

    {_, status} =
      System.cmd(opts[:python], command ++ ["frames" | args], env: env, into: IO.stream(:stdio, :line))

    status
  end

  defp pool_arg(["--pool", name | rest], _pool, seen), do: pool_arg(rest, String.to_atom(name), seen)
  defp pool_arg(["--" | _] = rest, pool, seen), do: {pool, Enum.reverse(seen, rest)}
  defp pool_arg([arg | rest], pool, seen), do: pool_arg(rest, pool, [arg | seen])
  defp pool_arg([], pool, seen), do: {pool, Enum.reverse(seen)}

  # The launcher (or -m snakeport), and an environment where the replay's own
  # `python -m snakeport` finds the same package.
  defp command(opts) do
    env = SnakePort.Launcher.environment(opts)

    case opts[:adapter] do
      :module ->
        {["-m", "snakeport"], env}

      launcher ->
        folders = Enum.map(opts[:python_path], &Path.expand/1) ++ [Path.dirname(launcher)]
        inherited = List.keyfind(env, "PYTHONPATH", 0, {nil, System.get_env("PYTHONPATH")}) |> elem(1)
        path = Enum.join(folders ++ List.wrap(if inherited not in [nil, ""], do: inherited), ":")
        {[launcher], List.keystore(env, "PYTHONPATH", 0, {"PYTHONPATH", path})}
    end
  end

  defp adapter_args(["replay" | rest], opts) do
    {tool, adapter} = Enum.split_while(rest, &(&1 != "--"))
    adapter = Enum.drop(adapter, 1)

    helpers =
      case opts[:adapter] do
        :module -> []
        launcher -> ["--helper-path", Path.join(Path.dirname(launcher), "helpers")]
      end

    ["replay" | tool] ++ ["--" | helpers ++ opts[:adapter_args] ++ adapter]
  end

  defp adapter_args(args, _opts), do: args
end
