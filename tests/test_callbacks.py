"""Callbacks and messages, Python's side, through pipes: this test plays the BEAM.

The funs and pids are real ones, made by the BEAM (the golden vectors); the
test answers each ``{:callback, ...}`` itself, so it can also answer late,
wrongly, or never.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snakeport import etf
from snakeport.terms import Atom, Fun, Pid

from .conftest import CALL, Adapter

VECTORS = Path(__file__).parent / "golden" / "vectors.tsv"


def golden(name: str) -> Any:
    """The term the BEAM encoded as ``name`` (its plain OTP 26 encoding)."""
    for line in VECTORS.read_text().splitlines():
        fields = line.split("\t")
        if fields[:2] == [name, "v2"]:
            return etf.decode(bytes.fromhex(fields[2]))
    raise LookupError(name)


FUN0: Fun = golden("fun_3")  # fn -> ... end
FUN1: Fun = golden("fun_4")  # fn x -> ... end
EXPORT2: Fun = golden("fun_1")  # &lists.map/2
PID: Pid = golden("pid_1")
CALLBACK_REPLY = Atom("callback_reply")
SEND_FAILED = Atom("send_failed")


@pytest.fixture
def adapter() -> Iterator[Adapter]:
    """One thread for everything: the re-entrant model (nested calls one level deeper on one stack).

    The threaded model has its own tests (test_concurrency.py).
    """
    running = Adapter("--threads", "1")
    yield running
    assert running.close() == 0


def start(adapter: Adapter, request_id: int, function: str, *args: Any) -> None:
    adapter.process.send(
        (CALL, request_id, {"python_module": "sp_fixtures", "function": function, "args": list(args)})
    )


def test_the_funs_arity_comes_from_the_beams_bytes() -> None:
    assert (FUN0.arity, FUN1.arity, EXPORT2.arity) == (0, 1, 2)


def test_calling_a_fun_sends_a_callback_and_returns_the_reply(adapter: Adapter) -> None:
    start(adapter, 1, "apply_fun", FUN1, 21)
    tag, callback_id, fun, args = adapter.process.recv()
    assert (tag, fun, args) == ("callback", FUN1, [21])
    assert etf.encode(fun) == etf.encode(FUN1)  # the fun goes back byte for byte
    adapter.process.send((CALLBACK_REPLY, callback_id, (Atom("ok"), 42)))
    assert adapter.process.recv() == ("reply", 1, ("ok", 42))


def test_funs_inside_containers_are_callable(adapter: Adapter) -> None:
    start(adapter, 1, "apply_fun", {"deep": [EXPORT2]}["deep"][0], 1, [2])
    tag, callback_id, fun, args = adapter.process.recv()
    assert (tag, fun, args) == ("callback", EXPORT2, [1, [2]])
    adapter.process.send((CALLBACK_REPLY, callback_id, (Atom("ok"), "done")))
    assert adapter.process.recv() == ("reply", 1, ("ok", "done"))


def test_a_returned_fun_is_the_original(adapter: Adapter) -> None:
    value = adapter.ok(python_module="builtins", function="max", args=[[FUN1]])
    assert value == FUN1 and etf.encode(value) == etf.encode(FUN1)


def test_wrong_arity_is_a_type_error_before_anything_is_sent(adapter: Adapter) -> None:
    error = adapter.error(python_module="sp_fixtures", function="apply_fun", args=[FUN1, 1, 2])
    assert error["type"] == "TypeError"
    assert error["message"] == "Elixir fun of arity 1 called with 2 argument(s)"
    assert adapter.ok(call_type="ping") == "pong"  # no callback frame came before the reply


def test_keyword_arguments_are_a_type_error(adapter: Adapter) -> None:
    error = adapter.error(python_module="sp_fixtures", function="apply_kw", args=[FUN1])
    assert error["type"] == "TypeError" and "extra" in error["message"]


def test_an_error_reply_raises_elixir_error_with_kind_and_type(adapter: Adapter) -> None:
    start(adapter, 1, "catch_elixir", FUN0)
    _, callback_id, _, _ = adapter.process.recv()
    reason = {"kind": "error", "type": "ArithmeticError", "message": "bad argument in arithmetic expression"}
    adapter.process.send((CALLBACK_REPLY, callback_id, (Atom("error"), reason)))
    assert adapter.process.recv() == (
        "reply",
        1,
        (
            "ok",
            {
                "kind": "error",
                "type": "ArithmeticError",
                "message": "bad argument in arithmetic expression",
                "text": "(ArithmeticError) bad argument in arithmetic expression",
            },
        ),
    )


def test_an_uncaught_elixir_error_fails_the_call_with_its_message(adapter: Adapter) -> None:
    start(adapter, 1, "apply_fun", FUN0)
    _, callback_id, _, _ = adapter.process.recv()
    reason = {"kind": "exit", "type": None, "message": "the fun exited: :boom"}
    adapter.process.send((CALLBACK_REPLY, callback_id, (Atom("error"), reason)))
    tag, request_id, (status, error) = adapter.process.recv()
    assert (tag, request_id, status, error["type"]) == ("reply", 1, "error", "ElixirError")
    assert error["message"] == "(exit) the fun exited: :boom"


def test_requests_are_served_while_a_callback_waits(adapter: Adapter) -> None:
    start(adapter, 1, "apply_fun", FUN0)
    _, callback_id, _, _ = adapter.process.recv()
    adapter.process.send((CALL, 2, {"python_module": "math", "function": "sqrt", "args": [16]}))
    assert adapter.process.recv() == ("reply", 2, ("ok", 4.0))
    adapter.process.send((CALLBACK_REPLY, callback_id, (Atom("ok"), "late")))
    assert adapter.process.recv() == ("reply", 1, ("ok", "late"))


def test_callbacks_nest_to_the_depth_limit_then_fail_with_their_own_error(adapter: Adapter) -> None:
    depth = 50  # the default --max-callback-depth
    start(adapter, 1, "apply_fun", FUN0)
    callback_ids = [adapter.process.recv()[1]]
    for level in range(2, depth + 1):  # each callback's "fun" calls Python, which calls back again
        start(adapter, level, "apply_fun", FUN1, level)
        tag, callback_id, _, args = adapter.process.recv()
        assert (tag, args) == ("callback", [level])
        callback_ids.append(callback_id)
    start(adapter, depth + 1, "apply_fun", FUN1, depth + 1)
    tag, request_id, (status, error) = adapter.process.recv()
    assert (tag, request_id, status, error["type"]) == ("reply", depth + 1, "error", "CallbackDepthError")
    assert "nested 50 deep" in error["message"] and "--max-callback-depth" in error["message"]
    for level in range(depth, 0, -1):  # the innermost answers first
        adapter.process.send((CALLBACK_REPLY, callback_ids.pop(), (Atom("ok"), level * 10)))
        assert adapter.process.recv() == ("reply", level, ("ok", level * 10))


def test_an_outer_answer_waits_for_the_inner_calls(adapter: Adapter) -> None:
    start(adapter, 1, "apply_fun", FUN0)
    outer = adapter.process.recv()[1]
    start(adapter, 2, "apply_fun", FUN0)
    inner = adapter.process.recv()[1]
    adapter.process.send((CALLBACK_REPLY, outer, (Atom("ok"), "outer")))
    adapter.process.send((CALLBACK_REPLY, inner, (Atom("ok"), "inner")))
    assert adapter.process.recv() == ("reply", 2, ("ok", "inner"))
    assert adapter.process.recv() == ("reply", 1, ("ok", "outer"))


def test_refs_in_a_callback_reply_are_the_objects(adapter: Adapter) -> None:
    box = adapter.ok(call_type="class", python_module="sp_fixtures", **{"class": "Box"}, args=[7])
    start(adapter, 1, "apply_fun", FUN0)
    _, callback_id, _, _ = adapter.process.recv()
    adapter.process.send((CALLBACK_REPLY, callback_id, (Atom("ok"), box)))
    _, _, (status, value) = adapter.process.recv()
    assert (status, value["__type__"], value["type_name"]) == ("ok", "ref", "Box")
    assert adapter.ok(call_type="method", instance=value, function="get") == 7


def test_objects_in_callback_args_travel_as_refs(adapter: Adapter) -> None:
    start(
        adapter,
        1,
        "apply_fun",
        FUN1,
        adapter.ok(call_type="class", python_module="sp_fixtures", **{"class": "Box"}, args=[7]),
    )
    _, callback_id, _, (ref,) = adapter.process.recv()
    assert ref["__type__"] == "ref" and ref["type_name"] == "Box"
    adapter.process.send((CALLBACK_REPLY, callback_id, (Atom("ok"), 1)))
    assert adapter.process.recv() == ("reply", 1, ("ok", 1))


def test_a_stored_fun_works_in_a_later_request(adapter: Adapter) -> None:
    assert adapter.fx("store_fun", FUN1) is True
    start(adapter, 100, "call_stored", 5)
    tag, callback_id, fun, args = adapter.process.recv()
    assert (tag, fun, args) == ("callback", FUN1, [5])
    adapter.process.send((CALLBACK_REPLY, callback_id, (Atom("ok"), 6)))
    assert adapter.process.recv() == ("reply", 100, ("ok", 6))


def test_a_fun_called_from_a_users_own_thread_works(adapter: Adapter) -> None:
    start(adapter, 1, "call_in_thread", FUN1)
    tag, callback_id, _, args = adapter.process.recv()
    assert (tag, args) == ("callback", ["from a thread"])
    adapter.process.send((CALLBACK_REPLY, callback_id, (Atom("ok"), "answered")))
    assert adapter.process.recv() == ("reply", 1, ("ok", "answered"))


def test_cancel_ends_a_callback_wait_and_drops_the_late_answer(adapter: Adapter) -> None:
    start(adapter, 1, "apply_fun", FUN0)
    _, callback_id, _, _ = adapter.process.recv()
    adapter.process.send((Atom("cancel"), 1))
    tag, request_id, (status, error) = adapter.process.recv()
    assert (tag, request_id, status, error["type"]) == ("reply", 1, "error", "Cancelled")
    adapter.process.send((CALLBACK_REPLY, callback_id, (Atom("ok"), "too late")))
    assert adapter.ok(call_type="ping") == "pong"  # the late answer was dropped quietly


def test_a_callback_reply_for_an_unknown_id_is_a_protocol_error(adapter: Adapter) -> None:
    adapter.process.send((CALLBACK_REPLY, 999, (Atom("ok"), 1)))
    tag, error = adapter.process.recv()
    assert (
        tag == "protocol_error" and "999" in error["message"] and "no callback is waiting" in error["message"]
    )
    assert adapter.ok(call_type="ping") == "pong"


def test_a_malformed_callback_reply_is_a_protocol_error(adapter: Adapter) -> None:
    start(adapter, 1, "apply_fun", FUN0)
    _, callback_id, _, _ = adapter.process.recv()
    adapter.process.send((CALLBACK_REPLY, callback_id, "not a result"))
    tag, error = adapter.process.recv()
    assert tag == "protocol_error" and "callback_reply" in error["message"]
    adapter.process.send((CALLBACK_REPLY, callback_id, (Atom("ok"), "fine")))
    assert adapter.process.recv() == ("reply", 1, ("ok", "fine"))


def test_input_ending_during_a_callback_ends_the_adapter_cleanly() -> None:
    running = Adapter()
    start(running, 1, "apply_fun", FUN0)
    assert running.process.recv()[0] == "callback"
    assert running.close() == 0


def test_a_fun_outside_the_adapter_says_where_it_can_run() -> None:
    with pytest.raises(RuntimeError, match="inside the SnakePort adapter"):
        FUN0()


# -- snakeport.send -----------------------------------------------------------


def test_send_writes_messages_in_order_before_the_reply(adapter: Adapter) -> None:
    start(adapter, 1, "progress", PID, 3)
    for i in (1, 2, 3):
        assert adapter.process.recv() == ("send", PID, ("progress", i, 3))
    assert adapter.process.recv() == ("reply", 1, ("ok", "finished"))


def test_send_refuses_what_is_not_a_pid(adapter: Adapter) -> None:
    error = adapter.error(python_module="sp_fixtures", function="progress", args=["not a pid", 1])
    assert error["type"] == "TypeError" and "pid" in error["message"]


def test_send_after_a_send_failed_notice_raises(adapter: Adapter) -> None:
    adapter.process.send((SEND_FAILED, PID, "process #PID<0.9.0> is not alive"))
    message = adapter.fx("send_repeatedly", PID, 3, 0.0)
    assert message.startswith("send 1 refused: cannot send to") and "is not alive" in message
    other = golden("pid_2")
    start(adapter, 50, "progress", other, 1)  # other pids are still fine
    assert adapter.process.recv() == ("send", other, ("progress", 1, 1))
    assert adapter.process.recv() == ("reply", 50, ("ok", "finished"))


def test_send_failed_is_taken_even_while_a_call_runs(adapter: Adapter) -> None:
    start(adapter, 1, "send_repeatedly", PID, 2000, 0.005)
    assert adapter.process.recv() == ("send", PID, "hello")
    adapter.process.send((SEND_FAILED, PID, "process is not alive"))
    while (frame := adapter.process.recv())[0] == "send":
        pass
    status, message = frame[2]
    assert (frame[:2], status) == (("reply", 1), "ok")
    assert message.endswith("cannot send to #PID<0.9.0>: process is not alive")


def test_send_from_a_thread_is_a_whole_frame(adapter: Adapter) -> None:
    start(adapter, 1, "send_from_thread", PID, b"x" * 100_000)
    assert adapter.process.recv() == ("send", PID, "x" * 100_000)  # binaries decode as text when UTF-8
    assert adapter.process.recv() == ("reply", 1, ("ok", True))
