defmodule SnakePort.UnsafeFramesTest do
  @moduledoc """
  Frames this VM refuses to decode with [:safe] (an atom Python made that no
  Elixir code names): each ends what it belongs to at once, with an error
  that names the atom, and the adapter is told.
  """
  use ExUnit.Case, async: false

  import ExUnit.CaptureLog
  import SnakePort.TestPools

  alias SnakePort.Error

  setup_all do
    start_supervised!({SnakePort, pools: [unsafe: options(callback_timeout: :infinity)]})
    :ok
  end

  test "a reply: an UnsafeTerm error for that call only" do
    assert {:error, %Error{python_type: "UnsafeTerm", message: message}} =
             SnakePort.request(:unsafe, call("core_helpers", "unsafe_reply"))

    assert message =~ "the reply could not be decoded: it holds the atom :never_seen_in_a_reply_5504"
    assert {:ok, 2.0} = SnakePort.request(:unsafe, call("math", "sqrt", [4]))
  end

  test "a push stream chunk: the stream ends with the error and is cancelled in Python" do
    parent = self()
    request = call("core_helpers", "unsafe_items", ["unsafe-chunk"])

    assert {:error, %Error{python_type: "UnsafeTerm", message: message}} =
             SnakePort.stream(:unsafe, request, [batch: 1], &send(parent, {:item, &1}))

    assert message =~ "chunk 3 of push stream"
    assert message =~ "the atom :never_seen_in_a_chunk_5501, which this VM has never seen"
    assert message =~ "the stream was cancelled"
    assert_received {:item, 1}
    assert_received {:item, 2}
    refute_received {:item, _}
    # Python closed the generator (its finally ran) before serving this call.
    assert {:ok, released} = SnakePort.request(:unsafe, call("core_helpers", "released"))
    assert "unsafe-chunk" in released
  end

  test "a callback frame: answered at once, so Python raises and the call fails fast" do
    # callback_timeout is :infinity here: without an answer the call would hang.
    assert {:error, %Error{python_type: "ElixirError", message: message}} =
             SnakePort.request(:unsafe, call("core_helpers", "call_with_unsafe", [&Function.identity/1]),
               timeout: 10_000
             )

    assert message =~ "(UnsafeTerm)"
    assert message =~ "the atom :never_seen_in_a_callback_5502"
  end

  test "a message: the sender is told as for a dead pid, and its next send raises" do
    log =
      capture_log(fn ->
        assert {:ok, refused} = SnakePort.request(:unsafe, call("core_helpers", "send_unsafe", [self(), 5.0]))
        send(self(), {:refused, refused})
      end)

    assert_received {:refused, refused}
    assert refused =~ "could not be decoded"
    assert refused =~ "never_seen_in_a_message_5503"
    assert log =~ "could not be decoded"
    refute_received {_, 1}
  end
end
