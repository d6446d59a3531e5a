# A hostile peer over a real Port: frames of random bytes, truncations and mutations of
# every request template, deep and bignum payloads, lying headers, compressed bombs.  After
# each frame the adapter must answer a ping, and a ref made before the first frame must
# still work.  At the end it prints the adapter's peak RSS (VmHWM).
#
#   elixir hostile_frames.exs PYTHON LAUNCHER FRAMES SEED MAX_FRAME_BYTES
#
# The port is opened without {:packet, 4}: this script writes the length headers itself,
# so it can lie in them.
[python, launcher, count, seed, max_frame] = System.argv()
count = String.to_integer(count)
seed = String.to_integer(seed)
max_frame = String.to_integer(max_frame)
:rand.seed(:exsss, {seed, seed * 7 + 1, seed * 13 + 5})

defmodule Wire do
  @moduledoc "Frames over a raw port: write with our own headers, read replies by their headers."

  def open(python, launcher, max_frame) do
    port =
      Port.open({:spawn_executable, python}, [
        :binary,
        :exit_status,
        args: [launcher, "--max-frame-bytes", Integer.to_string(max_frame)]
      ])

    {port, ""}
  end

  def send_raw({port, _} = wire, bytes) do
    Port.command(port, bytes)
    wire
  end

  def send_frame(wire, payload), do: send_raw(wire, <<byte_size(payload)::32, payload::binary>>)

  def send_term(wire, term), do: send_frame(wire, :erlang.term_to_binary(term))

  # The next complete frame from the adapter, decoded.
  def recv({port, buffer}, timeout \\ 20_000) do
    case buffer do
      <<size::32, payload::binary-size(size), rest::binary>> ->
        {:erlang.binary_to_term(payload), {port, rest}}

      _ ->
        receive do
          {^port, {:data, data}} -> recv({port, buffer <> data}, timeout)
          {^port, {:exit_status, status}} -> raise "the adapter exited with status #{status}"
        after
          timeout -> raise "the adapter went quiet (#{timeout} ms)"
        end
    end
  end

  # Send a ping, read (and count) every frame before its reply.
  def ping(wire, id) do
    wire = send_term(wire, {:call, id, %{"call_type" => "ping"}})
    until_reply(wire, id, 0)
  end

  def until_reply(wire, id, other) do
    case recv(wire) do
      {{:reply, ^id, result}, wire} ->
        {result, other, wire}

      {{tag, _} = frame, wire} when tag in [:protocol_error, :ready] ->
        check_error(frame) && until_reply(wire, id, other + 1)

      {{:reply, _, {:error, error}}, wire} ->
        check_error({:reply, error}) && until_reply(wire, id, other + 1)

      {frame, wire} ->
        until_reply(wire, id, other + 1) || frame
    end
  end

  # Every error must name what was wrong, in a message of reasonable size.
  defp check_error({:ready, _}), do: true

  defp check_error({_, error}) do
    message = error["message"]

    if not is_binary(message) or byte_size(message) == 0 or byte_size(message) > 4_000 do
      raise "an error without a proper message: #{inspect(error, limit: 20)}"
    end

    true
  end
end

