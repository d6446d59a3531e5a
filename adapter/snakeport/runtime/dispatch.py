"""Call types: what each request does, without I/O.

``Dispatcher.run(request)`` takes a decoded request map and returns an
``Outcome`` (the Python value plus what the serializer needs to make refs),
or raises; the server turns either into a reply.  Refs in a request arrive
as ``RefHandle``s (made by ``ref_hook`` while the frame is decoded) and are
resolved here against the request's session.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable, Iterable

from ..core.errors import ModuleNotAllowedError, ProtocolError
from .helpers import HelperRegistry
from .registry import Entry, Registry
from .streams import take

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    import asyncio
    from typing import Any

__all__ = ["CALL_TYPES", "STOP_ITERATION", "Dispatcher", "Outcome", "RefHandle", "Request"]

STOP_ITERATION = {"__type__": "stop_iteration"}

# call_type -> the Dispatcher method that runs it
_HANDLERS = {
    "call": "_call",
    "function": "_call",
    "dynamic": "_call",
    "class": "_class",
    "method": "_method",
    "get_attr": "_get_attr",
    "set_attr": "_set_attr",
    "module_attr": "_module_attr",
    "helper": "_helper",
    "stream_next": "_stream_next",
    "stream_take": "_stream_take",
    "stream": "_stream",
    "stream_len": "_stream_len",
    "release_ref": "_release_ref",
    "release_session": "_release_session",
    "ping": "_ping",
    "stats": "_stats_call",
}
CALL_TYPES = tuple(sorted(_HANDLERS))


class RefHandle:
    """A ref or stream ref named in a request, not yet looked up."""

    __slots__ = ("ref_id", "session_id", "tagged")

    def __init__(self, ref_id: str, session_id: str, tagged: dict[str, Any]) -> None:
        self.ref_id = ref_id
        self.session_id = session_id
        self.tagged = tagged

    def __repr__(self) -> str:
        return f"RefHandle({self.ref_id!r}, session {self.session_id!r})"


def ref_hook(found: list[RefHandle]) -> Callable[[dict[str, Any]], Any]:
    """A codec ``tag_hook`` that turns ref maps into handles and lists them."""

    def hook(mapping: dict[str, Any]) -> Any:
        if mapping.get("__type__") not in ("ref", "stream_ref"):
            return mapping
        ref_id = mapping.get("id", mapping.get("ref_id"))
        session_id = mapping.get("session_id", "default")
        if type(ref_id) is not str or not isinstance(session_id, str):
            return mapping  # not a usable ref: reported where it is used
        handle = RefHandle(ref_id, str(session_id), mapping)
        found.append(handle)
        return handle

    return hook


class Outcome:
    """A request's result and what refs made from it should record."""

    __slots__ = ("as_ref", "library", "push", "python_module", "session_id", "value")

    def __init__(self, value: Any, session_id: str, python_module: str, library: str) -> None:
        self.value = value
        self.session_id = session_id
        self.python_module = python_module
        self.library = library
        self.as_ref = False  # send the value itself as a ref, even if it could travel
        self.push = False  # iterate the value as a push stream instead of replying with it


