defmodule Mix.Tasks.Compile.SnakeportAdapter do
  @moduledoc """
  Copies the Python adapter into this application's `priv/python/`, so that
  whatever is built from it (a Mix release above all) carries everything
  needed to start the adapter: the launcher `snakeport_adapter.py`, the
  default helper folder `helpers/`, and the `snakeport` package (pure
  Python, its C sources, and a native module built for this machine when
  there is one: never required, the pure codec is the fallback).

  The sources are the repository's `priv/python/` and `adapter/snakeport/`,
  beside this project.  Only changed files are copied; files that no longer
  have a source are removed.  Where there are no sources (this project
  shipped without the repository around it), `priv/python/` is used as it
  is.  The copy is build output and is not in git.

  Defined in `mix.exs` rather than in `lib/` so that it exists before this
  project compiles (also when it is compiled as a dependency), and is not
  part of the application.
  """
  use Mix.Task.Compiler

  @root Path.expand("..", __DIR__)
  @target Path.expand("priv/python", __DIR__)
  @package_files ~w(.py .pyi .c .so .typed)

  @impl true
  def run(_args) do
    case sources() do
      [] ->
        {:noop, []}

      sources ->
        wanted = Map.new(sources, fn {source, relative} -> {Path.join(@target, relative), source} end)
        copied = for {target, source} <- wanted, stale?(source, target), do: copy(source, target)
        removed = for path <- existing(), not Map.has_key?(wanted, path), do: File.rm!(path)
        # Mix links (or copies) priv/ into the build before compilers run; a priv/
        # made just now, or changed, is linked (or copied) again.
        built = Path.join(Mix.Project.app_path(), "priv/python/snakeport_adapter.py")

        if copied == [] and removed == [] and File.exists?(built) do
          {:noop, []}
        else
          Mix.Project.build_structure()
          {:ok, []}
        end
    end
  end

  @impl true
  def clean do
    if sources() != [], do: File.rm_rf!(@target)
    :ok
  end

  # {source path, path relative to priv/python}
  defp sources do
    launcher = Path.join(@root, "priv/python/snakeport_adapter.py")
    package = Path.join(@root, "adapter/snakeport")

    if File.regular?(launcher) and File.dir?(package) do
      helpers = Path.wildcard(Path.join(@root, "priv/python/helpers/*.py"))

      modules =
        for path <- Path.wildcard(Path.join(package, "**/*")),
            File.regular?(path),
            Path.extname(path) in @package_files,
            not String.contains?(path, "__pycache__"),
            do: path

      [{launcher, "snakeport_adapter.py"}] ++
        for(path <- helpers, do: {path, Path.join("helpers", Path.basename(path))}) ++
        for(path <- modules, do: {path, Path.join("snakeport", Path.relative_to(path, package))})
    else
      []
    end
  end

  defp existing do
    for path <- Path.wildcard(Path.join(@target, "**/*")),
        File.regular?(path),
        not String.contains?(path, "__pycache__"),
        do: path
  end

  defp stale?(source, target) do
    case {File.stat(source, time: :posix), File.stat(target, time: :posix)} do
      {{:ok, src}, {:ok, dst}} -> src.mtime > dst.mtime or src.size != dst.size
      _ -> true
    end
  end

  defp copy(source, target) do
    File.mkdir_p!(Path.dirname(target))
    File.cp!(source, target)
    target
  end
end

defmodule SnakePort.MixProject do
  use Mix.Project

  def project do
    [
      app: :snakeport,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      elixirc_paths: elixirc_paths(Mix.env()),
      compilers: Mix.compilers() ++ [:snakeport_adapter],
      deps: []
    ]
  end

  def application do
    [extra_applications: [:logger], mod: {SnakePort.Application, []}]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end
