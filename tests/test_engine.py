"""The engine in-process, driven with byte strings: every call type, every message kind,
errors, push credit and cancellation, callbacks (nested), and hostile frames.

The pipe tests (test_adapter.py, test_callbacks.py, test_streams.py) stay as
the edge's tests; these need no process and run in milliseconds.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from snakeport import etf
from snakeport.terms import Atom, Fun, Pid

from .engine_wire import CALL, CALLBACK_REPLY, ERROR, OK, Wire
from .test_callbacks import FUN0, FUN1, PID

CANCEL, CREDIT, SEND_FAILED = Atom("cancel"), Atom("credit"), Atom("send_failed")


@pytest.fixture
def wire() -> Iterator[Wire]:
    running = Wire()
    yield running
    running.close()


def fixtures(function: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"python_module": "sp_fixtures", "function": function, "args": list(args), "kwargs": kwargs}


# -- every call type ---------------------------------------------------------------


def test_call_function_and_dynamic(wire: Wire) -> None:
    assert wire.ok(python_module="math", function="sqrt", args=[16]) == 4.0
    assert wire.ok(call_type="function", python_module="operator", function="add", args=[1, 2]) == 3
    assert wire.ok(call_type="dynamic", module_path="operator", function="mul", args=[3, 4]) == 12
    assert wire.ok(python_module="datetime", function="date.fromisoformat", args=["2026-12-01"]).year == 2026


def test_class_method_attributes(wire: Wire) -> None:
    counter = wire.ok(call_type="class", python_module="collections", **{"class": "Counter"}, args=["abca"])
    assert counter["__type__"] == "ref" and counter["type_name"] == "Counter"
    assert wire.ok(call_type="method", instance=counter, function="most_common", args=[1]) == [("a", 2)]
    ns = wire.ok(call_type="class", python_module="types", **{"class": "SimpleNamespace"}, kwargs={"x": 1})
    assert wire.ok(call_type="get_attr", instance=ns, attr="x") == 1
    assert wire.ok(call_type="set_attr", instance=ns, attr="x", value=5) is True
    assert wire.ok(call_type="set_attr", instance=ns, attr="y", args=[6]) is True
    assert wire.ok(call_type="get_attr", instance=ns, attr="y") == 6
    assert wire.ok(call_type="module_attr", python_module="math", attr="pi") == pytest.approx(3.14159, 1e-5)


def test_helper(wire: Wire) -> None:
    assert wire.ok(call_type="helper", helper="snakeport.echo", args=[1], kwargs={"k": 2}) == {
        "args": [1],
        "kwargs": {"k": 2},
    }
    config = {"helper_allowlist": ["other"]}
    error = wire.error(call_type="helper", helper="snakeport.echo", helper_config=config)
    assert error["type"] == "HelperNotFoundError"


def test_stream_next_take_len(wire: Wire) -> None:
    stream = wire.ok(**fixtures("Sized", 3))
    assert stream["__type__"] == "stream_ref" and stream["stream_type"] == "iterator"
    assert wire.ok(call_type="stream_len", stream_ref=stream) == 3
    assert wire.ok(call_type="stream_next", stream_ref=stream) == 0
    assert wire.ok(call_type="stream_take", stream_ref=stream, max=5) == {"items": [1, 2], "done": True}
    assert wire.ok(call_type="stream_next", stream_ref=stream) == {"__type__": "stop_iteration"}


def test_release_ref_and_session(wire: Wire) -> None:
    box = wire.ok(
        call_type="class", python_module="sp_fixtures", **{"class": "Box"}, args=[1], session_id="s"
    )
    assert wire.ok(call_type="release_ref", ref=box, session_id="s") is True
    assert wire.ok(call_type="release_ref", ref=box, session_id="s") is False
    wire.ok(call_type="class", python_module="sp_fixtures", **{"class": "Box"}, args=[2], session_id="s")
    assert wire.ok(call_type="release_session", session_id="s") == 1


def test_ping_and_stats(wire: Wire) -> None:
    assert wire.ok(call_type="ping") == "pong"
    stats = wire.ok(call_type="stats")
    assert stats["frames_in"] == 2 and stats["frames_out"] == 1 and stats["sessions"] == 0


def test_push_stream_with_credit(wire: Wire) -> None:
    request_id, out = wire.request(
        call_type="stream", python_module="builtins", function="range", args=[5], credit=1, batch=2
    )
    assert out == [("chunk", request_id, [0, 1])]  # one credit: one chunk, then it waits
    assert wire.send((CREDIT, request_id, 5)) == [
        ("chunk", request_id, [2, 3]),
        ("chunk", request_id, [4]),
        ("reply", request_id, ("ok", "done")),
    ]


def test_cancel_closes_a_push_stream(wire: Wire) -> None:
    request_id, out = wire.request(
        **fixtures("counting", 100, "cancel-me"), call_type="stream", credit=1, batch=1
    )
    assert out == [("chunk", request_id, [0])]
    (reply,) = wire.send((CANCEL, request_id))
    assert reply[:2] == ("reply", request_id) and reply[2][1]["type"] == "Cancelled"
    assert "cancel-me" in wire.ok(**fixtures("released"))  # its finally block ran


# -- message kinds and protocol errors ------------------------------------------


def test_unknown_call_type_lists_the_known(wire: Wire) -> None:
    error = wire.error(call_type="teleport")
    assert (
        error["type"] == "ProtocolError"
        and "teleport" in error["message"]
        and "stream_take" in error["message"]
    )


def test_callback_reply_for_nobody_is_a_protocol_error(wire: Wire) -> None:
    (out,) = wire.send((CALLBACK_REPLY, 987, (OK, 1)))
    assert out[0] == "protocol_error" and "987" in out[1]["message"]


def test_send_failed_is_remembered(wire: Wire) -> None:
    assert wire.send((SEND_FAILED, PID, "process is not alive")) == []
    error = wire.error(**fixtures("progress", PID, 1))
    assert error["type"] == "ProcessNotAliveError" and "not alive" in error["message"]


def test_a_request_id_in_use_is_refused(wire: Wire) -> None:
    wire.answer = lambda w, frame: None  # never answered while the test looks
    out = wire.send((CALL, 7, fixtures("apply_fun", FUN0)), (CALL, 7, {"call_type": "ping"}))
    assert out[0][0] == "callback"
    assert out[1][:2] == ("reply", 7) and "already in use" in out[1][2][1]["message"]


@pytest.mark.parametrize(
    "term",
    [
        "not a tuple",
        (Atom("call"), -1, {}),
        (Atom("call"), 1),
        (Atom("what"), 1),
        (Atom("credit"), 1, -5),
        (),
        (1, 2),
    ],
)
def test_malformed_envelopes_get_protocol_errors(wire: Wire, term: Any) -> None:
    (out,) = wire.send(term)
    assert out[0] in ("protocol_error", "reply")
    message = out[1]["message"] if out[0] == "protocol_error" else out[2][1]["message"]
    assert "envelope" in message or "expected" in message or "tuple" in message


def test_a_call_with_a_non_map_request_is_answered_by_its_id(wire: Wire) -> None:
    (out,) = wire.send((CALL, 7, "not a map"))
    assert out[:2] == ("reply", 7) and out[2][1]["type"] == "ProtocolError"


def test_an_undecodable_request_is_answered_by_its_id(wire: Wire) -> None:
    # {:call, 9, %{1 => :a, 1.0 => :b}}: keys that collide in Python
    frame = b"\x83h\x03w\x04calla\x09t\x00\x00\x00\x02a\x01w\x01aF" + struct.pack(">d", 1.0) + b"w\x01b"
    (out,) = wire.run(frame)
    assert out[:2] == ("reply", 9) and out[2][1]["type"] == "ProtocolError"
    assert "request 9 could not be decoded" in out[2][1]["message"] and "1.0" in out[2][1]["message"]


def test_an_oversize_frame_is_refused_by_its_header() -> None:
    wire = Wire(max_frame_bytes=1000)
    frame = etf.encode((CALL, 1, {"call_type": "ping", "pad": "x" * 2000}))
    wire.pending.append(frame)
    wire.engine.feed(len(frame).to_bytes(4, "big") + frame)
    wire.pending.clear()
    out = wire.run(etf.encode((CALL, 2, {"call_type": "ping"})))
    assert out[0][0] == "protocol_error" and "over the 1000-byte limit" in out[0][1]["message"]
    assert out[1] == ("reply", 2, ("ok", "pong"))


def deep(kind: str, depth: int) -> bytes:
    """A list, tuple or map nested ``depth`` deep, as ETF bytes (built by hand: no encoder limit)."""
    opener = {"list": b"l\x00\x00\x00\x01", "tuple": b"h\x01", "map": b"t\x00\x00\x00\x01a\x01"}[kind]
    closer = {"list": b"j", "tuple": b"", "map": b""}[kind]
    return opener * depth + b"a\x00" + closer * depth


BIG = 10**5000
KILLERS = [
    etf.encode(BIG),
    etf.encode((BIG, 1)),
    etf.encode((Atom("send_failed"), PID, BIG)),
    etf.encode((Atom("call"), 1, BIG)),
    *(b"\x83" + deep(kind, depth) for kind in ("list", "tuple", "map") for depth in (1_000, 9_999)),
    *(b"\x83h\x02" + deep(kind, 5_000) + b"a\x01" for kind in ("list", "tuple", "map")),
    *(b"\x83h\x03w\x04calla\x01" + deep(kind, 5_000) for kind in ("list", "tuple", "map")),
]


@pytest.mark.parametrize("frame", KILLERS, ids=range(len(KILLERS)))
def test_the_payloads_that_killed_the_adapter_get_answers(wire: Wire, frame: bytes) -> None:
    out = wire.run(frame)
    assert len(out) <= 1
    if out:
        assert out[0][0] in ("protocol_error", "reply")
        message = out[0][1]["message"] if out[0][0] == "protocol_error" else out[0][2][1]["message"]
        assert len(message) < 1000
    assert wire.ok(call_type="ping") == "pong"


def compressed(inner: bytes, declared: int) -> bytes:
    return b"\x83P" + struct.pack(">I", declared) + zlib.compress(inner)


def test_a_compressed_frame_declaring_more_than_the_limit_is_refused_before_inflating() -> None:
    wire = Wire(max_frame_bytes=100_000)
    (out,) = wire.run(compressed(b"\x00" * 10, 1 << 30))
    assert out[0] == "protocol_error" and "over the 100000-byte limit" in out[1]["message"]


def test_a_zip_bomb_within_the_limit_is_an_error_not_a_stall() -> None:
    wire = Wire(max_frame_bytes=50_000_000)
    (out,) = wire.run(compressed(b"\x00" * 40_000_000, 40_000_000))
    assert out[0] == "protocol_error" and "unknown tag 0" in out[1]["message"]


def test_an_exception_in_the_adapter_itself_still_gets_an_answer(
    wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("the runner broke")

    monkeypatch.setattr(wire.engine.runner, "decode", broken)
    (out,) = wire.send((CALL, 5, {"call_type": "ping"}))
    assert out[:2] == ("reply", 5) and "the runner broke" in out[2][1]["message"]


# -- errors -------------------------------------------------------------------------


def test_an_error_reply_has_type_message_traceback_context(wire: Wire) -> None:
    error = wire.error(**fixtures("failing_now"))
    assert error["type"] == "ValueError" and error["module"] == "builtins"
    assert error["context"] == {
        "call_type": "call",
        "python_module": "sp_fixtures",
        "function": "failing_now",
        "session_id": "default",
    }
    traceback = error["traceback"]
    assert traceback.startswith("Traceback (most recent call last):\n  File ")
    assert "sp_fixtures.py" in traceback and "raise ValueError" in traceback
    assert "engine.py" not in traceback and "^^^" not in traceback  # the user's frames, no carets


def test_an_exception_whose_str_fails_is_still_reported(wire: Wire) -> None:
    error = wire.error(**fixtures("raise_unprintable"))
    assert error["type"] == "Unprintable" and "cannot be shown" in error["message"]


def test_system_exit_in_user_code_is_a_reply(wire: Wire) -> None:
    assert wire.error(**fixtures("raise_system_exit"))["type"] == "SystemExit"


# -- callbacks -------------------------------------------------------------------------


def test_a_callback_answered_from_a_list() -> None:
    answers = iter([4, 3, 6])
    wire = Wire(answer=lambda w, frame: (CALLBACK_REPLY, frame[1], (OK, next(answers))))
    words = ["pear", "fig", "banana"]
    assert wire.ok(python_module="builtins", function="sorted", args=[words], kwargs={"key": FUN1}) == [
        "fig",
        "pear",
        "banana",
    ]
    callbacks = [term for term in wire.out if term[0] == "callback"]
    assert [term[3] for term in callbacks] == [["pear"], ["fig"], ["banana"]]
    assert all(isinstance(term[2], Fun) for term in callbacks)
    wire.close()


def test_a_callback_error_raises_elixir_error_in_python() -> None:
    reason = {"kind": "error", "type": "ArithmeticError", "message": "bad argument"}
    wire = Wire(answer=lambda w, frame: (CALLBACK_REPLY, frame[1], (ERROR, reason)))
    caught = wire.ok(**fixtures("catch_elixir", FUN0))
    assert caught == {
        "kind": "error",
        "type": "ArithmeticError",
        "message": "bad argument",
        "text": "(ArithmeticError) bad argument",
    }
    wire.close()


def test_callbacks_nested_fun_calls_python_again() -> None:
    """Each callback's fun makes one more request (as a fun calling Python would), three deep."""

    def answer(w: Wire, frame: tuple[Any, ...]) -> Any:
        level = frame[3][0]
        if level < 3:  # the fun calls Python, which calls back with level + 1
            inner = next(w.ids)
            w.pending.append(etf.encode((CALL, inner, fixtures("apply_fun", FUN1, level + 1))))
            w.pending.append(etf.encode((CALLBACK_REPLY, frame[1], (OK, f"level {level}"))))
            return None
        return (CALLBACK_REPLY, frame[1], (OK, "innermost"))

    wire = Wire(answer=answer)
    assert wire.ok(**fixtures("apply_fun", FUN1, 1)) == "level 1"
    replies = [term for term in wire.out if term[0] == "reply"]
    assert [reply[2] for reply in replies] == [("ok", "innermost"), ("ok", "level 2"), ("ok", "level 1")]
    wire.close()


