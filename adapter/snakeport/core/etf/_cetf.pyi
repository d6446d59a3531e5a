"""Type stub for the native codec (``_cetf.c``): the pure codec's signatures."""

from collections.abc import Callable
from typing import Any

def decode(
    data: bytes | bytearray | memoryview,
    *,
    max_depth: int = ...,
    max_size: int = ...,
    tag_hook: Callable[[dict[Any, Any]], Any] | None = None,
) -> Any: ...
def encode(
    term: Any,
    *,
    default: Callable[[Any], Any] | None = None,
    compress_above: int | None = None,
    compress_level: int = 6,
    max_depth: int = ...,
) -> bytes: ...
def encode_pieces(
    term: Any,
    *,
    default: Callable[[Any], Any] | None = None,
    compress_above: int | None = None,
    compress_level: int = 6,
    max_depth: int = ...,
) -> list[Any]: ...
