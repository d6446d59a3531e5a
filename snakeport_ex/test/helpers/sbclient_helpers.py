"""Python fixtures for the SnakePort.SnakeBridgeClient contract tests (on PYTHONPATH)."""

import re

CLOSED = []


def closed():
    return list(CLOSED)


def counting(n, tag):
    """0..n-1, recording ``tag`` in CLOSED when the generator is closed or ends."""
    try:
        yield from range(n)
    finally:
        CLOSED.append(tag)


def mixed_items():
    """One item of each shape a chunk must carry unchanged."""
    yield {"a": 1}
    yield {"data": 2}
    yield "text"
    yield None
    yield (1, "two")
    yield re.compile("x+")


def fails_after(n):
    yield from range(n)
    raise ValueError(f"failed after {n}")


def echo(value):
    return value


def kinds(values):
    """The Python type name of each value, to see how arguments arrived."""
    return [type(value).__name__ for value in values]


def call_with_pattern(fun):
    """Call an Elixir fun with an object that must travel as a ref."""
    return fun(re.compile("a+b"))


def int_keys():
    return {1: "one", (2, 3): "pair"}
