"""Python functions the adapter tests call through the Port."""

from __future__ import annotations

import asyncio
import ctypes
import io
import os
import sys
import time
from typing import Any

RELEASED: list[str] = []


def noisy(kind: str) -> str:
    """Write to stdout in one of the four ways user code does."""
    if kind == "print":
        print("stray print output")
    elif kind == "sys_stdout":
        sys.stdout.write("stray sys.stdout output\n")
        sys.stdout.flush()
    elif kind == "os_write":
        os.write(1, b"stray os.write output\n")
    elif kind == "printf":
        libc = ctypes.CDLL(None)
        libc.printf(b"stray printf output\n")
        libc.fflush(None)
    return kind


def read_stdin() -> str:
    return sys.stdin.read()


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


def raise_system_exit() -> None:
    raise SystemExit(3)


def raise_keyboard_interrupt() -> None:
    raise KeyboardInterrupt


async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0.01)
    return a + b


class Sized:
    """An iterator with a length."""

    def __init__(self, n: int) -> None:
        self.items = list(range(n))

    def __iter__(self) -> Sized:
        return self

    def __next__(self) -> int:
        if not self.items:
            raise StopIteration
        return self.items.pop(0)

    def __len__(self) -> int:
        return len(self.items)


def counting(n: int, tag: str) -> Any:
    """A generator that records when its finally block runs."""
    try:
        yield from range(n)
    finally:
        RELEASED.append(tag)


def released() -> list[str]:
    return list(RELEASED)


def with_generator() -> dict[str, Any]:
    return {"status": "ok", "data": (x * 2 for x in range(3)), "n": 3}


def same_twice() -> list[Any]:
    thing = object()
    return [thing, {"again": thing}]


def context_manager() -> io.StringIO:
    return io.StringIO("a\nb\n")


def lone_surrogate() -> str:
    return "bad \udc80 text"


def big_box(megabytes: int) -> Box:
    """A ref holding ``megabytes`` of touched memory."""
    return Box(bytearray(b"x" * (megabytes << 20)))


def rss_kb() -> int:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def identity(value: Any) -> Any:
    return value


def type_name(value: Any) -> str:
    return type(value).__name__


class Box:
    def __init__(self, value: Any) -> None:
        self.value = value

    def get(self) -> Any:
        return self.value

    class Inner:
        @staticmethod
        def make(value: Any) -> str:
            return f"inner {value}"


def failing(n: int) -> Any:
    yield from range(n)
    raise ValueError(f"failed after {n} items")


async def agen(n: int) -> Any:
    for i in range(n):
        await asyncio.sleep(0)
        yield i
