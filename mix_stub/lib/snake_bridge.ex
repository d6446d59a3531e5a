defmodule SnakeBridge do
  @moduledoc """
  Use Python libraries from Elixir through SnakePort.

      {:ok, 4.0} = SnakeBridge.call("math", :sqrt, [16])
      {:ok, pi} = SnakeBridge.get("math", :pi)
      {:ok, counter} = SnakeBridge.Runtime.call_class("collections", "Counter", [["a", "b", "a"]])
      {:ok, [{"a", 2}]} = SnakeBridge.method(counter, "most_common", [1])

  Every function delegates to `SnakeBridge.Runtime`, whose docs list the options.
  """

  alias SnakeBridge.Runtime

  @doc "Call a Python function (see `SnakeBridge.Runtime.call/4`)."
  defdelegate call(module, function, args \\ [], opts \\ []), to: Runtime

  @doc "Read a module attribute (see `SnakeBridge.Runtime.get_module_attr/3`)."
  defdelegate get(module, attr, opts \\ []), to: Runtime, as: :get_module_attr

  @doc "Call a method of a ref (see `SnakeBridge.Runtime.call_method/4`)."
  defdelegate method(ref, method, args \\ [], opts \\ []), to: Runtime, as: :call_method

  @doc "Read an attribute of a ref (see `SnakeBridge.Runtime.get_attr/3`)."
  defdelegate attr(ref, attr, opts \\ []), to: Runtime, as: :get_attr

  @doc "Set an attribute of a ref (see `SnakeBridge.Runtime.set_attr/4`)."
  defdelegate set_attr(ref, attr, value, opts \\ []), to: Runtime

  @doc "Call a helper (see `SnakeBridge.Runtime.call_helper/3`)."
  defdelegate call_helper(helper, args \\ [], opts \\ []), to: Runtime

  @doc "Stream a Python generator into a callback (see `SnakeBridge.Runtime.stream/5`)."
  defdelegate stream(module, function, args, opts, callback), to: Runtime

  @doc "Release a ref (see `SnakeBridge.Runtime.release_ref/2`)."
  defdelegate release_ref(ref, opts \\ []), to: Runtime

  @doc "Release a session (see `SnakeBridge.Runtime.release_session/2`)."
  defdelegate release_session(session_id, opts \\ []), to: Runtime

  @doc "The calling process's session id."
  defdelegate current_session(), to: Runtime
end
