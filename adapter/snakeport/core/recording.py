"""Recorded frames: the file format written by ``--record``, and its reader.

A file starts with the line ``SNAKEPORT-FRAMES 1``; then one record per
frame: direction (``i`` in, ``o`` out), seconds since the adapter started
(float64), the payload length (uint32), all big-endian, then the exact ETF
bytes.  The writer is ``edge.recorder``; this module is the format and its
reader, without I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

__all__ = ["HEADER", "RECORD", "FramesFormatError", "Record", "read_records"]

HEADER = b"SNAKEPORT-FRAMES 1\n"
RECORD = struct.Struct(">cdI")


class FramesFormatError(Exception):
    """A recorded file that is not (or no longer) in the format: says where."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at byte offset {offset})")
        self.offset = offset


class Record:
    """One recorded frame: its number (from 1), direction, time, offset in the file and bytes."""

    __slots__ = ("direction", "number", "offset", "payload", "time")

    def __init__(self, number: int, direction: str, time: float, offset: int, payload: bytes) -> None:
        self.number = number
        self.direction = direction  # "in" (to Python) or "out" (from Python)
        self.time = time
        self.offset = offset
        self.payload = payload

    def __repr__(self) -> str:
        return f"Record({self.number}, {self.direction!r}, {self.time:.6f}, {len(self.payload)} bytes)"


_DIRECTIONS = {b"i": "in", b"o": "out"}


def read_records(data: bytes) -> Iterator[Record]:
    """The records of a recorded file, in order.

    Raises ``FramesFormatError`` (naming the offset) at the first thing that
    is not a record, after yielding every complete record before it.
    """
    if not data.startswith(HEADER):
        line = data.split(b"\n", 1)[0][:40]
        raise FramesFormatError(
            f"not a SnakePort frames file: expected the line {HEADER!r}, found {line!r}", 0
        )
    view = memoryview(data)
    offset, number = len(HEADER), 0
    while offset < len(data):
        if len(data) - offset < RECORD.size:
            raise FramesFormatError(
                f"torn record {number + 1}: {len(data) - offset} bytes left, a head needs {RECORD.size}",
                offset,
            )
        direction, seconds, size = RECORD.unpack_from(data, offset)
        if direction not in _DIRECTIONS:
            raise FramesFormatError(
                f"record {number + 1} has direction byte {direction!r}, expected b'i' or b'o'", offset
            )
        start = offset + RECORD.size
        if len(data) - start < size:
            raise FramesFormatError(
                f"torn record {number + 1}: its length says {size} bytes, {len(data) - start} are left",
                offset,
            )
        number += 1
        yield Record(number, _DIRECTIONS[direction], seconds, offset, bytes(view[start : start + size]))
        offset = start + size
