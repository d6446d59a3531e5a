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


# -- callbacks and messages ----------------------------------------------------

STORED: list[Any] = []


def apply_fun(fun: Any, *args: Any) -> Any:
    return fun(*args)


def apply_kw(fun: Any) -> Any:
    return fun(1, extra=2)


def catch_elixir(fun: Any, *args: Any) -> dict[str, Any]:
    import snakeport

    try:
        return {"value": fun(*args)}
    except snakeport.ElixirError as exc:
        return {"kind": exc.kind, "type": exc.elixir_type, "message": exc.message, "text": str(exc)}


def store_fun(fun: Any) -> bool:
    STORED.append(fun)
    return True


def call_stored(*args: Any) -> Any:
    return STORED[-1](*args)


def call_in_thread(fun: Any) -> Any:
    """Call an Elixir fun from a thread of the user's own (not one of the adapter's)."""
    import threading

    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(fun("from a thread")))
    thread.start()
    thread.join()
    return results[0]


def progress(pid: Any, n: int) -> str:
    import snakeport

    for i in range(1, n + 1):
        snakeport.send(pid, (snakeport.Atom("progress"), i, n))
    return "finished"


def send_repeatedly(pid: Any, times: int, pause: float) -> str:
    """Send ``times`` messages; say which one was refused, if any."""
    import snakeport

    for number in range(1, times + 1):
        try:
            snakeport.send(pid, "hello")
        except snakeport.ProcessNotAliveError as exc:
            return f"send {number} refused: {exc}"
        time.sleep(pause)
    return "never refused"


def send_from_thread(pid: Any, term: Any) -> bool:
    import threading

    import snakeport

    thread = threading.Thread(target=snakeport.send, args=(pid, term))
    thread.start()
    thread.join()
    return True


def failing_now() -> None:
    raise ValueError("failing now")


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


def raise_unprintable() -> None:
    raise Unprintable()


EVAL = eval  # an allowed module exporting an evaluating builtin


def give_module(name: str) -> Any:
    """An allowed function that hands out a module object."""
    import importlib

    return importlib.import_module(name)


def touch(path: str) -> str:
    """What every escape route tries to reach: code that leaves a mark."""
    with open(path, "w") as marker:
        marker.write("escaped")
    return "touched"


def hold_gil(seconds: int, marker: str) -> str:
    """A C call that keeps the GIL for ``seconds`` (ctypes.PyDLL does not release it)."""
    import ctypes

    with open(marker, "w") as started:
        started.write("started")
    ctypes.PyDLL(None).sleep(seconds)
    return "slept"


def sleep_then_clean_up(seconds: float, marker: str) -> str:
    """A call in a GIL-free sleep whose finally block leaves a mark."""
    with open(marker, "w") as started:
        started.write("started")
    try:
        time.sleep(seconds)
    finally:
        with open(marker, "w") as cleaned:
            cleaned.write("cleaned up")
    return "slept"


def busy_loop(seconds: float, marker: str) -> str:
    """Pure-Python work for ``seconds``, then a mark (a cancel stops it before the mark)."""
    end = time.monotonic() + seconds
    count = 0
    while time.monotonic() < end:
        count += 1
    with open(marker, "w") as done:
        done.write("finished")
    return "finished"


def sleep_then_mark(seconds: float, marker: str) -> str:
    time.sleep(seconds)
    with open(marker, "w") as done:
        done.write("finished")
    return "finished"


def c_sleep(seconds: int) -> str:
    """A C call that releases the GIL and ignores interrupts (ctypes.CDLL releases it)."""
    import ctypes

    ctypes.CDLL(None).sleep(seconds)
    return "slept in C"


def which_thread() -> str:
    import threading

    return "main" if threading.current_thread() is threading.main_thread() else "other"


def many_objects(n: int) -> list[Any]:
    return [object() for _ in range(n)]


def die_noisily() -> None:
    sys.stderr.write("dying on purpose\n")
    sys.stderr.flush()
    os._exit(3)


# -- arrays (numpy is imported only by these) --------------------------------------


def make_array(dtype: str) -> Any:
    import numpy

    return (numpy.arange(6) % 2 == 1) if dtype == "bool" else numpy.arange(6).astype(dtype)


def strided() -> Any:
    import numpy

    matrix = numpy.arange(6, dtype="f4").reshape(2, 3)
    return [matrix.T, numpy.arange(6, dtype="i4")[::2], numpy.array([1, 2], dtype=">i4")]


def nested_arrays() -> Any:
    import numpy

    return {"deep": [numpy.zeros(2)], "n": numpy.int64(3)}


def object_array() -> Any:
    import numpy

    return numpy.array([object(), 1], dtype=object)


def describe_array(array: Any) -> dict[str, Any]:
    total = array.sum()
    return {
        "type": type(array).__name__,
        "dtype": str(array.dtype),
        "shape": array.shape,
        "writeable": bool(array.flags.writeable),
        "sum": total.item(),
    }
