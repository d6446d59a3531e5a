"""Decoded terms as an Elixir user reads them, and as JSON for tools.

``elixir(term)`` writes ``{:reply, 1, {:ok, 4.0}}``, ``%{"call_type" =>
"call"}``, ``#PID<0.123.0>``, ``&String.length/1``, ``<<1, 2, 3>>`` for binaries
that are not text; long lists, maps and binaries are cut with a count of what
was left out unless ``full``.  ``jsonable(term)`` keeps every distinction
(atoms, tuples, binaries) in plain JSON values.  Pids, references, ports
and funs are read from their exact bytes, as the BEAM prints them (the node
number is 0 for ``nonode@nohost``, else the node's name).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping

from .etf import tags
from .terms import Atom, BitString, Fun, ImproperList, Opaque, Pid, Port, Reference

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["elixir", "jsonable", "opaque_text"]

MAX_ITEMS = 20  # list, tuple and map entries shown before the count
MAX_BYTES = 32  # bytes of a binary shown
MAX_CHARS = 200  # characters of a string shown

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def elixir(term: Any, full: bool = False) -> str:
    """``term`` in Elixir's syntax (what ``inspect/1`` would print, near enough)."""
    parts: list[str] = []
    _write(term, full, parts)
    return "".join(parts)


def _write(term: Any, full: bool, out: list[str]) -> None:
    if term is None:
        out.append("nil")
    elif term is True or term is False:
        out.append("true" if term else "false")
    elif type(term) is Atom:
        out.append(_atom(term))
    elif isinstance(term, int):
        out.append(repr(term))
    elif isinstance(term, float):
        out.append(_float(term))
    elif isinstance(term, str):
        out.append(_string(term, full))
    elif isinstance(term, (bytes, bytearray, memoryview)):
        out.append(_binary(bytes(term), full))
    elif isinstance(term, tuple):
        _items("{", term, "}", full, out)
    elif isinstance(term, ImproperList):
        out.append("[")
        for index, item in enumerate(term.elements):
            out.append(", " if index else "")
            _write(item, full, out)
        out.append(" | ")
        _write(term.tail, full, out)
        out.append("]")
    elif isinstance(term, list):
        _items("[", term, "]", full, out)
    elif isinstance(term, Mapping):
        _map(term, full, out)
    elif isinstance(term, Opaque):
        out.append(opaque_text(term))
    elif isinstance(term, BitString):
        head = ", ".join(map(str, term.data[:-1]))
        last = f"{term.data[-1] >> (8 - term.bits)}::size({term.bits})"
        out.append(f"<<{head + ', ' if head else ''}{last}>>")
    else:
        out.append(f"#Python<{type(term).__name__}>")


def _float(value: float) -> str:
    if value != value:
        return ":nan"
    if value in (float("inf"), float("-inf")):
        return ":infinity" if value > 0 else ":neg_infinity"
    return repr(value)


def _items(open_: str, items: Any, close: str, full: bool, out: list[str]) -> None:
    out.append(open_)
    shown = items if full or len(items) <= MAX_ITEMS else items[:MAX_ITEMS]
    for index, item in enumerate(shown):
        out.append(", " if index else "")
        _write(item, full, out)
    if len(shown) < len(items):
        out.append(f", ... {len(items) - len(shown)} more")
    out.append(close)


def _map(term: Mapping[Any, Any], full: bool, out: list[str]) -> None:
    out.append("%{")
    for index, (key, value) in enumerate(term.items()):
        if not full and index == MAX_ITEMS:
            out.append(f", ... {len(term) - MAX_ITEMS} more")
            break
        out.append(", " if index else "")
        _write(key, full, out)
        out.append(" => ")
        _write(value, full, out)
    out.append("}")


def _atom(name: str) -> str:
    if name.startswith("Elixir.") and len(name) > 7:
        return name[7:]
    if (
        name
        and (name[0].isalpha() or name[0] == "_")
        and all(c.isalnum() or c in "_@" for c in name.rstrip("?!"))
    ):
        return ":" + name
    return ':"' + _escape(name) + '"'


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in text)


def _string(text: str, full: bool) -> str:
    if not all(c.isprintable() or c in _ESCAPES for c in text):  # Elixir shows these as bytes
        return _binary(text.encode("utf-8", "surrogatepass"), full)
    if full or len(text) <= MAX_CHARS:
        return '"' + _escape(text) + '"'
    rest = len(text[MAX_CHARS:].encode("utf-8", "surrogatepass"))
    return f'"{_escape(text[:MAX_CHARS])}"... {rest} more bytes'


