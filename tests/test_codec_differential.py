"""Differential tests: the native codec must do exactly what the pure one does.

Random terms encode to the same bytes (and pieces) and decode to the same
values with the same types; random, mutated and hostile inputs give the same
value or the same exception (class, message, offset); unencodable values give
the same EncodeError (message, path).  The pure codec is the specification.
"""

from __future__ import annotations

import datetime
import math
import os
import random
import struct
import zlib
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snakeport import etf
from snakeport.terms import Atom, BitString, FrozenMap, HashableList, ImproperList

from .conftest import NATIVE_REQUIRED, assert_same
from .strategies import OPAQUES, hashable_keys, scalars, terms
from .test_golden import ROWS

if "native" not in etf.IMPLEMENTATIONS:
    if NATIVE_REQUIRED:
        raise RuntimeError("the native codec is not built; under CI=true it must be (scripts/bootstrap)")
    pytest.skip("the native codec is not built", allow_module_level=True)

PURE = etf.IMPLEMENTATIONS["pure"]
NATIVE = etf.IMPLEMENTATIONS["native"]
SEEDS = [data for _, _, data, _ in ROWS if len(data) <= 4096]
# The sanitizer run (scripts/sanitize) scales the example counts down.
SCALE = float(os.environ.get("SNAKEPORT_DIFF_SCALE", "1"))


def examples(count: int) -> Any:
    """Hypothesis settings for ``count`` examples (scaled), no deadline."""
    return settings(
        max_examples=max(10, int(count * SCALE)), deadline=None, suppress_health_check=list(HealthCheck)
    )


