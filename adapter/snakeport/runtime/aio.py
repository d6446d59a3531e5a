"""Coroutines and async generators, run on one event loop in a thread of its own.

Requests may run on several threads at once, and an event loop belongs to
one thread: so the adapter's loop runs in its own thread (started, and
asyncio imported, on the first coroutine), and a request's thread hands it
the coroutine and waits for the result.  The wait wakes every 50 ms, so a
``Cancelled`` raised in the waiting thread (a client's cancel) lands
promptly and cancels the coroutine's task too.
"""

from __future__ import annotations

import _thread

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    import asyncio
    from collections.abc import Coroutine
    from typing import Any

__all__ = ["AsyncRunner"]

_POLL = 0.05  # seconds between looks at a cancel while waiting for a coroutine


class AsyncRunner:
    """The adapter's event loop thread, made on first need."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = _thread.allocate_lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                import asyncio

                loop = asyncio.new_event_loop()
                started = _thread.allocate_lock()
                started.acquire()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(started.release)
                    loop.run_forever()

                _thread.start_new_thread(run, ())
                started.acquire()
                self._loop = loop
            return self._loop

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coroutine`` on the loop; its result, or what it raised, in this thread."""
        import asyncio
        import concurrent.futures

        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop())
        try:
            while True:
                try:
                    return future.result(_POLL)
                except concurrent.futures.TimeoutError:
                    continue
        except BaseException:
            future.cancel()  # a cancel of the request (or anything else) ends the coroutine too
            raise

    def close(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