def _binary(data: bytes, full: bool) -> str:
    shown = data if full or len(data) <= MAX_BYTES else data[:MAX_BYTES]
    more = f", ... {len(data) - len(shown)} more bytes" if len(shown) < len(data) else ""
    return "<<" + ", ".join(map(str, shown)) + more + ">>"


# -- opaque terms, from their bytes ------------------------------------------------


def _read_atom(raw: bytes, pos: int) -> tuple[str, int]:
    tag = raw[pos]
    if tag in (tags.SMALL_ATOM_UTF8, tags.SMALL_ATOM):
        size, pos = raw[pos + 1], pos + 2
    else:
        size, pos = struct.unpack_from(">H", raw, pos + 1)[0], pos + 3
    encoding = "latin-1" if tag in (tags.ATOM, tags.SMALL_ATOM) else "utf-8"
    return raw[pos : pos + size].decode(encoding, "replace"), pos + size


def _node(name: str) -> str:
    return "0" if name == "nonode@nohost" else name


def opaque_text(term: Opaque) -> str:
    """A pid, reference, port or fun as the BEAM prints it."""
    raw = term.raw
    try:
        if isinstance(term, Pid):
            node, pos = _read_atom(raw, 1)
            number, serial = struct.unpack_from(">II", raw, pos)
            return f"#PID<{_node(node)}.{number}.{serial}>"
        if isinstance(term, Port):
            node, pos = _read_atom(raw, 1)
            number = struct.unpack_from(">Q" if raw[0] == tags.V4_PORT else ">I", raw, pos)[0]
            return f"#Port<{_node(node)}.{number}>"
        if isinstance(term, Reference):
            return _reference(raw)
        if isinstance(term, Fun):
            return _fun(raw)
    except (IndexError, struct.error):
        pass
    return f"#{type(term).__name__}<{raw.hex()}>"


def _reference(raw: bytes) -> str:
    if raw[0] == tags.REFERENCE:
        node, pos = _read_atom(raw, 1)
        words = [struct.unpack_from(">I", raw, pos)[0]]
    else:
        count = struct.unpack_from(">H", raw, 1)[0]
        node, pos = _read_atom(raw, 3)
        pos += 4 if raw[0] == tags.NEWER_REFERENCE else 1
        words = list(struct.unpack_from(f">{count}I", raw, pos))
    return f"#Reference<{_node(node)}.{'.'.join(map(str, reversed(words)))}>"


def _fun(raw: bytes) -> str:
    if raw[0] == tags.EXPORT:
        module, pos = _read_atom(raw, 1)
        name, pos = _read_atom(raw, pos)
        module_text = module[7:] if module.startswith("Elixir.") else ":" + module
        return f"&{module_text}.{name}/{raw[pos + 1]}"
    arity = raw[5]
    index = struct.unpack_from(">I", raw, 22)[0]
    module, _ = _read_atom(raw, 30)
    return f"#Function<{index}/{arity} in {_atom(module).lstrip(':')}>"


# -- JSON ---------------------------------------------------------------------------


def jsonable(term: Any) -> Any:
    """``term`` as JSON values: atoms, tuples, binaries, maps and opaque terms tagged by a one-key object."""
    if isinstance(term, float) and (term != term or term in (float("inf"), float("-inf"))):
        return {"atom": _float(term)[1:]}
    if term is None or isinstance(term, (bool, int, float)):
        return term
    if type(term) is Atom:
        return {"atom": str(term)}
    if isinstance(term, str):
        return term
    if isinstance(term, (bytes, bytearray, memoryview)):
        return {"binary": base64.b64encode(bytes(term)).decode()}
    if isinstance(term, tuple):
        return {"tuple": [jsonable(item) for item in term]}
    if isinstance(term, ImproperList):
        return {"improper_list": [jsonable(item) for item in term.elements], "tail": jsonable(term.tail)}
    if isinstance(term, list):
        return [jsonable(item) for item in term]
    if isinstance(term, Mapping):
        return {"map": [[jsonable(key), jsonable(value)] for key, value in term.items()]}
    if isinstance(term, Opaque):
        return {type(term).__name__.lower(): opaque_text(term)}
    if isinstance(term, BitString):
        return {"bitstring": base64.b64encode(term.data).decode(), "bits": term.bits}
    return {"python": type(term).__name__}
