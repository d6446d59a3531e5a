"""The physical limit: return every {packet, 4} frame unchanged.

No codec, no dispatch: what a Port round trip costs when Python does
nothing.  Like the adapter it asks for 1 MiB pipes and reads a big frame
straight into its own buffer.  Used by bench/roundtrip as the baseline.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct

HEADER = struct.Struct(">I")


def main() -> None:
    for fd in (0, 1):
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    buf = bytearray()
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            return
        buf += chunk
        pos, out = 0, []
        while len(buf) - pos >= 4:
            size = HEADER.unpack_from(buf, pos)[0]
            have = len(buf) - pos - 4
            if have < size:
                if size > 1 << 16:  # the rest of a big frame: one buffer of its size
                    frame = bytearray(4 + size)
                    frame[: 4 + have] = buf[pos:]
                    view = memoryview(frame)[4 + have :]
                    while len(view):
                        got = os.readv(0, [view])
                        if not got:
                            return
                        view = view[got:]
                    out.append(frame)
                    pos = len(buf)
                break
            out.append(buf[pos : pos + 4 + size])
            pos += 4 + size
        del buf[:pos]
        for piece in out:
            view = memoryview(piece)
            while len(view):
                view = view[os.write(1, view) :]


if __name__ == "__main__":
    try:  # noqa: SIM105 - the baseline imports as little as the adapter
        main()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the BEAM closed the port
