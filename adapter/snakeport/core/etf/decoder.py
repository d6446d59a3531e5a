"""Pure-Python ETF decoder: bytes in, Python values out, no I/O.

Iterative, with an explicit stack of open containers, so nesting is bounded
by ``max_depth`` and never by Python's recursion limit.  Every length read
from the input is checked against the bytes that remain before anything is
allocated, so a hostile header cannot make it reserve memory it will not
fill.  Lists of numbers, the bulk of numeric traffic, are read in runs with
strided slices and ``struct`` instead of one Python step per element.
"""

from __future__ import annotations

import codecs
import math
import struct
import zlib
from collections.abc import Callable

from ..terms import Atom, BitString, FrozenMap, Fun, HashableList, ImproperList, Pid, Port, Reference
from . import tags as T
from .errors import DecodeError
from .tagged import SPECIAL_ATOMS, from_map
from .tags import (
    ATOM,
    ATOM_UTF8,
    BINARY,
    BIT_BINARY,
    COMPRESSED,
    EXPORT,
    FLOAT,
    INTEGER,
    LARGE_BIG,
    LARGE_TUPLE,
    LIST,
    MAP,
    NEW_FLOAT,
    NEW_FUN,
    NEW_PID,
    NEW_PORT,
    NEW_REFERENCE,
    NEWER_REFERENCE,
    NIL,
    PID,
    PORT,
    REFERENCE,
    SMALL_ATOM,
    SMALL_ATOM_UTF8,
    SMALL_BIG,
    SMALL_INTEGER,
    SMALL_TUPLE,
    STRING,
    V4_PORT,
    VERSION,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_SIZE", "decode"]

DEFAULT_MAX_DEPTH = 10_000
DEFAULT_MAX_SIZE = 1 << 30

_U16 = struct.Struct(">H").unpack_from
_U32 = struct.Struct(">I").unpack_from
_I32 = struct.Struct(">i").unpack_from
_F64 = struct.Struct(">d").unpack_from
_isfinite = math.isfinite

# Kinds of open container.
_NONE, _LIST, _TAIL, _TUPLE, _MAP = range(5)
# Tagged maps whose "data" binary is raw bytes, never tried as UTF-8 (the BEAM
# writes the "__type__" key before "data": map keys are sorted).
_RAW_DATA = ("bytes", "tensor")
_NO_KEY: Any = object()  # an open map is waiting for a key, not a value
# Inputs up to this size that are not bytes are copied to bytes once (the
# hot loop is faster on bytes); bigger ones are read through a memoryview.
_COPY_BELOW = 1 << 20
_NAMES = {MAP: "map", LIST: "list", SMALL_TUPLE: "tuple", LARGE_TUPLE: "tuple"}
# Inflated output is copied into the term's buffer in slices of this size.
_INFLATE_STEP = 1 << 20
# Binaries longer than this that are not ASCII are probed before a full decode.
_PROBE = 64

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
    tag_hook: Callable[[dict[Any, Any]], Any] | None = None,
) -> Any:
    """Decode one complete external term (version byte 131 first).

    ``max_depth`` bounds container nesting, ``max_size`` the input and the
    inflated size of a compressed term.  ``tag_hook(map)`` is called for
    each map with a ``"__type__"`` key the codec does not convert itself
    (``ref``, ``stream_ref``, unknown tags) and returns what stands in its
    place.  Raises ``DecodeError`` for anything that is not exactly one
    valid term.
    """
    if type(data) is bytes:
        buf: Any = data
    elif isinstance(data, (bytes, bytearray, memoryview)):
        buf = memoryview(data).cast("B")
        if len(buf) < _COPY_BELOW:
            buf = bytes(buf)
    else:
        raise TypeError(f"decode() needs bytes, bytearray or memoryview, not {type(data).__name__}")
    end = len(buf)
    if end > max_size:
        raise DecodeError(f"input of {end} bytes is over the {max_size}-byte limit")
    if end < 2 or buf[0] != VERSION:
        raise DecodeError(
            "input too short for an external term" if end < 2 else f"version byte is {buf[0]}, expected 131",
            0,
        )
    if buf[1] == COMPRESSED:
        buf = _inflate(buf, max_size)
        if type(buf) is not bytes:
            buf = memoryview(buf)
        value, pos = _decode_term(buf, 0, max_depth, 6, tag_hook)
        if pos != len(buf):
            raise DecodeError(f"{len(buf) - pos} bytes left over inside the compressed term", 6 + pos)
        return value
    value, pos = _decode_term(buf, 1, max_depth, 0, tag_hook)
    if pos != end:
        raise DecodeError(f"{end - pos} trailing bytes after the term", pos)
    return value


