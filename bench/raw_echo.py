"""The physical limit: return every {packet, 4} frame unchanged.

No codec, no dispatch: what a Port round trip costs when Python does
nothing.  Like the adapter it asks for 1 MiB pipes and cuts frames with the
adapter's own ``FrameBuffer`` (a big frame is read straight into its own
buffer).  Used by bench/roundtrip and bench/client as the baseline.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "adapter"))

from snakeport.core.framing import FrameBuffer, Oversize

TYPE_CHECKING = False
if TYPE_CHECKING:  # the baseline imports as little as the adapter
    from collections.abc import Callable


def main() -> None:
    serve(framed)


def framed(payload: bytes | bytearray) -> list[memoryview]:
    """A frame's pieces: its 4-byte header and its body."""
    return [memoryview(len(payload).to_bytes(4, "big")), memoryview(payload)]


def serve(answer: Callable[[bytes | bytearray], list[memoryview] | None]) -> None:
    """Read frames until the input ends; write the pieces ``answer(frame)`` gives for each (None: none)."""
    for fd in (0, 1):
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    framer = FrameBuffer()
    while True:
        space = framer.space()
        if space is not None:
            count = os.readv(0, [space])
            if not count:
                return
            frames = framer.filled(count)
        else:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                return
            frames = framer.feed(chunk)
        for payload in frames:
            if isinstance(payload, Oversize):
                continue
            parts = answer(payload)
            if parts is not None:
                _write(parts)


def _write(parts: list[memoryview]) -> None:
    """The pieces in one writev, however the pipe splits them."""
    while parts:
        written = os.writev(1, parts)
        while parts and written >= len(parts[0]):
            written -= len(parts[0])
            parts.pop(0)
        if parts and written:
            parts[0] = parts[0][written:]


if __name__ == "__main__":
    try:  # noqa: SIM105 - the baseline imports as little as the adapter
        main()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the BEAM closed the port
