"""The engine's threads: waiting and waking, the pool, the relief reader, interrupts.

``ThreadHost`` is what ``core.engine`` calls a host.  It is made of ``_thread``
primitives (``threading`` costs milliseconds of every start):

* a condition: ``wait(ready)`` blocks until ``ready()`` holds, rechecked at
  each ``wake()``;
* pool threads, started when a queued job has no thread (``--threads``);
* the relief thread: every ``_TICK`` it asks the engine whether the reading
  thread has been in user code too long, and if so reads in its place until
  nothing runs (so a slow call never keeps the next frame waiting); it also
  reports cancelled calls that go on running;
* interrupts: a cancelled job's thread gets ``Cancelled`` raised at its next
  bytecode (``PyThreadState_SetAsyncExc``, through ctypes, imported at the
  first cancel), and a job asleep in ``time.sleep`` is woken (the adapter's
  ``time.sleep`` waits on a lock the cancel releases).
"""

from __future__ import annotations

import _thread
import time

from ..core.errors import Cancelled

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from collections.abc import Callable
    from typing import Any

    from ..core.engine import Engine
    from ..core.schedule import Running
    from .transport import Transport

__all__ = ["ThreadHost"]

_TICK = 0.001  # seconds between the relief thread's looks
_READ_WAIT = 0.02  # seconds a relief reader waits for input before it looks whether to hand back
_sleep = time.sleep  # the real one, for the adapter's own waits


class ThreadHost:
    """Threads for one engine (``attach`` it first)."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.main = _thread.get_ident()
        self.ident = _thread.get_ident
        self.clock = time.monotonic
        self.log = log
        self.engine: Engine | None = None
        self.transport: Transport | None = None
        self._lock = _thread.allocate_lock()  # guards the waiters
        self._waiters: list[Any] = []
        self._interrupted: set[int] = set()  # threads that may have an interrupt pending
        self._set_async_exc: Any = None
        self._clear_async_exc: Any = None

    def attach(self, engine: Engine, transport: Transport) -> None:
        """Serve ``engine``; start the relief thread; make ``time.sleep`` interruptible."""
        self.engine = engine
        self.transport = transport
        time.sleep = self.sleep  # type: ignore[assignment]
        _thread.start_new_thread(self._relief, ())

    # -- waiting and waking -----------------------------------------------------------

    def wake(self) -> None:
        """Something changed: every waiting thread checks again."""
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.release()

    def wait(self, ready: Callable[[], bool]) -> None:
        """Block until ``ready()`` (checked now and after each wake)."""
        while True:
            with self._lock:
                if ready():
                    return
                waiter = _thread.allocate_lock()
                waiter.acquire()
                self._waiters.append(waiter)
            waiter.acquire()

    # -- the pool -------------------------------------------------------------------------

    def start_thread(self) -> None:
        _thread.start_new_thread(self._pool_thread, ())

    def _pool_thread(self) -> None:
        assert self.engine is not None
        try:
            self.engine.work()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the BEAM is gone
        except BaseException as exc:  # a pool thread must say why it ended
            self.log(f"a pool thread ended: {exc!r}")

    # -- the relief reader ------------------------------------------------------------------

    def _relief(self) -> None:
        engine, transport = self.engine, self.transport
        assert engine is not None and transport is not None
        me = _thread.get_ident()
        try:
            while not engine.ended:
                _sleep(_TICK)
                engine.report_stuck()
                if engine.relieve(me):
                    while engine.schedule.leader == me and not engine.ended:
                        if engine.inbox or transport.readable(_READ_WAIT):
                            engine.step()
                        elif engine.hand_back(me):
                            break
                        engine.report_stuck()
        except (BrokenPipeError, ConnectionResetError):
            pass
        except BaseException as exc:
            self.log(f"the relief reader ended: {exc!r}")

    # -- interrupts -------------------------------------------------------------------------

    def interrupt(self, running: Running) -> None:
        """Stop a cancelled job: wake it from ``time.sleep``, else raise ``Cancelled`` in its thread."""
        engine = self.engine
        assert engine is not None
        if self._set_async_exc is None:
            self._load_async_exc()
        with engine.lock:  # the job cannot leave user code meanwhile (it takes this lock to)
            if not running.in_user_code:
                return
            sleeper = running.sleeper
            if sleeper is None:
                self._interrupted.add(running.thread)
                self._set_async_exc(running.thread, Cancelled)
                return
        try:  # noqa: SIM105 - contextlib costs milliseconds of a start
            sleeper.release()  # the sleep raises Cancelled itself
        except RuntimeError:
            pass  # it had just woken

    def clear_interrupt(self) -> None:
        """This thread's job has left user code: drop an interrupt that was raised too late to land."""
        me = _thread.get_ident()
        if me in self._interrupted:
            self._interrupted.discard(me)
            self._clear_async_exc(me, None)

    def _load_async_exc(self) -> None:
        """``PyThreadState_SetAsyncExc``, to raise (an exception) and to clear (NULL)."""
        import ctypes

        name = ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
        self._set_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(name)
        self._clear_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(name)

    def sleep(self, seconds: float) -> None:
        """``time.sleep``, which a cancel of the job that called it wakes with ``Cancelled``."""
        engine = self.engine
        stack = engine.schedule.by_thread.get(_thread.get_ident()) if engine is not None else None
        if not stack or not seconds > 0:
            _sleep(seconds)
            return
        running = stack[-1]
        waiter = _thread.allocate_lock()
        waiter.acquire()
        assert engine is not None
        with engine.lock:
            cancelled = running.cancelled
            if not cancelled:
                running.sleeper = waiter
        if not cancelled:
            try:
                waiter.acquire(True, seconds)
            finally:
                with engine.lock:
                    running.sleeper = None
                    cancelled = running.cancelled
        if cancelled:
            raise Cancelled(f"request {running.id} cancelled by the client while it slept")