def test_callback_depth_limit() -> None:
    def answer(w: Wire, frame: tuple[Any, ...]) -> Any:
        w.pending.append(etf.encode((CALL, next(w.ids), fixtures("apply_fun", FUN1, 0))))
        return None

    wire = Wire(answer=answer, max_callback_depth=3)
    _, out = wire.request(**fixtures("apply_fun", FUN1, 0))
    errors = [term for term in out if term[0] == "reply"]
    assert errors[0][2][1]["type"] == "CallbackDepthError" and "nested 3 deep" in errors[0][2][1]["message"]
    wire.close()


def test_cancel_while_waiting_for_a_callback() -> None:
    def answer(w: Wire, frame: tuple[Any, ...]) -> Any:
        w.pending.append(etf.encode((CANCEL, 1)))
        return None

    wire = Wire(answer=answer)
    error = wire.error(**fixtures("apply_fun", FUN0))
    assert error["type"] == "Cancelled" and "callback" in error["message"]
    wire.close()


def test_an_undecodable_callback_reply_fails_the_waiting_callback() -> None:
    def answer(w: Wire, frame: tuple[Any, ...]) -> Any:
        # {:callback_reply, Id, <garbage>}
        w.pending.append(b"\x83h\x03w\x0ecallback_replya" + bytes([frame[1]]) + b"\xff\xff")
        return None

    wire = Wire(answer=answer)
    error = wire.error(**fixtures("apply_fun", FUN0))
    assert error["type"] == "ElixirError" and "could not be decoded" in error["message"]
    wire.close()


def test_a_callback_with_no_answer_coming_is_beam_gone(wire: Wire) -> None:
    assert wire.error(**fixtures("apply_fun", FUN0))["type"] == "BeamGoneError"


def test_sends(wire: Wire) -> None:
    out = wire.send((CALL, 1, fixtures("progress", PID, 2)))
    assert out == [
        ("send", PID, (Atom("progress"), 1, 2)),
        ("send", PID, (Atom("progress"), 2, 2)),
        ("reply", 1, ("ok", "finished")),
    ]
    assert isinstance(out[0][1], Pid)


# -- registry time, without the clock ----------------------------------------------


def test_ref_ttl_with_an_injected_clock() -> None:
    now = [1000.0]
    wire = Wire(ref_ttl=5.0, clock=lambda: now[0])
    box = wire.ok(call_type="class", python_module="sp_fixtures", **{"class": "Box"}, args=[1])
    now[0] += 4.0
    assert wire.ok(call_type="method", instance=box, function="get") == 1  # used: idle time restarts
    now[0] += 5.5
    error = wire.error(call_type="method", instance=box, function="get")
    assert error["type"] == "RefEvictedError" and "5 s ref TTL" in error["message"]
    wire.close()
