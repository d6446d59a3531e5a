"""SnakePort: Python for Elixir and Erlang over a Port, speaking the BEAM's own term format.

Inside the adapter, Python code can reach the BEAM that called it: an Elixir
fun passed as an argument is callable, and ``snakeport.send(pid, term)``
sends a message to a process whose pid it was given.
"""

from __future__ import annotations

import os

if os.environ.get("SNAKEPORT_PURE_CODEC", "") not in ("", "0"):  # force the pure-Python codec
    from .core.etf import bind

    bind("pure")

from .core.errors import CallbackDepthError, Cancelled, ElixirError, ProcessNotAliveError
from .core.link import send
from .core.terms import Atom

__version__ = "0.1.0"
__all__ = [
    "Atom",
    "CallbackDepthError",
    "Cancelled",
    "ElixirError",
    "ProcessNotAliveError",
    "__version__",
    "send",
]