def outcome(func: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """A call's result, or its exception as (class, message, offset, path, reason)."""
    try:
        return ("ok", func(*args, **kwargs))
    except Exception as exc:
        details = tuple(getattr(exc, name, None) for name in ("offset", "path", "reason"))
        return ("raised", type(exc), str(exc), *details)


def identical(actual: Any, expected: Any) -> None:
    """``assert_same`` without recursion: decoded values may nest 10,000 deep."""
    pending = [(actual, expected, "top")]
    while pending:
        a, e, where = pending.pop()
        if not isinstance(e, (list, tuple, dict, FrozenMap, ImproperList)):
            assert_same(a, e, where)
            continue
        assert type(a) is type(e), f"{where}: {type(a).__name__} != {type(e).__name__}"
        if isinstance(e, ImproperList):
            pending += [
                (list(a.elements), list(e.elements), where + ".elements"),
                (a.tail, e.tail, where + ".tail"),
            ]
        elif isinstance(e, (dict, FrozenMap)):
            assert len(a) == len(e), f"{where}: {len(a)} keys != {len(e)}"  # then pairwise, in order
            for i, ((ka, va), (ke, ve)) in enumerate(zip(a.items(), e.items(), strict=True)):
                pending += [(ka, ke, f"{where} key #{i}"), (va, ve, f"{where} value #{i}")]
        else:
            assert len(a) == len(e), f"{where}: length {len(a)} != {len(e)}"
            pending += [(x, y, f"{where}[{i}]") for i, (x, y) in enumerate(zip(a, e, strict=True))]


def same(pure: tuple[Any, ...], native: tuple[Any, ...]) -> None:
    if pure[0] == native[0] == "ok":
        identical(native[1], pure[1])
    else:
        assert native == pure


def same_decode(data: Any, **options: Any) -> tuple[Any, ...]:
    pure = outcome(PURE.decode, data, **options)
    same(pure, outcome(NATIVE.decode, data, **options))
    return pure


def same_encode(value: Any, **options: Any) -> tuple[Any, ...]:
    """encode and encode_pieces agree across implementations; returns pure's encode outcome."""
    pure = outcome(PURE.encode, value, **options)
    native = outcome(NATIVE.encode, value, **options)
    if pure[0] == "ok":
        assert native[0] == "ok", native
        assert type(native[1]) is bytes
        assert native[1] == pure[1]
        pieces = NATIVE.encode_pieces(value, **options)
        assert isinstance(pieces, list)
        assert b"".join(pieces) == pure[1]
    else:
        assert native == pure
        assert outcome(NATIVE.encode_pieces, value, **options) == outcome(
            PURE.encode_pieces, value, **options
        )
    return pure


# -- (a) random terms ------------------------------------------------------------


@examples(500)
@given(value=terms)
def test_random_terms_encode_and_decode_alike(value: Any) -> None:
    encoded = same_encode(value)
    assert encoded[0] == "ok", encoded
    same_decode(encoded[1])
    same_decode(memoryview(encoded[1]))
    same_decode(bytearray(encoded[1]))


@examples(150)
@given(value=terms, threshold=st.sampled_from([0, 10, 100]), level=st.sampled_from([1, 6, 9]))
def test_random_terms_compressed_alike(value: Any, threshold: int, level: int) -> None:
    encoded = same_encode(value, compress_above=threshold, compress_level=level)
    assert encoded[0] == "ok"
    same_decode(encoded[1])


@examples(300)
@given(
    value=st.dictionaries(
        hashable_keys | st.floats(allow_nan=True) | st.none() | st.sampled_from([Atom("true"), Atom("nil")]),
        scalars,
        max_size=6,
    )
)
def test_maps_with_any_keys_alike(value: dict[Any, Any]) -> None:
    """Keys outside str/int/Atom take the collision check: same result, same error."""
    encoded = same_encode({"outer": value})
    if encoded[0] == "ok":
        same_decode(encoded[1])


_TAGS = ["bytes", "tuple", "set", "frozenset", "atom", "complex", "datetime", "date", "time"]
_TAGS += ["special_float", "dict", "ref", "stream_ref", "nonsense"]
_STRUCTS = ["Elixir.MapSet", "Elixir.Date", "Elixir.Time", "Elixir.NaiveDateTime", "Elixir.DateTime"]
_FIELDS = ["data", "value", "elements", "real", "imag", "pairs", "id", "map", "year", "month", "day"]
_FIELDS += ["hour", "minute", "second", "microsecond", "calendar", "utc_offset", "std_offset", "time_zone"]
field_values = st.one_of(
    st.integers(-3, 3000),
    st.text(max_size=12),
    st.sampled_from(["2026-01-02", "10:11:12.5", "2026-01-02T03:04:05Z", "infinity", "nan", "Etc/UTC"]),
    st.binary(max_size=4),
    st.lists(st.integers(0, 3), max_size=3),
    st.lists(st.lists(st.integers(0, 3), min_size=2, max_size=2), max_size=3),
    st.tuples(st.integers(0, 999_999), st.integers(0, 6)),
    st.dictionaries(st.integers(0, 5), st.integers(), max_size=3),
    st.floats(allow_nan=False),
    st.sampled_from([Atom("ok"), Atom("infinity"), Atom("Elixir.Calendar.ISO")]),
)
tagged_maps = st.builds(
    lambda tag, fields: {"__type__": tag, **fields},
    st.sampled_from(_TAGS),
    st.dictionaries(st.sampled_from(_FIELDS), field_values, max_size=4),
) | st.builds(
    lambda name, fields: {Atom("__struct__"): Atom(name), **fields},
    st.sampled_from([*_STRUCTS, "Elixir.Other"]),
    st.dictionaries(st.sampled_from(_FIELDS), field_values, max_size=7),
)


def _hook(mapping: dict[Any, Any]) -> Any:
    return ("hooked", mapping.get("id"))


@examples(600)
@given(value=tagged_maps, nest=st.sampled_from(["plain", "list", "key"]), hook=st.booleans())
def test_tagged_maps_and_structs_alike(value: dict[Any, Any], nest: str, hook: bool) -> None:
    wrapped: Any = value if nest == "plain" else [value, 1] if nest == "list" else {"x": 1}
    data = PURE.encode(wrapped)
    if nest == "key":  # the map as a key: spliced in by hand (a dict is not hashable)
        inner = PURE.encode(value)[1:]
        data = b"\x83t\x00\x00\x00\x01" + inner + b"a\x01"
    same_decode(data, tag_hook=_hook if hook else None)


# -- (b) random and mutated bytes ------------------------------------------------------


@examples(1500)
@given(body=st.binary(max_size=80))
def test_random_bytes_alike(body: bytes) -> None:
    same_decode(b"\x83" + body)


@examples(1500)
@given(
    tag=st.sampled_from(b"FMPXYZabcdefghijklmnopqrstuvwxyDE" + bytes([82, 117, 0, 255])),
    body=st.binary(max_size=48),
)
def test_random_bodies_for_each_tag_alike(tag: int, body: bytes) -> None:
    same_decode(bytes((131, tag)) + body)


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        action = rng.random()
        at = rng.randrange(1, len(out)) if len(out) > 1 else 1
        if action < 0.35 and len(out) > 1:
            out[at] ^= 1 << rng.randrange(8)  # a bit flip
        elif action < 0.55 and len(out) > 1:
            out[at] = rng.randrange(256)
        elif action < 0.7:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif action < 0.85 and len(out) > 2:
            del out[at : at + rng.randint(1, 4)]
        elif len(out) > 5:  # a hostile length where a length might be
            size = rng.choice([0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, len(out)])
            out[at : at + 4] = struct.pack(">I", size)
    return bytes(out)


@examples(500)
@given(value=terms, seed=st.integers(0, 2**32), cut=st.floats(0, 1))
def test_mutated_frames_alike(value: Any, seed: int, cut: float) -> None:
    data = PURE.encode(value)
    same_decode(data[: int(len(data) * cut)])
    same_decode(mutate(data, random.Random(seed)))


def test_every_truncation_of_the_golden_vectors_alike() -> None:
    for data in SEEDS:
        for cut in range(len(data)):
            same_decode(data[:cut])


def test_golden_vectors_mutated_alike() -> None:
    rng = random.Random(20261122)
    for _ in range(int(12_000 * SCALE)):
        same_decode(mutate(rng.choice(SEEDS), rng))


def test_golden_vectors_alike() -> None:
    for data in SEEDS:
        decoded = same_decode(data)
        if decoded[0] == "ok":
            same_encode(decoded[1])


def _compressed(inner: bytes, declared: int, level: int = 6, wbits: int = 15) -> bytes:
    packer = zlib.compressobj(level, zlib.DEFLATED, wbits)
    return b"\x83P" + struct.pack(">I", declared) + packer.compress(inner) + packer.flush()


@examples(400)
@given(
    value=terms,
    delta=st.sampled_from([0, 0, 0, -1, 1, -5, 100]),
    level=st.integers(0, 9),
    seed=st.integers(0, 2**32),
    mutated=st.booleans(),
    trailer=st.binary(max_size=3),
    wbits=st.sampled_from([15, 15, 15, -15, 31]),
)
def test_compressed_frames_alike(
    value: Any, delta: int, level: int, seed: int, mutated: bool, trailer: bytes, wbits: int
) -> None:
    inner = PURE.encode(value)[1:]
    if random.Random(seed).random() < 0.2:
        inner += b"a\x01"  # left over inside the compressed term
    data = _compressed(inner, max(0, len(inner) + delta), level, wbits) + trailer
    same_decode(data)
    if mutated:
        same_decode(mutate(data, random.Random(seed)))
    same_decode(data, max_size=len(inner) - 1)


@pytest.mark.parametrize(
    "data",
    [
        b"\x83P",
        b"\x83P\x00\x00\x00",
        b"\x83P\x00\x00\x00\x00",
        b"\x83P\x00\x00\x00\x00x\x9c\x03\x00\x00\x00\x00\x01",  # an empty term inside
        b"\x83P\x00\x00\x00\x02\x78\xbb\x00\x00\x00\x01abc",  # a preset dictionary
        b"\x83P\x00\x00\x00\x02garbage",
        _compressed(b"a\x01", 2)[:-3],  # cut inside the checksum
        _compressed(b"a\x01", 2)[:-1] + b"\x00",  # a wrong checksum
        _compressed(b"m" + struct.pack(">I", 2_000_000) + b"\x00" * 2_000_000, 2_000_005),
        _compressed(b"m" + struct.pack(">I", 2_000_000) + b"\x00" * 2_000_000, 2_000_004),
        _compressed(b"m" + struct.pack(">I", 2_000_000) + b"\x00" * 2_000_000, 2_000_006),
        _compressed(b"\x00" * 3_000_000, 1_500_000),
    ],
)
def test_compressed_edges_alike(data: bytes) -> None:
    same_decode(data)
    same_decode(data, max_size=1_000_000)


def _deep(kind: bytes, n: int, leaf: bytes = b"j") -> bytes:
    heads = {b"l": b"l\x00\x00\x00\x01", b"h": b"h\x01", b"t": b"t\x00\x00\x00\x01a\x00"}
    tails = {b"l": b"j", b"h": b"", b"t": b""}
    return b"\x83" + heads[kind] * n + leaf + tails[kind] * n


@pytest.mark.parametrize("kind", [b"l", b"h", b"t"])
@pytest.mark.parametrize("n", [1, 9, 10, 11, 9_999, 10_000, 10_001, 200_000])
def test_deep_nesting_alike(kind: bytes, n: int) -> None:
    data = _deep(kind, n)
    same_decode(data)
    same_decode(data, max_depth=10)
    same_decode(data[:-1])


@pytest.mark.parametrize("n", [0, 1, 4, 5, 15, 16, 17, 1000])
def test_number_runs_alike(n: int) -> None:
    rng = random.Random(n)
    for _ in range(300):
        parts = []
        for _ in range(n):
            choice = rng.random()
            if choice < 0.4:
                parts.append(b"a" + bytes([rng.randrange(256)]))
            elif choice < 0.7:
                parts.append(b"b" + struct.pack(">i", rng.randrange(-(2**31), 2**31)))
            elif choice < 0.95:
                bits = rng.choice([0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000001])
                parts.append(
                    b"F" + struct.pack(">d", rng.random())
                    if rng.random() < 0.97
                    else b"F" + bits.to_bytes(8, "big")
                )
            else:
                parts.append(b"j")
        body = b"".join(parts)
        tail = rng.choice([b"j", b"a\x01", b"", b"l\x00\x00\x00\x01jj"])
        data = b"\x83l" + struct.pack(">I", n) + body + tail
        same_decode(data)
        same_decode(data[: rng.randrange(1, len(data) + 1)])
        same_decode(b"\x83t\x00\x00\x00\x01" + data[1:] + b"a\x01")  # as a map key


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 255, 256, 1000, 4_194_296, 4_194_297])
@pytest.mark.parametrize("sign", [0, 1, 2])
def test_bignums_alike(size: int, sign: int) -> None:
    digits = bytes(random.Random(size).randrange(256) for _ in range(min(size, 2000))) * (size // 2000 + 1)
    digits = digits[:size]
    head = b"n" + bytes([size]) if size < 256 else b"o" + struct.pack(">I", size)
    data = b"\x83" + head + bytes([sign]) + digits
    same_decode(data)
    same_decode(data[:-1])
    if sign < 2 and size < 10_000:
        decoded = same_decode(data)
        same_encode(decoded[1])


@pytest.mark.parametrize(
    "value",
    [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, -(2**64) + 1, -(2**64), 2**31, -(2**31) - 1],
)
def test_big_integers_encode_alike(value: int) -> None:
    same_encode(value)
    same_encode([value] * 20)


@examples(500)
@given(data=st.binary(max_size=300), key=st.booleans())
def test_binaries_text_or_bytes_alike(data: bytes, key: bool) -> None:
    frame = b"\x83m" + struct.pack(">I", len(data)) + data
    same_decode(frame)
    same_decode(b"\x83t\x00\x00\x00\x01" + frame[1:] + b"a\x01")


@examples(500)
@given(
    name=st.binary(max_size=300),
    tag=st.sampled_from(b"dsvw"),
    where=st.sampled_from(["top", "pid", "export"]),
)
def test_atoms_alike(name: bytes, tag: int, where: str) -> None:
    wide = tag in b"dv"
    if not wide:
        name = name[:255]
    atom = bytes([tag]) + (struct.pack(">H", len(name)) if wide else bytes([len(name)])) + name
    if where == "top":
        data = b"\x83" + atom
    elif where == "pid":
        data = b"\x83X" + atom + b"\x00" * 12
    else:
        data = b"\x83q" + atom + b"w\x01fa\x02"
    same_decode(data)
    same_decode(data[:-1])


def test_special_atoms_alike() -> None:
    for name in ["true", "false", "nil", "infinity", "neg_infinity", "nan", "undefined", ""]:
        raw = name.encode()
        for data in [b"\x83w" + bytes([len(raw)]) + raw, b"\x83d\x00" + bytes([len(raw)]) + raw]:
            same_decode(data)


@pytest.mark.parametrize(
    "text",
    [b"1.5", b"  2.5e3  ", b"1_000.5", b"inf", b"nan", b"-infinity", b"x", b"", b"1e400", b"0x10", b"\xff"],
)
def test_old_floats_alike(text: bytes) -> None:
    data = b"\x83c" + text.ljust(31, b"\x00")[:31]
    same_decode(data)
    same_decode(data[:-1])


# -- input types and options -------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "text",
        None,
        123,
        [131, 97, 1],
        memoryview(b"\x83\x83a\x01a\x01")[::2],
        memoryview(b"\x83a\x01\x00").cast("B", (2, 2)),
        memoryview(struct.pack("=3h", 0x6183, 0x0101, 0x0101)),
        bytearray(b"\x83a\x01"),
        type("B", (bytes,), {})(b"\x83a\x01"),
        b"",
        b"\x84",
    ],
    ids=repr,
)
def test_input_types_alike(data: Any) -> None:
    same_decode(data)


