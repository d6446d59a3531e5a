"""File descriptors: stdout protection, reading into the engine, writing frames.

Reads are linear: the engine's ``FrameBuffer`` cuts small frames from one
read buffer, and the rest of a big frame is read straight into its own
buffer (``readv`` into ``framer.space()``).  Replies go out with ``writev``,
big binaries in place (never joined into a copy).
"""

from __future__ import annotations

import _thread
import os
import select
import sys

from ..core.framing import HEADER

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

    from ..core.engine import Engine

__all__ = ["Transport", "protect_stdio"]

_READ_SIZE = 1 << 16
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, Linux
_SMALL_WRITE = 1 << 16  # below this, header and payload go out as one copied buffer
_IOV_MAX = 1024  # the most buffers one writev takes on Linux


def protect_stdio() -> tuple[int, int]:
    """Move the protocol to private fds; point fd 1 at stderr and fd 0 at /dev/null.

    After this, ``print()``, ``os.write(1, ...)`` and C-level ``printf`` land
    on stderr and cannot corrupt a frame; code reading stdin gets EOF.
    """
    sys.stdout.flush()
    fd_in, fd_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return fd_in, fd_out


class Transport:
    """Length-prefixed frames over two file descriptors."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in = fd_in
        self.fd_out = fd_out
        self.poller = select.poll()
        self.poller.register(fd_in, select.POLLIN)
        self._relief_poller = select.poll()  # a poll object is for one thread at a time
        self._relief_poller.register(fd_in, select.POLLIN)
        self._reading = _thread.allocate_lock()  # one reader at a time, whatever the engine thinks
        for fd in (fd_in, fd_out):
            _enlarge_pipe(fd)

    def read_into(self, engine: Engine, block: bool) -> bool:
        """Read what has arrived into ``engine`` (with ``block``, at least one frame); False at EOF."""
        if not self._reading.acquire(block):
            return True  # another thread is reading: nothing to add now
        try:
            return self._read(engine, block)
        finally:
            self._reading.release()

    def _read(self, engine: Engine, block: bool) -> bool:
        framer = engine.framer
        got = len(engine.inbox)
        while True:
            if not block and not self.poller.poll(0):
                return True
            space = framer.space()
            if space is not None:
                count = os.readv(self.fd_in, [space])
                if not count:
                    return False
                engine.filled(count)
            else:
                chunk = os.read(self.fd_in, _READ_SIZE)
                if not chunk:
                    return False
                engine.feed(chunk)
            if not block or len(engine.inbox) > got:
                return True

    def readable(self, timeout: float) -> bool:
        """Whether input (or its end) is there, waiting up to ``timeout`` seconds."""
        return bool(self._relief_poller.poll(int(timeout * 1000)))

    def write(self, pieces: list[Any]) -> None:
        """Send one frame given as byte pieces, big ones written in place.

        Runs of small pieces are joined (one copy of little data); a piece of
        64 KiB or more goes to ``writev`` as it is, so a big binary in a reply
        is copied only by the kernel.
        """
        size = sum(map(len, pieces))
        header = HEADER.pack(size)
        if size < _SMALL_WRITE:
            _writev_all(self.fd_out, [memoryview(header + b"".join(pieces))])
            return
        parts: list[memoryview] = []
        small: list[Any] = [header]
        for piece in pieces:
            if len(piece) < _SMALL_WRITE:
                small.append(piece)
                continue
            if small:
                parts.append(memoryview(b"".join(small)))
                small = []
            parts.append(memoryview(piece))
        if small:
            parts.append(memoryview(b"".join(small)))
        _writev_all(self.fd_out, parts)


def _writev_all(fd: int, parts: list[memoryview]) -> None:
    """Write every part, however the pipe splits the writes."""
    while parts:
        written = os.writev(fd, parts[:_IOV_MAX])
        while parts and written >= len(parts[0]):
            written -= len(parts[0])
            parts.pop(0)
        if parts and written:
            parts[0] = parts[0][written:]


def _enlarge_pipe(fd: int) -> None:
    """Ask for 1 MiB pipe buffers: fewer wake-ups per large frame."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), _PIPE_SIZE)
    except (OSError, ImportError):
        pass  # not a pipe, or not allowed: the default size still works
