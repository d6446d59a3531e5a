defmodule SnakePort.Recorder do
  @moduledoc """
  Records every frame between a worker and its adapter, in the file format of
  the adapter's own `--record` (see docs/PROTOCOL.md), so
  `python -m snakeport frames dump|replay FILE` reads either.

  The file starts with the line `SNAKEPORT-FRAMES 1`; each record is the
  direction (`"i"` to Python, `"o"` from Python), seconds since the worker
  started (float64), the length (uint32), big-endian, then the ETF bytes.
  Each record is one append-only write, so a crash leaves every complete
  record readable.
  """

  @header "SNAKEPORT-FRAMES 1\n"

  @type t :: %__MODULE__{file: :file.io_device(), start: integer()} | nil
  defstruct [:file, :start]

  @doc """
  Open `path` for appending (writing the header if it is new); `nil` records
  nothing.  Raises `ArgumentError` naming the path when it cannot be opened.
  """
  @spec open(Path.t() | nil) :: t()
  def open(nil), do: nil

  def open(path) do
    case :file.open(path, [:append, :binary, :raw]) do
      {:ok, file} ->
        {:ok, size} = :file.position(file, :eof)
        if size == 0, do: :ok = :file.write(file, @header)
        %__MODULE__{file: file, start: System.monotonic_time(:microsecond)}

      {:error, reason} ->
        raise ArgumentError, "SnakePort cannot record to #{path}: #{:file.format_error(reason)}"
    end
  end

  @doc "Append one frame: `:in` (to Python) or `:out` (from Python)."
  @spec record(t(), :in | :out, iodata()) :: :ok
  def record(nil, _direction, _frame), do: :ok

  def record(%__MODULE__{file: file, start: start}, direction, frame) do
    seconds = (System.monotonic_time(:microsecond) - start) / 1.0e6
    tag = if direction == :in, do: "i", else: "o"
    :file.write(file, [<<tag::binary, seconds::float-64-big, IO.iodata_length(frame)::32-big>>, frame])
  end

  @doc "Close the file (the worker does when it stops)."
  @spec close(t()) :: :ok
  def close(nil), do: :ok
  def close(%__MODULE__{file: file}), do: :file.close(file)

  @doc "The file a worker of a pool records to: `path` for worker 0, `path.N` for worker N."
  @spec path_for(Path.t() | nil, non_neg_integer()) :: Path.t() | nil
  def path_for(nil, _index), do: nil
  def path_for(path, 0), do: path
  def path_for(path, index), do: "#{path}.#{index}"
end
