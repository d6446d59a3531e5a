"""No orphan, ever: the adapter ends soon after its BEAM closes the port or dies.

When the BEAM goes, the input pipe hangs up (and, if it died, our parent
process changes).  An idle adapter sees end of input and exits cleanly on
its own.  One that is running a call is asked to exit cleanly after
``_CLEAN_AFTER`` seconds (SIGINT to the main thread: a KeyboardInterrupt
there, which also interrupts a blocking sleep, so ``finally`` blocks run),
and is ended at ``_HARD_AFTER`` seconds if it is still there.

The watch must not need the GIL, since a C call may hold it for as long as
it runs.  The native guard (``snakeport.edge._guard``, built with the codec
accelerator) is a thread of its own outside Python.  Without it, a Python
thread watches (it needs the GIL), and the kernel's parent-death signal
(``PR_SET_PDEATHSIG``, Linux, set through ctypes) kills the adapter at
once if its parent dies while the GIL is held; a port closed by a living
BEAM during such a call then waits for the call to return.
"""

from __future__ import annotations

import _thread
import os
import select
import time

__all__ = ["watch"]

_CLEAN_AFTER = 0.1  # seconds after the hang-up: ask for a clean exit
_HARD_AFTER = 0.6  # seconds after the hang-up: end the process
_PARENT_CHECK = 0.25  # seconds between checks that the parent is the one that started us
_PR_SET_PDEATHSIG = 1
_SIGKILL = 9


def watch(fd_in: int) -> str:
    """Start the watch on ``fd_in`` (call from the main thread); which one runs: "native" or "python"."""
    parent = os.getppid()
    if os.environ.get("SNAKEPORT_PURE_GUARD") != "1":
        try:
            from . import _guard  # type: ignore[attr-defined]
        except ImportError:
            pass
        else:
            _guard.start(fd_in, parent, int(_CLEAN_AFTER * 1000), int(_HARD_AFTER * 1000))
            return "native"
    _set_parent_death_signal(parent)
    _thread.start_new_thread(_python_watch, (fd_in, parent, _thread.get_ident()))
    return "python"


def _python_watch(fd_in: int, parent: int, main_thread: int) -> None:
    poller = select.poll()
    poller.register(fd_in, 0)  # no events asked: POLLHUP/POLLERR still arrive
    while not _hung_up(poller) and os.getppid() == parent:
        pass
    time.sleep(_CLEAN_AFTER)
    import signal  # at the hang-up: never on the start path

    signal.pthread_kill(main_thread, signal.SIGINT)  # a KeyboardInterrupt there: finally blocks run
    time.sleep(_HARD_AFTER - _CLEAN_AFTER)
    os._exit(0)


def _hung_up(poller: select.poll) -> bool:
    for _, event in poller.poll(int(_PARENT_CHECK * 1000)):
        if event & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
            return True
    return False


def _set_parent_death_signal(parent: int) -> None:
    """Ask Linux for SIGKILL when our parent dies: the one guard that needs no GIL in pure Python."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        return  # not Linux, or no ctypes: the Python watch alone
    if os.getppid() != parent:  # the parent died before the signal was set
        os._exit(0)
