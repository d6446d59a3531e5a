defmodule SnakePort.Wire do
  @moduledoc """
  The protocol's frames as bytes (docs/PROTOCOL.md).

  Frames from Python are decoded with `:erlang.binary_to_term(bin, [:safe])`,
  which refuses atoms this VM has never seen; every atom of the protocol is
  named here so that it exists before the first decode.

  The worker does not decode the frames it routes: `peek/1` reads the
  frame's tag and request id from its first bytes, so a reply goes to its
  caller as the binary it arrived as and the caller decodes it in its own
  process.  The peek reads every encoding the BEAM and the adapter may use:
  atoms as `ATOM_EXT`, `SMALL_ATOM_EXT`, `ATOM_UTF8_EXT` or
  `SMALL_ATOM_UTF8_EXT`; ids as small, 32-bit or big integers; compressed
  frames are inflated first.
  """

  alias SnakePort.Wire.Unsafe

  # Atoms the adapter sends: they must exist before a [:safe] decode.
  @protocol_atoms [
    :ready,
    :reply,
    :ok,
    :error,
    :protocol_error,
    :startup_error,
    :chunk,
    :callback,
    :send,
    :stuck,
    :infinity,
    :neg_infinity,
    :nan,
    :call,
    :cancel,
    :credit,
    :callback_reply,
    :send_failed
  ]

  @type id :: non_neg_integer()
  @type peeked ::
          {:reply, id()}
          | {:chunk, id()}
          | {:callback, id()}
          | {:stuck, id()}
          | :send
          | :other

  @doc "The atoms of the protocol (they exist in this VM because they are named here)."
  @spec protocol_atoms() :: [atom()]
  def protocol_atoms, do: @protocol_atoms

  # -- frames to Python ----------------------------------------------------------

  @doc "`{:call, id, request}`, encoded."
  @spec call(id(), map()) :: binary()
  def call(id, request), do: :erlang.term_to_binary({:call, id, request})

  # `{:call, ` as encoded, without the id and the request: <<131, SMALL_TUPLE_EXT, 3, atom>>.
  @call_head (fn <<131, atom::binary>> -> <<131, 104, 3, atom::binary>> end).(:erlang.term_to_binary(:call))

  @doc """
  `{:call, id, request}` as iodata, for a request already encoded by a
  caller on another node (`body` is `term_to_binary(request)`): its bytes go
  into the frame as they came, without being decoded here.
  """
  @spec call_body(id(), binary()) :: iodata()
  def call_body(id, <<131, 80, _::binary>> = compressed), do: call(id, :erlang.binary_to_term(compressed))

  def call_body(id, <<131, request::binary>>) do
    <<131, id_bytes::binary>> = :erlang.term_to_binary(id)
    [@call_head, id_bytes, request]
  end

  @doc "`{:cancel, id}`, encoded."
  @spec cancel(id()) :: binary()
  def cancel(id), do: :erlang.term_to_binary({:cancel, id})

  @doc "`{:credit, id, n}`, encoded."
  @spec credit(id(), pos_integer()) :: binary()
  def credit(id, n), do: :erlang.term_to_binary({:credit, id, n})

  @doc "`{:callback_reply, id, result}`, encoded."
  @spec callback_reply(id(), {:ok, term()} | {:error, map()}) :: binary()
  def callback_reply(id, result), do: :erlang.term_to_binary({:callback_reply, id, result})

  @doc "`{:send_failed, pid, reason}`, encoded."
  @spec send_failed(pid(), String.t()) :: binary()
  def send_failed(pid, reason), do: :erlang.term_to_binary({:send_failed, pid, reason})

  # -- frames from Python ------------------------------------------------------------

  @doc """
  Decode a frame from Python safely: `{:ok, term}`, or `{:error, why}` with
  `why` naming the problem (the first atom this VM has never seen, or that
  the bytes are not a valid term).
  """
  @spec decode(binary()) :: {:ok, term()} | {:error, String.t()}
  def decode(bin) do
    {:ok, :erlang.binary_to_term(bin, [:safe])}
  rescue
    ArgumentError -> {:error, Unsafe.explain(bin)}
  end

  @doc """
  A reply frame read: `{:ok, value}`, `{:python_error, error_map}` (the
  adapter's error map, for `SnakePort.Error.from_wire/1`), or `{:error,
  %SnakePort.Error{}}` for a frame that is not a reply or does not decode.
  """
  @spec read_reply(binary()) :: {:ok, term()} | {:python_error, map()} | {:error, SnakePort.Error.t()}
  def read_reply(bin) do
    case decode(bin) do
      {:ok, {:reply, _id, {:ok, value}}} ->
        {:ok, value}

      {:ok, {:reply, _id, {:error, error}}} when is_map(error) ->
        {:python_error, error}

      {:ok, other} ->
        {:error, SnakePort.Error.new("ProtocolError", "malformed reply #{inspect(other, limit: 10)}")}

      {:error, why} ->
        {:error, SnakePort.Error.new("UnsafeTerm", "the reply could not be decoded: #{why}")}
    end
  end

  @doc """
  The kind of a frame from Python and its request (or callback) id, read
  from its first bytes without decoding the rest.
  """
  @spec peek(binary()) :: peeked()
  def peek(<<131, 80, _size::32, compressed::binary>>) do
    peek(<<131, :zlib.uncompress(compressed)::binary>>)
  rescue
    _ -> :other
  end

  def peek(<<131, 104, arity, rest::binary>>) do
    with {name, rest} <- atom(rest),
         {:ok, kind} <- kind(name, arity) do
      with_id(kind, rest)
    else
      _ -> :other
    end
  end

  def peek(_), do: :other

  defp kind("reply", 3), do: {:ok, :reply}
  defp kind("chunk", 3), do: {:ok, :chunk}
  defp kind("callback", 4), do: {:ok, :callback}
  defp kind("stuck", 3), do: {:ok, :stuck}
  defp kind("send", 3), do: {:ok, :send}
  defp kind(_, _), do: :error

  defp with_id(:send, _rest), do: :send

  defp with_id(kind, rest) do
    case integer(rest) do
      id when is_integer(id) -> {kind, id}
      nil -> :other
    end
  end

  @doc """
  The pid of a `{:send, Pid, Term}` frame, decoded alone from its bytes
  (when the term cannot be decoded, the sender can still be told), or `nil`.
  """
  @spec send_target(binary()) :: pid() | nil
  def send_target(<<131, 104, 3, rest::binary>>) do
    with {"send", rest} <- atom(rest),
         {:ok, pid_bytes} <- pid_bytes(rest),
         {:ok, pid} when is_pid(pid) <- decode(<<131, pid_bytes::binary>>) do
      pid
    else
      _ -> nil
    end
  end

  def send_target(_), do: nil

  @doc """
  The node of the fun in a `{:callback, CbId, Fun, Args}` frame, read from
  its bytes (Python sends the fun back byte for byte): the node whose
  process encoded it, in OTP 25 and 26 its creator's (a `NEW_FUN_EXT`'s pid).
  `nil` for `&Mod.fun/arity` captures (no pid), a node this VM has never
  heard of, or a frame that does not parse.
  """
  @spec callback_node(binary()) :: node() | nil
  def callback_node(<<131, 80, _size::32, compressed::binary>>) do
    callback_node(<<131, :zlib.uncompress(compressed)::binary>>)
  rescue
    _ -> nil
  end

  def callback_node(<<131, 104, 4, rest::binary>>) do
    with {"callback", rest} <- atom(rest),
         {:ok, rest} <- skip_integer(rest),
         <<112, _size::32, _arity, _uniq::binary-16, _index::32, _free::32, rest::binary>> <- rest,
         {_module, rest} <- atom(rest),
         {:ok, rest} <- skip_integer(rest),
         {:ok, rest} <- skip_integer(rest),
         {:ok, <<_tag, rest::binary>>} <- pid_bytes(rest),
         {node, _} <- atom(rest) do
      :erlang.binary_to_existing_atom(node, :utf8)
    else
      _ -> nil
    end
  rescue
    ArgumentError -> nil
  end

  def callback_node(_), do: nil

  defp skip_integer(<<97, _, rest::binary>>), do: {:ok, rest}
  defp skip_integer(<<98, _::32, rest::binary>>), do: {:ok, rest}
  defp skip_integer(<<110, n, _sign, _::binary-size(n), rest::binary>>), do: {:ok, rest}
  defp skip_integer(<<111, n::32, _sign, _::binary-size(n), rest::binary>>), do: {:ok, rest}
  defp skip_integer(_), do: :error

  # NEW_PID_EXT: node atom, ID, Serial, Creation (4 bytes each); PID_EXT: creation in 1 byte.
  defp pid_bytes(<<88, rest::binary>> = bin), do: pid_bytes(bin, rest, 12)
  defp pid_bytes(<<103, rest::binary>> = bin), do: pid_bytes(bin, rest, 9)
  defp pid_bytes(_), do: :error

  defp pid_bytes(bin, rest, tail) do
    case atom(rest) do
      {_node, after_node} when byte_size(after_node) >= tail ->
        {:ok, binary_part(bin, 0, byte_size(bin) - byte_size(after_node) + tail)}

      _ ->
        :error
    end
  end

  # An atom in any of its four encodings: {name bytes, rest}.
  defp atom(<<119, len, name::binary-size(len), rest::binary>>), do: {name, rest}
  defp atom(<<115, len, name::binary-size(len), rest::binary>>), do: {name, rest}
  defp atom(<<118, len::16, name::binary-size(len), rest::binary>>), do: {name, rest}
  defp atom(<<100, len::16, name::binary-size(len), rest::binary>>), do: {name, rest}
  defp atom(_), do: nil

  # A non-negative integer in any of its encodings.
  defp integer(<<97, n, _::binary>>), do: n
  defp integer(<<98, n::signed-32, _::binary>>) when n >= 0, do: n
  defp integer(<<110, n, 0, digits::binary-size(n), _::binary>>), do: :binary.decode_unsigned(digits, :little)

  defp integer(<<111, n::32, 0, digits::binary-size(n), _::binary>>),
    do: :binary.decode_unsigned(digits, :little)

  defp integer(_), do: nil
end
