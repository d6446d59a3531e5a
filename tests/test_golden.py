"""Golden vectors made by the real BEAM (tests/golden/gen_vectors.escript).

Every vector must decode to the Python value written beside it; every decoded
value must re-encode to bytes that decode to the same value; and where our
encoding choice matches OTP 26's (minor_version 2), the bytes must be equal.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any

import pytest

from snakeport.etf import DecodeError
from snakeport.terms import Atom, BitString, FrozenMap, Fun, HashableList, ImproperList, Pid, Port, Reference

from .conftest import assert_same

VECTORS = Path(__file__).parent / "golden" / "vectors.tsv"
NAMESPACE = {
    "Atom": Atom,
    "BitString": BitString,
    "FrozenMap": FrozenMap,
    "Fun": Fun,
    "HashableList": HashableList,
    "ImproperList": ImproperList,
    "Pid": Pid,
    "Port": Port,
    "Reference": Reference,
    "math": math,
    "datetime": datetime,
}

# Terms whose v2 bytes we do not reproduce exactly, and why.  Both forms are
# valid ETF; the live round-trip test checks the BEAM reads ours back =:=.
NOT_BYTE_EXACT = {
    # Lists of >= 16 ints in int32 range, not all 0..255, go out as
    # INTEGER_EXT in bulk; the BEAM uses SMALL_INTEGER_EXT for 0..255 in them.
    "list_6",
    "list_8",
    "list_17",
}
# Structs and tagged maps decode to Python types and encode back as tagged
# maps: equal in meaning, not in bytes.
CONVERTED = ("tagged_", "mapset", "date", "time", "naive_datetime", "datetime_utc")


def _load() -> list[tuple[str, str, bytes, str]]:
    rows = []
    for line in VECTORS.read_text().splitlines():
        if line.startswith("#"):
            continue
        name, variant, hexdata, expected = line.split("\t")
        rows.append((name, variant, bytes.fromhex(hexdata), expected))
    return rows


ROWS = _load()


def test_vectors_cover_every_tag() -> None:
    """Every tag the issue names is the outer tag of some vector."""
    from snakeport.core.etf import tags as T

    seen = {data[1] for _, _, data, _ in ROWS}
    wanted = {
        T.SMALL_INTEGER,
        T.INTEGER,
        T.NEW_FLOAT,
        T.FLOAT,
        T.ATOM,
        T.SMALL_ATOM,
        T.ATOM_UTF8,
        T.SMALL_ATOM_UTF8,
        T.SMALL_TUPLE,
        T.LARGE_TUPLE,
        T.MAP,
        T.NIL,
        T.STRING,
        T.LIST,
        T.BINARY,
        T.BIT_BINARY,
        T.SMALL_BIG,
        T.LARGE_BIG,
        T.PID,
        T.NEW_PID,
        T.PORT,
        T.NEW_PORT,
        T.V4_PORT,
        T.NEW_REFERENCE,
        T.NEWER_REFERENCE,
        T.NEW_FUN,
        T.EXPORT,
        T.COMPRESSED,
    }
    assert wanted <= seen, f"no vector for tags {sorted(wanted - seen)}"
    assert len(ROWS) >= 300


@pytest.mark.parametrize("name,variant,data,expected", ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS])
def test_golden_vector(codec: Any, name: str, variant: str, data: bytes, expected: str) -> None:
    if expected == "DecodeError":
        with pytest.raises(DecodeError):
            codec.decode(data)
        return
    want = eval(expected, dict(NAMESPACE))  # written by the BEAM-side generator
    got = codec.decode(data)
    assert_same(got, want)
    assert_same(codec.decode(memoryview(data)), want)
    assert_same(codec.decode(bytearray(data)), want)
    if name.startswith(CONVERTED):
        return
    again = codec.encode(got)
    assert_same(codec.decode(again), want)
    if variant == "v2" and name not in NOT_BYTE_EXACT:
        assert again == data, f"{name}: our bytes differ from OTP's minor_version 2 bytes"