defmodule Hostile do
  @moduledoc "The frames a hostile peer sends."

  def templates(box) do
    [
      {:call, 1, %{"python_module" => "math", "function" => "sqrt", "args" => [16]}},
      {:call, 2,
       %{"call_type" => "class", "python_module" => "collections", "class" => "Counter", "args" => ["abc"]}},
      {:call, 3,
       %{"call_type" => "method", "instance" => box, "function" => "get", "session_id" => "hostile"}},
      {:call, 4,
       %{"call_type" => "get_attr", "instance" => box, "attr" => "value", "session_id" => "hostile"}},
      {:call, 5,
       %{"call_type" => "stream", "python_module" => "builtins", "function" => "range", "args" => [3]}},
      {:call, 6, %{"call_type" => "stream_take", "stream_ref" => box, "max" => 2, "session_id" => "hostile"}},
      {:call, 7,
       %{"call_type" => "helper", "helper" => "snakeport.echo", "args" => [[1, 2.5, :atom, {1, "x"}]]}},
      {:call, 8,
       %{"call_type" => "release_ref", "ref" => %{box | "id" => "0000"}, "session_id" => "hostile"}},
      {:call, 9, %{"call_type" => "stats"}},
      {:cancel, 5},
      {:credit, 5, 3},
      {:callback_reply, 1, {:ok, 1}},
      {:send_failed, self(), "gone"}
    ]
  end

  def deep(kind, depth) do
    Enum.reduce(1..depth, 0, fn _, inner ->
      case kind do
        :list -> [inner]
        :tuple -> {inner}
        :map -> %{1 => inner}
      end
    end)
  end

  def payloads do
    big = Integer.pow(10, 5000)

    [
      big,
      {big, 1},
      {:send_failed, self(), big},
      {:call, 1, big},
      {:call, 1, %{"args" => [big]}}
    ] ++
      for(kind <- [:list, :tuple, :map], depth <- [1_000, 10_000], do: deep(kind, depth)) ++
      for(kind <- [:list, :tuple, :map], do: {:call, 1, deep(kind, 5_000)}) ++
      for(kind <- [:list, :tuple, :map], do: {deep(kind, 5_000), 1})
  end

  def mutate(bin) do
    size = byte_size(bin)

    case :rand.uniform(6) do
      1 -> binary_part(bin, 0, :rand.uniform(size) - 1)
      2 -> flip(bin, :rand.uniform(3))
      3 -> insert(bin, :rand.bytes(:rand.uniform(8)))
      4 -> delete(bin, :rand.uniform(min(size, 8)))
      5 -> bin <> :rand.bytes(:rand.uniform(4))
      6 -> flip(binary_part(bin, 0, max(size - :rand.uniform(size), 2)), 1)
    end
  end

  defp flip(bin, 0), do: bin

  defp flip(bin, n) do
    at = :rand.uniform(byte_size(bin)) - 1
    <<head::binary-size(at), byte, tail::binary>> = bin
    flip(<<head::binary, Bitwise.bxor(byte, :rand.uniform(255))>> <> tail, n - 1)
  end

  defp insert(bin, extra) do
    at = :rand.uniform(byte_size(bin) + 1) - 1
    <<head::binary-size(at), tail::binary>> = bin
    head <> extra <> tail
  end

  defp delete(bin, n) do
    at = :rand.uniform(byte_size(bin) - n + 1) - 1
    <<head::binary-size(at), _::binary-size(n), tail::binary>> = bin
    head <> tail
  end

  def compressed(inner, declared), do: <<131, 80, declared::32>> <> :zlib.compress(inner)
end

{wire, _} = {Wire.open(python, launcher, max_frame), nil}
{{:ready, info}, wire} = Wire.recv(wire)

# The ref that must survive everything.
wire =
  Wire.send_term(
    wire,
    {:call, 100,
     %{
       "call_type" => "class",
       "python_module" => "types",
       "class" => "SimpleNamespace",
       "kwargs" => %{"value" => 42},
       "session_id" => "hostile"
     }}
  )

{{:ok, box}, _, wire} = Wire.until_reply(wire, 100, 0)
templates = Hostile.templates(box) |> Enum.map(&:erlang.term_to_binary/1)
payloads = Hostile.payloads() |> Enum.map(&:erlang.term_to_binary/1)

fixed =
  payloads ++
    [
      Hostile.compressed(:binary.copy(<<0>>, 1_000_000), 1_000_000),
      Hostile.compressed(:binary.copy(<<0>>, 1000), max_frame * 64),
      Hostile.compressed(<<0>>, 0xFFFFFFFF),
      <<131, 80, 0, 0, 0, 10>> <> :rand.bytes(30),
      <<>>,
      <<131>>,
      <<131, 0>>,
      <<131, 104, 3, 119, 4, "call", 97, 9, 116, 0, 0, 0, 2, 97, 1, 119, 1, "a", 70, 63, 240, 0, 0, 0, 0, 0,
        0, 119, 1, "b">>
    ]

