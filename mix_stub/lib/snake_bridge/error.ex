defmodule SnakeBridge.Error do
  @moduledoc """
  A Python exception (or an adapter error) returned as `{:error, %SnakeBridge.Error{}}`.

  `python_type` is the exception's class name (`"ValueError"`,
  `"RefNotFoundError"`, ...), `message` its text, `python_traceback` the
  formatted traceback, `context` the request it concerned.  Errors of the
  client itself carry SnakePort's names (`"WorkerDown"`, `"WorkerRestarted"`,
  `"UnsafeTerm"`, `"CallbackDepthError"`, ...; see `SnakePort.Error`).
  """
  defexception [:python_type, :message, :python_traceback, :python_module, context: %{}]

  @type t :: %__MODULE__{
          python_type: String.t(),
          message: String.t(),
          python_traceback: String.t() | nil,
          python_module: String.t() | nil,
          context: map()
        }

  @doc false
  @spec new(String.t(), String.t()) :: t()
  def new(type, message), do: %__MODULE__{python_type: type, message: message}

  @doc "A SnakePort error as SnakeBridge's (same fields)."
  @spec from_core(SnakePort.Error.t()) :: t()
  def from_core(%SnakePort.Error{} = error), do: struct(__MODULE__, Map.from_struct(error))

  @doc false
  # A core result with SnakeBridge's error struct.
  @spec wrap(term()) :: term()
  def wrap({:error, %SnakePort.Error{} = error}), do: {:error, from_core(error)}
  def wrap(result), do: result

  @doc "Raise a failed call's reason: an exception as it is, anything else as a StreamError."
  @spec raise!(term()) :: no_return()
  def raise!(reason) when is_exception(reason), do: raise(reason)
  def raise!(reason), do: raise(new("StreamError", inspect(reason)))

  @impl true
  def message(%__MODULE__{python_type: type, message: message}), do: "#{type}: #{message}"
end
