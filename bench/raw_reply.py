"""The one-way limit: answer every {packet, 4} request with one ready-made reply frame.

The first frame it reads is the reply to give (the exact bytes the adapter
answered the same request with); every later frame is answered with it.
No codec, no dispatch: what a round trip costs when Python only reads the
request and writes the reply.  bench/speed puts it beside the adapter.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "adapter"))

from snakeport.core.framing import FrameBuffer


def main() -> None:
    for fd in (0, 1):
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    framer = FrameBuffer()
    reply: list[memoryview] | None = None
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
            if reply is None:  # the first frame: the reply to give
                reply = [memoryview(len(payload).to_bytes(4, "big")), memoryview(bytes(payload))]
                continue
            parts = list(reply)
            while parts:
                written = os.writev(1, parts)
                while parts and written >= len(parts[0]):
                    written -= len(parts[0])
                    parts.pop(0)
                if parts and written:
                    parts[0] = parts[0][written:]


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        main()