class Request:
    """Typed access to a request map's fields, with errors that name the field."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
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
            raise ProtocolError(f"field {name!r} must be a non-negative integer, got {value!r}")
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
        if kwargs is None:
            return {}
        if not isinstance(kwargs, dict):
            raise ProtocolError(f"field 'kwargs' must be a map, got {_kind(kwargs)}")
        for key in kwargs:
            if not isinstance(key, str):
                raise ProtocolError(f"field 'kwargs' must have string keys, got {_kind(key)}")
        return {str(key): value for key, value in kwargs.items()}

    def where(self) -> tuple[str, str, str]:
        """Session, module and library for refs made while this request runs (never raises)."""
        module = _safe_text(self.fields.get("python_module", self.fields.get("module_path"))) or ""
        library = _safe_text(self.fields.get("library")) or module.split(".")[0]
        return self.session_id, module, library

    def context(self) -> dict[str, Any]:
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


class Dispatcher:
    """Runs requests against imported modules, helpers and the registry."""

    def __init__(
        self,
        registry: Registry,
        helpers: HelperRegistry | None = None,
        allow_modules: Iterable[str] = (),
        stats: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.registry = registry
        self.helpers = helpers or HelperRegistry()
        self.allow_modules = tuple(allow_modules)
        self._stats = stats
        self._loop: asyncio.AbstractEventLoop | None = None
        self._modules: dict[str, Any] = {}
        self._handlers: dict[str, Callable[[Request, list[RefHandle]], Outcome]] = {
            call_type: getattr(self, method) for call_type, method in _HANDLERS.items()
        }

    # -- entry point -------------------------------------------------------

    def run(self, request: Request, handles: list[RefHandle]) -> Outcome:
        handler = self._handlers.get(request.call_type)
        if handler is None:
            known = ", ".join(CALL_TYPES)
            raise ProtocolError(f"unknown call_type {request.call_type!r}; known: {known}")
        return handler(request, handles)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()

    # -- shared steps ------------------------------------------------------

    def import_module(self, name: str) -> Any:
        """The module ``name``, imported once (and checked against --allow-module once)."""
        module = self._modules.get(name)
        if module is None:
            if not name:
                raise ProtocolError("empty module name")
            if self.allow_modules and not _allowed(name, self.allow_modules):
                raise ModuleNotAllowedError(
                    f"module {name!r} is not allowed (allowed: {', '.join(self.allow_modules)})"
                )
            module = self._modules[name] = importlib.import_module(name)
        return module

    def resolve(self, request: Request, handle: RefHandle) -> Entry:
        return self.registry.get(request.session_id, handle.session_id, handle.ref_id)

    def resolve_all(self, value: Any) -> Any:
        """``value`` with every RefHandle replaced by its object, each looked up in its own session.

        For values the BEAM sends back (a callback's result), which may hold
        refs from any session the client used.
        """
        return _replace_handles(value, lambda h: self.registry.get(h.session_id, h.session_id, h.ref_id).obj)

    def call_args(self, request: Request, handles: list[RefHandle]) -> tuple[list[Any], dict[str, Any]]:
        args, kwargs = request.args(), request.kwargs()
        if handles:
            args, kwargs = _replace_handles((args, kwargs), lambda h: self.resolve(request, h).obj)
        return args, kwargs

    def finish(self, value: Any) -> Any:
        """Await coroutine results on the adapter's own event loop."""
        if type(value) is types.CoroutineType:
            return self.loop().run_until_complete(value)
        return value

    def loop(self) -> asyncio.AbstractEventLoop:
        """The adapter's event loop, made (and asyncio imported) on first need."""
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
        return self._loop

    def outcome(
        self, request: Request, value: Any, python_module: str | None = None, library: str | None = None
    ) -> Outcome:
        module = python_module if python_module is not None else request.module()
        lib = library or request.text("library", required=False) or module.split(".")[0]
        return Outcome(value, request.session_id, module, lib)

    # -- call types --------------------------------------------------------

    def _call(self, request: Request, handles: list[RefHandle]) -> Outcome:
        target = _walk(self.import_module(request.module()), request.text("function") or "")
        args, kwargs = self.call_args(request, handles)
        return self.outcome(request, self.finish(target(*args, **kwargs)))

    def _class(self, request: Request, handles: list[RefHandle]) -> Outcome:
        name = request.text("class", "class_name", "function") or ""
        target = _walk(self.import_module(request.module()), name)
        args, kwargs = self.call_args(request, handles)
        outcome = self.outcome(request, target(*args, **kwargs))
        outcome.as_ref = True  # "class" returns the instance, even a dict or list subclass
        return outcome

    def _method(self, request: Request, handles: list[RefHandle]) -> Outcome:
        entry = self.resolve(request, request.handle("instance"))
        method = getattr(entry.obj, request.text("function", "method") or "")
        args, kwargs = self.call_args(request, handles)
        return self.outcome(request, self.finish(method(*args, **kwargs)), entry.python_module, entry.library)

    def _get_attr(self, request: Request, handles: list[RefHandle]) -> Outcome:
        entry = self.resolve(request, request.handle("instance"))
        value = _walk(entry.obj, request.text("attr", "function") or "")
        return self.outcome(request, value, entry.python_module, entry.library)

    def _set_attr(self, request: Request, handles: list[RefHandle]) -> Outcome:
        entry = self.resolve(request, request.handle("instance"))
        name = request.text("attr", "function") or ""
        if "value" in request.fields:
            value = request.fields["value"]
            if handles:
                value = _replace_handles(value, lambda h: self.resolve(request, h).obj)
        else:
            args, _ = self.call_args(request, handles)
            if len(args) != 1:
                raise ProtocolError(
                    f"'set_attr' needs field 'value' or exactly one arg, got {len(args)} args"
                )
            value = args[0]
        setattr(entry.obj, name, value)
        return self.outcome(request, True, entry.python_module, entry.library)

    def _module_attr(self, request: Request, handles: list[RefHandle]) -> Outcome:
        module = self.import_module(request.module())
        return self.outcome(request, _walk(module, request.text("attr", "function") or ""))

    def _helper(self, request: Request, handles: list[RefHandle]) -> Outcome:
        name = request.text("helper", "function") or ""
        config = request.fields.get("helper_config")
        allowlist = config.get("helper_allowlist", "all") if isinstance(config, dict) else "all"
        func = self.helpers.get(name, allowlist)
        args, kwargs = self.call_args(request, handles)
        library = request.text("library", required=False) or name.split(".")[0]
        module = request.text("python_module", "module_path", "module", required=False)
        return self.outcome(request, self.finish(func(*args, **kwargs)), module or library, library)

    def _stream_next(self, request: Request, handles: list[RefHandle]) -> Outcome:
        """One item, or ``STOP_ITERATION`` ever after the end (SnakeBridge's contract)."""
        entry = self.resolve(request, request.handle("stream_ref", "instance", "ref"))
        items, _ = take(entry, 1, 0, self.loop)
        return self.outcome(
            request, items[0] if items else STOP_ITERATION, entry.python_module, entry.library
        )

    def _stream_take(self, request: Request, handles: list[RefHandle]) -> Outcome:
        """Up to ``max`` items in one reply, after putting back ``unread`` of the last batch."""
        entry = self.resolve(request, request.handle("stream_ref", "instance", "ref"))
        count = request.count("max", 1)
        unread = request.count("unread", 0)
        items, done = take(entry, count, unread, self.loop)
        return self.outcome(request, {"items": items, "done": done}, entry.python_module, entry.library)

    def _stream(self, request: Request, handles: list[RefHandle]) -> Outcome:
        """A push stream: the call's result is iterated by the server, chunk by chunk."""
        outcome = self._call(request, handles)
        outcome.push = True
        return outcome

    def _stream_len(self, request: Request, handles: list[RefHandle]) -> Outcome:
        entry = self.resolve(request, request.handle("stream_ref", "instance", "ref"))
        if entry.obj is None:
            return self.outcome(request, len(entry.pushback), entry.python_module, entry.library)
        if not hasattr(type(entry.obj), "__len__"):
            raise TypeError(
                f"{type(entry.obj).__name__} object has no len(): a generator's length is unknown"
            )
        return self.outcome(request, len(entry.obj) + len(entry.pushback), entry.python_module, entry.library)

    def _release_ref(self, request: Request, handles: list[RefHandle]) -> Outcome:
        handle = request.handle("ref", "instance", "stream_ref")
        if handle.session_id != request.session_id:
            self.resolve(request, handle)  # raises SessionMismatchError
        return self.outcome(request, self.registry.release(handle.session_id, handle.ref_id), "", "")

    def _release_session(self, request: Request, handles: list[RefHandle]) -> Outcome:
        return self.outcome(request, self.registry.release_session(request.session_id), "", "")

    def _ping(self, request: Request, handles: list[RefHandle]) -> Outcome:
        return self.outcome(request, "pong", "", "")

    def _stats_call(self, request: Request, handles: list[RefHandle]) -> Outcome:
        stats: dict[str, Any] = dict(self.registry.stats())
        if self._stats is not None:
            stats.update(self._stats())
        return self.outcome(request, stats, "", "")


def _allowed(name: str, patterns: tuple[str, ...]) -> bool:
    import fnmatch  # only with --allow-module: re is costly to import at start

    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _walk(root: Any, dotted: str) -> Any:
    """Follow a dotted attribute path: ``"AutoModel.from_pretrained"``."""
    if not dotted:
        raise ProtocolError("empty function or attribute name")
    value = root
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _replace_handles(root: Any, resolve: Callable[[RefHandle], Any]) -> Any:
    """Rebuild ``root`` with every RefHandle replaced by its object.

    Iterative (arguments may nest as deep as the codec allows); only called
    when the request named at least one ref.  A dict is walked as its
    ``(key, value)`` pairs, which are rebuilt like tuples.
    """
    top: list[Any] = []
    # Frames: (the original container, an iterator over its children, the new children).
    stack: list[tuple[Any, Any, list[Any]]] = [(None, iter((root,)), top)]
    while stack:
        original, children, built = stack[-1]
        for item in children:
            if isinstance(item, RefHandle):
                built.append(resolve(item))
            elif type(item) is list or type(item) is tuple:
                stack.append((item, iter(item), []))
                break
            elif type(item) is dict:
                stack.append((item, iter(item.items()), []))
                break
            else:
                built.append(item)
        else:
            stack.pop()
            if stack:
                stack[-1][2].append(dict(built) if type(original) is dict else type(original)(built))
    return top[0]
