"""Fuzzing: truncated and mutated frames decode or raise DecodeError, nothing else.

Seeds are the BEAM-made golden vectors.  Any other exception (IndexError,
struct.error, RecursionError, MemoryError, UnicodeDecodeError, ...) fails.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from snakeport.etf import DecodeError

from .test_golden import ROWS

SEEDS = [data for _, _, data, _ in ROWS if len(data) <= 4096]


def decodes_or_refuses(codec: Any, data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        codec.decode(data)


def test_every_truncation(codec: Any) -> None:
    count = 0
    for data in SEEDS:
        for cut in range(len(data)):
            try:
                codec.decode(data[:cut])
            except DecodeError:
                count += 1
                continue
            # A shorter prefix can itself be a complete term only if what was
            # cut is a whole trailing part, e.g. a compressed term's padding.
            raise AssertionError(f"truncation to {cut} of {data[:40].hex()}... decoded")
    assert count > 10_000


def test_random_mutations(codec: Any) -> None:
    rng = random.Random(20261121)
    for round_ in range(20_000):
        data = bytearray(rng.choice(SEEDS))
        for _ in range(rng.randint(1, 4)):
            action = rng.random()
            at = rng.randrange(1, len(data)) if len(data) > 1 else 1
            if action < 0.6 and len(data) > 1:
                data[at] = rng.randrange(256)
            elif action < 0.8:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
            elif len(data) > 2:
                del data[at : at + rng.randint(1, 4)]
        try:
            decodes_or_refuses(codec, bytes(data))
        except Exception as exc:  # pragma: no cover - a failure report
            raise AssertionError(f"round {round_}: {bytes(data).hex()} raised {exc!r}") from exc


@settings(max_examples=3000, deadline=None)
@given(body=st.binary(max_size=64))
def test_random_bytes(body: bytes) -> None:
    from snakeport import etf

    for codec in etf.IMPLEMENTATIONS.values():
        decodes_or_refuses(codec, b"\x83" + body)


@settings(max_examples=500, deadline=None)
@given(tag=st.sampled_from(b"FMPXYZabcdhijklmnopqstvwxy"), body=st.binary(max_size=40))
def test_random_bodies_for_each_tag(tag: int, body: bytes) -> None:
    from snakeport import etf

    for codec in etf.IMPLEMENTATIONS.values():
        decodes_or_refuses(codec, bytes((131, tag)) + body)
