"""Helpers and Python fixtures for the mix_stub ExUnit tests."""

import time

RELEASED = []


def greet(name, punctuation="!"):
    return f"hello {name}{punctuation}"


def counting(n, tag):
    try:
        yield from range(n)
    finally:
        RELEASED.append(tag)


def released():
    return list(RELEASED)


def slow(seconds):
    time.sleep(seconds)
    return "done"


def slow_items(n, delay):
    for i in range(n):
        time.sleep(delay)
        yield i


def load_large_dataset():
    return (i for i in range(1000))


def with_generator():
    return {"status": "ok", "data": (x * 2 for x in range(10))}


def crash():
    import os
    os._exit(3)


__snakebridge_helpers__ = {
    "test.greet": greet,
    "test.counting": counting,
    "test.released": released,
    "test.slow": slow,
    "test.slow_items": slow_items,
    "test.load_large_dataset": load_large_dataset,
    "test.with_generator": with_generator,
    "test.crash": crash,
}


def slow_counting(n, delay, tag):
    try:
        for i in range(n):
            time.sleep(delay)
            yield i
    finally:
        RELEASED.append(tag)


class Sized:
    def __init__(self, n):
        self.items = list(range(n))

    def __iter__(self):
        return self

    def __next__(self):
        if not self.items:
            raise StopIteration
        return self.items.pop(0)

    def __len__(self):
        return len(self.items)


def unknown_atom():
    from snakeport.terms import Atom
    return Atom("an_atom_the_beam_has_never_seen_4711")


def python_types():
    import datetime
    return {
        "set": {1, 2},
        "date": datetime.date(2026, 11, 21),
        "datetime": datetime.datetime(2026, 11, 21, 10, 0, tzinfo=datetime.timezone.utc),
        "naive": datetime.datetime(2026, 11, 21, 10, 0),
        "time": datetime.time(10, 11, 12),
        "complex": complex(1, -2),
        "inf": float("inf"),
        "tuple": (1, "a"),
    }


__snakebridge_helpers__.update({
    "test.slow_counting": slow_counting,
    "test.sized": Sized,
    "test.unknown_atom": unknown_atom,
    "test.python_types": python_types,
})


PRODUCED = {"count": 0}


def tracked(n):
    """Counts how far it has run, so a test can see how far ahead of its consumer it got."""
    PRODUCED["count"] = 0
    for i in range(n):
        PRODUCED["count"] += 1
        yield i


def produced():
    return PRODUCED["count"]


def failing(n):
    yield from range(n)
    raise ValueError(f"failed after {n} items")


async def agen(n):
    import asyncio
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def async_add(a, b):
    import asyncio
    await asyncio.sleep(0.01)
    return a + b


def blobs(n, size):
    return (bytes([i % 256]) * size for i in range(n))


# -- callbacks and messages (callbacks_test.exs) --------------------------------

STORED_FUNS = []


def apply_fun(fun, *args):
    return fun(*args)


def catch_elixir(fun, *args):
    import snakeport

    try:
        return {"value": fun(*args)}
    except snakeport.ElixirError as exc:
        return {"kind": exc.kind, "type": exc.elixir_type, "message": exc.message}


def store_fun(fun):
    STORED_FUNS.append(fun)
    return True


def call_stored(*args):
    return STORED_FUNS[-1](*args)


def apply_to_objects(fun, n):
    return [fun(Counter(i)) for i in range(n)]


class Counter:
    def __init__(self, start):
        self.count = start

    def bump(self):
        self.count += 1
        return self.count


def progress(caller, n):
    """A long job that reports its progress to the caller (the docs' example)."""
    import snakeport

    total = 0
    for i in range(1, n + 1):
        total += i  # the work
        snakeport.send(caller, (snakeport.Atom("progress"), i, n))
    return total


def send_until_refused(pid, seconds):
    import snakeport

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            snakeport.send(pid, "hello")
        except snakeport.ProcessNotAliveError as exc:
            return str(exc)
        time.sleep(0.005)
    return "never refused"


# -- concurrency (concurrency_test.exs) -----------------------------------------


def c_sleep(seconds):
    """Sleep in C: the adapter's interrupt cannot stop it (a stuck call)."""
    import ctypes

    ctypes.CDLL(None).sleep(int(seconds))
    return "woke"


def on_main_thread():
    import threading

    return threading.current_thread() is threading.main_thread()


# -- arrays as tensors (tensor_test.exs) ------------------------------------------


def arange(n, dtype):
    import numpy

    return numpy.arange(n, dtype=dtype)


def array_of(values, dtype, shape):
    import numpy

    return numpy.array(values, dtype=dtype).reshape(shape)


def arrays_nested():
    import numpy

    return {"a": numpy.zeros((2, 2), dtype="int32"), "list": [numpy.ones(3, dtype="uint8"), 7]}


def describe_array(array):
    """What Python received: the type, dtype, shape, writeable flag and values."""
    return {
        "type": type(array).__name__,
        "dtype": str(array.dtype),
        "shape": tuple(array.shape),
        "writeable": bool(array.flags.writeable),
        "values": array.tolist(),
    }


def timestamps():
    import pandas

    return {
        "aware": pandas.Timestamp("2026-03-01 10:00:00.123456+01:00"),
        "utc": pandas.Timestamp("2026-03-01 09:00:00.5", tz="UTC"),
        "negative": pandas.Timestamp("2026-03-01 10:00:00-05:30"),
        "naive": pandas.Timestamp("2026-03-01 10:00:00.000250"),
        "nat": pandas.NaT,
    }


def numpy_scalars():
    import numpy

    return [numpy.int64(3), numpy.float32(0.5), numpy.bool_(True), numpy.uint8(255)]


def isoformat(value):
    return value.isoformat()


def with_timeout(timeout=None):
    return f"timeout={timeout}"