@pytest.mark.parametrize(
    "options",
    [
        {"max_depth": 0},
        {"max_depth": -1},
        {"max_depth": 2**80},
        {"max_depth": 1.5},
        {"max_depth": True},
        {"max_size": 0},
        {"max_size": 3},
        {"max_size": -(2**80)},
        {"max_size": 2**80},
        {"max_size": 5.5},
        {"max_size": "big"},
        {"bogus": 1},
    ],
    ids=repr,
)
def test_decode_options_alike(options: dict[str, Any]) -> None:
    for data in [
        b"\x83l\x00\x00\x00\x01h\x01a\x01j",
        PURE.encode({"k": [1, (2,)]}),
        _compressed(b"a\x01", 2),
    ]:
        same_decode(data, **options)


def test_decode_argument_errors_alike() -> None:
    same(outcome(PURE.decode), outcome(NATIVE.decode))
    same(outcome(PURE.decode, b"\x83a\x01", 1), outcome(NATIVE.decode, b"\x83a\x01", 1))
    same(outcome(PURE.decode, data=b"\x83a\x01"), outcome(NATIVE.decode, data=b"\x83a\x01"))
    same(outcome(PURE.decode, b"", data=b""), outcome(NATIVE.decode, b"", data=b""))


def test_tag_hook_errors_alike() -> None:
    data = PURE.encode([{"__type__": "ref", "id": "r1"}])

    def index_error(_: Any) -> Any:
        raise IndexError("from the hook")

    def key_error(_: Any) -> Any:
        raise KeyError("from the hook")

    for hook in [index_error, key_error, 42, lambda mapping: mapping, lambda mapping: None]:
        same_decode(data, tag_hook=hook)


