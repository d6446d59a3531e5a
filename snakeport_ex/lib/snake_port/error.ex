defmodule SnakePort.Error do
  @moduledoc """
  A failed request: a Python exception, or a failure of SnakePort itself.

  Returned as `{:error, %SnakePort.Error{}}`, never raised by a call.
  `python_type` is the exception's class name for Python errors
  (`"ValueError"`, `"RefNotFoundError"`, ...) and one of SnakePort's own
  names otherwise:

    * `"WorkerDown"` - the adapter died or could not start; the message names
      the interpreter, the script and the cause (with the last lines of its
      stderr when they could be captured)
    * `"WorkerRestarted"` - the worker restarted its adapter (`on_stuck: :restart`)
      while the request was in flight; the message names the stuck request
    * `"UnsafeTerm"` - a frame from Python held a term this VM refuses to
      decode safely (an atom it has never seen)
    * `"CallbackDepthError"` - callbacks nested deeper than the pool's
      `:max_callback_depth`
    * `"ProtocolError"`, `"PoolNotStarted"`
  """
  defexception [:python_type, :message, :python_traceback, :python_module, context: %{}]

  @type t :: %__MODULE__{
          python_type: String.t(),
          message: String.t(),
          python_traceback: String.t() | nil,
          python_module: String.t() | nil,
          context: map()
        }

  @doc "An error of SnakePort's own."
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

  @impl true
  def message(%__MODULE__{python_type: type, message: message}), do: "#{type}: #{message}"
end
