"""Pure-Python ETF encoder: Python values in, bytes out, no I/O.

Emits only what OTP 26+ itself emits (UTF-8 atoms, NEW_FLOAT_EXT, SMALL/LARGE
BIG), so the BEAM's ``binary_to_term`` accepts every output.  Iterative over an
explicit stack of iterators, so depth is bounded by ``max_depth`` (which also
catches cycles) rather than by Python's recursion limit.  Output pieces are
collected in a list and joined once; large binaries go in as memoryviews and
are copied only by that join.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from itertools import chain

from ..terms import Atom, BitString, FrozenMap, HashableList, ImproperList, Opaque
from . import tags as T
from .errors import EncodeError
from .tagged import NOTHING, stand_in

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["DEFAULT_MAX_DEPTH", "encode"]

DEFAULT_MAX_DEPTH = 10_000

_HEAD_BI = struct.Struct(">BI").pack
_HEAD_BB = struct.Struct(">BB").pack
_HEAD_BH = struct.Struct(">BH").pack
_INTEGER = struct.Struct(">Bi").pack
_NEW_FLOAT = struct.Struct(">Bd").pack
_isfinite = math.isfinite
_from_iterable = chain.from_iterable
_INT32 = 1 << 31
# Largest bignum a 64-bit BEAM's binary_to_term accepts (measured on OTP 25:
# 4,194,296 digit bytes decode, 4,194,297 are badarg).
_MAX_BIG_BYTES = (1 << 22) - 8
# Map keys of these types cannot turn two distinct Python keys into one term.
_SAFE_KEY_TYPES = frozenset((str, int, Atom))

_SMALL_INTS = [bytes((T.SMALL_INTEGER, i)) for i in range(256)]
_NIL = bytes((T.NIL,))


def _atom_bytes(name: str) -> bytes:
    if len(name) > 255:
        raise EncodeError(f"atom of {len(name)} characters is over the BEAM's 255 limit")
    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError:
        raise EncodeError("atom holds a lone surrogate, not valid Unicode") from None
    if len(raw) < 256:
        return _HEAD_BB(T.SMALL_ATOM_UTF8, len(raw)) + raw
    return _HEAD_BH(T.ATOM_UTF8, len(raw)) + raw


_TRUE = _atom_bytes("true")
_FALSE = _atom_bytes("false")
_NIL_ATOM = _atom_bytes("nil")
_INFINITY = _atom_bytes("infinity")
_NEG_INFINITY = _atom_bytes("neg_infinity")
_NAN = _atom_bytes("nan")
_ATOM_CACHE_LIMIT = 8192
_atoms: dict[str, bytes] = {}
# Short str -> its whole BINARY_EXT: map keys and names recur in every
# message, and a str caches its hash, so a lookup beats encoding again.
_SHORT_TEXT = 24
_TEXT_CACHE_LIMIT = 8192
_texts: dict[str, bytes] = {}

# Lists at least this long are checked for the bulk number paths.
_BULK_MIN = 16


def encode(
    term: Any,
    *,
    default: Callable[[Any], Any] | None = None,
    compress_above: int | None = None,
    compress_level: int = 6,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> bytes:
    """Encode ``term`` as one external term, version byte 131 first.

    ``default(obj)`` is called for a value with no Erlang term and returns a
    replacement to encode (as ``json.dumps``'s ``default``); without it such
    a value raises ``EncodeError``.  A body longer than ``compress_above``
    bytes is zlib-compressed (tag 80) when that makes it smaller.
    """
    pieces = encode_pieces(
        term,
        default=default,
        compress_above=compress_above,
        compress_level=compress_level,
        max_depth=max_depth,
    )
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def encode_pieces(
    term: Any,
    *,
    default: Callable[[Any], Any] | None = None,
    compress_above: int | None = None,
    compress_level: int = 6,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> list[Any]:
    """``encode``, as the list of byte pieces that make up the frame.

    For writers with ``writev``: big binaries stay the objects they were
    (bytes or memoryviews), so a 64 MB reply is never joined into a copy.
    """
    out: list[Any] = [b"\x83"]
    try:
        _encode_into(term, out, default, max_depth)
    except EncodeError as exc:
        if exc.path or exc.culprit is None:
            raise
        raise EncodeError(exc.reason, _locate(term, exc.culprit)) from None
    if compress_above is not None:
        size = sum(map(len, out)) - 1
        if size > compress_above:
            body = b"".join(out)
            packed = zlib.compress(memoryview(body)[1:], compress_level)
            if len(packed) + 5 < size:
                return [b"\x83" + _HEAD_BI(T.COMPRESSED, size), packed]
    return out


def _fail(message: str, culprit: Any) -> EncodeError:
    return EncodeError(message, culprit=culprit)


def _encode_into(term: Any, out: list[Any], default: Callable[[Any], Any] | None, max_depth: int) -> None:
    append = out.append
    stack: list[tuple[Iterator[Any], bytes | None]] = []
    items: Iterator[Any] = iter((term,))
    suffix: bytes | None = None  # written when ``items`` is exhausted (a list's [])
    while True:
        for obj in items:
            kind = type(obj)
            if kind is str:
                raw = _texts.get(obj)
                if raw is None:
                    raw = _text(obj, append)
                append(raw)
            elif kind is int:
                if 0 <= obj < 256:
                    append(_SMALL_INTS[obj])
                elif -_INT32 <= obj < _INT32:
                    append(_INTEGER(T.INTEGER, obj))
                else:
                    append(_big(obj))
            elif kind is dict or kind is FrozenMap:
                append(_HEAD_BI(T.MAP, len(obj)))
                if obj:
                    if not _SAFE_KEY_TYPES.issuperset(map(type, obj)):
                        _check_distinct_keys(obj, default, max_depth)
                    if len(stack) >= max_depth:
                        raise _fail(f"nesting deeper than {max_depth} levels (a cycle?)", obj)
                    stack.append((items, suffix))
                    items, suffix = _from_iterable(obj.items()), None
                    break
            elif kind is list or kind is HashableList:
                size = len(obj)
                if not size:
                    append(_NIL)
                elif not _packed_list(obj, size, append):
                    if len(stack) >= max_depth:
                        raise _fail(f"nesting deeper than {max_depth} levels (a cycle?)", obj)
                    append(_HEAD_BI(T.LIST, size))
                    stack.append((items, suffix))
                    items, suffix = iter(obj), _NIL
                    break
            elif kind is float:
                append(_NEW_FLOAT(T.NEW_FLOAT, obj) if _isfinite(obj) else _non_finite(obj))
            elif kind is Atom:
                raw = _atoms.get(obj)
                if raw is None:
                    try:
                        raw = _atom_bytes(obj)
                    except EncodeError as exc:
                        raise _fail(exc.reason, obj) from None
                    if len(_atoms) < _ATOM_CACHE_LIMIT:
                        _atoms[obj] = raw
                append(raw)
            elif kind is tuple:
                size = len(obj)
                append(_HEAD_BB(T.SMALL_TUPLE, size) if size < 256 else _HEAD_BI(T.LARGE_TUPLE, size))
                if size:
                    if len(stack) >= max_depth:
                        raise _fail(f"nesting deeper than {max_depth} levels (a cycle?)", obj)
                    stack.append((items, suffix))
                    items, suffix = iter(obj), None
                    break
            elif obj is None:
                append(_NIL_ATOM)
            elif kind is bool:
                append(_TRUE if obj else _FALSE)
            elif kind is bytes:
                append(_HEAD_BI(T.BINARY, len(obj)))
                append(obj)
            else:
                replacement = _other(obj, append, default)
                if replacement is not _DONE:
                    if len(stack) >= max_depth:
                        raise _fail(f"nesting deeper than {max_depth} levels (a cycle?)", obj)
                    stack.append((items, suffix))
                    items, suffix = replacement, None
                    break
        else:
            if suffix is not None:
                append(suffix)
            if not stack:
                return
            items, suffix = stack.pop()


_DONE: Any = object()


def _text(text: str, append: Callable[[Any], None]) -> bytes:
    """Encode a str as BINARY_EXT; return the last piece for the caller to append."""
    try:
        raw = text.encode()
    except UnicodeEncodeError:
        raise _fail("string holds a lone surrogate, not valid Unicode", text) from None
    if len(raw) > _SHORT_TEXT:
        append(_HEAD_BI(T.BINARY, len(raw)))  # big text: no concatenated copy
        return raw
    whole = _HEAD_BI(T.BINARY, len(raw)) + raw
    if len(_texts) < _TEXT_CACHE_LIMIT:
        _texts[text] = whole
    return whole


def _other(obj: Any, append: Callable[[Any], None], default: Callable[[Any], Any] | None) -> Any:
    """Encode a value of a less common type.

    Returns ``_DONE`` when it wrote the value, else an iterator of what must
    be encoded in its place (elements of a container, or a replacement).
    """
    if isinstance(obj, Opaque):
        append(obj.raw)
        return _DONE
    if isinstance(obj, (bytearray, memoryview)):
        view = memoryview(obj)
        if not view.c_contiguous:
            view = memoryview(view.tobytes())
        view = view.cast("B")
        append(_HEAD_BI(T.BINARY, view.nbytes))
        append(view)
        return _DONE
    if isinstance(obj, BitString):
        append(_HEAD_BI(T.BIT_BINARY, len(obj.data)))
        append(bytes((obj.bits,)))
        append(obj.data)
        return _DONE
    if isinstance(obj, ImproperList):
        append(_HEAD_BI(T.LIST, len(obj.elements)))
        return chain(obj.elements, (obj.tail,))
    if isinstance(obj, int):
        return iter((int(obj),))
    if isinstance(obj, float):
        return iter((float(obj),))
    if isinstance(obj, str):
        return iter((str(obj),))
    if isinstance(obj, bytes):
        return iter((bytes(obj),))
    replacement = stand_in(obj)
    if replacement is not NOTHING:
        return iter((replacement,))
    if isinstance(obj, (list, tuple, Mapping)):
        if isinstance(obj, Mapping):
            return iter((dict(obj),))
        return iter((list(obj) if isinstance(obj, list) else tuple(obj),))
    if default is not None:
        return iter((default(obj),))
    raise _fail(f"cannot encode {type(obj).__module__}.{type(obj).__qualname__}", obj)


def _check_distinct_keys(mapping: Any, default: Callable[[Any], Any] | None, max_depth: int) -> None:
    """Refuse keys that differ in Python but are one Erlang term.

    ``b"a"`` and ``"a"`` are both ``<<"a">>``; ``True`` and ``Atom("true")``
    both ``true``; two NaNs both ``nan``.  The BEAM rejects a map with a
    repeated key, so the whole frame would be lost.
    """
    seen: dict[bytes, Any] = {}
    for key in mapping:
        out: list[Any] = []
        _encode_into(key, out, default, max_depth)
        raw = b"".join(out)
        if raw in seen:
            raise _fail(f"map keys {seen[raw]!r} and {key!r} are the same Erlang term", mapping)
        seen[raw] = key


def _big(value: int) -> bytes:
    magnitude = -value if value < 0 else value
    size = (magnitude.bit_length() + 7) // 8
    if size > _MAX_BIG_BYTES:
        raise _fail(f"integer of {size} bytes is over the BEAM's {_MAX_BIG_BYTES}-byte limit", value)
    digits = magnitude.to_bytes(size, "little")
    sign = 1 if value < 0 else 0
    if size < 256:
        return bytes((T.SMALL_BIG, size, sign)) + digits
    return _HEAD_BI(T.LARGE_BIG, size) + bytes((sign,)) + digits


def _non_finite(value: float) -> bytes:
    if value != value:
        return _NAN
    return _INFINITY if value > 0 else _NEG_INFINITY


def _packed_list(values: list[Any], size: int, append: Callable[[Any], None]) -> bool:
    """Write a list of numbers in one piece if it is one; False if not."""
    first = values[0]
    if type(first) is int and 0 <= first < 256 and _byte_list(values, append):
        return True
    return size >= _BULK_MIN and _bulk_numbers(values, append)


def _byte_list(values: list[Any], append: Callable[[Any], None]) -> bool:
    """Write a list of ints 0..255 as STRING_EXT, as the BEAM itself does."""
    size = len(values)
    if size > 65535:
        return False
    try:
        raw = bytes(values)
    except (TypeError, ValueError):
        return False
    if size > 1 and set(map(type, values)) != {int}:  # bytes() takes bools and IntEnums too
        return False
    append(_HEAD_BH(T.STRING, size))
    append(raw)
    return True


def _bulk_numbers(values: list[Any], append: Callable[[Any], None]) -> bool:
    """Write a list of only ints or only finite floats with C-speed steps.

    Returns False (having written nothing) when the list is not of that kind;
    the general loop then handles it.
    """
    kinds = set(map(type, values))
    if len(kinds) != 1:
        return False
    kind = kinds.pop()
    size = len(values)
    if kind is int:
        width, tag, code = 4, T.INTEGER, "i"
    elif kind is float and all(map(_isfinite, values)):
        width, tag, code = 8, T.NEW_FLOAT, "d"
    else:
        return False
    try:  # one C call, big-endian already; an int out of 32-bit range refuses
        raw = struct.pack(f">{size}{code}", *values)
    except struct.error:
        return False
    stride = width + 1
    body = bytearray(stride * size)
    body[0::stride] = bytes((tag,)) * size
    for byte in range(width):
        body[byte + 1 :: stride] = raw[byte::width]
    append(_HEAD_BI(T.LIST, size))
    append(body)
    append(_NIL)
    return True


def _locate(term: Any, culprit: Any) -> str:
    """Describe where ``culprit`` sits inside ``term`` (only run on failure)."""
    pending: list[tuple[Any, str, int]] = [(term, "", 0)]
    seen: set[int] = set()
    while pending:
        node, path, depth = pending.pop()
        if node is culprit:
            return path or "the top level"
        if id(node) in seen or depth > 10_000:
            continue
        seen.add(id(node))
        if isinstance(node, (dict, FrozenMap)):
            for key, value in node.items():
                pending.append((value, f"{path}[{key!r}]", depth + 1))
                pending.append((key, f"{path} key {key!r}", depth + 1))
        elif isinstance(node, (list, tuple, ImproperList)):
            pending.extend((value, f"{path}[{index}]", depth + 1) for index, value in enumerate(node))
    return "an unknown place"
