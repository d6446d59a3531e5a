"""The adapter's stream protocol through pipes: stream_take, put-back, push streams, credit, cancel."""

from __future__ import annotations

from typing import Any

from snakeport.terms import Atom

from .conftest import CALL, Adapter

CREDIT, CANCEL = Atom("credit"), Atom("cancel")


def counter(adapter: Adapter) -> Any:
    return adapter.ok(python_module="itertools", function="count", args=[1])


def test_take_and_put_back(adapter: Adapter) -> None:
    stream = counter(adapter)
    assert adapter.ok(call_type="stream_take", stream_ref=stream, max=4) == {
        "items": [1, 2, 3, 4],
        "done": False,
    }
    assert adapter.ok(call_type="stream_take", stream_ref=stream, max=0, unread=2) == {
        "items": [],
        "done": False,
    }
    assert adapter.ok(call_type="stream_next", stream_ref=stream) == 3
    assert adapter.ok(call_type="stream_take", stream_ref=stream, max=3) == {
        "items": [4, 5, 6],
        "done": False,
    }
    error = adapter.error(call_type="stream_take", stream_ref=stream, max=1, unread=9)
    assert error["type"] == "ValueError" and "put back 9" in error["message"]
    assert adapter.error(call_type="stream_take", stream_ref=stream, max=-1)["type"] == "ProtocolError"


def test_take_to_the_end(adapter: Adapter) -> None:
    stream = adapter.ok(python_module="builtins", function="iter", args=[[1, 2, 3]])
    assert adapter.ok(call_type="stream_take", stream_ref=stream, max=2) == {"items": [1, 2], "done": False}
    assert adapter.ok(call_type="stream_take", stream_ref=stream, max=5) == {"items": [3], "done": True}
    assert adapter.ok(call_type="stream_take", stream_ref=stream, max=5) == {"items": [], "done": True}
    assert adapter.ok(call_type="stream_next", stream_ref=stream) == {"__type__": "stop_iteration"}


def test_error_after_items_comes_next(adapter: Adapter) -> None:
    stream = adapter.fx("failing", 3)
    assert adapter.ok(call_type="stream_take", stream_ref=stream, max=10) == {
        "items": [0, 1, 2],
        "done": False,
    }
    error = adapter.error(call_type="stream_take", stream_ref=stream, max=10)
    assert error["type"] == "ValueError" and "failed after 3" in error["message"]


def test_async_generator_pull(adapter: Adapter) -> None:
    stream = adapter.fx("agen", 3)
    assert stream["stream_type"] == "async_generator"
    assert adapter.ok(call_type="stream_take", stream_ref=stream, max=5) == {"items": [0, 1, 2], "done": True}


def push(adapter: Adapter, request_id: int, **request: Any) -> None:
    adapter.process.send((CALL, request_id, dict(call_type="stream", **request)))


def test_push_respects_credit_and_serves_others(adapter: Adapter) -> None:
    push(adapter, 500, python_module="builtins", function="range", args=[10], batch=4, credit=1)
    assert adapter.process.recv() == ("chunk", 500, [0, 1, 2, 3])
    assert adapter.ok(call_type="ping") == "pong"  # no credit: the stream waits, requests are served
    adapter.process.send((CREDIT, 500, 5))
    assert adapter.process.recv() == ("chunk", 500, [4, 5, 6, 7])
    assert adapter.process.recv() == ("chunk", 500, [8, 9])
    assert adapter.process.recv() == ("reply", 500, ("ok", "done"))


def test_push_one_item_results_and_errors(adapter: Adapter) -> None:
    push(adapter, 501, python_module="builtins", function="list", args=[[1, 2]])
    assert adapter.process.recv() == ("chunk", 501, [[1, 2]])
    assert adapter.process.recv() == ("reply", 501, ("ok", "done"))
    push(adapter, 502, python_module="sp_fixtures", function="failing", args=[3], credit=5)
    assert adapter.process.recv() == ("chunk", 502, [0, 1, 2])
    tag, request_id, (status, error) = adapter.process.recv()
    assert (tag, request_id, status, error["type"]) == ("reply", 502, "error", "ValueError")


def test_push_cancel_closes_the_generator(adapter: Adapter) -> None:
    push(
        adapter,
        503,
        python_module="sp_fixtures",
        function="counting",
        args=[10**6, "cancelled"],
        batch=2,
        credit=1,
    )
    assert adapter.process.recv() == ("chunk", 503, [0, 1])
    adapter.process.send((CANCEL, 503))
    tag, request_id, (status, error) = adapter.process.recv()
    assert (tag, request_id, status, error["type"]) == ("reply", 503, "error", "Cancelled")
    assert "cancelled" in adapter.fx("released")


def test_push_async_generator(adapter: Adapter) -> None:
    push(adapter, 504, python_module="sp_fixtures", function="agen", args=[3], credit=2)
    assert adapter.process.recv() == ("chunk", 504, [0, 1, 2])
    assert adapter.process.recv() == ("reply", 504, ("ok", "done"))
