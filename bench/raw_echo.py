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


def main() -> None:
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
            _write(payload)


def _write(payload: bytes | bytearray) -> None:
    """The frame back, header and body in one writev, however the pipe splits it."""
    parts = [memoryview(len(payload).to_bytes(4, "big")), memoryview(payload)]
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
