defmodule SnakePort.WireTest do
  @moduledoc "Reading frames from their first bytes, in every encoding; naming why a frame is unsafe."
  use ExUnit.Case, async: true

  alias SnakePort.Wire

  # {:reply, Id, ...} with the tag atom in each of the four atom encodings.
  defp with_atom(encoding, name, rest) do
    atom =
      case encoding do
        :small_utf8 -> <<119, byte_size(name), name::binary>>
        :utf8 -> <<118, byte_size(name)::16, name::binary>>
        :small_latin1 -> <<115, byte_size(name), name::binary>>
        :latin1 -> <<100, byte_size(name)::16, name::binary>>
      end

    <<131, 104, 3, atom::binary, rest::binary>>
  end

  # The id and the payload, as the BEAM encodes them (the payload is `:ok`).
  defp id_and_ok(id),
    do: binary_part(:erlang.term_to_binary({id, :ok}), 3, byte_size(:erlang.term_to_binary({id, :ok})) - 3)

  describe "peek/1 reads a reply's id" do
    for encoding <- [:small_utf8, :utf8, :small_latin1, :latin1] do
      test "with the tag as #{encoding}" do
        assert Wire.peek(with_atom(unquote(encoding), "reply", id_and_ok(7))) == {:reply, 7}
      end
    end

    test "as a small, a 32-bit, a small big and a large big integer" do
      for id <- [0, 255, 256, 70_000, 2_147_483_647, 2_147_483_648, 2 ** 64 + 5, 2 ** 2100] do
        assert Wire.peek(:erlang.term_to_binary({:reply, id, {:ok, 1}})) == {:reply, id}

        assert Wire.peek(:erlang.term_to_binary({:reply, id, {:ok, 1}}, [{:minor_version, 2}])) ==
                 {:reply, id}
      end
    end

    test "of a compressed frame" do
      bin = :erlang.term_to_binary({:reply, 12, {:ok, String.duplicate("x", 10_000)}}, [:compressed])
      assert <<131, 80, _::binary>> = bin
      assert Wire.peek(bin) == {:reply, 12}
    end

    test "not of a negative id or a frame of another shape" do
      assert Wire.peek(:erlang.term_to_binary({:reply, -1, {:ok, 1}})) == :other
      assert Wire.peek(:erlang.term_to_binary({:reply, 1})) == :other
      assert Wire.peek(:erlang.term_to_binary({:ready, %{}})) == :other
      assert Wire.peek(<<1, 2, 3>>) == :other
    end
  end

  test "peek/1 tells chunks, callbacks, stuck reports and messages" do
    assert Wire.peek(:erlang.term_to_binary({:chunk, 3, [1, 2]})) == {:chunk, 3}
    assert Wire.peek(:erlang.term_to_binary({:callback, 9, &is_atom/1, [1]})) == {:callback, 9}
    assert Wire.peek(:erlang.term_to_binary({:stuck, 4, %{}})) == {:stuck, 4}
    assert Wire.peek(:erlang.term_to_binary({:send, self(), :hi})) == :send
  end

  test "send_target/1 decodes the pid alone, even when the term after it cannot be decoded" do
    bin = :erlang.term_to_binary({:send, self(), :placeholder_atom_x})
    # Replace the atom by one the VM has never seen (same length).
    unsafe = :binary.replace(bin, "placeholder_atom_x", "qq_never_seen_5571")
    assert {:error, _} = Wire.decode(unsafe)
    assert Wire.send_target(unsafe) == self()
    assert Wire.send_target(:erlang.term_to_binary({:send, self(), 1}, [{:minor_version, 2}])) == self()
    assert Wire.send_target(:erlang.term_to_binary({:send, :not_a_pid, 1})) == nil
  end

  test "decode/1 names the atom that made a frame unsafe" do
    bin = :erlang.term_to_binary({:reply, 1, {:ok, [1, %{"k" => {:placeholder_atom_y}}]}})
    unsafe = :binary.replace(bin, "placeholder_atom_y", "qq_never_seen_5572")
    assert {:error, why} = Wire.decode(unsafe)
    assert why =~ "the atom :qq_never_seen_5572, which this VM has never seen"
    assert {:error, "it is not valid external term format"} = Wire.decode(<<131, 104, 9, 1>>)
  end

  describe "frames of callers on other nodes" do
    test "call_body/2 splices an encoded request into the {:call, id, request} frame, byte for byte" do
      request = %{
        "python_module" => "math",
        "function" => "sqrt",
        "args" => [16],
        "big" => String.duplicate("x", 70_000)
      }

      body = :erlang.term_to_binary(request)

      for id <- [1, 255, 256, 70_000, 2 ** 40] do
        assert IO.iodata_to_binary(Wire.call_body(id, body)) == Wire.call(id, request)
      end
    end

    test "callback_node/1 reads the node of a fun made here, nil for a capture" do
      fun = fn x -> x end
      frame = :erlang.term_to_binary({:callback, 3, fun, [1]})
      assert Wire.callback_node(frame) == node()
      assert Wire.callback_node(:erlang.term_to_binary({:callback, 3, &Enum.count/1, [1]})) == nil
      assert Wire.callback_node(:erlang.term_to_binary({:callback, 3, fun, [1]}, compressed: 9)) == node()
      assert Wire.callback_node(<<131, 104, 4>>) == nil
    end
  end
end
