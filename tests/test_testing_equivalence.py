"""The harness's requests equal the Elixir client's, field by field.

``tests/recordings/client_requests.frames`` holds the requests SnakeBridge's
Elixir client sent for a fixed list of calls (recorded by
``mix_stub/test/client_requests_test.exs``, which also checks, on every
ExUnit run, that the client still sends exactly these).  Here the same
calls are built with ``snakeport.testing.wire``, as ``snakeport.testing.Adapter``
sends them, and each request map is compared with the client's: the same
keys, the same values of the same types (tagged maps decoded alike on both
sides), ref ids and session ids normalised.  The refs the calls use are the
ones the recording's replies handed out.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from snakeport import etf
from snakeport.core.recording import read_records
from snakeport.terms import Atom
from snakeport.testing import wire
from snakeport.testing.adapter import _refs  # the harness's own reading of ref maps
from snakeport.testing.wire import Ref, StreamRef

from .conftest import assert_same

RECORDING = Path(__file__).parent / "recordings" / "client_requests.frames"
SESSION = "equivalence"


def recorded() -> tuple[list[dict[str, Any]], dict[int, Any]]:
    """The client's request maps in order, and the values of its replies by request id."""
    requests: list[dict[str, Any]] = []
    replies: dict[int, Any] = {}
    for record in read_records(RECORDING.read_bytes()):
        if record.direction == "in":
            term = etf.decode(record.payload)
            if term[0] == "call":
                requests.append(term[2])
        else:
            term = etf.decode(record.payload, tag_hook=_refs)
            if term[0] == "reply" and term[2][0] == "ok":
                replies[term[1]] = term[2][1]
    return requests, replies


def harness_requests(replies: dict[int, Any]) -> list[dict[str, Any]]:
    """The same calls as the ExUnit test makes, built by the harness (request ids from 1)."""
    counter: Ref = replies[2]
    namespace: Ref = replies[4]
    stream: StreamRef = replies[9]
    assert isinstance(stream, StreamRef) and not isinstance(counter, StreamRef)
    return [
        wire.call_request("builtins", "sorted", [[3, 1, 2]], {"reverse": True}, SESSION),
        wire.class_request("collections", "Counter", [["a", "b", "a"]], None, SESSION),
        wire.method_request(counter, "most_common", [1]),
        wire.class_request("types", "SimpleNamespace", [], {"x": 1}, SESSION),
        wire.get_attr_request(namespace, "x"),
        wire.set_attr_request(namespace, "x", 2),
        wire.module_attr_request("math", "pi", SESSION),
        wire.helper_request("test.greet", ["ada"], {"punctuation": "?"}, SESSION),
        wire.call_request("itertools", "count", [1], None, SESSION),
        wire.take_request(stream, 3),
        wire.release_request(counter),
        wire.call_request("builtins", "len", [b"abc"], None, SESSION),  # SnakeBridge.bytes("abc")
        wire.call_request("builtins", "sorted", [{3, 1, 2}], None, SESSION),  # a MapSet
        wire.call_request("builtins", "str", [datetime.date(2026, 1, 2)], None, SESSION),
        wire.call_request("builtins", "list", [(1, "a")], None, SESSION),
        wire.call_request("builtins", "str", [Atom("hello")], None, SESSION),
        wire.call_request("builtins", "len", [[namespace, {"k": namespace}]], None, SESSION),  # nested refs
        wire.release_session_request(SESSION),
    ]


def as_sent(fields: dict[str, Any]) -> Any:
    """What the adapter reads from the harness's frame: encoded as it sends it, decoded as the client's was."""
    return etf.decode(etf.encode((Atom("call"), 1, wire.to_wire(fields))))[2]


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        normal = {key: normalise(item) for key, item in value.items()}
        if value.get("__type__") in ("ref", "stream_ref") and "id" in value:
            normal["id"] = "REF"
        if "session_id" in normal:
            normal["session_id"] = "SESSION"
        return normal
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, tuple):
        return tuple(normalise(item) for item in value)
    return value


def test_the_recording_has_every_call() -> None:
    requests, replies = recorded()
    assert [request.get("call_type") for request in requests] == [
        "call",
        "class",
        "method",
        "class",
        "get_attr",
        "set_attr",
        "module_attr",
        "helper",
        "call",
        "stream_take",
        "release_ref",
        *["call"] * 6,
        "release_session",
    ]
    assert isinstance(replies[2], Ref) and isinstance(replies[9], StreamRef)


@pytest.mark.parametrize("number", range(1, 19))
def test_each_request_equals_the_elixir_clients(number: int) -> None:
    requests, replies = recorded()
    client = normalise(requests[number - 1])
    harness = normalise(as_sent(harness_requests(replies)[number - 1]))
    assert sorted(harness) == sorted(client), f"request {number}: different fields"
    for field in client:
        assert_same(harness[field], client[field], path=f"request {number} {field!r}")
