"""The runtime as the engine drives it: frames to requests, requests to reply pieces.

One object bundles what a request needs (the dispatcher with its
allow-list, helpers and registry, the result encoder), so the engine in
``core`` sees a small surface: decode a frame with its refs, make a
``Request``, run it, encode a reply, a chunk or any term with refs at an
origin.
"""

from __future__ import annotations

import time

from ..core import etf
from ..core.protocol import OK, REPLY
from .dispatch import Dispatcher
from .helpers import HelperRegistry
from .registry import DEFAULT_MAX_REFS, Entry, Registry
from .request import DEFAULT_ORIGIN, Origin, Outcome, RefHandle, Request, ref_hook
from .serialize import ResultEncoder, stream_type_of
from .streams import CHUNK_ITEMS, PushStream

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from collections.abc import Callable, Iterable
    from typing import Any

__all__ = ["Runner"]

# Results a push stream sends as one item rather than iterating.
_ONE_ITEM = (str, bytes, bytearray, memoryview, list, tuple, dict, set, frozenset)


class Runner:
    """Runs requests for the engine and encodes what goes back."""

    #: Where refs go when no request is running (a user's own thread sends or calls back).
    default_origin = DEFAULT_ORIGIN

    def __init__(
        self, dispatcher: Dispatcher, encoder: ResultEncoder, main_thread: Iterable[str] = ()
    ) -> None:
        self.dispatcher = dispatcher
        self.encoder = encoder
        self._handles: list[RefHandle] = []  # the refs of the frame being decoded
        self._hook = ref_hook(self._handles, lambda: self._handles)
        # --main-thread MODULE[.FUNCTION]: calls that must run on the main thread.
        self.main_thread = tuple(main_thread)

    @classmethod
    def build(
        cls,
        helpers: HelperRegistry | None = None,
        allow_modules: Iterable[str] = (),
        max_refs: int = DEFAULT_MAX_REFS,
        ref_ttl: float | None = None,
        compress_above: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        stats: Callable[[], dict[str, Any]] | None = None,
        warn: Callable[[str], None] | None = None,
        main_thread: Iterable[str] = (),
    ) -> Runner:
        """A runner with its registry, dispatcher and encoder, from the adapter's settings."""

        def close_released(entry: Entry) -> None:
            """Released streams run their generator's ``finally`` blocks now, not at GC."""
            close = getattr(entry.obj, "close", None) if entry.stream_type == "generator" else None
            if close is not None:
                try:
                    close()
                except Exception as exc:  # a generator failing in its finally: nothing to answer
                    if warn is not None:
                        warn(f"closing a released generator failed: {exc!r}")

        registry = Registry(max_refs=max_refs, ttl=ref_ttl, clock=clock, on_release=close_released)
        dispatcher = Dispatcher(registry, helpers, allow_modules, stats=stats)
        return cls(dispatcher, ResultEncoder(registry, compress_above), main_thread)

    def decode(self, frame: Any, max_size: int) -> tuple[Any, list[RefHandle]]:
        """A frame's term, refs in it made handles; raises ``DecodeError``.

        Frames are decoded by the reading thread alone, so one hook serves them all.
        """
        handles = self._handles = []
        return etf.decode(frame, tag_hook=self._hook, max_size=max_size), handles

    def request(self, fields: dict[str, Any], handles: list[RefHandle]) -> Request:
        return Request(fields, handles)

    def main_only(self, request: Request) -> bool:
        """Whether the request must run on the main thread: ``"thread" => "main"``, or ``--main-thread``."""
        fields = request.fields
        if fields.get("thread") == "main":
            return True
        if not self.main_thread:
            return False
        module = fields.get("python_module", fields.get("module_path"))
        function = fields.get("function", fields.get("class"))
        if not isinstance(module, str):
            return False
        target = f"{module}.{function}" if isinstance(function, str) else module
        return any(target == pattern or target.startswith(pattern + ".") for pattern in self.main_thread)

    def run(self, request: Request) -> Outcome:
        """Run the request's user code; raises what it raises."""
        return self.dispatcher.run(request)

    def reply(self, request_id: int, outcome: Outcome) -> list[Any]:
        """The pieces of ``{:reply, Id, {:ok, Value}}`` for ``outcome``, refs at its origin."""
        value = self.encoder.make_ref(outcome.value, outcome.origin) if outcome.as_ref else outcome.value
        return self.encoder.encode((REPLY, request_id, (OK, value)), outcome.origin)

    def encode(self, term: Any, origin: Origin) -> list[Any]:
        """Any outgoing term (a chunk, a callback, a message) with refs at ``origin``."""
        return self.encoder.encode(term, origin)

    def resolve_all(self, value: Any) -> Any:
        return self.dispatcher.resolve_all(value)

    def push_stream(self, request_id: int, request: Request, outcome: Outcome) -> PushStream:
        """Iterate a generator, an iterator or another iterable; any other result is one item.

        SnakeBridge's rule: builtin containers (a list, a dict, a str) and
        context managers are values, sent as one item.
        """
        value = outcome.value
        kind = stream_type_of(value)
        if kind is None:
            iterable = hasattr(type(value), "__iter__") and not isinstance(value, _ONE_ITEM)
            value = iter(value) if iterable and not _is_context_manager(value) else iter((value,))
        aio = self.dispatcher.aio if kind == "async_generator" else None
        batch = request.count("batch", CHUNK_ITEMS) or CHUNK_ITEMS
        return PushStream(request_id, value, request.count("credit", 2), outcome.origin, aio, batch)

    def close(self) -> None:
        self.dispatcher.close()


def _is_context_manager(value: Any) -> bool:
    return hasattr(type(value), "__enter__") and hasattr(type(value), "__exit__")