check = fn wire, n, frame ->
  {{:ok, "pong"}, _other, wire} =
    try do
      Wire.ping(wire, 1_000_000 + n)
    rescue
      error ->
        IO.puts(
          "FAILED after frame #{n}: #{Exception.message(error)}; frame: #{Base.encode16(binary_part(frame, 0, min(byte_size(frame), 200)))}"
        )

        System.halt(1)
    end

  wire =
    Wire.send_term(
      wire,
      {:call, 2_000_000 + n,
       %{"call_type" => "get_attr", "instance" => box, "attr" => "value", "session_id" => "hostile"}}
    )

  case Wire.until_reply(wire, 2_000_000 + n, 0) do
    {{:ok, 42}, _, wire} ->
      wire

    {other, _, _} ->
      IO.puts("FAILED after frame #{n}: the session's ref answered #{inspect(other, limit: 10)}")
      System.halt(1)
  end
end

started = System.monotonic_time(:millisecond)

wire =
  Enum.reduce(Enum.with_index(fixed), wire, fn {frame, n}, wire ->
    check.(Wire.send_frame(wire, frame), n, frame)
  end)

# Lying headers: a big size then a few bytes; the adapter must not reserve the declared size
# from the header alone.  Then the rest arrives (garbage), and the frame is answered.
rss_kb = fn ->
  File.read!("/proc/#{info["pid"]}/status")
  |> String.split("\n")
  |> Enum.find_value(fn line ->
    if String.starts_with?(line, "VmRSS:"), do: line |> String.split() |> Enum.at(1) |> String.to_integer()
  end)
end

declared = div(max_frame, 2)

wire =
  Enum.reduce(1..3, wire, fn n, wire ->
    before = rss_kb.()
    wire = Wire.send_raw(wire, <<declared::32, 131, 104, 2, 97, 1, 97, 2, 0, 0, 0>>)
    # No frame answers half a frame: give the adapter time to read the ten bytes.
    Process.sleep(100)
    during = rss_kb.()

    if during - before > 16_384 do
      IO.puts(
        "FAILED: a lying header of #{declared} bytes took the adapter from #{before} kB to #{during} kB"
      )

      System.halt(1)
    end

    rest = declared - 10
    wire = Wire.send_raw(wire, :binary.copy(<<7>>, rest))
    check.(wire, 5_000_000 + n, <<declared::32>>)
  end)

# Over the limit by the header: refused at once, its bytes skipped.
wire =
  Enum.reduce(1..3, wire, fn n, wire ->
    over = max_frame + n
    wire = Wire.send_raw(wire, <<over::32>> <> :binary.copy(<<1>>, over))
    check.(wire, 6_000_000 + n, <<over::32>>)
  end)

random_frames = max(count - length(fixed) - 6, 0)

wire =
  Enum.reduce(1..random_frames//1, wire, fn n, wire ->
    frame =
      case rem(n, 4) do
        0 -> :rand.bytes(:rand.uniform(64))
        1 -> <<131>> <> :rand.bytes(:rand.uniform(64))
        _ -> Hostile.mutate(Enum.random(templates))
      end

    check.(Wire.send_frame(wire, frame), 10_000_000 + n, frame)
  end)

elapsed = System.monotonic_time(:millisecond) - started

peak =
  File.read!("/proc/#{info["pid"]}/status")
  |> String.split("\n")
  |> Enum.find_value(fn line ->
    if String.starts_with?(line, "VmHWM:"), do: line |> String.split() |> Enum.at(1) |> String.to_integer()
  end)

IO.puts(
  "OK #{length(fixed) + 6 + random_frames} frames in #{elapsed} ms, seed #{seed}, adapter peak RSS #{peak} kB"
)
