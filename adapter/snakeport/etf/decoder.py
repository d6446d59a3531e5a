"""Pure-Python ETF decoder: bytes in, Python values out, no I/O.

Iterative, with an explicit stack of open containers, so nesting is bounded
by ``max_depth`` and never by Python's recursion limit.  Every length read
from the input is checked against the bytes that remain before anything is
allocated, so a hostile header cannot make it reserve memory it will not
fill.  Lists of numbers, the bulk of numeric traffic, are read in runs with
strided slices and ``struct`` instead of one Python step per element.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any

from ..terms import Atom, BitString, FrozenMap, Fun, HashableList, ImproperList, Pid, Port
from ..terms import Reference
from . import tags as T
from .errors import DecodeError
from .tagged import SPECIAL_ATOMS, from_map

__all__ = ["decode", "DEFAULT_MAX_DEPTH", "DEFAULT_MAX_SIZE"]

DEFAULT_MAX_DEPTH = 10_000
DEFAULT_MAX_SIZE = 1 << 30

_U16 = struct.Struct(">H").unpack_from
_U32 = struct.Struct(">I").unpack_from
_I32 = struct.Struct(">i").unpack_from
_F64 = struct.Struct(">d").unpack_from
_isfinite = math.isfinite

# Kinds of open container on the stack.
_LIST, _TAIL, _TUPLE, _MAP = range(4)

# Atom text -> decoded value, per encoding; bounded so hostile input
# cannot grow it without limit.
_ATOM_CACHE_LIMIT = 8192
_atoms_latin1: dict[bytes, Any] = {}
_atoms_utf8: dict[bytes, Any] = {}

# A run of numbers shorter than this is left to the general loop.
_MIN_RUN = 4


def decode(
    data: bytes | bytearray | memoryview,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_size: int = DEFAULT_MAX_SIZE,
) -> Any:
    """Decode one complete external term (version byte 131 first).

    ``max_depth`` bounds container nesting, ``max_size`` the input and the
    inflated size of a compressed term.  Raises ``DecodeError`` for anything
    that is not exactly one valid term.
    """
    if isinstance(data, bytes):
        buf: Any = data
    elif isinstance(data, (bytearray, memoryview)):
        buf = memoryview(data).cast("B") if isinstance(data, memoryview) else memoryview(data)
    else:
        raise TypeError(f"decode() needs bytes, bytearray or memoryview, not {type(data).__name__}")
    end = len(buf)
    if end > max_size:
        raise DecodeError(f"input of {end} bytes is over the {max_size}-byte limit")
    if end < 2:
        raise DecodeError("input too short for an external term", 0)
    if buf[0] != T.VERSION:
        raise DecodeError(f"version byte is {buf[0]}, expected 131", 0)
    if buf[1] == T.COMPRESSED:
        inner = _inflate(buf, max_size)
        value, pos = _decode_term(inner, 0, max_depth, 6)
        if pos != len(inner):
            raise DecodeError(f"{len(inner) - pos} bytes left over inside the compressed term", 6 + pos)
        return value
    value, pos = _decode_term(buf, 1, max_depth, 0)
    if pos != end:
        raise DecodeError(f"{end - pos} trailing bytes after the term", pos)
    return value


def _inflate(buf: Any, max_size: int) -> bytes:
    """Inflate a COMPRESSED term, never past its declared size or the limit."""
    if len(buf) < 6:
        raise DecodeError("compressed term is truncated before its size", 2)
    size = _U32(buf, 2)[0]
    if size > max_size:
        raise DecodeError(f"compressed term declares {size} bytes, over the {max_size}-byte limit", 2)
    inflater = zlib.decompressobj()
    try:
        inner = inflater.decompress(buf[6:], size)
    except zlib.error as exc:
        raise DecodeError(f"compressed data is corrupt: {exc}", 6) from None
    if len(inner) != size or not inflater.eof:
        detail = "more than" if inflater.unconsumed_tail else "fewer than"
        raise DecodeError(f"compressed data inflates to {detail} its declared {size} bytes", 6)
    if inflater.unused_data:
        raise DecodeError(f"{len(inflater.unused_data)} trailing bytes after the compressed data", 6)
    return inner


def _decode_term(buf: Any, pos: int, max_depth: int, base: int) -> tuple[Any, int]:
    """Decode the term at ``pos``; return it and the position after it.

    ``base`` is added to offsets in errors (the compressed header's length),
    so they point into the bytes the caller gave.
    """
    end = len(buf)
    stack: list[list[Any]] = []
    start = pos
    try:
        while True:
            start = pos
            tag = buf[pos]
            pos += 1
            # -- read one term: a scalar into ``value``, or open a container.
            if tag == T.SMALL_INTEGER:
                value: Any = buf[pos]
                pos += 1
            elif tag == T.BINARY:
                size = _U32(buf, pos)[0]
                pos += 4
                stop = pos + size
                if stop > end:
                    raise DecodeError(f"binary of {size} bytes runs past the end", base + start)
                raw = buf[pos:stop]
                try:
                    value = str(raw, "utf-8")
                except UnicodeDecodeError:
                    value = bytes(raw)
                pos = stop
            elif tag == T.SMALL_ATOM_UTF8 or tag == T.ATOM or tag == T.ATOM_UTF8 or tag == T.SMALL_ATOM:
                value, pos = _atom(buf, tag, pos, end, base + start)
            elif tag == T.MAP:
                count = _U32(buf, pos)[0]
                pos += 4
                if not count:
                    value = FrozenMap() if stack and _key_context(stack[-1]) else {}
                else:
                    if 2 * count > end - pos:
                        raise DecodeError(f"map of {count} pairs runs past the end", base + start)
                    _push(stack, _MAP, 2 * count, start, max_depth, base)
                    continue
            elif tag == T.LIST:
                count = _U32(buf, pos)[0]
                pos += 4
                if count > end - pos:
                    raise DecodeError(f"list of {count} elements runs past the end", base + start)
                items, pos = _number_run(buf, pos, count, base)
                frame = _push(stack, _LIST, count, start, max_depth, base)
                frame[1] = items
                if len(items) < count:
                    continue
                stack.pop()
                if buf[pos] != T.NIL:
                    _push(stack, _TAIL, count + 1, start, max_depth, base)[1] = items
                    continue
                pos += 1
                value = HashableList(items) if frame[3] else items
            elif tag == T.NIL:
                value = HashableList() if stack and _key_context(stack[-1]) else []
            elif tag == T.STRING:
                size = _U16(buf, pos)[0]
                pos += 2
                if pos + size > end:
                    raise DecodeError(f"string of {size} bytes runs past the end", base + start)
                value = list(buf[pos : pos + size])
                pos += size
                if stack and _key_context(stack[-1]):
                    value = HashableList(value)
            elif tag == T.SMALL_TUPLE or tag == T.LARGE_TUPLE:
                if tag == T.SMALL_TUPLE:
                    count = buf[pos]
                    pos += 1
                else:
                    count = _U32(buf, pos)[0]
                    pos += 4
                if not count:
                    value = ()
                else:
                    if count > end - pos:
                        raise DecodeError(f"tuple of {count} elements runs past the end", base + start)
                    _push(stack, _TUPLE, count, start, max_depth, base)
                    continue
            elif tag == T.INTEGER:
                value = _I32(buf, pos)[0]
                pos += 4
            elif tag == T.NEW_FLOAT:
                value = _F64(buf, pos)[0]
                pos += 8
                if not _isfinite(value):
                    raise DecodeError("NEW_FLOAT_EXT holds a non-finite float", base + start)
            elif tag == T.SMALL_BIG or tag == T.LARGE_BIG:
                if tag == T.SMALL_BIG:
                    size = buf[pos]
                    pos += 1
                else:
                    size = _U32(buf, pos)[0]
                    pos += 4
                sign = buf[pos]
                pos += 1
                if sign > 1:
                    raise DecodeError(f"bignum sign byte is {sign}", base + start)
                if pos + size > end:
                    raise DecodeError(f"bignum of {size} bytes runs past the end", base + start)
                value = int.from_bytes(buf[pos : pos + size], "little")
                if sign:
                    value = -value
                pos += size
            else:
                value, pos = _rare(buf, tag, pos, end, base + start)
            # -- hand the value to the containers it completes.
            while stack:
                frame = stack[-1]
                items = frame[1]
                items.append(value)
                if len(items) < frame[2]:
                    break
                stack.pop()
                kind = frame[0]
                if kind == _MAP:
                    value = _build_map(items, frame[3], base + frame[4])
                elif kind == _TUPLE:
                    value = tuple(items)
                elif kind == _LIST:
                    if buf[pos] != T.NIL:
                        _push(stack, _TAIL, len(items) + 1, frame[4], max_depth, base)[1] = items
                        break
                    pos += 1
                    value = HashableList(items) if frame[3] else items
                else:  # _TAIL: the term after the last element was not []
                    value = _join_tail(items, frame[3])
            else:
                return value, pos
    except (IndexError, struct.error):
        raise DecodeError("term is truncated", base + start) from None


def _push(stack: list[list[Any]], kind: int, size: int, start: int, max_depth: int, base: int) -> list[Any]:
    """Open a container: [kind, items, expected item count, frozen, offset]."""
    if len(stack) >= max_depth:
        raise DecodeError(f"nesting deeper than {max_depth} levels", base + start)
    frozen = bool(stack) and _key_context(stack[-1])
    frame = [kind, [], size, frozen, start]
    stack.append(frame)
    return frame


def _key_context(parent: list[Any]) -> bool:
    """True when the next term decoded is (part of) a map key: it must hash."""
    return bool(parent[3] or (parent[0] == _MAP and not len(parent[1]) & 1))


def _build_map(items: list[Any], frozen: bool, offset: int) -> Any:
    keys = items[0::2]
    result = dict(zip(keys, items[1::2]))
    if len(result) != len(keys):
        raise DecodeError(_collision(keys), offset)
    if "__type__" in result or "__struct__" in result:
        try:
            converted = from_map(result, frozen)
        except DecodeError as exc:
            raise DecodeError(exc.reason, offset) from None
        if converted is not result:
            return converted
    return FrozenMap(result) if frozen else result


def _collision(keys: list[Any]) -> str:
    seen: dict[Any, Any] = {}
    for key in keys:
        if key in seen:
            return (
                f"map keys {_show(seen[key])} and {_show(key)} are distinct in Erlang "
                "but equal in Python; refusing to drop one"
            )
        seen[key] = key
    return "map has duplicate keys"  # pragma: no cover - the BEAM never sends these


def _show(key: Any) -> str:
    if type(key) is Atom:
        return ":" + key
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "nil"}[key]
    return repr(key)


def _join_tail(items: list[Any], frozen: bool) -> Any:
    """Finish a list whose tail is not []: improper, or a list spelt in parts."""
    tail = items.pop()
    if not items:  # LIST_EXT of length 0: the term is just its tail
        return tail
    if type(tail) is list or type(tail) is HashableList:
        items.extend(tail)
        return HashableList(items) if frozen else items
    if type(tail) is ImproperList:
        return ImproperList(items + list(tail.elements), tail.tail)
    return ImproperList(items, tail)


def _number_run(buf: Any, pos: int, count: int, base: int) -> tuple[list[Any], int]:
    """Read the leading elements of a list that are plain numbers, in bulk.

    A run of one kind of number tag is found by taking every 2nd, 5th or 9th
    byte (the tag stride for that kind) and counting the leading tag bytes;
    its values then come from one slice or one ``struct`` call.
    """
    items: list[Any] = []
    while count >= _MIN_RUN:
        tag = buf[pos]
        if tag == T.SMALL_INTEGER:
            stride, mark = 2, b"a"
        elif tag == T.INTEGER:
            stride, mark = 5, b"b"
        elif tag == T.NEW_FLOAT:
            stride, mark = 9, b"F"
        else:
            break
        marks = bytes(buf[pos : pos + stride * count : stride])
        run = len(marks) - len(marks.lstrip(mark))
        if run * stride > len(buf) - pos:
            run = (len(buf) - pos) // stride
        if run < _MIN_RUN:
            break
        if tag == T.SMALL_INTEGER:
            items += buf[pos + 1 : pos + 2 * run : 2]
        else:
            code = "xi" if tag == T.INTEGER else "xd"
            values = struct.unpack_from(">" + code * run, buf, pos)
            if tag == T.NEW_FLOAT and not all(map(_isfinite, values)):
                raise DecodeError("NEW_FLOAT_EXT holds a non-finite float", base + pos)
            items += values
        pos += stride * run
        count -= run
    return items, pos


def _atom(buf: Any, tag: int, pos: int, end: int, offset: int) -> tuple[Any, int]:
    if tag == T.SMALL_ATOM_UTF8 or tag == T.SMALL_ATOM:
        size = buf[pos]
        pos += 1
    else:
        size = _U16(buf, pos)[0]
        pos += 2
    stop = pos + size
    if stop > end:
        raise DecodeError(f"atom of {size} bytes runs past the end", offset)
    raw = bytes(buf[pos:stop])
    latin1 = tag == T.ATOM or tag == T.SMALL_ATOM
    cache = _atoms_latin1 if latin1 else _atoms_utf8
    value = cache.get(raw, cache)
    if value is cache:
        value = _new_atom(raw, latin1, offset)
        if len(cache) < _ATOM_CACHE_LIMIT:
            cache[raw] = value
    return value, stop


def _new_atom(raw: bytes, latin1: bool, offset: int) -> Any:
    if latin1:
        text = raw.decode("latin-1")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError(f"atom {raw!r} is not valid UTF-8", offset) from None
        if len(text) > 255:
            raise DecodeError(f"atom of {len(text)} characters is over the 255 limit", offset)
    special = SPECIAL_ATOMS.get(text, raw)
    return Atom(text) if special is raw else special


def _skip_atom(buf: Any, pos: int, end: int, what: str, offset: int) -> int:
    tag = buf[pos]
    if tag not in (T.ATOM, T.SMALL_ATOM, T.ATOM_UTF8, T.SMALL_ATOM_UTF8):
        raise DecodeError(f"{what} must hold an atom, found tag {tag}", offset)
    return _atom(buf, tag, pos + 1, end, offset)[1]


def _rare(buf: Any, tag: int, pos: int, end: int, offset: int) -> tuple[Any, int]:
    """Decode the tags that do not occur in ordinary traffic."""
    start = pos - 1
    if tag == T.NEW_PID or tag == T.PID:
        pos = _skip_atom(buf, pos, end, "pid", offset) + (12 if tag == T.NEW_PID else 9)
        return Pid(_span(buf, start, pos, end, "pid", offset)), pos
    if tag == T.NEWER_REFERENCE or tag == T.NEW_REFERENCE:
        words = _U16(buf, pos)[0]
        if not 1 <= words <= 5:
            raise DecodeError(f"reference of {words} words (1-5 allowed)", offset)
        pos = _skip_atom(buf, pos + 2, end, "reference", offset)
        pos += (4 if tag == T.NEWER_REFERENCE else 1) + 4 * words
        return Reference(_span(buf, start, pos, end, "reference", offset)), pos
    if tag == T.REFERENCE:
        pos = _skip_atom(buf, pos, end, "reference", offset) + 5
        return Reference(_span(buf, start, pos, end, "reference", offset)), pos
    if tag == T.NEW_PORT or tag == T.V4_PORT or tag == T.PORT:
        pos = _skip_atom(buf, pos, end, "port", offset)
        pos += {T.NEW_PORT: 8, T.V4_PORT: 12, T.PORT: 5}[tag]
        return Port(_span(buf, start, pos, end, "port", offset)), pos
    if tag == T.NEW_FUN:
        size = _U32(buf, pos)[0]
        if size < 34:
            raise DecodeError(f"fun of {size} bytes is too short", offset)
        stop = pos + size
        return Fun(_span(buf, start, stop, end, "fun", offset), buf[pos + 4]), stop
    if tag == T.EXPORT:
        pos = _skip_atom(buf, pos, end, "export fun module", offset)
        pos = _skip_atom(buf, pos, end, "export fun name", offset)
        if buf[pos] != T.SMALL_INTEGER:
            raise DecodeError("export fun arity must be a small integer", offset)
        pos += 2
        return Fun(_span(buf, start, pos, end, "fun", offset), buf[pos - 1]), pos
    if tag == T.BIT_BINARY:
        size = _U32(buf, pos)[0]
        bits = buf[pos + 4]
        pos += 5
        if not size or not 1 <= bits <= 8:
            raise DecodeError(f"bitstring of {size} bytes with {bits} bits in its last byte", offset)
        if pos + size > end:
            raise DecodeError(f"bitstring of {size} bytes runs past the end", offset)
        return BitString(buf[pos : pos + size], bits), pos + size
    if tag == T.FLOAT:
        text = bytes(buf[pos : pos + 31])
        if len(text) < 31:
            raise DecodeError("FLOAT_EXT is truncated", offset)
        try:
            value = float(text.split(b"\0", 1)[0])
        except ValueError:
            raise DecodeError(f"FLOAT_EXT text {text!r} is not a float", offset) from None
        if not _isfinite(value):
            raise DecodeError("FLOAT_EXT holds a non-finite float", offset)
        return value, pos + 31
    if tag == T.COMPRESSED:
        raise DecodeError("a compressed term may only appear at the top level", offset)
    if tag in T.UNSUPPORTED:
        raise DecodeError(f"tag {tag} unsupported: {T.UNSUPPORTED[tag]}", offset)
    raise DecodeError(f"unknown tag {tag}", offset)


def _span(buf: Any, start: int, stop: int, end: int, what: str, offset: int) -> bytes:
    if stop > end:
        raise DecodeError(f"{what} runs past the end", offset)
    return bytes(buf[start:stop])
