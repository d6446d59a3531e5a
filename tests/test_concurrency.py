"""Requests run concurrently inside one adapter, and a cancel stops the Python work.

Through pipes, the test playing the BEAM: a quick call during a long one,
concurrent sleeps, cancels that stop ``time.sleep`` and a pure-Python loop
(the marker never appears), callbacks from pool and user threads, main-thread
calls, the registry under many threads, a stuck C call reported.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snakeport.terms import Atom

from .conftest import CALL, Adapter
from .test_callbacks import FUN1

CANCEL, CALLBACK_REPLY = Atom("cancel"), Atom("callback_reply")


def adapter(*options: str) -> Adapter:
    running = Adapter(*options)
    running.ids = itertools.count(1000)  # its own requests do not take the ids the tests send
    return running


@pytest.fixture
def threaded() -> Iterator[Adapter]:
    running = adapter("--threads", "8")
    yield running
    assert running.close() == 0


def fx(function: str, *args: Any, **fields: Any) -> dict[str, Any]:
    return {"python_module": "sp_fixtures", "function": function, "args": list(args), **fields}


def replies(adapter: Adapter, count: int, timeout: float = 10.0) -> dict[int, Any]:
    """The next ``count`` replies by id (other frames are kept in order in ``others``)."""
    got: dict[int, Any] = {}
    while len(got) < count:
        frame = adapter.process.recv(timeout)
        if frame[0] == "reply":
            got[frame[1]] = frame[2]
    return got


def test_a_quick_call_is_answered_during_a_long_one(threaded: Adapter) -> None:
    threaded.process.send((CALL, 1, fx("sleep", 2)))
    started = time.monotonic()
    threaded.process.send((CALL, 2, {"python_module": "math", "function": "sqrt", "args": [16]}))
    assert threaded.process.recv() == ("reply", 2, ("ok", 4.0))
    assert time.monotonic() - started < 0.5  # not after the 2 s call
    assert replies(threaded, 1)[1][0] == "ok"


def test_concurrent_sleeps_take_about_one_sleep(threaded: Adapter) -> None:
    started = time.monotonic()
    for request_id in range(1, 9):
        threaded.process.send((CALL, request_id, fx("sleep", 0.5)))
    got = replies(threaded, 8)
    elapsed = time.monotonic() - started
    assert sorted(got) == list(range(1, 9)) and all(status == "ok" for status, _ in got.values())
    assert elapsed < 1.5, f"8 sleeps of 0.5 s took {elapsed:.2f} s"


def test_the_default_runs_16_sleeps_at_once_and_starts_threads_only_when_needed() -> None:
    running = adapter()  # no --threads: the default
    try:
        assert running.ready[1]["threads"] == 32
        assert running.ok(call_type="stats")["pool_threads"] == 0  # nothing ran concurrently yet
        started = time.monotonic()
        for request_id in range(1, 17):
            running.process.send((CALL, request_id, fx("sleep", 0.5)))
        got = replies(running, 16)
        elapsed = time.monotonic() - started
        assert all(status == "ok" for status, _ in got.values())
        assert elapsed < 1.5, f"16 sleeps of 0.5 s took {elapsed:.2f} s"
    finally:
        assert running.close() == 0


@pytest.mark.parametrize("threads", ["1", "8"])
@pytest.mark.parametrize("function", ["sleep_then_mark", "busy_loop"])
def test_a_cancel_stops_the_python_work(tmp_path: Path, threads: str, function: str) -> None:
    marker = tmp_path / "finished"
    running = adapter("--threads", threads)
    running.process.send((CALL, 1, fx(function, 1.2, str(marker))))
    time.sleep(0.2)  # let it run: a cancel of a call that has not started is another test
    cancelled_at = time.monotonic()
    running.process.send((CANCEL, 1))
    tag, request_id, (status, error) = running.process.recv()
    assert (tag, request_id, status, error["type"]) == ("reply", 1, "error", "Cancelled")
    assert time.monotonic() - cancelled_at < 0.1, "the call went on after its cancel"
    assert running.ok(call_type="ping") == "pong"  # the thread is free
    assert time.monotonic() - cancelled_at < 0.2
    time.sleep(1.2)  # past the call's own end: it never finished
    assert not marker.exists()
    assert running.close() == 0


def test_a_cancel_runs_the_calls_finally_blocks(threaded: Adapter, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    threaded.process.send((CALL, 1, fx("sleep_then_clean_up", 30, str(marker))))
    while not marker.exists():
        time.sleep(0.01)
    threaded.process.send((CANCEL, 1))
    assert threaded.process.recv()[2][1]["type"] == "Cancelled"
    assert marker.read_text() == "cleaned up"


def test_a_queued_call_cancelled_before_it_runs() -> None:
    running = adapter("--threads", "1")
    running.process.send((CALL, 1, fx("sleep", 0.5)))
    running.process.send((CALL, 2, {"python_module": "math", "function": "sqrt", "args": [4]}))
    time.sleep(0.05)  # 2 waits behind 1 on the one thread
    running.process.send((CANCEL, 2))
    got = replies(running, 2)
    assert got[2][1]["type"] == "Cancelled" and "before it ran" in got[2][1]["message"]
    assert got[1] == ("ok", "slept")
    assert running.close() == 0


def test_a_cancel_ends_a_callback_wait_on_a_pool_thread(threaded: Adapter) -> None:
    threaded.process.send((CALL, 1, fx("sleep", 1)))  # the reader's thread is busy: 2 runs elsewhere
    threaded.process.send((CALL, 2, fx("apply_fun", FUN1, "x")))
    tag, callback_id, _, args = threaded.process.recv()
    assert (tag, args) == ("callback", ["x"])
    threaded.process.send((CANCEL, 2))
    got = replies(threaded, 1)
    assert got[2][1]["type"] == "Cancelled"
    threaded.process.send((CALLBACK_REPLY, callback_id, (Atom("ok"), "late")))  # dropped quietly
    assert replies(threaded, 1)[1][0] == "ok"
    assert threaded.ok(call_type="ping") == "pong"


def test_callbacks_from_pool_threads_and_a_users_thread(threaded: Adapter) -> None:
    threaded.process.send((CALL, 1, fx("sleep", 1)))
    threaded.process.send((CALL, 2, fx("apply_fun", FUN1, "pool")))
    threaded.process.send((CALL, 3, fx("call_in_thread", FUN1)))
    asked: dict[Any, int] = {}
    while len(asked) < 2:
        tag, callback_id, _, args = threaded.process.recv()
        assert tag == "callback"
        asked[args[0]] = callback_id
    threaded.process.send((CALLBACK_REPLY, asked["from a thread"], (Atom("ok"), "three")))
    threaded.process.send((CALLBACK_REPLY, asked["pool"], (Atom("ok"), "two")))
    got = replies(threaded, 3)
    assert got[2] == ("ok", "two") and got[3] == ("ok", "three") and got[1][0] == "ok"


def test_a_fun_calling_python_again_nests_on_other_threads(threaded: Adapter) -> None:
    """The fun's own request is served while its caller waits; the chain depth the client gives is checked."""
    threaded.process.send((CALL, 1, fx("apply_fun", FUN1, "outer")))
    _, outer, _, _ = threaded.process.recv()
    threaded.process.send((CALL, 2, fx("apply_fun", FUN1, "inner", callback_depth=1)))
    _, inner, _, args = threaded.process.recv()
    assert args == ["inner"]
    threaded.process.send((CALL, 3, fx("apply_fun", FUN1, "too deep", callback_depth=50)))
    got = replies(threaded, 1)
    assert got[3][1]["type"] == "CallbackDepthError"
    threaded.process.send((CALLBACK_REPLY, inner, (Atom("ok"), "in")))
    threaded.process.send((CALLBACK_REPLY, outer, (Atom("ok"), "out")))
    assert replies(threaded, 2) == {2: ("ok", "in"), 1: ("ok", "out")}