def test_twin_keys_alike() -> None:
    pairs = [
        (b"w\x01a", b"m\x00\x00\x00\x01a"),
        (b"m\x00\x00\x00\x01a", b"w\x01a"),
        (b"a\x01", b"F?\xf0\x00\x00\x00\x00\x00\x00"),
        (b"w\x04true", b"a\x01"),
        (b"m\x00\x00\x00\x01a", b"m\x00\x00\x00\x01a"),
    ]
    for first, second in pairs:
        same_decode(b"\x83t\x00\x00\x00\x02" + first + b"a\x01" + second + b"a\x02")
        same_decode(b"\x83t\x00\x00\x00\x03" + first + b"a\x01" + second + b"a\x02" + first + b"a\x03")
        same_decode(b"\x83t\x00\x00\x00\x02" + first + b"a\x01" + second + b"a")  # collision, then truncated


@pytest.mark.parametrize("depth", [100, 300, 320, 330, 340, 350, 500, 1000, 3000])
def test_deeply_nested_keys_alike(depth: int) -> None:
    for head, tail in [(b"l\x00\x00\x00\x01", b"j"), (b"h\x01", b""), (b"t\x00\x00\x00\x01a\x00", b"")]:
        key = head * depth + b"a\x01" + tail * depth
        same_decode(b"\x83t\x00\x00\x00\x01" + key + b"a\x02")


