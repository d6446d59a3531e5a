"""The public name of the codec: ``from snakeport import etf`` (see ``snakeport.core.etf``)."""

from __future__ import annotations

from .core.etf import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_SIZE,
    IMPLEMENTATION,
    IMPLEMENTATIONS,
    DecodeError,
    EncodeError,
    decode,
    encode,
    encode_pieces,
)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_SIZE",
    "IMPLEMENTATION",
    "IMPLEMENTATIONS",
    "DecodeError",
    "EncodeError",
    "decode",
    "encode",
    "encode_pieces",
]
