"""Iterating Python streams for the BEAM, without I/O.

Pull: ``take`` hands out up to ``n`` items in one reply.  The items of the
last batch stay known, so a client that used only some of them can put the
rest back (``unread``): the next take starts with them.  That keeps
``Enum.take(counter, 10)`` then ``Enum.take(counter, 5)`` exact although the
client fetches in batches.

Push: a ``PushStream`` produces chunks while it has credit; the server sends
them and interleaves other requests between chunks.
"""

from __future__ import annotations

import time
from itertools import islice

from .aio import AsyncRunner
from .registry import Entry
from .request import Origin

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["PushStream", "take"]

# A push chunk closes when it has this many items or has taken this long:
# fast generators fill big chunks, slow ones still deliver promptly.
CHUNK_ITEMS = 4096
CHUNK_SECONDS = 0.005


def take(entry: Entry, count: int, unread: int, aio: AsyncRunner) -> tuple[list[Any], bool]:
    """Up to ``count`` items of a stream, after putting back ``unread`` of the last batch.

    Returns the items and whether the stream has ended (nothing after them).
    An exception raised by the iterator after some items were produced is
    kept and raised by the next call, so no item is lost.  A plain ref (not
    a stream) is refused untouched.
    """
    if entry.stream_type is None:
        raise TypeError(
            f"a {type(entry.obj).__name__} ref is not a stream: call its __iter__ method for a stream ref"
        )
    with entry.lock:  # two requests on one stream at once take turns: its bookkeeping stays whole
        return _take(entry, count, unread, aio)


def _take(entry: Entry, count: int, unread: int, aio: AsyncRunner) -> tuple[list[Any], bool]:
    if unread:
        if unread > len(entry.last_batch):
            raise ValueError(f"cannot put back {unread} items: the last batch had {len(entry.last_batch)}")
        entry.pushback[:0] = entry.last_batch[len(entry.last_batch) - unread :]
    if entry.error is not None:
        error, entry.error = entry.error, None
        _finish(entry)
        raise error
    items: list[Any] = entry.pushback[:count]
    del entry.pushback[:count]
    wanted = count - len(items)
    if wanted and entry.obj is not None:
        fresh: list[Any] = []  # filled in place, so items made before an exception survive it
        try:
            if entry.stream_type == "async_generator":
                aio.run(_collect(entry.obj, wanted, fresh))
            else:
                fresh.extend(islice(entry.obj, wanted))
        except BaseException as exc:  # the generator failed: after what it had produced, if anything
            if not items and not fresh:
                _finish(entry)
                raise
            entry.error = exc
        items += fresh
        if len(fresh) < wanted and entry.error is None:
            _finish(entry)
    entry.last_batch = items
    return items, entry.obj is None and not entry.pushback and entry.error is None


def _finish(entry: Entry) -> None:
    """The iterator is spent: release it now (its memory, its generator frame)."""
    entry.obj = None


async def _collect(agen: Any, count: int, items: list[Any]) -> None:
    try:
        while len(items) < count:
            items.append(await agen.__anext__())
    except StopAsyncIteration:
        pass


class PushStream:
    """One ``"stream"`` request: its iterator, its credit, and where refs made for its items go."""

    __slots__ = ("aio", "credit", "error", "iterator", "max_items", "origin", "request_id")

    def __init__(
        self,
        request_id: int,
        iterator: Any,
        credit: int,
        origin: Origin,
        aio: AsyncRunner | None,
        max_items: int = CHUNK_ITEMS,
    ) -> None:
        self.request_id = request_id
        self.iterator = iterator
        self.credit = credit
        self.origin = origin  # where refs made for its items live
        self.aio = aio  # set for async generators
        self.max_items = max_items
        self.error: BaseException | None = None  # raised after the items made before it went out

    def chunk(self) -> tuple[list[Any], bool]:
        """The next chunk and whether the stream ended with it; spends one credit.

        A chunk closes at ``max_items`` items or after CHUNK_SECONDS.  If the
        iterator raises after making some items, they go out first and the
        error ends the stream with the next chunk (the server ends it).
        """
        self.credit -= 1
        if self.error is not None:
            raise self.error
        items: list[Any] = []
        try:
            if self.aio is not None:
                return items, self.aio.run(_collect_for(self.iterator, self.max_items, CHUNK_SECONDS, items))
            append = items.append
            deadline = time.perf_counter() + CHUNK_SECONDS
            clock = time.perf_counter
            for item in self.iterator:
                append(item)
                if len(items) >= self.max_items or clock() > deadline:
                    return items, False
            return items, True
        except BaseException as exc:
            if not items:
                raise
            self.error = exc
            return items, False

    def close(self) -> None:
        close = getattr(self.iterator, "aclose" if self.aio is not None else "close", None)
        if close is None:
            return
        if self.aio is not None:
            self.aio.run(close())
        else:
            close()


async def _collect_for(agen: Any, count: int, seconds: float, items: list[Any]) -> bool:
    """Append up to ``count`` items of an async generator within ``seconds``; True if it ended."""
    deadline = time.perf_counter() + seconds
    try:
        while len(items) < count:
            items.append(await agen.__anext__())
            if time.perf_counter() > deadline:
                break
    except StopAsyncIteration:
        return True
    return False
