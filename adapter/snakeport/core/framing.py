"""``{packet, 4}`` framing without I/O: bytes in, complete frames out.

One mechanism for every reader of the wire (the adapter's transport, the
replay tool, the test harness, the raw-echo benchmark).  Small frames are
cut from one read buffer.  A big frame is assembled in a buffer of its own,
which the reader may fill straight from the fd (``space()`` then
``filled(n)``), so its bytes are copied once.  Memory follows the bytes that
actually arrived, never the header alone: up to ``_OWN_BUFFER`` bytes the
buffer is an exact ``bytearray``; beyond, it is an anonymous memory map of
the declared size, whose pages the kernel provides only as bytes are
written into them, so a header that lies about a gigabyte costs address
space, not memory (and a true one is read with no copy and no growth).  A
frame over the size limit is refused by its header (an ``Oversize`` in the
frame stream) and its bytes are skipped unstored.
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import TypeAlias

__all__ = ["HEADER", "FrameBuffer", "Oversize", "frame"]

HEADER = struct.Struct(">I")
# A frame still to come gets its own bytearray up to this size (kept by the
# engine until the next frame, so glibc keeps the memory); a bigger one a
# memory map, whose pages come as they are written.
_OWN_BUFFER = 4 << 20
# Below this, a frame still to come is left to the read buffer.
_OWN_BUFFER_ABOVE = 1 << 16


class Oversize:
    """A frame whose header declared more than the limit; its bytes are skipped."""

    __slots__ = ("limit", "size")

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit

    def __repr__(self) -> str:
        return f"Oversize({self.size}, limit={self.limit})"


if TYPE_CHECKING:
    Frame: TypeAlias = "bytes | bytearray | memoryview | Oversize"


def frame(payload: bytes) -> bytes:
    """``payload`` with its 4-byte length header, as the BEAM's ``{packet, 4}`` sends it."""
    return HEADER.pack(len(payload)) + payload


class FrameBuffer:
    """Cuts ``{packet, 4}`` frames out of the bytes fed to it.

    ``feed(data)`` returns the frames ``data`` completed.  While a big frame
    is being assembled, ``space()`` is the part of its buffer still to fill:
    a reader may read into it and call ``filled(n)``, or just ``feed``.
    """

    def __init__(self, max_frame_bytes: int = 1 << 30) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()  # bytes of frames not yet complete (small ones)
        self._big: bytearray | memoryview | None = None  # the big frame being assembled
        self._big_size = 0  # its declared size
        self._big_have = 0  # its bytes so far
        self._skip = 0  # bytes of a refused frame still to drop
        self.frames = 0  # complete frames and refused ones cut so far
        self.bytes = 0  # bytes of complete frames, headers included

    @property
    def pending(self) -> int:
        """Bytes received that belong to no complete frame yet."""
        return len(self._buf) + self._big_have

    def pending_need(self) -> int:
        """Bytes still missing from the big frame being assembled (0 when none is open)."""
        return self._big_size - self._big_have if self._big is not None else 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """The frames completed by ``data`` (maybe none), in order."""
        if type(data) is bytes and not self._buf and self._big is None and not self._skip:
            return self._feed_whole(data)
        frames: list[Frame] = []
        view = memoryview(data).cast("B")
        while view:
            if self._skip:
                dropped = min(self._skip, len(view))
                self._skip -= dropped
                view = view[dropped:]
            elif self._big is not None:
                take = min(len(view), self._big_size - self._big_have)
                self._big[self._big_have : self._big_have + take] = view[:take]
                view = view[take:]
                self._big_have += take
                self._finish_big(frames)
            else:
                self._buf += view
                view = view[len(view) :]
                self._cut(frames)
        return frames

    def _feed_whole(self, data: bytes) -> list[Frame]:
        """The common case: nothing pending, ``data`` holds whole small frames: slice them out."""
        frames: list[Frame] = []
        pos, end = 0, len(data)
        limit = self.max_frame_bytes
        while end - pos >= 4:
            size = int.from_bytes(data[pos : pos + 4], "big")
            if size > limit or end - pos - 4 < size:
                break  # the general path takes it from here
            frames.append(data[pos + 4 : pos + 4 + size])
            self.frames += 1
            self.bytes += size + 4
            pos += 4 + size
        if pos < end:
            frames += self.feed(memoryview(data)[pos:])
        return frames

    def space(self) -> memoryview | None:
        """Where the next bytes of a big frame go, for a direct read; None when no big frame is open."""
        if self._big is None:
            return None
        return memoryview(self._big)[self._big_have :]

    def filled(self, count: int) -> list[Frame]:
        """``count`` bytes were written into ``space()``; the frame, if that completed it."""
        self._big_have += count
        frames: list[Frame] = []
        self._finish_big(frames)
        return frames

    def _finish_big(self, frames: list[Frame]) -> None:
        if self._big is not None and self._big_have == self._big_size:
            frames.append(self._big)
            self.frames += 1
            self.bytes += self._big_size + 4
            self._big = None
            self._big_size = self._big_have = 0

    def _cut(self, frames: list[Frame]) -> None:
        """Move every complete frame of the read buffer into ``frames``."""
        buf = self._buf
        pos = 0
        end = len(buf)
        while end - pos >= 4:
            size = HEADER.unpack_from(buf, pos)[0]
            have = end - pos - 4
            if size > self.max_frame_bytes:  # refuse at once, then read past it
                self.frames += 1
                frames.append(Oversize(size, self.max_frame_bytes))
                dropped = min(size, have)
                pos += 4 + dropped
                self._skip = size - dropped
                if self._skip:
                    break
                continue
            if have >= size:
                frames.append(bytes(memoryview(buf)[pos + 4 : pos + 4 + size]))
                self.frames += 1
                self.bytes += size + 4
                pos += 4 + size
                continue
            if size > _OWN_BUFFER_ABOVE:  # the rest arrives into its own buffer
                self._big = bytearray(size) if size <= _OWN_BUFFER else _mapped(size)
                self._big[:have] = memoryview(buf)[pos + 4 :]
                self._big_size, self._big_have = size, have
                pos = end
            break
        if pos:
            del buf[:pos]  # what is left is less than one frame


def _mapped(size: int) -> memoryview:
    """``size`` bytes of anonymous memory map: the kernel provides each page when it is first written."""
    import mmap  # only for frames over _OWN_BUFFER

    return memoryview(mmap.mmap(-1, size))