# -- encoding errors and unusual values -------------------------------------------------------


class _Thing:
    pass


class _Index:
    def __index__(self) -> int:
        return 7


class _BadIndex:
    def __index__(self) -> int:
        raise RuntimeError("no index")


class _MyInt(int):
    pass


class _MyStr(str):
    pass


class _MyList(list):  # type: ignore[type-arg]
    pass


loop: list[Any] = [1]
loop.append(loop)

ENCODE_CASES: list[Any] = [
    object(),
    _Thing(),
    [1, 2, _Thing()],
    {"args": [1, {"k": object()}]},
    {_Thing(): 1},
    ["\ud800"],
    {"k": Atom("\udfff")},
    Atom("a" * 256),
    Atom("ü" * 255),
    Atom("ü" * 128),
    loop,
    {b"a": 1, "a": 2},
    {True: 1, Atom("true"): 2},
    {None: 1, Atom("nil"): 2},
    {math.nan: 1, float("nan"): 2},
    {("a",): 1, (b"a",): 2},
    {1: 1, 1.5: 2, False: 3},
    [1, 2, _Index()],
    [1, 2, _BadIndex()],
    [_BadIndex(), 1, 2],
    [1] * 15 + [_BadIndex()],
    [1, True, 2],
    [1, 300, 2],
    [300] + [1] * 20,
    [1] * 70_000,
    [1.5] * 16 + [math.inf],
    [1.5] * 16 + [2],
    [2**31] + [1] * 20,
    [True] * 20,
    [_MyInt(3)] * 20,
    _MyInt(5),
    _MyStr("x"),
    _MyList([1, 2]),
    OrderedDict(a=1),
    {1, 2},
    frozenset({"a"}),
    complex(1, 2),
    datetime.datetime(2026, 1, 1, 1, 1, tzinfo=datetime.timezone.utc),
    datetime.date(2026, 1, 1),
    bytearray(b"ab"),
    memoryview(b"abcdef")[::2],
    bytearray(b"x" * 100_000),
    memoryview(b"y" * 100_000),
    b"z" * 100_000,
    "t" * 100_000,
    "ü" * 40_000,
    BitString(b"\xff\xe0", 3),
    ImproperList([1, 2], 3),
    HashableList([1, 2]),
    HashableList(range(20)),
    FrozenMap({"a": 1, (1,): 2}),
    tuple(range(300)),
    (),
    {},
    [],
    *OPAQUES,
    [OPAQUES[0]] * 3,
    {OPAQUES[0]: OPAQUES[-1]},
    2 ** (8 * ((1 << 22) - 8)),
    -(2 ** (8 * ((1 << 22) - 8))),
]


