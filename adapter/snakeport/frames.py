"""Recorded frames: the file format written by ``--record``.

A file starts with the line ``SNAKEPORT-FRAMES 1``; then one record per
frame: direction (``i`` in, ``o`` out), seconds since the adapter started
(float64), the payload length (uint32), all big-endian, then the exact ETF
bytes.  Each record goes out in one ``write`` on an append-only file, so a
crash leaves every complete record readable.
"""

from __future__ import annotations

import os
import struct
import time

__all__ = ["HEADER", "RECORD", "Recorder"]

HEADER = b"SNAKEPORT-FRAMES 1\n"
RECORD = struct.Struct(">cdI")


class Recorder:
    """Appends every frame in and out to a file."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if os.fstat(self.fd).st_size == 0:
            os.write(self.fd, HEADER)
        self.start = time.monotonic()

    def record(self, direction: bytes, payload: bytes | bytearray) -> None:
        head = RECORD.pack(direction, time.monotonic() - self.start, len(payload))
        os.write(self.fd, head + payload)

    def close(self) -> None:
        os.close(self.fd)
