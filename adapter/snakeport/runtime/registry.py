"""Per-session registries of the Python objects the BEAM holds refs to.

Each session owns its refs and streams; an id is only meaningful inside the
session that made it.  A session keeps at most ``max_refs`` entries, least
recently used first out, and optionally drops entries idle longer than
``ttl`` seconds.  An evicted id is remembered (boundedly) so using it says
it was evicted and why, rather than that it never existed.
"""

from __future__ import annotations

import _thread
import os
import time
from collections import OrderedDict
from collections.abc import Callable

from ..core.errors import RefEvictedError, RefNotFoundError, SessionMismatchError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["DEFAULT_MAX_REFS", "Entry", "Registry"]

DEFAULT_MAX_REFS = 10_000
# How many evicted ids are remembered for their error message, per process.
_EVICTED_MEMORY = 100_000


class Entry:
    """One registered object: a plain ref, or a stream over an iterator."""

    __slots__ = (
        "error",
        "last_access",
        "last_batch",
        "library",
        "lock",
        "obj",
        "pushback",
        "python_module",
        "stream_type",
    )

    def __init__(
        self, obj: Any, stream_type: str | None, python_module: str, library: str, last_access: float
    ) -> None:
        self.obj = obj
        self.stream_type = stream_type  # None for a plain ref; "generator", "iterator", "async_generator"
        self.python_module = python_module
        self.library = library
        self.last_access = last_access
        # Streams only: items put back by a client, the items of the last
        # batch handed out, an error raised after a batch's first items, and
        # the lock that makes two takes at once take turns.
        self.pushback: list[Any] = []
        self.last_batch: list[Any] = []
        self.error: BaseException | None = None
        self.lock = _thread.allocate_lock() if stream_type is not None else _NO_LOCK


class _NoLock:
    """A plain ref's lock: nothing to guard."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_LOCK = _NoLock()


class Registry:
    """All sessions' refs and streams; safe to use from many threads at once.

    One lock guards the tables; a released object is closed (its
    generator's ``finally`` runs) after the lock is let go, so user code
    never runs under it.
    """

    def __init__(
        self,
        max_refs: int = DEFAULT_MAX_REFS,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_release: Callable[[Entry], None] | None = None,
    ) -> None:
        self.max_refs = max_refs
        self.ttl = ttl
        self._clock = clock
        self._on_release = on_release
        self._sessions: dict[str, OrderedDict[str, Entry]] = {}
        self._evicted: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = _thread.allocate_lock()

    def add(
        self, session_id: str, obj: Any, python_module: str, library: str, stream_type: str | None = None
    ) -> str:
        """Register ``obj`` in ``session_id``; return its new, unguessable id."""
        ref_id = os.urandom(16).hex()  # what secrets.token_hex does, without its imports
        closing: list[Entry] = []
        with self._lock:
            entries = self._sessions.setdefault(session_id, OrderedDict())
            self._expire(session_id, entries, closing)
            entries[ref_id] = Entry(obj, stream_type, python_module, library, self._clock())
            while len(entries) > self.max_refs:
                old_id, old = entries.popitem(last=False)
                self._forget(
                    session_id,
                    old_id,
                    old,
                    f"evicted: session {session_id!r} went over its limit of {self.max_refs} refs "
                    "(least recently used first; raise --max-refs or release refs)",
                    closing,
                )
        self._close(closing)
        return ref_id

    def get(self, request_session: str, ref_session: str, ref_id: str) -> Entry:
        """The entry for a ref used by a request of ``request_session``."""
        if ref_session != request_session:
            raise SessionMismatchError(
                f"ref {ref_id} belongs to session {ref_session!r}, not to this request's "
                f"session {request_session!r}"
            )
        closing: list[Entry] = []
        with self._lock:
            entries = self._sessions.get(ref_session)
            entry = None
            if entries is not None:
                self._expire(ref_session, entries, closing)
                entry = entries.get(ref_id)
                if entry is not None:
                    entries.move_to_end(ref_id)
                    entry.last_access = self._clock()
            reason = self._evicted.get((ref_session, ref_id)) if entry is None else None
        self._close(closing)
        if entry is not None:
            return entry
        if reason is not None:
            raise RefEvictedError(f"ref {ref_id} was {reason}")
        raise RefNotFoundError(f"unknown ref {ref_id} in session {ref_session!r} (never made, or released)")

    def release(self, session_id: str, ref_id: str) -> bool:
        """Drop one ref; True when it existed."""
        with self._lock:
            entries = self._sessions.get(session_id)
            entry = entries.pop(ref_id, None) if entries is not None else None
            if entry is not None and not entries:
                del self._sessions[session_id]
        if entry is None:
            return False
        self._close([entry])
        return True

    def release_session(self, session_id: str) -> int:
        """Drop every entry of a session; return how many there were."""
        with self._lock:
            entries = self._sessions.pop(session_id, None)
            for key in [key for key in self._evicted if key[0] == session_id]:
                del self._evicted[key]
        if not entries:
            return 0
        closing = list(entries.values())
        entries.clear()
        self._close(closing)
        return len(closing)

    def stats(self) -> dict[str, int]:
        refs = streams = 0
        with self._lock:
            for entries in self._sessions.values():
                for entry in entries.values():
                    if entry.stream_type is None:
                        refs += 1
                    else:
                        streams += 1
            sessions = len(self._sessions)
        return {"sessions": sessions, "refs": refs, "streams": streams}

    def _expire(self, session_id: str, entries: OrderedDict[str, Entry], closing: list[Entry]) -> None:
        if self.ttl is None:
            return
        limit = self._clock() - self.ttl
        while entries:
            ref_id, entry = next(iter(entries.items()))
            if entry.last_access > limit:
                break
            del entries[ref_id]
            reason = f"evicted: idle longer than the {self.ttl:g} s ref TTL"
            self._forget(session_id, ref_id, entry, reason, closing)

    def _forget(self, session_id: str, ref_id: str, entry: Entry, reason: str, closing: list[Entry]) -> None:
        closing.append(entry)
        self._evicted[(session_id, ref_id)] = reason
        while len(self._evicted) > _EVICTED_MEMORY:
            self._evicted.popitem(last=False)

    def _close(self, entries: list[Entry]) -> None:
        """Run each released object's close hook, outside the lock."""
        for entry in entries:
            if self._on_release is not None:
                self._on_release(entry)
            entry.obj = None