def test_main_thread_calls() -> None:
    running = adapter("--threads", "4", "--main-thread", "sp_fixtures.which_thread_main")
    running.process.send((CALL, 1, fx("sleep", 0.5)))  # the main thread is busy with this
    time.sleep(0.05)
    running.process.send((CALL, 2, fx("which_thread")))
    running.process.send((CALL, 3, fx("which_thread", thread="main")))
    got = replies(running, 3)
    assert got[2] == ("ok", "other") and got[3] == ("ok", "main")
    assert running.close() == 0


def test_the_registry_under_many_threads(threaded: Adapter) -> None:
    for request_id in range(1, 17):
        threaded.process.send((CALL, request_id, fx("many_objects", 300, session_id="many")))
    got = replies(threaded, 16)
    ids = [ref["id"] for status, refs in got.values() for ref in refs]
    assert len(ids) == 16 * 300 and len(set(ids)) == len(ids)
    assert threaded.ok(call_type="stats")["refs"] == 16 * 300
    assert threaded.ok(call_type="release_session", session_id="many") == 16 * 300


def test_a_stuck_c_call_is_reported(threaded: Adapter) -> None:
    threaded.process.send((CALL, 1, fx("c_sleep", 3)))
    time.sleep(0.2)
    threaded.process.send((CANCEL, 1))
    tag, request_id, info = threaded.process.recv(5)
    assert (tag, request_id) == ("stuck", 1)
    assert info["request"]["function"] == "c_sleep" and info["cancelled_ms"] >= 1000
    assert threaded.ok(call_type="ping") == "pong"  # other requests go on meanwhile
    tag, request_id, (_, error) = threaded.process.recv(5)
    assert (tag, request_id, error["type"]) == ("reply", 1, "Cancelled")  # when the C call returns


def test_stats_count_what_runs(threaded: Adapter) -> None:
    threaded.process.send((CALL, 1, fx("sleep", 0.5)))
    time.sleep(0.05)
    stats = threaded.ok(call_type="stats")
    assert stats["running"] == 2 and stats["threads"] == 8  # the sleep, and this stats call
    replies(threaded, 1)


def test_push_chunks_keep_their_order_while_credit_races_them(threaded: Adapter) -> None:
    credit = Atom("credit")
    threaded.process.send(
        (
            CALL,
            1,
            {
                "call_type": "stream",
                "python_module": "builtins",
                "function": "range",
                "args": [3000],
                "credit": 1,
                "batch": 16,
            },
        )
    )
    items: list[int] = []
    while True:
        frame = threaded.process.recv()
        if frame[0] == "reply":
            break
        items += frame[2]
        threaded.process.send((credit, 1, 1))
    assert items == list(range(3000))
