"""The Python half of the codec demo: every frame in goes back out re-encoded.

Started by examples/codec_roundtrip.exs as a Port ({packet, 4} on fds 0/1).
For each term the BEAM sends, replies {python_saw, Description, Term}:
what Python decoded (type and repr) and the term encoded again by SnakePort.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "adapter"))

from snakeport import etf
from snakeport.terms import Atom


def read_exact(size: int) -> bytes | None:
    parts, left = [], size
    while left:
        chunk = os.read(0, left)
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def main() -> None:
    while (header := read_exact(4)) is not None:
        frame = read_exact(struct.unpack(">I", header)[0])
        if frame is None:
            return
        try:
            value = etf.decode(frame)
            reply = (Atom("python_saw"), f"{type(value).__name__}: {value!r}"[:120], value)
        except etf.DecodeError as exc:
            reply = (Atom("decode_error"), str(exc), None)
        body = etf.encode(reply)
        os.write(1, struct.pack(">I", len(body)) + body)


if __name__ == "__main__":
    main()
