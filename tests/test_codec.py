"""The codec's public API: type mapping both ways, limits, hostile input.

Written against ``encode``/``decode`` only, and run against every entry of
``etf.IMPLEMENTATIONS`` through the ``codec`` fixture.
"""

from __future__ import annotations

import datetime
import enum
import math
import struct
import tracemalloc
import zlib
from collections import OrderedDict
from typing import Any

import pytest

from snakeport.etf import DecodeError, EncodeError
from snakeport.terms import Atom, BitString, FrozenMap, HashableList, ImproperList

from .conftest import assert_same


def roundtrip(codec: Any, value: Any) -> Any:
    return codec.decode(codec.encode(value))


# -- Python -> BEAM -> Python ----------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        0,
        255,
        256,
        -1,
        2**31 - 1,
        -(2**31),
        2**31,
        -(2**31) - 1,
        2**64,
        -(2**64),
        2**2048,
        -(2**4095),
        0.0,
        -0.0,
        1.5,
        1e308,
        5e-324,
        "",
        "héllo ✓",
        "🐍" * 100,
        b"\xff\x00",
        Atom("ok"),
        Atom("é"),
        Atom("🐍" * 255),
        None,
        True,
        False,
        [],
        (),
        {},
        [[]],
        [1, [2, [3]]],
        (1, (2,)),
        {"a": {"b": [1]}},
        list(range(300)),
        list(range(-50, 50)),
        [0.5] * 40,
        [1, 2.5, "x", None] * 10,
        [True, False] * 10,
        {1: 2, (1, 2): [3], HashableList([1]): {"k": 1}, FrozenMap({"k": 1}): 2},
        ImproperList([1, 2], 3),
        ImproperList(["a"], b"\xff"),
        BitString(b"\xff\xe0", 3),
        BitString(b"\x80", 1),
        tuple(range(300)),
        {"x" * 1000: "y" * 100_000},
    ],
    ids=repr,
)
def test_roundtrip(codec: Any, value: Any) -> None:
    assert_same(roundtrip(codec, value), value)


def test_non_finite_floats_become_atoms(codec: Any) -> None:
    assert codec.encode(math.inf) == b"\x83w\x08infinity"
    assert codec.encode(-math.inf) == b"\x83w\x0cneg_infinity"
    assert codec.encode(math.nan) == b"\x83w\x03nan"
    assert roundtrip(codec, [math.inf, -math.inf]) == [math.inf, -math.inf]
    assert math.isnan(roundtrip(codec, math.nan))
    # also inside a list long enough for the bulk float path
    values = [1.0] * 20 + [math.inf]
    assert roundtrip(codec, values) == values


def test_none_true_false_are_nil_true_false(codec: Any) -> None:
    assert codec.encode(None) == b"\x83w\x03nil"
    assert codec.encode(True) == b"\x83w\x04true"
    assert codec.decode(b"\x83d\x00\x03nil") is None
    assert codec.decode(b"\x83d\x00\x05false") is False


def test_str_and_bytes_are_binaries(codec: Any) -> None:
    assert codec.encode("ab") == codec.encode(b"ab") == b"\x83m\x00\x00\x00\x02ab"
    assert codec.encode(bytearray(b"ab")) == codec.encode(memoryview(b"ab")) == codec.encode(b"ab")
    assert codec.decode(codec.encode(b"ab")) == "ab"  # valid UTF-8: str
    assert codec.decode(codec.encode(b"\xff")) == b"\xff"  # not UTF-8: bytes


def test_memoryview_of_other_formats(codec: Any) -> None:
    import array

    data = array.array("i", [-1, 2])
    assert codec.decode(codec.encode(memoryview(data))) == data.tobytes()
    strided = memoryview(b"abcdef")[::2]
    assert codec.decode(codec.encode(strided)) == "ace"


def test_atoms_from_latin1_and_utf8_are_equal(codec: Any) -> None:
    latin1 = codec.decode(b"\x83d\x00\x04caf\xe9")
    utf8 = codec.decode(b"\x83w\x05caf\xc3\xa9")
    assert type(latin1) is type(utf8) is Atom
    assert latin1 == utf8 == "café"
    assert hash(latin1) == hash(utf8)


def test_atom_equals_its_string(codec: Any) -> None:
    atom = codec.decode(codec.encode(Atom("ok")))
    assert atom == "ok" and type(atom) is Atom


