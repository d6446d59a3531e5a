"""Python types for the Erlang terms that have no native Python equivalent.

Atoms, pids, references, ports, funs, bitstrings and improper lists all need
to survive a trip through Python and come back to the BEAM unchanged.  The
opaque ones (pids, references, ports, funs) keep the exact external-format
bytes they arrived in, so they re-encode byte for byte whatever node, creation
or fun environment they carry.  The hashable wrappers exist because Erlang
maps may have lists and maps as keys, which Python dicts cannot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

if TYPE_CHECKING:
    _MappingBase = Mapping[Any, Any]
    _SequenceBase = Sequence[Any]
else:  # subscripting needs Any at run time; the bare ABCs behave the same
    _MappingBase = Mapping
    _SequenceBase = Sequence

__all__ = [
    "Atom",
    "BitString",
    "FrozenMap",
    "Fun",
    "HashableList",
    "ImproperList",
    "Opaque",
    "Pid",
    "Port",
    "Reference",
]


class Atom(str):
    """An Erlang atom.

    A ``str`` subclass so that ``Atom("ok") == "ok"``: code that compares
    with plain strings keeps working.  It encodes back as an atom, never as a
    binary.  Because it equals the string, a map holding both ``:ok`` and
    ``"ok"`` as keys keeps the binary key as ``bytes`` (``{Atom("ok"): 1,
    b"ok": 2}``), which encodes back to the same map.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Atom({str.__repr__(self)})"


class Opaque:
    """A term Python never looks inside, kept as its exact external bytes.

    ``raw`` starts with the tag byte and holds the whole term, so encoding
    writes it back unchanged.  Equality and hashing follow the bytes.
    """

    __slots__ = ("raw",)
    raw: bytes

    def __init__(self, raw: bytes) -> None:
        self.raw = bytes(raw)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.raw == self.raw

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.raw))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.raw!r})"

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (type(self), (self.raw,))


class _NodeBound(Opaque):
    """An opaque term that names a node: equal when node and numbers are equal.

    The same pid arrives with a latin-1 node atom from OTP 25 and a UTF-8 one
    from OTP 26; both spellings must compare (and hash) equal, while ``raw``
    keeps whichever spelling arrived.
    """

    __slots__ = ("_identity",)
    _node_at = 1  # where the node atom starts in ``raw``

    def __init__(self, raw: bytes) -> None:
        super().__init__(raw)
        self._identity: tuple[str, bytes] | None = None

    @property
    def node(self) -> str:
        """The node's name, e.g. ``"nonode@nohost"``."""
        return self.identity[0]

    @property
    def identity(self) -> tuple[str, bytes]:
        """(node name, the bytes after the node atom): what makes it this term."""
        if self._identity is None:
            from .etf.tags import atom_header  # not at import: etf imports this module

            raw = self.raw
            start, size, latin1 = atom_header(raw, self._node_at)
            text = raw[start : start + size].decode("latin-1" if latin1 else "utf-8")
            self._identity = (text, raw[: self._node_at] + raw[start + size :])
        return self._identity

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.identity == self.identity

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.identity))


class Pid(_NodeBound):
    """An Erlang process identifier (PID_EXT or NEW_PID_EXT)."""

    __slots__ = ()


class Reference(_NodeBound):
    """An Erlang reference (REFERENCE_EXT, NEW_REFERENCE_EXT or NEWER_REFERENCE_EXT)."""

    __slots__ = ()

    @property
    def _node_at(self) -> int:  # type: ignore[override]
        return 1 if self.raw[0] == 101 else 3  # after the 2-byte word count


class Port(_NodeBound):
    """An Erlang port identifier (PORT_EXT, NEW_PORT_EXT or V4_PORT_EXT)."""

    __slots__ = ()


