"""Requests as the Elixir client builds them, from Python values.

The harness must send what the BEAM sends, or a test that passes here
could fail from Elixir: the same request keys (``request_fields``), the same
wire form of values (``to_wire``: ``bytes`` as SnakeBridge's tagged bytes
map, sets and dates as their tagged maps, refs as their wire maps, tuples
and atoms as themselves), funs as Erlang fun terms, a pid of a node of its
own.  ``tests/test_testing.py`` compares these frames with the Elixir
client's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.terms import Atom, BitString, Fun, ImproperList, Opaque, Pid

__all__ = ["Ref", "StreamRef", "elixir_pid", "export_fun", "request_fields", "to_wire"]


class Ref:
    """A Python object held by the adapter; pass it as an argument, call its methods."""

    def __init__(self, wire: Mapping[str, Any]) -> None:
        self.wire = dict(wire)
        self.id: str = str(wire.get("id"))
        self.session_id: str = str(wire.get("session_id", "default"))
        self.type_name: str | None = wire.get("type_name")
        self.python_module: str | None = wire.get("python_module")
        self.library: str | None = wire.get("library")

    def to_wire(self) -> dict[str, Any]:
        """The map the Elixir client sends for this ref (``SnakeBridge.Ref.to_wire``)."""
        return {
            "__type__": "ref",
            "__schema__": self.wire.get("__schema__", 1),
            "id": self.id,
            "session_id": self.session_id,
            "python_module": self.python_module,
            "library": self.library,
        }

    def location(self) -> dict[str, Any]:
        """The module and library fields the client adds to a request on this ref."""
        return {"python_module": self.python_module or self.library, "library": self.library}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ref) and (other.id, other.session_id) == (self.id, self.session_id)

    def __hash__(self) -> int:
        return hash((self.id, self.session_id))

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"<{kind} {self.python_module}.{self.type_name} {self.id[:8]} session={self.session_id}>"


class StreamRef(Ref):
    """A Python generator or iterator held by the adapter: ``Adapter.take`` its items."""

    def __init__(self, wire: Mapping[str, Any]) -> None:
        super().__init__(wire)
        self.stream_type: str | None = wire.get("stream_type")

    def to_wire(self) -> dict[str, Any]:
        """``SnakeBridge.StreamRef.to_wire``."""
        return {
            "__type__": "stream_ref",
            "__schema__": 1,
            "id": self.id,
            "session_id": self.session_id,
            "stream_type": self.stream_type,
            "python_module": self.python_module,
            "library": self.library,
        }


def request_fields(
    base: Mapping[str, Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any] | None,
    session: str,
    **extra: Any,
) -> dict[str, Any]:
    """``base`` with the fields ``SnakeBridge.Runtime`` adds to every request."""
    fields = dict(base)
    module = fields.get("python_module")
    library = fields.get("library") or (module.split(".")[0] if isinstance(module, str) else None)
    fields.update(
        session_id=session,
        args=list(args),
        kwargs={str(key): value for key, value in (kwargs or {}).items()},
        library=library,
    )
    fields.update(extra)
    return fields


def to_wire(value: Any) -> Any:
    """``value`` as the Elixir client would send it (``SnakeBridge.Types.encode``)."""
    if isinstance(value, Ref):
        return value.to_wire()
    if value is None or isinstance(value, (bool, int, str, Opaque, BitString)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return Atom("nan" if value != value else "infinity" if value > 0 else "neg_infinity")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__type__": "bytes", "data": bytes(value)}  # SnakeBridge.bytes/1
    if isinstance(value, tuple):
        return tuple(to_wire(item) for item in value)
    if isinstance(value, list):
        return [to_wire(item) for item in value]
    if isinstance(value, ImproperList):
        return ImproperList([to_wire(item) for item in value.elements], to_wire(value.tail))
    if isinstance(value, Mapping):
        return {to_wire(key): to_wire(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return {"__type__": "set", "elements": [to_wire(item) for item in value]}  # a MapSet
    return _dates(value)


def _dates(value: Any) -> Any:
    import datetime

    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None and value.utcoffset() == datetime.timedelta(0):
            return {"__type__": "datetime", "value": value.replace(tzinfo=None).isoformat() + "Z"}
        return {"__type__": "datetime", "value": value.isoformat()}
    if isinstance(value, (datetime.date, datetime.time)):
        kind = "date" if isinstance(value, datetime.date) else "time"
        return {"__type__": kind, "value": value.isoformat()}
    raise TypeError(f"{type(value).__name__} has no form the Elixir client would send")


_NODE = b"snakeport_testing@localhost"


def elixir_pid(number: int = 1) -> Pid:
    """A pid of a node of the harness's own (NEW_PID_EXT): what Python sends to it is collected."""
    atom = bytes((119, len(_NODE))) + _NODE
    return Pid(
        bytes((88,)) + atom + number.to_bytes(4, "big") + (0).to_bytes(4, "big") + (1).to_bytes(4, "big")
    )


def export_fun(number: int, arity: int) -> Fun:
    """A fun term ``&:snakeport_testing.fun_N/arity`` (EXPORT_EXT) that stands for a Python callable."""
    module, name = b"snakeport_testing", f"fun_{number}".encode()
    raw = bytes((113, 119, len(module))) + module + bytes((119, len(name))) + name + bytes((97, arity))
    return Fun(raw, arity)