@pytest.mark.parametrize("value", ENCODE_CASES, ids=lambda value: type(value).__name__)
def test_encode_cases_alike(value: Any) -> None:
    same_encode(value)
    same_encode([0, {"deep": value}])


def test_encode_default_alike() -> None:
    calls: list[str] = []

    def default(obj: Any) -> Any:
        calls.append(type(obj).__name__)
        if isinstance(obj, _Thing):
            return Atom("thing")
        return obj  # a default that gives the object back: nested until max_depth

    for value in [[_Thing()], {_Thing(): 1}, [object()], {"k": {1, _Thing()}}]:
        same_encode(value, default=default)
        calls.clear()
        outcome(PURE.encode, value, default=default)
        pure_calls = list(calls)
        calls.clear()
        outcome(NATIVE.encode, value, default=default)
        assert calls == pure_calls


@pytest.mark.parametrize("max_depth", [0, 1, 2, 3, 5, -1, 2**70, 2.5, True])
def test_encode_max_depth_alike(max_depth: Any) -> None:
    for value in [
        [1],
        [[1]],
        (1, (2, (3,))),
        {"a": {"b": {}}},
        {1},
        [_MyInt(1)],
        [[]],
        ImproperList([[1]], 2),
    ]:
        same_encode(value, max_depth=max_depth)