def test_charlist_is_list_of_ints(codec: Any) -> None:
    assert codec.decode(b"\x83k\x00\x03abc") == [97, 98, 99]


def test_bytes_of_bools_are_not_a_string(codec: Any) -> None:
    value = [True, False, True]
    assert_same(roundtrip(codec, value), value)
    assert_same(roundtrip(codec, [1, True]), [1, True])


def test_int_subclasses_encode_as_ints(codec: Any) -> None:
    class Colour(enum.IntEnum):
        RED = 1

    assert codec.decode(codec.encode(Colour.RED)) == 1
    assert codec.decode(codec.encode([Colour.RED] * 20)) == [1] * 20


def test_container_subclasses(codec: Any) -> None:
    assert codec.decode(codec.encode(OrderedDict(a=1))) == {"a": 1}


def test_python_only_types_become_tagged_maps(codec: Any) -> None:
    moment = datetime.datetime(2026, 11, 21, 10, 0, tzinfo=datetime.timezone.utc)
    for value in [
        {1, 2},
        frozenset({"a"}),
        complex(1, -2),
        moment,
        datetime.date(2026, 1, 1),
        datetime.time(1, 2, 3),
        datetime.datetime(2026, 1, 1, 1, 1),
    ]:
        assert_same(roundtrip(codec, value), value)
    tagged = codec.encode({1})
    assert b"__type__" in tagged and b"set" in tagged


@pytest.mark.parametrize(
    "text,expected",
    [
        ("10:11:12.5", datetime.time(10, 11, 12, 500000)),
        ("10:11:12.1234567", datetime.time(10, 11, 12, 123456)),
        ("10:11:12", datetime.time(10, 11, 12)),
    ],
)
def test_tagged_time_fractions(codec: Any, text: str, expected: datetime.time) -> None:
    assert codec.decode(codec.encode({"__type__": "time", "value": text})) == expected


def test_tag_hook_sees_unconverted_tags_only(codec: Any) -> None:
    seen = []

    def hook(mapping: dict[str, Any]) -> Any:
        seen.append(mapping["__type__"])
        return ("resolved", mapping["id"])

    value = {"args": [{"__type__": "ref", "id": "r1"}, {"__type__": "set", "elements": [1]}], "k": {"x": 1}}
    assert codec.decode(codec.encode(value), tag_hook=hook) == {
        "args": [("resolved", "r1"), {1}],
        "k": {"x": 1},
    }
    assert seen == ["ref"]


def test_tagged_bytes_explicit_form(codec: Any) -> None:
    wire = codec.encode({"__type__": "bytes", "data": b"abc"})
    assert codec.decode(wire) == b"abc" and type(codec.decode(wire)) is bytes


def test_the_data_of_bytes_and_tensor_maps_is_never_text(codec: Any) -> None:
    """Their ``data`` is read as bytes at once: no UTF-8 pass, no str to undo."""
    text_like = b"plain ascii, valid UTF-8"
    tensor = codec.decode(codec.encode({"__type__": "tensor", "dtype": "u8", "data": text_like}))
    assert tensor["data"] == text_like and type(tensor["data"]) is bytes
    atom_keys = codec.decode(codec.encode({Atom("__type__"): "bytes", Atom("data"): text_like}))
    assert atom_keys == text_like and type(atom_keys) is bytes
    other = codec.decode(codec.encode({"__type__": "mine", "data": text_like}))
    assert other["data"] == text_like.decode() and type(other["data"]) is str
    assert codec.decode(codec.encode({"data": text_like})) == {"data": text_like.decode()}


def test_unencodable_names_type_and_place(codec: Any) -> None:
    with pytest.raises(EncodeError) as info:
        codec.encode({"args": [1, object()]})
    assert "builtins.object" in str(info.value)
    assert "['args'][1]" in str(info.value)


def test_default_hook_replaces(codec: Any) -> None:
    class Thing:
        pass

    assert codec.decode(codec.encode([Thing()], default=lambda obj: Atom("thing"))) == ["thing"]


def test_lone_surrogate_is_an_encode_error(codec: Any) -> None:
    with pytest.raises(EncodeError, match="surrogate"):
        codec.encode(["\ud800"])


def test_atom_with_a_lone_surrogate_is_an_encode_error(codec: Any) -> None:
    with pytest.raises(EncodeError, match="surrogate") as info:
        codec.encode({"k": [Atom("\ud800")]})
    assert info.value.path == "['k'][0]"


