defmodule Mix.Tasks.Compile.SnakeportAdapter do
  @moduledoc """
  Copies the Python adapter into this application's `priv/python/` in the
  build (`_build/ENV/lib/snakeport/priv/python/`, never this folder), so that
  whatever is built from it (a Mix release above all) carries everything
  needed to start the adapter: the launcher `snakeport_adapter.py`, the
  default helper folder `helpers/`, and the `snakeport` package (pure
  Python, its C sources, and a native module built for this machine when
  there is one: never required, the pure codec is the fallback).

  The sources are the repository's `priv/python/` and `adapter/snakeport/`,
  beside this project.  Only changed files are copied; files that no longer
  have a source are removed.  Where there are no sources (this project
  shipped without the repository around it), its own `priv/python/` is used
  as it is.  The copy is build output: `mix clean` removes it.

  Defined in `mix.exs` rather than in `lib/` so that it exists before this
  project compiles (also when it is compiled as a dependency), and is not
  part of the application.
  """
  use Mix.Task.Compiler

  @root Path.expand("..", __DIR__)
  @package_files ~w(.py .pyi .c .so .typed)

  @impl true
  def run(_args) do
    case sources() do
      [] ->
        {:noop, []}

      sources ->
        target = target!()
        wanted = Map.new(sources, fn {source, relative} -> {Path.join(target, relative), source} end)
        copied = for {path, source} <- wanted, stale?(source, path), do: copy(source, path)
        removed = for path <- existing(target), not Map.has_key?(wanted, path), do: File.rm!(path)
        if copied == [] and removed == [], do: {:noop, []}, else: {:ok, []}
    end
  end

  @impl true
  def clean do
    if sources() != [], do: File.rm_rf!(Path.join(Mix.Project.app_path(), "priv"))
    :ok
  end

  # The copy goes into the build (`_build/ENV/lib/snakeport/priv/python`), never into
  # this folder: Mix links a path dependency's priv/ from the build, so a copy made here
  # would be written into the library's checkout, shared by every app that uses it.
  # Builds before this one did copy here; their copy and the link to it are undone.
  defp target! do
    legacy = Path.expand("priv", __DIR__)

    if File.regular?(Path.join(legacy, "python/snakeport_adapter.py")),
      do: File.rm_rf!(Path.join(legacy, "python"))

    if File.dir?(legacy) and File.ls!(legacy) == [], do: File.rmdir!(legacy)
    priv = Path.join(Mix.Project.app_path(), "priv")
    if match?({:ok, _}, :file.read_link(String.to_charlist(priv))), do: File.rm!(priv)
    Path.join(priv, "python")
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

  defp existing(target) do
    for path <- Path.wildcard(Path.join(target, "**/*")),
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
