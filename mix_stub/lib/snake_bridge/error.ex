defmodule SnakeBridge.Error do
  @moduledoc """
  A Python exception (or an adapter error) returned as `{:error, %SnakeBridge.Error{}}`.

  `python_type` is the exception's class name (`"ValueError"`,
  `"RefNotFoundError"`, ...), `message` its text, `python_traceback` the
  formatted traceback, `context` the request it concerned.  Errors of the
  client itself carry SnakePort's names (`"WorkerDown"`, `"WorkerRestarted"`,
  `"UnsafeTerm"`, `"CallbackDepthError"`, ...; see `SnakePort.Error`), and
  `"PoolStartError"` for a configuration SnakeBridge refuses.  The bang
  functions (`SnakeBridge.call!/4`, ...) raise it; a timeout raises it with
  `python_type: "Timeout"`.
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

  @doc "A module as a bang function's error names it: `time`, `Numpy` (no quotes around a string)."
  @spec name(String.t() | atom()) :: String.t()
  def name(module) when is_binary(module), do: module
  def name(module), do: inspect(module)

  @doc """
  A bang function's value: `{:ok, value}` gives `value`; `{:error, reason}`
  raises a `SnakeBridge.Error` (`python_type: "Timeout"` for a timeout),
  `what` naming the call in the messages of errors that do not name it.
  """
  @spec unwrap!({:ok, value} | {:error, term()} | :ok, String.t()) :: value when value: term()
  def unwrap!({:ok, value}, _what), do: value
  def unwrap!(:ok, _what), do: :ok
  def unwrap!({:error, %__MODULE__{} = error}, _what), do: raise(error)
  def unwrap!({:error, :timeout}, what), do: raise(new("Timeout", "#{what} timed out"))
  def unwrap!({:error, reason}, what), do: raise(new("Error", "#{what} failed: #{inspect(reason)}"))

  @impl true
  def message(%__MODULE__{python_type: type, message: message}), do: "#{type}: #{message}"
end
