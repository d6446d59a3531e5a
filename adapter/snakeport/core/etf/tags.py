"""Tag bytes of the Erlang external term format (erts-13, OTP 24-27).

Names follow the ETF documentation (``erl_ext_dist``), without ``_EXT``.
"""

from __future__ import annotations

VERSION = 131

NEW_FLOAT = 70
BIT_BINARY = 77
COMPRESSED = 80
ATOM_CACHE_REF = 82
DIST_HEADER = 68
DIST_FRAG_HEADER = 69
NEW_PID = 88
NEW_PORT = 89
NEWER_REFERENCE = 90
SMALL_INTEGER = 97
INTEGER = 98
FLOAT = 99
ATOM = 100
REFERENCE = 101
PORT = 102
PID = 103
SMALL_TUPLE = 104
LARGE_TUPLE = 105
NIL = 106
STRING = 107
LIST = 108
BINARY = 109
SMALL_BIG = 110
LARGE_BIG = 111
NEW_FUN = 112
EXPORT = 113
NEW_REFERENCE = 114
SMALL_ATOM = 115
MAP = 116
FUN = 117
ATOM_UTF8 = 118
SMALL_ATOM_UTF8 = 119
V4_PORT = 120
LOCAL = 121

#: Tags that are valid ETF somewhere but never in a term handed to us, with
#: the reason given back in the error.
UNSUPPORTED = {
    LOCAL: "LOCAL_EXT is only valid inside the VM that made it",
    ATOM_CACHE_REF: "ATOM_CACHE_REF only appears in distribution messages",
    DIST_HEADER: "a distribution header is not a term",
    DIST_FRAG_HEADER: "a distribution fragment header is not a term",
    FUN: "FUN_EXT was removed in OTP R15",
}

_ATOM_TAGS = {ATOM: (2, True), SMALL_ATOM: (1, True), ATOM_UTF8: (2, False), SMALL_ATOM_UTF8: (1, False)}


def atom_header(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int, bool]:
    """Read the atom whose tag is at ``pos``: (where its text starts, its length in bytes, latin-1?).

    The one reader of atom headers outside the decoder's hot loop (opaque
    terms, the envelope's tag, rendering).  Raises ``ValueError`` when there
    is no atom tag at ``pos`` and ``IndexError`` when the bytes stop short.
    """
    tag = buf[pos]
    width, latin1 = _ATOM_TAGS.get(tag, (0, False))
    if not width:
        raise ValueError(f"tag {tag} at byte {pos} is not an atom")
    size = buf[pos + 1] if width == 1 else (buf[pos + 1] << 8) | buf[pos + 2]
    start = pos + 1 + width
    if start + size > len(buf):
        raise IndexError(f"atom at byte {pos} runs past the end")
    return start, size, latin1
