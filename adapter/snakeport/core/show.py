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

import struct
from collections.abc import Mapping

from .etf import tags
from .terms import Atom, BitString, Fun, ImproperList, Opaque, Pid, Port, Reference

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["brief", "elixir", "jsonable", "opaque_text"]

MAX_ITEMS = 20  # list, tuple and map entries shown before the count
MAX_BYTES = 32  # bytes of a binary shown
MAX_CHARS = 200  # characters of a string shown
MAX_DEPTH = 50  # container levels shown
_DECIMAL_BITS = 1024  # longer integers are shown by their size (or in hex)

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def elixir(term: Any, full: bool = False) -> str:
    """``term`` in Elixir's syntax (what ``inspect/1`` would print, near enough).

    Never fails and never recurses: containers nested deeper than
    ``MAX_DEPTH`` print as ``...`` unless ``full``, and integers too long
    for decimal text print by their size (in hex when ``full``).
    """
    out: list[str] = []
    # A stack of what is left to write: text, or (term, depth) to render.
    todo: list[Any] = [(term, 0)]
    while todo:
        item = todo.pop()
        if type(item) is str:
            out.append(item)
        else:
            _write(item[0], item[1], full, out, todo)
    return "".join(out)


def brief(term: Any, limit: int = 80) -> str:
    """``term`` shown for an error message: at most ``limit`` characters, whatever it is."""
    text = elixir(_shallow(term))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shallow(term: Any) -> Any:
    """The top few levels of ``term`` (so an error message never walks a huge value)."""
    return _Cut(term, 3)


class _Cut:
    """A term to render only ``levels`` deep (``brief``)."""

    __slots__ = ("levels", "term")

    def __init__(self, term: Any, levels: int) -> None:
        self.term = term
        self.levels = levels


def _write(term: Any, depth: int, full: bool, out: list[str], todo: list[Any]) -> None:
    """Write a scalar to ``out``, or push a container's pieces on ``todo`` (last first)."""
    if type(term) is _Cut:
        if term.levels <= 0:
            out.append("...")
            return
        term, depth = term.term, MAX_DEPTH - term.levels
    if term is None:
        out.append("nil")
    elif term is True or term is False:
        out.append("true" if term else "false")
    elif type(term) is Atom:
        out.append(_atom(term))
    elif isinstance(term, int):
        out.append(_integer(int(term), full))
    elif isinstance(term, float):
        out.append(_float(term))
    elif isinstance(term, str):
        out.append(_string(term, full))
    elif isinstance(term, (bytes, bytearray, memoryview)):
        out.append(_binary(bytes(term) if full else bytes(term[: MAX_BYTES + 1]), full, len(term)))
    elif isinstance(term, Opaque):
        out.append(opaque_text(term))
    elif isinstance(term, BitString):
        head = ", ".join(map(str, term.data[:-1]))
        last = f"{term.data[-1] >> (8 - term.bits)}::size({term.bits})"
        out.append(f"<<{head + ', ' if head else ''}{last}>>")
    elif isinstance(term, (tuple, list, ImproperList, Mapping)):
        if not full and depth >= MAX_DEPTH:
            out.append("...")
        elif isinstance(term, ImproperList):
            pieces: list[Any] = ["["]
            for index, element in enumerate(term.elements):
                pieces += [", "] * bool(index) + [(element, depth + 1)]
            pieces += [" | ", (term.tail, depth + 1), "]"]
            todo.extend(reversed(pieces))
        elif isinstance(term, Mapping):
            todo.extend(reversed(_map(term, depth, full)))
        else:
            opening, closing = ("{", "}") if isinstance(term, tuple) else ("[", "]")
            todo.extend(reversed(_items(opening, term, closing, depth, full)))
    else:
        out.append(f"#Python<{type(term).__name__}>")


