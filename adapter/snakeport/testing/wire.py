"""Requests as the Elixir client builds them, from Python values.

The harness must send what the BEAM sends, or a test that passes here
could fail from Elixir: the same request keys (``request_fields``), the same
wire form of values (``to_wire``: ``bytes`` as SnakeBridge's tagged bytes
map, sets and dates as their tagged maps, refs as their wire maps, tuples
and atoms as themselves), funs as Erlang fun terms, a pid of a node of its
own.  One builder per call of SnakeBridge's runtime API (``call_request``,
``class_request``, ...) makes its request's fields, as ``SnakeBridge.Runtime``
does; ``to_wire`` then gives the values their wire form.
``tests/test_testing_equivalence.py`` compares these requests, field by
field, with the ones the Elixir client sent in
``tests/recordings/client_requests.frames`` (recorded by
``mix_stub/test/client_requests_test.exs``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.terms import Atom, BitString, Fun, ImproperList, Opaque, Pid

__all__ = [
    "Ref",
    "StreamRef",
    "call_request",
    "class_request",
    "elixir_pid",
    "export_fun",
    "get_attr_request",
    "helper_request",
    "method_request",
    "module_attr_request",
    "release_request",
    "release_session_request",
    "request_fields",
    "set_attr_request",
    "stream_request",
    "take_request",
    "to_wire",
]


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


# -- the requests of SnakeBridge's runtime API, as SnakeBridge.Runtime builds them ------


def call_request(
    module: str,
    function: str,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    session: str = "default",
    **runtime: Any,
) -> dict[str, Any]:
    """``Runtime.call(module, function, args, kwargs)``; ``runtime``: extra request fields."""
    fields = {"call_type": "call", "python_module": module, "function": function}
    return request_fields(fields, args, kwargs, session, **runtime)


def class_request(
    module: str,
    cls: str,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    session: str = "default",
) -> dict[str, Any]:
    """``Runtime.call_class(module, cls, args, kwargs)``."""
    fields = {"call_type": "class", "python_module": module, "class": cls, "function": cls}
    return request_fields(fields, args, kwargs, session)


def method_request(
    ref: Ref, name: str, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``Runtime.call_method(ref, name, args, kwargs)``, in the ref's session."""
    fields = {"call_type": "method", "instance": ref, "function": name, **ref.location()}
    return request_fields(fields, args, kwargs, ref.session_id)


def get_attr_request(ref: Ref, name: str) -> dict[str, Any]:
    """``Runtime.get_attr(ref, name)``."""
    fields = {"call_type": "get_attr", "instance": ref, "attr": name, **ref.location()}
    return request_fields(fields, (), None, ref.session_id)


def set_attr_request(ref: Ref, name: str, value: Any) -> dict[str, Any]:
    """``Runtime.set_attr(ref, name, value)``: the value is the one argument."""
    fields = {"call_type": "set_attr", "instance": ref, "attr": name, **ref.location()}
    return request_fields(fields, (value,), None, ref.session_id)


def module_attr_request(module: str, name: str, session: str = "default") -> dict[str, Any]:
    """``Runtime.get_module_attr(module, name)``."""
    fields = {"call_type": "module_attr", "python_module": module, "attr": name}
    return request_fields(fields, (), None, session)


def helper_request(
    name: str,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    session: str = "default",
) -> dict[str, Any]:
    """``Runtime.call_helper(name, args, kwargs)``: the library is the name's first segment."""
    fields = {"call_type": "helper", "helper": name, "function": name, "library": name.split(".")[0]}
    return request_fields(fields, args, kwargs, session)


def take_request(stream_ref: StreamRef, n: int, unread: int = 0) -> dict[str, Any]:
    """``Runtime.stream_take(stream_ref, n, unread: unread)``, what a ``StreamRef``'s Enumerable sends."""
    fields = {"call_type": "stream_take", "stream_ref": stream_ref, "max": n, "unread": unread}
    return request_fields(fields, (), None, stream_ref.session_id, library=stream_ref.library)


def stream_request(
    module: str,
    function: str,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    session: str = "default",
    credit: int = 2,
    batch: int = 1024,
) -> dict[str, Any]:
    """``Runtime.stream(module, function, args, opts, fun)``: a push stream under credit."""
    fields = {
        "call_type": "stream",
        "python_module": module,
        "function": function,
        "credit": credit,
        "batch": batch,
    }
    return request_fields(fields, args, kwargs, session)


def release_request(ref: Ref) -> dict[str, Any]:
    """``Runtime.release_ref(ref)``: no module, so no library."""
    return request_fields({"call_type": "release_ref", "ref": ref}, (), None, ref.session_id)


def release_session_request(session: str) -> dict[str, Any]:
    """``Runtime.release_session(session)``: only the call type and the session."""
    return {"call_type": "release_session", "session_id": session}


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
