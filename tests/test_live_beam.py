"""Live round trips through one long-running BEAM (tests/beam/etf_peer.escript).

Python -> BEAM: random values (hypothesis, over the whole term space) are
encoded by SnakePort; the BEAM decodes them and compares =:= with the same
value evaluated from Erlang source text written by an independent printer.
BEAM -> Python: the BEAM encodes that value (default, minor_version 2,
compressed) and SnakePort must decode the original back; and the BEAM makes
random terms of its own that SnakePort decodes and re-encodes, compared =:=.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings

from snakeport import etf
from snakeport.terms import Atom

from .conftest import assert_same, beam_tool
from .erlang_source import erlang_source
from .harness import FramedProcess
from .strategies import terms, wire_normal

PEER = Path(__file__).parent / "beam" / "etf_peer.escript"
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def peer() -> Iterator[FramedProcess]:
    process = FramedProcess([beam_tool("escript"), str(PEER)])
    yield process
    assert process.close() == 0


def ask(peer: FramedProcess, request: Any) -> Any:
    peer.send(request)
    reply = peer.recv(timeout=60)
    assert not (isinstance(reply, tuple) and reply[0] == "crashed"), reply[1]
    return reply


def check(peer: FramedProcess, value: Any, codec: Any = etf, source: str | None = None) -> None:
    request_id = next(_ids)
    frame = codec.encode(value)
    source = source or erlang_source(value)
    tag, got_id, verdict, back = ask(peer, (Atom("check"), request_id, frame, source))
    assert (tag, got_id) == ("checked", request_id)
    assert verdict is True, f"BEAM disagrees for {value!r}: {verdict[1]}"
    assert_same(codec.decode(back), wire_normal(value), after_beam=True)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=terms)
@example(value={0: [], Atom(""): {}, b"": []})  # an atom key and a text binary key of one name
def test_python_to_beam_and_back(peer: FramedProcess, value: Any) -> None:
    check(peer, value)


@pytest.mark.parametrize(
    "value",
    [
        [1.0] * 20 + [float("inf")],
        list(range(-40, 40)),
        list(range(70_000)),
        [2**31 - 1, -(2**31)] * 10,
        "x" * 100_000,
        {"k": [1, 2, 3], "m": {}},
        [[]] * 20,
    ],
    ids=["floats-inf", "ints", "long-ints", "int32-edges", "long-text", "map", "empties"],
)
def test_edge_values(peer: FramedProcess, codec: Any, value: Any) -> None:
    check(peer, value, codec)


def test_biggest_bignum(peer: FramedProcess, codec: Any) -> None:
    bits = 8 * ((1 << 22) - 8)  # erl_scan is slow on 8 MB of digits: give it a formula
    check(peer, -((1 << bits) - 1), codec, source=f"-(((1 bsl {bits - 1}) - 1) * 2 + 1).")


def test_deep_nesting(peer: FramedProcess, codec: Any) -> None:
    depth = 5000
    value: Any = []
    for _ in range(depth):
        value = [value, 1]
    source = "[" * depth + "[]" + ",1]" * depth + "."  # the printer would recurse
    _tag, _, verdict, back = ask(peer, (Atom("check"), next(_ids), codec.encode(value), source))
    assert verdict is True, verdict
    assert codec.encode(codec.decode(back)) == codec.encode(value)


def test_beam_random_terms(peer: FramedProcess, codec: Any) -> None:
    collisions = 0
    for seed in range(1, 3001):
        size = seed % 60 + 1
        tag, got_seed, frame = ask(peer, (Atom("random"), seed, size))
        assert (tag, got_seed) == ("random", seed)
        try:
            value = codec.decode(frame)
        except etf.DecodeError as exc:
            assert "equal in Python" in str(exc), exc
            collisions += 1
            continue
        tag, got_seed, verdict = ask(peer, (Atom("verify"), seed, size, codec.encode(value)))
        assert verdict is True, f"seed {seed}: {verdict[1]}"
    assert collisions < 100
