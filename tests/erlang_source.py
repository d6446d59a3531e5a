"""Test-only: write a Python value as Erlang source text.

The live round trip compares what the BEAM decodes from SnakePort's bytes
with what it evaluates from this text, so this printer must not share any
code with the encoder it checks.
"""

from __future__ import annotations

import math
from typing import Any

from snakeport.terms import Atom, BitString, FrozenMap, HashableList, ImproperList, Opaque


def erlang_source(value: Any) -> str:
    return _source(value) + "."


def _binary(data: bytes) -> str:
    return "<<" + ",".join(str(byte) for byte in data) + ">>"


def _atom(name: str) -> str:
    out = []
    for char in name:
        if char in "'\\":
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append(f"\\x{{{ord(char):x}}}")
    return "'" + "".join(out) + "'"


def _float(number: float) -> str:
    if math.isinf(number):
        return "infinity" if number > 0 else "neg_infinity"
    text = repr(number)
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"({mantissa}e{exponent})" if exponent else f"({mantissa})"


def _source(value: Any) -> str:
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Atom):
        return _atom(value)
    if isinstance(value, int):  # hex: no 4300-digit limit on int -> str
        return f"({'-' if value < 0 else ''}16#{abs(value):x})"
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _binary(value.encode("utf-8"))
    if isinstance(value, (bytes, bytearray)):
        return _binary(bytes(value))
    if isinstance(value, BitString):
        head = ",".join(str(byte) for byte in value.data[:-1])
        last = f"{value.data[-1] >> (8 - value.bits)}:{value.bits}"
        return "<<" + (head + "," if head else "") + last + ">>"
    if isinstance(value, Opaque):
        return "binary_to_term(" + _binary(b"\x83" + value.raw) + ")"
    if isinstance(value, ImproperList):
        return "[" + ",".join(map(_source, value.elements)) + "|" + _source(value.tail) + "]"
    if isinstance(value, (list, HashableList)):
        return "[" + ",".join(map(_source, value)) + "]"
    if isinstance(value, tuple):
        return "{" + ",".join(map(_source, value)) + "}"
    if isinstance(value, (dict, FrozenMap)):
        return "#{" + ",".join(f"{_source(k)} => {_source(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Erlang source for {type(value).__name__}")