class Fun(Opaque):
    """An Erlang fun (NEW_FUN_EXT, local, or EXPORT_EXT, ``&mod.fun/arity``).

    ``arity`` is read from the bytes so callers can check a call's argument
    count before sending anything to the BEAM.  Funs compare by their bytes:
    the same fun re-encoded with other atom spellings is a different value
    here (the BEAM still sees the same fun).
    """

    __slots__ = ("arity",)
    arity: int

    def __init__(self, raw: bytes, arity: int = -1) -> None:
        super().__init__(raw)
        self.arity = arity

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the fun on the BEAM that sent it (a callback) and return its value.

        The argument count is checked here, before anything is sent.
        """
        if kwargs:
            raise TypeError(
                f"an Elixir fun takes positional arguments only, got keyword arguments {sorted(kwargs)}"
            )
        if self.arity >= 0 and len(args) != self.arity:
            raise TypeError(f"Elixir fun of arity {self.arity} called with {len(args)} argument(s)")
        from .link import LINK  # not at import: link imports this module

        return LINK.call(self, args)

    def __reduce__(self) -> tuple[Any, tuple[bytes, int]]:  # type: ignore[override]
        return (type(self), (self.raw, self.arity))


class BitString:
    """A bitstring whose last byte holds only ``bits`` significant bits (1-8).

    Kept distinct from ``bytes`` so the bit count survives a round trip.
    """

    __slots__ = ("bits", "data")
    data: bytes
    bits: int

    def __init__(self, data: bytes, bits: int) -> None:
        if not data or not 1 <= bits <= 8:
            raise ValueError("a BitString needs at least one byte and 1..8 bits in its last byte")
        self.data = bytes(data)
        self.bits = bits

    def __len__(self) -> int:
        """The length in bits, as Erlang's ``bit_size/1``."""
        return (len(self.data) - 1) * 8 + self.bits

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BitString) and (self.data, self.bits) == (other.data, other.bits)

    def __hash__(self) -> int:
        return hash(("BitString", self.data, self.bits))

    def __repr__(self) -> str:
        return f"BitString({self.data!r}, bits={self.bits})"


class ImproperList(_SequenceBase):
    """A list whose last cons cell has a tail other than ``[]``: ``[1, 2 | 3]``.

    Immutable (so it can be a map key when its elements can): ``elements`` is
    the tuple of elements, ``tail`` the final non-list term.
    """

    __slots__ = ("elements", "tail")
    elements: tuple[Any, ...]
    tail: Any

    def __init__(self, elements: Iterable[Any], tail: Any) -> None:
        self.elements = tuple(elements)
        if not self.elements:
            raise ValueError("an improper list needs at least one element")
        if isinstance(tail, (list, HashableList, ImproperList)):
            raise ValueError("an improper list's tail must not be a list")
        self.tail = tail

    def __getitem__(self, index: Any) -> Any:
        return self.elements[index]

    def __len__(self) -> int:
        return len(self.elements)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.elements)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ImproperList)
            and self.elements == other.elements
            and bool(self.tail == other.tail)
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(("ImproperList", self.elements, self.tail))

    def __repr__(self) -> str:
        return f"ImproperList({list(self.elements)!r}, tail={self.tail!r})"


class HashableList(tuple):  # type: ignore[type-arg]
    """An Erlang list used as a map key (or inside one), frozen so it can hash.

    Never equal to a plain tuple: ``[1, 2]`` and ``{1, 2}`` are distinct keys
    in Erlang and must stay distinct here.  Encodes back as a list.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is HashableList and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(("HashableList", tuple.__hash__(self)))

    def __repr__(self) -> str:
        return f"HashableList({list(self)!r})"


class FrozenMap(_MappingBase):
    """An Erlang map used as a map key (or inside one): read-only and hashable."""

    __slots__ = ("_hash", "_items")

    def __init__(self, items: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = ()) -> None:
        self._items: dict[Any, Any] = dict(items)
        self._hash: int | None = None

    def __getitem__(self, key: Any) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(("FrozenMap", frozenset(self._items.items())))
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FrozenMap) and self._items == other._items

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"
