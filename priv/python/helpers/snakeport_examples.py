"""Example helpers shipped with SnakePort (SnakeBridge's helper conventions).

Call them with call_type "helper": ``%{"helper" => "snakeport.echo", "args" => [...]}``.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing (and with it re) costs milliseconds of every adapter start
    from typing import Any


def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Return the arguments as received: shows how terms arrive in Python."""
    return {"args": list(args), "kwargs": kwargs}


def count_with_progress(caller: Any, n: int) -> int:
    """A long job that reports its progress to ``caller`` (an Elixir pid) while it works."""
    import snakeport

    total = 0
    for i in range(1, n + 1):
        total += i * i  # the work
        snakeport.send(caller, (snakeport.Atom("progress"), i, n))
    return total


def runtime_info() -> dict[str, str]:
    """Which Python serves this adapter."""
    return {"python": sys.version.split()[0], "implementation": sys.implementation.name}


__snakebridge_helpers__ = {
    "snakeport.echo": echo,
    "snakeport.count_with_progress": count_with_progress,
    "snakeport.runtime_info": runtime_info,
}
