defmodule SnakePort.ConnTest do
  @moduledoc "The connection's frame handling, without a port: frames built with term_to_binary."
  use ExUnit.Case, async: true

  alias SnakePort.{Conn, Pending}
  alias SnakePort.Pending.{Call, Stream}

  defp conn, do: %Conn{pool: :conn_test, index: 0, pending: Pending.new(), port: nil, launched: nil}
  defp frame(term), do: :erlang.term_to_binary(term)

  test "a {:stuck, id, info} frame is reported once per request" do
    conn = conn()
    info = %{"request" => %{"function" => "hang"}, "running_ms" => 1500, "cancelled_ms" => 1000}

    assert {:ok, conn, [{:stuck, 7, ^info}]} = Conn.handle_data(conn, frame({:stuck, 7, info}))
    assert {:ok, conn, []} = Conn.handle_data(conn, frame({:stuck, 7, info}))
    assert {:ok, _conn, [{:stuck, 8, ^info}]} = Conn.handle_data(conn, frame({:stuck, 8, info}))
  end

  test "a reply goes to its pending entry once; a reply nobody waits for is dropped" do
    conn = conn()
    call = %Call{tag: make_ref(), caller: self()}
    Pending.put(conn.pending, 5, call)
    reply = frame({:reply, 5, {:ok, 1}})

    assert {:ok, conn, [{:reply, ^call, ^reply}]} = Conn.handle_data(conn, reply)
    assert Pending.count(conn.pending) == 0
    # e.g. the adapter's Cancelled answer after the caller timed out
    assert {:ok, _conn, []} = Conn.handle_data(conn, frame({:reply, 5, {:error, %{"type" => "Cancelled"}}}))
  end

  test "a push stream's chunks go to it, its final reply ends it" do
    conn = conn()
    stream = %Stream{tag: make_ref(), caller: self()}
    Pending.put(conn.pending, 3, stream)
    chunk = frame({:chunk, 3, [1, 2]})
    done = frame({:reply, 3, {:ok, "done"}})

    assert {:ok, conn, [{:chunk, ^stream, ^chunk}]} = Conn.handle_data(conn, chunk)
    assert {:ok, conn, [{:done, ^stream, ^done}]} = Conn.handle_data(conn, done)
    assert {:ok, _conn, []} = Conn.handle_data(conn, chunk)
  end

  test "a callback's depth is one more than the callbacks already running" do
    conn = conn()
    callback = frame({:callback, 1, &is_atom/1, [:x]})
    assert {:ok, conn, [{:callback, 1, ^callback, 1}]} = Conn.handle_data(conn, callback)

    running = %SnakePort.Callback.Running{id: 1, pid: self()}
    conn = conn |> Conn.put_callback(make_ref(), running) |> Conn.put_callback(make_ref(), running)

    assert {:ok, _conn, [{:callback, 2, _, 3}]} =
             Conn.handle_data(conn, frame({:callback, 2, &is_atom/1, [:x]}))
  end

  test "a message to a live pid is delivered; a protocol error is logged" do
    conn = conn()

    assert {:ok, conn, [{:message, pid, {:progress, 1}}]} =
             Conn.handle_data(conn, frame({:send, self(), {:progress, 1}}))

    assert pid == self()

    assert {:ok, _conn, [{:log, :warning, message}]} =
             Conn.handle_data(conn, frame({:protocol_error, %{"message" => "bad frame"}}))

    assert message =~ "bad frame"
  end
end
