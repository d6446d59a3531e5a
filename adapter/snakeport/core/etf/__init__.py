"""The Erlang external term format codec: ``encode`` and ``decode``.

This module is the boundary every other part of SnakePort uses.  It binds
the implementation: the pure-Python one in ``decoder``/``encoder`` today; a
native accelerator with identical behaviour can be bound here later, and the
test suite runs against every entry of ``IMPLEMENTATIONS``.  Set
``SNAKEPORT_PURE_CODEC=1`` to force the pure one.
"""

from __future__ import annotations

from types import SimpleNamespace

from .decoder import DEFAULT_MAX_DEPTH, DEFAULT_MAX_SIZE, decode
from .encoder import encode
from .errors import DecodeError, EncodeError

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_SIZE",
    "IMPLEMENTATION",
    "IMPLEMENTATIONS",
    "DecodeError",
    "EncodeError",
    "decode",
    "encode",
]

#: Every available implementation, by name, each with ``encode`` and ``decode``.
IMPLEMENTATIONS = {
    "pure": SimpleNamespace(encode=encode, decode=decode),
}

#: The implementation ``encode``/``decode`` here are bound to.
IMPLEMENTATION = "pure"
