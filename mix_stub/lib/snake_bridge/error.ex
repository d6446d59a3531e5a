defmodule SnakeBridge.Error do
  @moduledoc """
  A Python exception (or an adapter error) returned as `{:error, %SnakeBridge.Error{}}`.

  `python_type` is the exception's class name (`"ValueError"`,
  `"RefNotFoundError"`, ...), `message` its text, `python_traceback` the
  formatted traceback, `context` the request it concerned.
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

  @doc "From the adapter's error map (`type`, `module`, `message`, `traceback`, `context`)."
  @spec from_wire(map()) :: t()
  def from_wire(error) do
    %__MODULE__{
      python_type: error["type"],
      message: error["message"],
      python_traceback: error["traceback"],
      python_module: error["module"],
      context: error["context"] || %{}
    }
  end

  @doc "Raise a failed call's reason: an exception as it is, anything else as a StreamError."
  @spec raise!(term()) :: no_return()
  def raise!(reason) when is_exception(reason), do: raise(reason)
  def raise!(reason), do: raise(new("StreamError", inspect(reason)))

  @impl true
  def message(%__MODULE__{python_type: type, message: message}), do: "#{type}: #{message}"
end