def test_too_long_atom_is_an_encode_error(codec: Any) -> None:
    with pytest.raises(EncodeError, match="255"):
        codec.encode(Atom("a" * 256))


@pytest.mark.parametrize(
    "mapping",
    [
        {b"a": 1, "a": 2},
        {True: 1, Atom("true"): 2},
        {None: 1, Atom("nil"): 2},
        {math.nan: 1, float("nan"): 2},
        {("a",): 1, (b"a",): 2},
    ],
    ids=["bytes-str", "true", "nil", "nan", "nested"],
)
def test_keys_that_become_one_term_are_an_encode_error(codec: Any, mapping: dict[Any, Any]) -> None:
    with pytest.raises(EncodeError, match="same Erlang term"):
        codec.encode({"outer": mapping})


def test_mixed_but_distinct_keys_are_fine(codec: Any) -> None:
    mapping = {b"a": 1, "b": 2, True: 3, Atom("x"): 4, 1.5: 5, (1, "a"): 6}
    assert roundtrip(codec, mapping) == {"a": 1, "b": 2, True: 3, "x": 4, 1.5: 5, (1, "a"): 6}


def test_bignum_limit(codec: Any) -> None:
    assert roundtrip(codec, 1 << (8 * ((1 << 22) - 8) - 1)) == 1 << (8 * ((1 << 22) - 8) - 1)
    with pytest.raises(EncodeError, match="over the BEAM"):
        codec.encode(1 << (8 * ((1 << 22) - 8)))


def test_cycle_is_an_encode_error(codec: Any) -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(EncodeError, match="cycle"):
        codec.encode(loop)


def test_deep_nesting_within_limit_roundtrips(codec: Any) -> None:
    value: Any = []
    for _ in range(9_999):
        value = [value]
    again = roundtrip(codec, value)
    depth = 0
    while again:
        again = again[0]
        depth += 1
    assert depth == 9_999


def test_compression(codec: Any) -> None:
    value = ["same text"] * 1000
    plain = codec.encode(value)
    packed = codec.encode(value, compress_above=100)
    assert packed[1] == 80 and len(packed) < len(plain) / 10
    assert codec.decode(packed) == value
    assert codec.encode("x", compress_above=100) == codec.encode("x")  # small: not compressed


# -- hostile input ----------------------------------------------------------


def deep(n: int) -> bytes:
    return b"\x83" + b"l\x00\x00\x00\x01" * n + b"j" * (n + 1)


@pytest.mark.parametrize(
    "data,fragment",
    [
        (b"", "too short"),
        (b"\x83", "too short"),
        (b"\x84a\x01", "version byte"),
        (b"\x83a", "truncated"),
        (b"\x83a\x01\x00", "trailing"),
        (b"\x83\xff", "unknown tag 255"),
        (b"\x83y", "LOCAL_EXT"),
        (b"\x83m\xff\xff\xff\xff", "runs past the end"),
        (b"\x83l\xff\xff\xff\xffj", "runs past the end"),
        (b"\x83t\xff\xff\xff\xff", "runs past the end"),
        (b"\x83i\xff\xff\xff\xff", "runs past the end"),
        (b"\x83o\xff\xff\xff\xff\x00", "runs past the end"),
        (b"\x83n\x02\x05\x01\x01", "sign"),
        (b"\x83w\x02\xff\xfe", "not valid UTF-8"),
        (b"\x83F\x7f\xf0\x00\x00\x00\x00\x00\x00", "non-finite"),
        (b"\x83M\x00\x00\x00\x01\x09\xff", "bits"),
        (b"\x83M\x00\x00\x00\x00\x01", "bits"),
        (b"\x83XJ\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00", "must hold an atom"),
        (b"\x83Z\x00\x09w\x01a\x00\x00\x00\x00", "words"),
        (b"\x83h\x01P", "top level"),
        (b"\x83c1.5", "FLOAT_EXT"),
        (b"\x83t\x00\x00\x00\x02a\x01a\x01F?\xf0\x00\x00\x00\x00\x00\x00a\x02", "equal in Python"),
        (deep(10_001), "nesting deeper than 10000"),
    ],
)
def test_bad_input_is_a_decode_error(codec: Any, data: bytes, fragment: str) -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode(data)
    assert fragment in str(info.value)