def _inflate(buf: Any, max_size: int) -> Any:
    """Inflate a COMPRESSED term into one buffer of its declared size.

    The declared size is held against ``max_size`` before anything is
    inflated; output comes in slices of at most ``_INFLATE_STEP`` bytes
    copied into the one buffer, so the peak is about the declared size, and
    inflating stops at it (never past what was declared).
    """
    if len(buf) < 6:
        raise DecodeError("compressed term is truncated before its size", 2)
    size = _U32(buf, 2)[0]
    if size > max_size:
        raise DecodeError(f"compressed term declares {size} bytes, over the {max_size}-byte limit", 2)
    inflater = zlib.decompressobj()
    out = bytearray(size)
    filled = 0
    data = buf[6:]
    try:
        while True:
            piece = inflater.decompress(data, min(_INFLATE_STEP, size - filled + 1))
            data = inflater.unconsumed_tail
            if len(piece) > size - filled:
                raise DecodeError(f"compressed data inflates to more than its declared {size} bytes", 6)
            out[filled : filled + len(piece)] = piece
            filled += len(piece)
            if inflater.eof or (not piece and not data):
                break
    except zlib.error as exc:
        raise DecodeError(f"compressed data is corrupt: {exc}", 6) from None
    if filled != size or not inflater.eof:
        raise DecodeError(f"compressed data inflates to fewer than its declared {size} bytes", 6)
    if inflater.unused_data:
        raise DecodeError(f"{len(inflater.unused_data)} trailing bytes after the compressed data", 6)
    return out if size >= _COPY_BELOW else bytes(out)


