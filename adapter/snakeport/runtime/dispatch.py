"""Call types: what each request does, without I/O.

``Dispatcher.run(request)`` takes a ``Request`` and returns an ``Outcome``
(the Python value and the origin of refs made from it), or raises; the
engine turns either into a reply.  Each call type is one function
registered in ``CALL_TYPES`` by ``@handles`` (a name registered twice is an
error at import).  Refs named in the request are resolved here against the
request's session; attribute walks and imports go through the allow-list
``Policy``.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable, Iterable

from ..core.errors import ProtocolError
from .aio import AsyncRunner
from .allow import Policy
from .helpers import HelperRegistry
from .registry import Entry, Registry
from .request import Outcome, RefHandle, Request
from .streams import take

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["CALL_TYPES", "STOP_ITERATION", "Dispatcher"]

STOP_ITERATION = {"__type__": "stop_iteration"}

Handler = Callable[["Dispatcher", Request], Outcome]

#: call_type -> the function that runs it
CALL_TYPES: dict[str, Handler] = {}


def handles(*call_types: str) -> Callable[[Handler], Handler]:
    """Register a function as the handler of ``call_types``; each name once."""

    def register(handler: Handler) -> Handler:
        for name in call_types:
            if name in CALL_TYPES:
                raise RuntimeError(f"call type {name!r} is handled twice")
            CALL_TYPES[name] = handler
        return handler

    return register


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
        self.policy = Policy(allow_modules)
        self._stats = stats
        self.aio = AsyncRunner()
        self._modules: dict[str, Any] = {}

    def run(self, request: Request) -> Outcome:
        handler = CALL_TYPES.get(request.call_type)
        if handler is None:
            known = ", ".join(sorted(CALL_TYPES))
            raise ProtocolError(f"unknown call_type {request.call_type!r}; known: {known}")
        return handler(self, request)

    def close(self) -> None:
        """Stop the event loop made for coroutines, if one was."""
        self.aio.close()

    # -- shared steps ------------------------------------------------------

    def import_module(self, name: str) -> Any:
        """The module ``name``, imported once (and checked against the allow-list once)."""
        module = self._modules.get(name)
        if module is None:
            if not name:
                raise ProtocolError("empty module name")
            self.policy.check_import(name)
            module = self._modules[name] = importlib.import_module(name)
        return module

    def resolve(self, request: Request, handle: RefHandle) -> Entry:
        return self.registry.get(request.session_id, handle.session_id, handle.ref_id)

    def target(self, request: Request, handle: RefHandle) -> Entry:
        """The entry a ref names, its object checked against the allow-list."""
        entry = self.resolve(request, handle)
        if self.policy.restricted:
            self.policy.check_root(entry.obj, f"ref {handle.ref_id} ({type(entry.obj).__name__})")
        return entry

    def resolve_all(self, value: Any) -> Any:
        """``value`` with every RefHandle replaced by its object, each looked up in its own session.

        For values the BEAM sends back (a callback's result), which may hold
        refs from any session the client used.
        """
        return _replace_handles(value, lambda h: self.registry.get(h.session_id, h.session_id, h.ref_id).obj)

    def call_args(self, request: Request) -> tuple[list[Any], dict[str, Any]]:
        args, kwargs = request.args(), request.kwargs()
        if request.handles:
            args, kwargs = _replace_handles((args, kwargs), lambda h: self.resolve(request, h).obj)
        return args, kwargs

    def finish(self, value: Any) -> Any:
        """Await coroutine results on the adapter's own event loop."""
        if type(value) is types.CoroutineType:
            return self.aio.run(value)
        return value

    def stats(self) -> dict[str, Any]:
        counters: dict[str, Any] = dict(self.registry.stats())
        if self._stats is not None:
            counters.update(self._stats())
        return counters


# -- call types ----------------------------------------------------------------


@handles("call", "function", "dynamic")
def _call(d: Dispatcher, request: Request) -> Outcome:
    fields = request.fields
    module, function, args = fields.get("python_module"), fields.get("function"), fields.get("args")
    if (
        type(module) is str
        and type(function) is str
        and type(args) is list
        and (fields.get("kwargs") is None or fields["kwargs"] == {})
        and not request.handles
        and module in d._modules
        and not d.policy.restricted
        and "." not in function
    ):  # the common call, on a module imported before: what the checked path would do, without its steps
        value = getattr(d._modules[module], function)(*args)
    else:
        module = request.module()
        target = d.policy.walk(d.import_module(module), request.text("function") or "", module)
        positional, kwargs = d.call_args(request)
        value = target(*positional, **kwargs)
    if type(value) is types.CoroutineType:
        value = d.aio.run(value)
    return Outcome(value, request.origin())


@handles("class")
def _class(d: Dispatcher, request: Request) -> Outcome:
    module = request.module()
    name = request.text("class", "class_name", "function") or ""
    target = d.policy.walk(d.import_module(module), name, module)
    args, kwargs = d.call_args(request)
    outcome = Outcome(target(*args, **kwargs), request.origin())
    outcome.as_ref = True  # "class" returns the instance, even a dict or list subclass
    return outcome


@handles("method")
def _method(d: Dispatcher, request: Request) -> Outcome:
    handle = request.handle("instance")
    entry = d.target(request, handle)
    method = d.policy.walk(entry.obj, request.text("function", "method") or "", f"ref {handle.ref_id}")
    args, kwargs = d.call_args(request)
    return Outcome(d.finish(method(*args, **kwargs)), request.origin(entry.python_module, entry.library))


@handles("get_attr")
def _get_attr(d: Dispatcher, request: Request) -> Outcome:
    handle = request.handle("instance")
    entry = d.target(request, handle)
    value = d.policy.walk(entry.obj, request.text("attr", "function") or "", f"ref {handle.ref_id}")
    return Outcome(value, request.origin(entry.python_module, entry.library))


@handles("set_attr")
def _set_attr(d: Dispatcher, request: Request) -> Outcome:
    handle = request.handle("instance")
    entry = d.target(request, handle)
    path = request.text("attr", "function") or ""
    parent_path, _, name = path.rpartition(".")
    where = f"ref {handle.ref_id}"
    owner = d.policy.walk(entry.obj, parent_path, where) if parent_path else entry.obj
    d.policy.check_set(owner, name, f"{where}.{parent_path}" if parent_path else where)
    if "value" in request.fields:
        value = request.fields["value"]
        if request.handles:
            value = _replace_handles(value, lambda h: d.resolve(request, h).obj)
    else:
        args, _ = d.call_args(request)
        if len(args) != 1:
            raise ProtocolError(f"'set_attr' needs field 'value' or exactly one arg, got {len(args)} args")
        value = args[0]
    if not name:
        raise ProtocolError("empty function or attribute name")
    setattr(owner, name, value)
    return Outcome(True, request.origin(entry.python_module, entry.library))


@handles("module_attr")
def _module_attr(d: Dispatcher, request: Request) -> Outcome:
    module = request.module()
    value = d.policy.walk(d.import_module(module), request.text("attr", "function") or "", module)
    return Outcome(value, request.origin())


@handles("helper")
def _helper(d: Dispatcher, request: Request) -> Outcome:
    """Helpers are trusted code (loaded from folders the operator chose): no allow-list walk."""
    name = request.text("helper", "function") or ""
    config = request.fields.get("helper_config")
    allowlist = config.get("helper_allowlist", "all") if isinstance(config, dict) else "all"
    func = d.helpers.get(name, allowlist)
    args, kwargs = d.call_args(request)
    library = request.text("library", required=False) or name.split(".")[0]
    module = request.text("python_module", "module_path", "module", required=False)
    return Outcome(d.finish(func(*args, **kwargs)), request.origin(module or library, library))


@handles("stream_next")
def _stream_next(d: Dispatcher, request: Request) -> Outcome:
    """One item, or ``STOP_ITERATION`` ever after the end (SnakeBridge's contract)."""
    entry = d.target(request, request.handle("stream_ref", "instance", "ref"))
    items, _ = take(entry, 1, 0, d.aio)
    return Outcome(items[0] if items else STOP_ITERATION, request.origin(entry.python_module, entry.library))


@handles("stream_take")
def _stream_take(d: Dispatcher, request: Request) -> Outcome:
    """Up to ``max`` items in one reply, after putting back ``unread`` of the last batch."""
    entry = d.target(request, request.handle("stream_ref", "instance", "ref"))
    count = request.count("max", 1)
    unread = request.count("unread", 0)
    items, done = take(entry, count, unread, d.aio)
    return Outcome({"items": items, "done": done}, request.origin(entry.python_module, entry.library))


@handles("stream")
def _stream(d: Dispatcher, request: Request) -> Outcome:
    """A push stream: the call's result is iterated by the engine, chunk by chunk."""
    outcome = _call(d, request)
    outcome.push = True
    return outcome


@handles("stream_len")
def _stream_len(d: Dispatcher, request: Request) -> Outcome:
    entry = d.target(request, request.handle("stream_ref", "instance", "ref"))
    origin = request.origin(entry.python_module, entry.library)
    if entry.obj is None:
        return Outcome(len(entry.pushback), origin)
    if not hasattr(type(entry.obj), "__len__"):
        raise TypeError(f"{type(entry.obj).__name__} object has no len(): a generator's length is unknown")
    return Outcome(len(entry.obj) + len(entry.pushback), origin)


@handles("release_ref")
def _release_ref(d: Dispatcher, request: Request) -> Outcome:
    handle = request.handle("ref", "instance", "stream_ref")
    if handle.session_id != request.session_id:
        d.resolve(request, handle)  # raises SessionMismatchError
    return Outcome(d.registry.release(handle.session_id, handle.ref_id), request.origin("", ""))


@handles("release_session")
def _release_session(d: Dispatcher, request: Request) -> Outcome:
    return Outcome(d.registry.release_session(request.session_id), request.origin("", ""))


@handles("ping")
def _ping(d: Dispatcher, request: Request) -> Outcome:
    return Outcome("pong", request.origin("", ""))


@handles("stats")
def _stats(d: Dispatcher, request: Request) -> Outcome:
    return Outcome(d.stats(), request.origin("", ""))


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
