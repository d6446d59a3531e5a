"""Writing recorded frames (``--record``): one append-only ``write`` per record.

The format is ``core.recording``'s; each record goes out in one ``write`` on
an ``O_APPEND`` file, so a crash leaves every complete record readable.
"""

from __future__ import annotations

import os
import time

from ..core.recording import HEADER, RECORD

__all__ = ["Recorder"]


class Recorder:
    """Appends every frame in and out to a file."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if os.fstat(self.fd).st_size == 0:
            os.write(self.fd, HEADER)
        self.start = time.monotonic()

    def record(self, direction: bytes, payload: bytes | bytearray | memoryview) -> None:
        head = RECORD.pack(direction, time.monotonic() - self.start, len(payload))
        os.write(self.fd, head + payload)

    def close(self) -> None:
        os.close(self.fd)