def _decode_term(
    buf: Any, pos: int, max_depth: int, base: int, tag_hook: Callable[[dict[Any, Any]], Any] | None
) -> tuple[Any, int]:
    """Decode the term at ``pos``; return it and the position after it.

    ``buf`` is ``bytes``, or a memoryview for inputs too big to copy.
    ``base`` is added to offsets in errors (the compressed header's length),
    so they point into the bytes the caller gave.  The innermost open
    container lives in local variables; the ones around it wait on ``stack``.
    A list or tuple collects ``items`` until it has ``need`` of them; a map
    fills the dict ``items``, ``key`` holding a key until its value arrives
    and ``need`` counting the pairs still to come.
    """
    # Short binaries are decoded inline; long ones (and all, from a memoryview)
    # go through _text_or_bytes.
    inline_up_to = _PROBE if type(buf) is bytes else -1
    view = inline_up_to < 0
    end = len(buf)
    stack: list[tuple[int, Any, int, bool, int, Any]] = []
    kind = _NONE
    items: Any = None
    need = 0
    key: Any = _NO_KEY
    frozen = False  # the open container is (inside) a map key: build hashable values
    opened = 0  # offset of the open container's tag
    start = pos
    try:
        while True:
            start = pos
            tag = buf[pos]
            pos += 1
            # -- read one term: a scalar into ``value``, or open a container.
            if tag == BINARY:
                size = _U32(buf, pos)[0]
                pos += 4
                stop = pos + size
                if stop > end:
                    raise DecodeError(f"binary of {size} bytes runs past the end", base + start)
                if kind == _MAP and key == "data" and items.get("__type__") in _RAW_DATA:
                    value: Any = bytes(buf[pos:stop])  # a "bytes" or "tensor" map's data: never text
                elif size > inline_up_to:
                    value = _text_or_bytes(buf[pos:stop], size)
                else:
                    value = buf[pos:stop]
                    try:
                        value = value.decode()
                    except UnicodeDecodeError:
                        pass
                pos = stop
            elif tag == SMALL_ATOM_UTF8 or tag == ATOM:
                if tag == ATOM:
                    size = _U16(buf, pos)[0]
                    pos += 2
                    cache = _atoms_latin1
                else:
                    size = buf[pos]
                    pos += 1
                    cache = _atoms_utf8
                stop = pos + size
                if stop > end:  # before the cache: a cut-short name may be a cached atom's whole name
                    raise DecodeError(f"atom of {size} bytes runs past the end", base + start)
                raw = bytes(buf[pos:stop]) if view else buf[pos:stop]
                value = cache.get(raw, cache)
                if value is cache:
                    value = _new_atom(raw, cache is _atoms_latin1, base + start)
                    if len(cache) < _ATOM_CACHE_LIMIT:
                        cache[raw] = value
                pos = stop
            elif tag == SMALL_INTEGER:
                value = buf[pos]
                pos += 1
            elif tag == MAP or tag == LIST or tag == SMALL_TUPLE or tag == LARGE_TUPLE:
                if tag == SMALL_TUPLE:
                    count = buf[pos]
                    pos += 1
                else:
                    count = _U32(buf, pos)[0]
                    pos += 4
                # Each element takes at least one byte, each map pair two.
                if (2 * count if tag == MAP else count) > end - pos:
                    raise DecodeError(f"{_NAMES[tag]} of {count} elements runs past the end", base + start)
                in_key = frozen or (key is _NO_KEY and kind == _MAP)
                found: list[Any] = []
                if tag == LIST:
                    if count >= _MIN_RUN:
                        found, pos = _number_run(buf, pos, count, base)
                    if len(found) == count and buf[pos] == NIL:  # read whole already
                        pos += 1
                        value = HashableList(found) if in_key else found
                        count = -1
                elif not count:
                    value = () if tag != MAP else FrozenMap() if in_key else {}
                    count = -1
                if count >= 0:
                    if len(stack) + (kind != _NONE) >= max_depth:
                        raise DecodeError(f"nesting deeper than {max_depth} levels", base + start)
                    if kind != _NONE:
                        stack.append((kind, items, need, frozen, opened, key))
                    if tag == LIST:
                        kind, items, need = _LIST, found, count
                        if len(found) == count:  # all numbers, then a tail that is not []
                            kind, need = _TAIL, count + 1
                    elif tag == MAP:
                        kind, items, need, key = _MAP, {}, count, _NO_KEY
                    else:
                        kind, items, need = _TUPLE, [], count
                    frozen, opened = in_key, start
                    continue
            elif tag == NIL:
                value = HashableList() if frozen or (key is _NO_KEY and kind == _MAP) else []
            elif tag == INTEGER:
                value = _I32(buf, pos)[0]
                pos += 4
            elif tag == NEW_FLOAT:
                value = _F64(buf, pos)[0]
                pos += 8
                if not _isfinite(value):
                    raise DecodeError("NEW_FLOAT_EXT holds a non-finite float", base + start)
            elif tag == STRING:
                size = _U16(buf, pos)[0]
                pos += 2
                if pos + size > end:
                    raise DecodeError(f"string of {size} bytes runs past the end", base + start)
                value = list(buf[pos : pos + size])
                pos += size
                if frozen or (key is _NO_KEY and kind == _MAP):
                    value = HashableList(value)
            else:
                value, pos = _rare(buf, tag, pos, end, base + start)
            # -- hand the value to the containers it completes.
            while True:
                if kind == _MAP:
                    if key is _NO_KEY:
                        key = value
                        break
                    try:
                        if key in items:
                            key = _twin_key(items, key, base + opened)
                        items[key] = value
                    except RecursionError:  # hashing a key recurses as deep as it nests
                        raise DecodeError("map key nested too deeply to hash", base + opened) from None
                    key = _NO_KEY
                    need -= 1
                    if need:
                        break
                    if "__type__" in items or "__struct__" in items:
                        value = _finish_map(items, frozen, base + opened, tag_hook)
                    else:
                        value = FrozenMap(items) if frozen else items
                elif kind == _NONE:
                    return value, pos
                else:
                    items.append(value)
                    if len(items) < need:
                        break
                    if kind == _TUPLE:
                        value = tuple(items)
                    elif kind == _LIST:
                        if buf[pos] != NIL:  # the tail is a term of its own: read it next
                            kind, need = _TAIL, need + 1
                            break
                        pos += 1
                        value = HashableList(items) if frozen else items
                    else:  # _TAIL: the term after the last element was not []
                        value = _join_tail(items, frozen)
                if stack:
                    kind, items, need, frozen, opened, key = stack.pop()
                else:
                    kind = _NONE
    except (IndexError, struct.error):
        raise DecodeError("term is truncated", base + start) from None


