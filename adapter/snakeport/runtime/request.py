"""One request as the runtime sees it: typed fields, the refs it names, where its refs go.

``Request`` reads a request map's fields with errors that name the field.
Refs in a request arrive as ``RefHandle``s (``ref_hook`` makes them while
the frame is decoded) and are looked up later against the request's
session.  An ``Origin`` says where refs made for a result live (session,
module, library); an ``Outcome`` is a request's result with its origin.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import ProtocolError
from ..core.etf.errors import DecodeError
from .arrays import from_tensor

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["DEFAULT_ORIGIN", "Origin", "Outcome", "RefHandle", "Request", "ref_hook"]


class RefHandle:
    """A ref or stream ref named in a request, not yet looked up."""

    __slots__ = ("ref_id", "session_id", "tagged")

    def __init__(self, ref_id: str, session_id: str, tagged: dict[str, Any]) -> None:
        self.ref_id = ref_id
        self.session_id = session_id
        self.tagged = tagged

    def __repr__(self) -> str:
        return f"RefHandle({self.ref_id!r}, session {self.session_id!r})"


def ref_hook(
    found: list[RefHandle], current: Callable[[], list[RefHandle]] | None = None
) -> Callable[[dict[str, Any]], Any]:
    """A codec ``tag_hook`` for the runtime's tags: refs become handles, tensors arrays.

    Handles go into ``found``, or into the list ``current()`` returns when given
    (one hook then serves many decodes, each with a list of its own).
    """

    def hook(mapping: dict[str, Any]) -> Any:
        tag = mapping.get("__type__")
        if tag == "tensor":
            try:
                return from_tensor(mapping)
            except (KeyError, TypeError, ValueError) as exc:
                raise DecodeError(f"tagged map 'tensor' is malformed: {exc}") from None
        if tag not in ("ref", "stream_ref"):
            return mapping
        ref_id = mapping.get("id", mapping.get("ref_id"))
        session_id = mapping.get("session_id", "default")
        if type(ref_id) is not str or not isinstance(session_id, str):
            return mapping  # not a usable ref: reported where it is used
        handle = RefHandle(ref_id, str(session_id), mapping)
        (found if current is None else current()).append(handle)
        return handle

    return hook


class Origin:
    """Where refs made for a result live, what they say they came from, and how arrays travel.

    ``tensors``: ndarrays (and other array-likes) in the result go as tensor
    maps instead of refs (the request's ``"arrays" => "tensor"``).
    """

    __slots__ = ("library", "python_module", "session_id", "tensors")

    def __init__(self, session_id: str, python_module: str, library: str, tensors: bool = False) -> None:
        self.session_id = session_id
        self.python_module = python_module
        self.library = library
        self.tensors = tensors

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Origin) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[str, str, str, bool]:
        return (self.session_id, self.python_module, self.library, self.tensors)

    def __repr__(self) -> str:
        tensors = ", tensors=True" if self.tensors else ""
        return f"Origin({self.session_id!r}, {self.python_module!r}, {self.library!r}{tensors})"


#: Where refs go when no request is running (a user's own thread calling back).
DEFAULT_ORIGIN = Origin("default", "", "")


class Outcome:
    """A request's result and the origin of the refs made from it."""

    __slots__ = ("as_ref", "origin", "push", "value")

    def __init__(self, value: Any, origin: Origin) -> None:
        self.value = value
        self.origin = origin
        self.as_ref = False  # send the value itself as a ref, even if it could travel
        self.push = False  # iterate the value as a push stream instead of replying with it


class Request:
    """Typed access to a request map's fields, with errors that name the field."""

    __slots__ = ("_origin", "call_type", "fields", "handles", "session_id")

    def __init__(self, fields: dict[str, Any], handles: list[RefHandle] | None = None) -> None:
        self.fields = fields
        self.handles = handles or []  # the refs named anywhere in the request
        self._origin: Origin | None = None
        session = fields.get("session_id", "default")
        if session is None:
            session = "default"
        if not isinstance(session, str):
            raise ProtocolError(f"field 'session_id' must be a string, got {_kind(session)}")
        self.session_id = str(session)
        call_type = fields.get("call_type", "call")
        self.call_type = "call" if call_type is None else call_type
        if not isinstance(self.call_type, str):
            raise ProtocolError(f"field 'call_type' must be a string, got {_kind(call_type)}")

    def text(self, *names: str, required: bool = True) -> str | None:
        """The first of ``names`` present, which must be a string."""
        for name in names:
            value = self.fields.get(name)
            if value is not None:
                if not isinstance(value, str):
                    raise ProtocolError(f"field {name!r} must be a string, got {_kind(value)}")
                return str(value)
        if required:
            raise ProtocolError(f"{self.call_type!r} request needs field {' or '.join(map(repr, names))}")
        return None

    def module(self) -> str:
        return self.text("python_module", "module_path", "module") or ""

    def handle(self, *names: str) -> RefHandle:
        for name in names:
            value = self.fields.get(name)
            if value is not None:
                if isinstance(value, RefHandle):
                    return value
                raise ProtocolError(
                    f'field {name!r} must be a ref (a map with "__type__" => "ref" and '
                    f'an "id"), got {_kind(value)}'
                )
        raise ProtocolError(f"{self.call_type!r} request needs field {' or '.join(map(repr, names))}")

    def count(self, name: str, default: int) -> int:
        """A non-negative integer field."""
        value = self.fields.get(name, default)
        if type(value) is not int or value < 0:
            raise ProtocolError(f"field {name!r} must be a non-negative integer, got {_kind(value)}")
        return value

    def args(self) -> list[Any]:
        args = self.fields.get("args")
        if args is None:
            return []
        if not isinstance(args, (list, tuple)):
            raise ProtocolError(f"field 'args' must be a list, got {_kind(args)}")
        return list(args)

    def kwargs(self) -> dict[str, Any]:
        kwargs = self.fields.get("kwargs")
        if not kwargs:
            if kwargs is None or type(kwargs) is dict:
                return {}
        if not isinstance(kwargs, dict):
            raise ProtocolError(f"field 'kwargs' must be a map, got {_kind(kwargs)}")
        for key in kwargs:
            if not isinstance(key, str):
                raise ProtocolError(f"field 'kwargs' must have string keys, got {_kind(key)}")
        return {str(key): value for key, value in kwargs.items()}

    def origin(self, python_module: str | None = None, library: str | None = None) -> Origin:
        """Where refs made for this request's result live (never raises)."""
        if python_module is None and library is None:
            if self._origin is None:
                self._origin = self._make_origin(None, None)
            return self._origin
        return self._make_origin(python_module, library)

    def _make_origin(self, python_module: str | None, library: str | None) -> Origin:
        module = python_module
        if module is None:
            module = _safe_text(self.fields.get("python_module", self.fields.get("module_path"))) or ""
        lib = library or _safe_text(self.fields.get("library")) or module.split(".")[0]
        return Origin(self.session_id, module, lib, self.fields.get("arrays") == "tensor")

    def context(self) -> dict[str, Any]:
        """The request's identity for error maps (never raises)."""
        return {
            "call_type": self.call_type,
            "python_module": _safe_text(self.fields.get("python_module", self.fields.get("module_path"))),
            "function": _safe_text(self.fields.get("function", self.fields.get("attr"))),
            "session_id": self.session_id,
        }


def _safe_text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) else None


def _kind(value: Any) -> str:
    return type(value).__name__
