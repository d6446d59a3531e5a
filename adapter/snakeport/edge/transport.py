"""The edge: file descriptors, {packet, 4} framing, stdout protection.

Everything else in SnakePort is sans-IO; this module alone reads and writes.
Reads are linear: small frames are cut from one growing read buffer, and a
frame bigger than what is buffered is read straight into one buffer of its
exact size, so a 64 MB frame costs one allocation and no re-copying.  A
frame over the size limit is refused by its header and skipped without
being stored.
"""

from __future__ import annotations

import _thread
import os
import select
import struct
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["Oversize", "Transport", "protect_stdio", "watch_for_hangup"]

_HEADER = struct.Struct(">I")
_READ_SIZE = 1 << 16
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, Linux
_SMALL_WRITE = 1 << 16  # below this, header and payload go out as one copied buffer
_IOV_MAX = 1024  # the most buffers one writev takes on Linux


class Oversize:
    """A frame whose header declared more than the limit; its bytes are skipped."""

    __slots__ = ("limit", "size")

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit


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


def watch_for_hangup(fd_in: int) -> None:
    """End the process as soon as the BEAM closes our input or our parent dies.

    A thread waits for POLLHUP on the input pipe (without reading from it),
    so even a call that runs for hours does not keep an orphan alive; once a
    second it also checks that the parent process is still the one that
    started us.  (``_thread`` and ``select`` cost nothing at start;
    ``threading`` and ``ctypes`` would.)
    """
    parent = os.getppid()

    def wait() -> None:
        poller = select.poll()
        poller.register(fd_in, 0)  # no events asked: POLLHUP/POLLERR still arrive
        while True:
            for _, event in poller.poll(1000):
                if event & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                    os._exit(0)
            if os.getppid() != parent:
                os._exit(0)

    _thread.start_new_thread(wait, ())


class Transport:
    """Length-prefixed frames over two file descriptors."""

    def __init__(self, fd_in: int, fd_out: int, max_frame_bytes: int) -> None:
        self.fd_in = fd_in
        self.fd_out = fd_out
        self.max_frame_bytes = max_frame_bytes
        self.frames_in = self.frames_out = self.bytes_in = self.bytes_out = 0
        for fd in (fd_in, fd_out):
            _enlarge_pipe(fd)

    def write(self, payload: bytes) -> None:
        """Send one frame."""
        self.write_pieces([payload])

    def write_pieces(self, pieces: list[Any]) -> None:
        """Send one frame given as byte pieces, big ones written in place.

        Runs of small pieces are joined (one copy of little data); a piece of
        64 KiB or more goes to ``writev`` as it is, so a big binary in a reply
        is copied only by the kernel.
        """
        size = sum(map(len, pieces))
        header = _HEADER.pack(size)
        if size < _SMALL_WRITE:
            _writev_all(self.fd_out, [memoryview(header + b"".join(pieces))])
        else:
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
        self.frames_out += 1
        self.bytes_out += size + 4

    def fill(self, view: memoryview) -> bool:
        """Read exactly enough to fill ``view``; False at end of input."""
        while len(view):
            got = os.readv(self.fd_in, [view])
            if not got:
                return False
            view = view[got:]
        return True


class FrameReader:
    """Cuts frames out of the input; can also just take what has arrived.

    ``read(block=False)`` returns the complete frames available now (maybe
    none), so a server with work of its own (push streams) can check for
    requests between chunks without waiting.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.buf = bytearray()
        self.skip = 0  # bytes of a refused frame still to drop
        self.poller = select.poll()
        self.poller.register(transport.fd_in, select.POLLIN)

    def read(self, block: bool) -> list[bytes | bytearray | Oversize] | None:
        """Frames that are here (with ``block``, at least one); None at end of input."""
        frames = self._cut()
        while frames == []:
            if not block and not self.poller.poll(0):
                break
            chunk = os.read(self.transport.fd_in, _READ_SIZE)
            if not chunk:
                return None
            self.buf += chunk
            frames = self._cut()
        return frames

    def _cut(self) -> list[bytes | bytearray | Oversize] | None:
        """The complete frames in the buffer; None if input ended inside a big frame."""
        transport, buf = self.transport, self.buf
        frames: list[bytes | bytearray | Oversize] = []
        pos = 0
        if self.skip:
            pos = min(self.skip, len(buf))
            self.skip -= pos
        while not self.skip and len(buf) - pos >= 4:
            size = _HEADER.unpack_from(buf, pos)[0]
            have = len(buf) - pos - 4
            if size > transport.max_frame_bytes:  # refuse at once, then read past it
                transport.frames_in += 1
                frames.append(Oversize(size, transport.max_frame_bytes))
                dropped = min(size, have)
                pos += 4 + dropped
                self.skip = size - dropped
                continue
            frame: bytes | bytearray
            if have >= size:
                frame = bytes(memoryview(buf)[pos + 4 : pos + 4 + size])
                pos += 4 + size
            elif size > _READ_SIZE:  # read the rest straight into its own buffer
                frame = bytearray(size)
                frame[:have] = memoryview(buf)[pos + 4 :]
                if not transport.fill(memoryview(frame)[have:]):
                    return None
                pos = len(buf)
            else:
                break
            transport.frames_in += 1
            transport.bytes_in += size + 4
            frames.append(frame)
        if pos:
            del buf[:pos]  # what is left is less than one frame
        return frames


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
