# Test-only stand-ins for the names SnakePort.SnakeBridgeClient uses when a
# SnakeBridge app has them loaded: Snakepit's error struct and the exception
# structs its Python translation returns (their public fields), and
# SnakeBridge's callback registry (register/1 and handle_tool/1, the entry
# point Snakepit's "snakebridge.callback" tool called).  Compiled for
# snakeport_ex's own tests only (test/support), never into the library.

defmodule Snakepit.Error do
  @moduledoc "Stand-in for `%Snakepit.Error{}`: the fields SnakeBridge matches and reads."
  @enforce_keys [:category, :message, :details]
  defstruct category: nil, message: nil, details: %{}, python_traceback: nil, grpc_status: nil
end

for name <- ~w(PythonException ValueError KeyError IndexError TypeError AttributeError ImportError
               RuntimeError NotImplementedError FileNotFoundError PermissionError ZeroDivisionError) do
  defmodule Module.concat(Snakepit.Error, name) do
    @moduledoc "Stand-in for a Python exception struct of Snakepit's translation."
    defexception [:message, :context, :stacktrace, :python_type, :python_traceback]
  end
end

defmodule SnakeBridge.CallbackRegistry do
  @moduledoc """
  Stand-in for SnakeBridge's callback registry: funs by id; `handle_tool/1`
  runs one with the arguments as they arrive and answers its result, or a
  `callback_error` map (unknown id, wrong arity, the fun raised), as
  SnakeBridge's does.  No JSON decoding or encoding of its own: the tests'
  funs take and return values in SnakeBridge's form.
  """
  use Agent

  def start_link(_opts \\ []), do: Agent.start_link(fn -> %{} end, name: __MODULE__)

  @doc "Register `fun`; `{:ok, id}`."
  def register(fun) when is_function(fun) do
    id = "cb_#{System.unique_integer([:positive])}_#{System.system_time(:millisecond)}"
    Agent.update(__MODULE__, &Map.put(&1, id, fun))
    {:ok, id}
  end

  @doc "The tag SnakeBridge's `Types.encode/1` makes of a fun it registered."
  def tag(fun) do
    {:ok, id} = register(fun)
    pid = self() |> :erlang.pid_to_list() |> IO.iodata_to_binary()
    %{"__type__" => "callback", "__schema__" => 1, "ref_id" => id, "pid" => pid, "arity" => arity(fun)}
  end

  def handle_tool(%{"callback_id" => id} = params) do
    args = List.wrap(params["args"])

    case Agent.get(__MODULE__, &Map.get(&1, id)) do
      nil ->
        %{"__type__" => "callback_error", "reason" => inspect(:callback_not_found)}

      fun ->
        if arity(fun) == length(args) do
          try do
            apply(fun, args)
          rescue
            exception -> %{"__type__" => "callback_error", "reason" => inspect({:exception, exception})}
          end
        else
          %{"__type__" => "callback_error", "reason" => inspect({:arity_mismatch, arity(fun)})}
        end
    end
  end

  defp arity(fun), do: fun |> Function.info() |> Keyword.fetch!(:arity)
end