def _text_or_bytes(raw: Any, size: int) -> Any:
    """A binary is text when it is valid UTF-8, else bytes.

    A failed decode costs a copy of the whole input (CPython puts it in the
    exception), so a long binary that is not ASCII is tried on a short prefix
    first: random data fails there at once.
    """
    if size > _PROBE and not bytes(raw[:_PROBE]).isascii():
        try:
            codecs.utf_8_decode(raw[:_PROBE], "strict", False)
        except UnicodeDecodeError:
            return bytes(raw)
    try:
        return str(raw, "utf-8")
    except UnicodeDecodeError:
        return bytes(raw)


def _finish_map(
    result: dict[Any, Any], frozen: bool, offset: int, tag_hook: Callable[[dict[Any, Any]], Any] | None
) -> Any:
    """A map with a ``__type__`` or ``__struct__`` key: maybe a Python type."""
    try:
        converted = from_map(result, frozen)
    except DecodeError as exc:
        raise DecodeError(exc.reason, offset) from None
    if converted is not result:
        return converted
    if tag_hook is not None and not frozen and "__type__" in result:
        return tag_hook(result)
    return FrozenMap(result) if frozen else result


def _twin_key(items: dict[Any, Any], key: Any, offset: int) -> Any:
    """The key to store ``key`` under when an equal key is already in ``items``.

    An atom and a text binary of the same name (``%{:a => 1, "a" => 2}``)
    are distinct in Erlang but ``Atom("a") == "a"`` in Python: the binary is
    kept as ``bytes`` (``b"a"``), which re-encodes as the same binary.  Any
    other collision (``1`` and ``1.0``) is an error: one entry would be lost.
    """
    existing = next(known for known in items if known == key)  # only on a collision: rare
    if type(key) is str and type(existing) is Atom:  # the binary after its atom
        return key.encode("utf-8", "surrogatepass")
    if type(key) is Atom and type(existing) is str:  # the atom after its binary: re-key the binary
        items[existing.encode("utf-8", "surrogatepass")] = items.pop(existing)
        return key
    raise DecodeError(_collision(items, key), offset)


def _collision(result: dict[Any, Any], key: Any) -> str:
    first = next(existing for existing in result if existing == key)
    return (
        f"map keys {_show(first)} and {_show(key)} are distinct in Erlang "
        "but equal in Python; refusing to drop one"
    )


def _show(key: Any) -> str:
    if type(key) is Atom:
        return ":" + key
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "nil"}[key]
    text = repr(key)
    return text if len(text) <= 60 else text[:57] + "..."


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
        if tag == SMALL_INTEGER:
            stride, mark = 2, b"a"
        elif tag == INTEGER:
            stride, mark = 5, b"b"
        elif tag == NEW_FLOAT:
            stride, mark = 9, b"F"
        else:
            break
        marks = bytes(buf[pos : pos + stride * count : stride])
        run = len(marks) - len(marks.lstrip(mark))
        if run * stride > len(buf) - pos:
            run = (len(buf) - pos) // stride
        if run < _MIN_RUN:
            break
        if tag == SMALL_INTEGER:
            items += buf[pos + 1 : pos + 2 * run : 2]
        else:
            code = "xi" if tag == INTEGER else "xd"
            values = struct.unpack_from(">" + code * run, buf, pos)
            if tag == NEW_FLOAT and not all(map(_isfinite, values)):
                raise DecodeError("NEW_FLOAT_EXT holds a non-finite float", base + pos)
            items += values
        pos += stride * run
        count -= run
    return items, pos


def _atom(buf: Any, tag: int, pos: int, end: int, offset: int) -> tuple[Any, int]:
    """Decode the atom whose tag was read at ``pos - 1`` (used outside the hot loop)."""
    try:
        start, size, latin1 = T.atom_header(buf, pos - 1)
    except IndexError:
        size = buf[pos] if tag == SMALL_ATOM_UTF8 or tag == SMALL_ATOM else _U16(buf, pos)[0]
        raise DecodeError(f"atom of {size} bytes runs past the end", offset) from None
    return _new_atom(bytes(buf[start : start + size]), latin1, offset), start + size


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
    if tag not in (ATOM, SMALL_ATOM, ATOM_UTF8, SMALL_ATOM_UTF8):
        raise DecodeError(f"{what} must hold an atom, found tag {tag}", offset)
    return _atom(buf, tag, pos + 1, end, offset)[1]


