# Modules of the module form for api_test.exs.  In test/support (compiled to
# .beam files, not in memory) so that their generated docs can be read back
# with Code.fetch_docs/1; docs: true runs the tests' interpreter at compile time.

defmodule SnakeBridge.TestModules.Math do
  @moduledoc "Python's math module, with wrappers documented from Python."
  use SnakeBridge.PythonModule, python: "math", functions: [:sqrt, :floor], docs: true
end

defmodule SnakeBridge.TestModules.OsPath do
  @moduledoc "Python's os.path, with an undocumented wrapper."
  use SnakeBridge.PythonModule, python: "os.path", functions: [:join]
end

defmodule SnakeBridge.TestModules.Numpy do
  @moduledoc "numpy, as SnakeBridge's generated modules name it (the Runtime API's own example)."
  use SnakeBridge.PythonModule, python: "numpy"
end