@pytest.mark.parametrize("compress_above", [None, -1, 0, 5, 10**9, 2.5, "x"])
@pytest.mark.parametrize("compress_level", [6, 0, 9, -1, 10, "x"])
def test_encode_compress_options_alike(compress_above: Any, compress_level: Any) -> None:
    for value in [["same text"] * 100, "x", b"q" * 70_000]:
        same_encode(value, compress_above=compress_above, compress_level=compress_level)


def test_encode_argument_errors_alike() -> None:
    same(outcome(PURE.encode), outcome(NATIVE.encode))
    same(outcome(PURE.encode, 1, 2), outcome(NATIVE.encode, 1, 2))
    same(outcome(PURE.encode, term=1), outcome(NATIVE.encode, term=1))
    same(outcome(PURE.encode, 1, nope=1), outcome(NATIVE.encode, 1, nope=1))


def test_pieces_keep_big_binaries_apart() -> None:
    blob = bytes(range(256)) * 1024
    array = bytearray(blob)
    value = {"a": blob, "b": [1, 2, 3], "c": array, "d": "small"}
    pieces = NATIVE.encode_pieces(value)
    assert any(piece is blob for piece in pieces)
    views = [piece for piece in pieces if isinstance(piece, memoryview)]
    assert len(views) == 1 and views[0].obj is array
    assert b"".join(pieces) == PURE.encode(value) == NATIVE.encode(value)
    assert all(len(piece) >= 64 * 1024 for piece in pieces if piece is blob or isinstance(piece, memoryview))
    assert NATIVE.encode_pieces({"x": 1}) == [PURE.encode({"x": 1})]


def test_mutating_default_alike() -> None:
    """A default that changes the dict being encoded: the same RuntimeError."""

    def case(grow: bool) -> tuple[dict[Any, Any], Any]:
        target: dict[Any, Any] = {"a": _Thing(), "b": 1}

        def default(obj: Any) -> Any:
            if grow:
                target["new"] = 1
            else:
                target.pop("b", None)
            return 0

        return target, default

    for grow in (True, False):
        target, default = case(grow)
        pure = outcome(PURE.encode, target, default=default)
        target, default = case(grow)
        native = outcome(NATIVE.encode, target, default=default)
        assert native == pure