def _integer(value: int, full: bool) -> str:
    if value.bit_length() <= _DECIMAL_BITS:
        return repr(value)
    if full:
        return ("-" if value < 0 else "") + hex(abs(value))
    return f"#Integer<{value.bit_length()} bits>"


def _float(value: float) -> str:
    if value != value:
        return ":nan"
    if value in (float("inf"), float("-inf")):
        return ":infinity" if value > 0 else ":neg_infinity"
    return repr(value)


def _items(opening: str, items: Any, closing: str, depth: int, full: bool) -> list[Any]:
    shown = items if full or len(items) <= MAX_ITEMS else items[:MAX_ITEMS]
    pieces: list[Any] = [opening]
    for index, item in enumerate(shown):
        pieces += [", "] * bool(index) + [(item, depth + 1)]
    if len(shown) < len(items):
        pieces.append(f", ... {len(items) - len(shown)} more")
    pieces.append(closing)
    return pieces


def _map(term: Mapping[Any, Any], depth: int, full: bool) -> list[Any]:
    pieces: list[Any] = ["%{"]
    for index, (key, value) in enumerate(term.items()):
        if not full and index == MAX_ITEMS:
            pieces.append(f", ... {len(term) - MAX_ITEMS} more")
            break
        pieces += [", "] * bool(index) + [(key, depth + 1), " => ", (value, depth + 1)]
    pieces.append("}")
    return pieces


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
    shown = text if full or len(text) <= MAX_CHARS else text[:MAX_CHARS]
    if not all(c.isprintable() or c in _ESCAPES for c in shown):  # Elixir shows these as bytes
        raw = shown.encode("utf-8", "surrogatepass")
        return _binary(raw, full, len(raw) + _utf8_size(text[len(shown) :]))
    if len(shown) == len(text):
        return '"' + _escape(text) + '"'
    return f'"{_escape(shown)}"... {_utf8_size(text[MAX_CHARS:])} more bytes'


def _utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8, counted without encoding a copy of it."""
    if text.isascii():
        return len(text)
    return sum(1 if c < "\x80" else 2 if c < "\u0800" else 4 if c > "\uffff" else 3 for c in text)


def _binary(data: bytes, full: bool, size: int | None = None) -> str:
    size = len(data) if size is None else size
    shown = data if full or size <= MAX_BYTES else data[:MAX_BYTES]
    more = f", ... {size - len(shown)} more bytes" if len(shown) < size else ""
    return "<<" + ", ".join(map(str, shown)) + more + ">>"


# -- opaque terms, from their bytes ------------------------------------------------


def _read_atom(raw: bytes, pos: int) -> tuple[str, int]:
    start, size, latin1 = tags.atom_header(raw, pos)
    return raw[start : start + size].decode("latin-1" if latin1 else "utf-8", "replace"), start + size


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
    except (IndexError, ValueError, struct.error):
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


def jsonable(term: Any, depth: int = 0) -> Any:
    """``term`` as JSON values: atoms, tuples, binaries, maps and opaque terms tagged by a one-key object."""
    import base64  # for the frames tool only: base64 imports re, which no start should pay for

    if depth > MAX_DEPTH:
        return {"elided": f"nested deeper than {MAX_DEPTH} levels"}
    down = depth + 1

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
        return {"tuple": [jsonable(item, down) for item in term]}
    if isinstance(term, ImproperList):
        elements = [jsonable(item, down) for item in term.elements]
        return {"improper_list": elements, "tail": jsonable(term.tail, down)}
    if isinstance(term, list):
        return [jsonable(item, down) for item in term]
    if isinstance(term, Mapping):
        return {"map": [[jsonable(key, down), jsonable(value, down)] for key, value in term.items()]}
    if isinstance(term, Opaque):
        return {type(term).__name__.lower(): opaque_text(term)}
    if isinstance(term, BitString):
        return {"bitstring": base64.b64encode(term.data).decode(), "bits": term.bits}
    return {"python": type(term).__name__}
