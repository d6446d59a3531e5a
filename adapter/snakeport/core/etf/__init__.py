"""The Erlang external term format codec: ``encode``, ``decode``, ``encode_pieces``.

This module is the boundary every other part of SnakePort uses.  It binds
the implementation: the native accelerator (``_cetf``, a C extension with
the pure codec's exact behaviour) when it was built, else the pure-Python
one in ``decoder``/``encoder``.  The test suite runs against every entry of
``IMPLEMENTATIONS``.  ``bind(name)`` binds another one; the package
``snakeport`` does so at import when ``SNAKEPORT_PURE_CODEC=1`` is set (the
core reads no environment).
"""

from __future__ import annotations

from types import SimpleNamespace

from . import decoder as _decoder
from . import encoder as _encoder
from .decoder import DEFAULT_MAX_DEPTH, DEFAULT_MAX_SIZE
from .errors import DecodeError, EncodeError

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_SIZE",
    "IMPLEMENTATION",
    "IMPLEMENTATIONS",
    "DecodeError",
    "EncodeError",
    "bind",
    "decode",
    "encode",
    "encode_pieces",
]

#: Every available implementation, by name, each with ``encode``,
#: ``encode_pieces`` and ``decode``.
IMPLEMENTATIONS = {
    "pure": SimpleNamespace(
        encode=_encoder.encode, encode_pieces=_encoder.encode_pieces, decode=_decoder.decode
    ),
}

try:
    from . import _cetf
except ImportError:  # not built (no compiler when installed): the pure codec serves
    pass
else:
    IMPLEMENTATIONS["native"] = SimpleNamespace(
        encode=_cetf.encode, encode_pieces=_cetf.encode_pieces, decode=_cetf.decode
    )

#: The implementation ``encode``/``decode``/``encode_pieces`` here are bound to.
IMPLEMENTATION = "native" if "native" in IMPLEMENTATIONS else "pure"

TYPE_CHECKING = False
if TYPE_CHECKING:  # every implementation has the pure one's signatures
    from .decoder import decode as decode
    from .encoder import encode as encode
    from .encoder import encode_pieces as encode_pieces
else:
    _bound = IMPLEMENTATIONS[IMPLEMENTATION]
    encode = _bound.encode
    encode_pieces = _bound.encode_pieces
    decode = _bound.decode
    del _bound


def bind(name: str) -> None:
    """Make ``encode``/``decode``/``encode_pieces`` here those of implementation ``name``.

    Call it before other modules take the names (``snakeport`` does, at import).
    """
    global IMPLEMENTATION, encode, encode_pieces, decode
    chosen = IMPLEMENTATIONS[name]
    IMPLEMENTATION = name
    encode, encode_pieces, decode = chosen.encode, chosen.encode_pieces, chosen.decode