def test_deeply_nested_map_key_is_a_decode_error(codec: Any) -> None:
    n = 3000
    key = b"l\x00\x00\x00\x01" * n + b"a\x01" + b"j" * n
    with pytest.raises(DecodeError, match="too deeply to hash"):
        codec.decode(b"\x83t\x00\x00\x00\x01" + key + b"a\x02")


def test_collision_message_is_short(codec: Any) -> None:
    long_key = b"m\x00\x00\x10\x00" + b"x" * 4096
    data = b"\x83t\x00\x00\x00\x02" + long_key + b"a\x01" + long_key.replace(b"m", b"m", 1) + b"a\x02"
    # two binary keys that are the same term are invalid ETF, but must still
    # give a short, clear error
    with pytest.raises(DecodeError) as info:
        codec.decode(data)
    assert len(str(info.value)) < 300


def test_decode_error_names_offset(codec: Any) -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode(b"\x83l\x00\x00\x00\x02a\x01\xffj")
    assert info.value.offset == 8
    assert "at byte 8" in str(info.value)


def test_depth_limit_is_an_option(codec: Any) -> None:
    assert codec.decode(deep(50), max_depth=51) is not None
    with pytest.raises(DecodeError, match="deeper than 10"):
        codec.decode(deep(50), max_depth=10)


def test_very_deep_input_never_recursion_error(codec: Any) -> None:
    with pytest.raises(DecodeError):
        codec.decode(deep(1_000_000))


def test_size_limit(codec: Any) -> None:
    with pytest.raises(DecodeError, match="limit"):
        codec.decode(codec.encode("x" * 100), max_size=50)


def compressed(inner: bytes, declared: int | None = None) -> bytes:
    size = len(inner) if declared is None else declared
    return b"\x83P" + struct.pack(">I", size) + zlib.compress(inner)


@pytest.mark.parametrize(
    "data,fragment",
    [
        (b"\x83P\x00\x00", "truncated"),
        (compressed(b"a\x01", declared=1), "more than"),
        (compressed(b"a\x01", declared=3), "fewer than"),
        (b"\x83P\x00\x00\x00\x02garbage", "corrupt"),
        (compressed(b"a\x01") + b"x", "trailing"),
        (compressed(b"a\x01\x01"), "left over"),
        (compressed(b"a"), "truncated"),
    ],
)
def test_bad_compressed_input(codec: Any, data: bytes, fragment: str) -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode(data)
    assert fragment in str(info.value)


def test_zip_bomb_is_refused_without_inflating(codec: Any) -> None:
    bomb = compressed(b"m" + struct.pack(">I", 200_000_000) + b"\x00" * 200_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError, match="limit"):
            codec.decode(bomb, max_size=10_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_lying_length_allocates_nothing_big(codec: Any) -> None:
    tracemalloc.start()
    try:
        for data in [b"\x83l\x7f\xff\xff\xffj", b"\x83m\x7f\xff\xff\xff", b"\x83t\x7f\xff\xff\xff"]:
            with pytest.raises(DecodeError):
                codec.decode(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


@pytest.mark.parametrize(
    "data",
    [
        b"\x83t\x00\x00\x00\x02w\x01aa\x01m\x00\x00\x00\x01aa\x02",  # the BEAM's order: atom, then binary
        b"\x83t\x00\x00\x00\x02m\x00\x00\x00\x01aa\x02w\x01aa\x01",  # a large map's hash order: binary first
    ],
)
def test_an_atom_key_and_a_text_binary_key_of_one_name_both_survive(codec: Any, data: bytes) -> None:
    decoded = codec.decode(data)
    assert decoded == {Atom("a"): 1, b"a": 2}
    assert [type(key) for key in sorted(decoded, key=lambda k: type(k).__name__)] == [Atom, bytes]
    assert codec.decode(codec.encode(decoded)) == decoded


@pytest.mark.parametrize("tag", [b"w\x05", b"d\x00\x05"], ids=["small_atom_utf8", "atom"])
def test_a_truncated_atom_is_truncated_even_when_its_prefix_is_a_known_atom(codec: Any, tag: bytes) -> None:
    # The atom "caf" is decoded (and cached) first; a 5-byte atom cut short
    # after "caf" must not turn into it.
    codec.decode(b"\x83" + tag[:-1] + b"\x03caf")
    with pytest.raises(DecodeError, match="atom of 5 bytes runs past the end") as info:
        codec.decode(b"\x83" + tag + b"caf")
    assert info.value.offset == 1