def _rare(buf: Any, tag: int, pos: int, end: int, offset: int) -> tuple[Any, int]:
    """Decode the tags that do not occur in ordinary traffic."""
    start = pos - 1
    if tag == SMALL_ATOM or tag == ATOM_UTF8:
        return _atom(buf, tag, pos, end, offset)
    if tag == SMALL_BIG or tag == LARGE_BIG:
        if tag == SMALL_BIG:
            size = buf[pos]
            pos += 1
        else:
            size = _U32(buf, pos)[0]
            pos += 4
        sign = buf[pos]
        pos += 1
        if sign > 1:
            raise DecodeError(f"bignum sign byte is {sign}", offset)
        if pos + size > end:
            raise DecodeError(f"bignum of {size} bytes runs past the end", offset)
        magnitude = int.from_bytes(buf[pos : pos + size], "little")
        return (-magnitude if sign else magnitude), pos + size
    if tag == NEW_PID or tag == PID:
        pos = _skip_atom(buf, pos, end, "pid", offset) + (12 if tag == NEW_PID else 9)
        return Pid(_span(buf, start, pos, end, "pid", offset)), pos
    if tag == NEWER_REFERENCE or tag == NEW_REFERENCE:
        words = _U16(buf, pos)[0]
        if not 1 <= words <= 5:
            raise DecodeError(f"reference of {words} words (1-5 allowed)", offset)
        pos = _skip_atom(buf, pos + 2, end, "reference", offset)
        pos += (4 if tag == NEWER_REFERENCE else 1) + 4 * words
        return Reference(_span(buf, start, pos, end, "reference", offset)), pos
    if tag == REFERENCE:
        pos = _skip_atom(buf, pos, end, "reference", offset) + 5
        return Reference(_span(buf, start, pos, end, "reference", offset)), pos
    if tag == NEW_PORT or tag == V4_PORT or tag == PORT:
        pos = _skip_atom(buf, pos, end, "port", offset)
        pos += {NEW_PORT: 8, V4_PORT: 12, PORT: 5}[tag]
        return Port(_span(buf, start, pos, end, "port", offset)), pos
    if tag == NEW_FUN:
        size = _U32(buf, pos)[0]
        if size < 34:
            raise DecodeError(f"fun of {size} bytes is too short", offset)
        stop = pos + size
        return Fun(_span(buf, start, stop, end, "fun", offset), buf[pos + 4]), stop
    if tag == EXPORT:
        pos = _skip_atom(buf, pos, end, "export fun module", offset)
        pos = _skip_atom(buf, pos, end, "export fun name", offset)
        if buf[pos] != SMALL_INTEGER:
            raise DecodeError("export fun arity must be a small integer", offset)
        pos += 2
        return Fun(_span(buf, start, pos, end, "fun", offset), buf[pos - 1]), pos
    if tag == BIT_BINARY:
        size = _U32(buf, pos)[0]
        bits = buf[pos + 4]
        pos += 5
        if not size or not 1 <= bits <= 8:
            raise DecodeError(f"bitstring of {size} bytes with {bits} bits in its last byte", offset)
        if pos + size > end:
            raise DecodeError(f"bitstring of {size} bytes runs past the end", offset)
        return BitString(buf[pos : pos + size], bits), pos + size
    if tag == FLOAT:
        text = bytes(buf[pos : pos + 31])
        if len(text) < 31:
            raise DecodeError("FLOAT_EXT is truncated", offset)
        try:
            number = float(text.split(b"\0", 1)[0])
        except ValueError:
            raise DecodeError(f"FLOAT_EXT text {text!r} is not a float", offset) from None
        if not _isfinite(number):
            raise DecodeError("FLOAT_EXT holds a non-finite float", offset)
        return number, pos + 31
    if tag == COMPRESSED:
        raise DecodeError("a compressed term may only appear at the top level", offset)
    if tag in T.UNSUPPORTED:
        raise DecodeError(f"tag {tag} unsupported: {T.UNSUPPORTED[tag]}", offset)
    raise DecodeError(f"unknown tag {tag}", offset)


def _span(buf: Any, start: int, stop: int, end: int, what: str, offset: int) -> bytes:
    if stop > end:
        raise DecodeError(f"{what} runs past the end", offset)
    return bytes(buf[start:stop])
