"""The public name of the term types: ``from snakeport.terms import Atom, Pid`` (``snakeport.core.terms``)."""

from __future__ import annotations

from .core.terms import (
    Atom,
    BitString,
    FrozenMap,
    Fun,
    HashableList,
    ImproperList,
    Opaque,
    Pid,
    Port,
    Reference,
)

__all__ = [
    "Atom",
    "BitString",
    "FrozenMap",
    "Fun",
    "HashableList",
    "ImproperList",
    "Opaque",
    "Pid",
    "Port",
    "Reference",
]
