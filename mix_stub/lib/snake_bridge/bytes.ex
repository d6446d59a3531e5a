defmodule SnakeBridge.Bytes do
  @moduledoc """
  A binary that must arrive in Python as `bytes`: `SnakeBridge.bytes(data)`.

  Elixir has one binary type, so a binary that is valid UTF-8 arrives in
  Python as `str` (and any other as `bytes`).  Functions that insist on
  `bytes` (`hashlib`, `struct`, `base64`, binary file writes) get them from
  this wrapper, which travels as SnakeBridge's tagged map
  `%{"__type__" => "bytes", "data" => data}`.  `bytes` results come back as
  plain binaries.
  """
  @enforce_keys [:data]
  defstruct [:data]

  @type t :: %__MODULE__{data: binary()}

  @doc "Wrap `data`."
  @spec new(binary()) :: t()
  def new(data) when is_binary(data), do: %__MODULE__{data: data}

  @doc "The tagged wire map the adapter decodes to `bytes`."
  @spec to_wire(t()) :: map()
  def to_wire(%__MODULE__{data: data}), do: %{"__type__" => "bytes", "data" => data}
end
