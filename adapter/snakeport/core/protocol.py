"""The envelope, both ways, without I/O.

Incoming frames are tuples tagged by an atom; ``parse`` turns a decoded term
into one of the message classes below (``match`` on them) or raises
``EnvelopeError``, carrying the request id when one could be read so the
client can be answered.  ``peek_id`` reads the tag and id of a frame from
its first bytes, for frames whose body cannot be decoded.  The builders
return the terms to encode for outgoing frames.
"""

from __future__ import annotations

from .etf import tags
from .show import brief
from .terms import Atom, Pid

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = [
    "CALLBACK",
    "CHUNK",
    "KNOWN",
    "PROTOCOL_VERSION",
    "SEND",
    "STUCK",
    "Call",
    "CallbackReply",
    "Cancel",
    "Credit",
    "EnvelopeError",
    "Message",
    "SendFailed",
    "is_send_failed",
    "parse",
    "peek_id",
    "protocol_error",
    "ready",
    "reply_error",
    "reply_ok",
    "startup_error",
]

PROTOCOL_VERSION = 1

READY = Atom("ready")
REPLY = Atom("reply")
OK = Atom("ok")
ERROR = Atom("error")
PROTOCOL_ERROR = Atom("protocol_error")
STARTUP_ERROR = Atom("startup_error")
CHUNK = Atom("chunk")
CALLBACK = Atom("callback")
SEND = Atom("send")
STUCK = Atom("stuck")


class _Message:
    """An incoming envelope: compared and shown by its fields."""

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._fields() == self._fields()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._fields()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self._fields()!r}"


class Call(_Message):
    """``{:call, Id, Request}``: run one request."""

    __slots__ = ("id", "request")
    __match_args__ = ("id", "request")

    def __init__(self, request_id: int, request: dict[str, Any]) -> None:
        self.id = request_id
        self.request = request


class Cancel(_Message):
    """``{:cancel, Id}``: cancel request or push stream ``Id``."""

    __slots__ = ("id",)
    __match_args__ = ("id",)

    def __init__(self, request_id: int) -> None:
        self.id = request_id


class Credit(_Message):
    """``{:credit, Id, N}``: push stream ``Id`` may send ``N`` more chunks."""

    __slots__ = ("amount", "id")
    __match_args__ = ("id", "amount")

    def __init__(self, request_id: int, amount: int) -> None:
        self.id = request_id
        self.amount = amount


class CallbackReply(_Message):
    """``{:callback_reply, CbId, {:ok, V} | {:error, Reason}}``."""

    __slots__ = ("id", "ok", "value")
    __match_args__ = ("id", "ok", "value")

    def __init__(self, callback_id: int, ok: bool, value: Any) -> None:
        self.id = callback_id
        self.ok = ok
        self.value = value


class SendFailed(_Message):
    """``{:send_failed, Pid, Reason}``: the worker could not deliver a ``{:send, ...}`` to ``Pid``."""

    __slots__ = ("pid", "reason")
    __match_args__ = ("pid", "reason")

    def __init__(self, pid: Pid, reason: str) -> None:
        self.pid = pid
        self.reason = reason


Message = Call | Cancel | Credit | CallbackReply | SendFailed

KNOWN = (
    "{:call, Id, Request}, {:cancel, Id}, {:credit, Id, N}, {:callback_reply, CbId, Result}, "
    "{:send_failed, Pid, Reason}"
)

# How the BEAM encodes the tag of {:send_failed, _, _}: UTF-8 small atom (OTP 26+) or latin-1 atom.
_SEND_FAILED_HEADS = (b"\x83h\x03w\x0bsend_failed", b"\x83h\x03d\x00\x0bsend_failed")


def is_send_failed(frame: object) -> bool:
    """Whether ``frame`` (bytes, or anything else read) is a send_failed notice, told from its first bytes."""
    return isinstance(frame, (bytes, bytearray)) and frame.startswith(_SEND_FAILED_HEADS)


class EnvelopeError(Exception):
    """A frame that is not a valid envelope; ``request_id`` if one was readable."""

    def __init__(self, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


def parse(term: Any) -> Message:
    """Read one incoming envelope."""
    if type(term) is not tuple or not term or type(term[0]) is not Atom:
        raise EnvelopeError(f"a frame must be a tuple tagged by an atom, got {brief(term)}")
    tag, size = term[0], len(term)
    request_id = term[1] if size > 1 and type(term[1]) is int and term[1] >= 0 else None
    if tag == "call":
        if size != 3 or request_id is None:
            raise EnvelopeError("expected {:call, Id, Request} with a non-negative integer Id", request_id)
        if type(term[2]) is not dict:
            raise EnvelopeError(f"the request must be a map, got {brief(term[2])}", request_id)
        return Call(request_id, term[2])
    if tag == "cancel" and size == 2 and request_id is not None:
        return Cancel(request_id)
    if tag == "credit" and size == 3 and request_id is not None and type(term[2]) is int and term[2] >= 0:
        return Credit(request_id, term[2])
    if tag == "callback_reply" and size == 3 and request_id is not None:
        result = term[2]
        if type(result) is tuple and len(result) == 2 and result[0] in ("ok", "error"):
            return CallbackReply(request_id, result[0] == "ok", result[1])
    if tag == "send_failed" and size == 3 and type(term[1]) is Pid:
        return SendFailed(term[1], term[2] if isinstance(term[2], str) else brief(term[2]))
    raise EnvelopeError(f"unknown or malformed envelope {brief(term)}; expected one of {KNOWN}", None)


def peek_id(frame: bytes | bytearray | memoryview) -> tuple[str, int] | None:
    """The tag and id of ``{:tag, Id, ...}`` read from a frame's first bytes; None if they are not there.

    For a frame whose body does not decode: ``{:call, 7, <garbage>}`` can
    still be answered as request 7.  Only uncompressed frames are read.
    """
    try:
        if frame[0] != tags.VERSION or frame[1] not in (tags.SMALL_TUPLE, tags.LARGE_TUPLE):
            return None
        pos = 3 if frame[1] == tags.SMALL_TUPLE else 6
        start, size, latin1 = tags.atom_header(frame, pos)
        tag = bytes(frame[start : start + size]).decode("latin-1" if latin1 else "utf-8")
        pos = start + size
        if frame[pos] == tags.SMALL_INTEGER:
            return tag, frame[pos + 1]
        if frame[pos] == tags.INTEGER:
            value = int.from_bytes(frame[pos + 1 : pos + 5], "big", signed=True)
            if len(frame) >= pos + 5 and value >= 0:
                return tag, value
    except (IndexError, ValueError, UnicodeDecodeError):
        pass
    return None


def ready(info: dict[str, Any]) -> tuple[Any, ...]:
    return (READY, info)


def reply_ok(request_id: int, value: Any) -> tuple[Any, ...]:
    return (REPLY, request_id, (OK, value))


def reply_error(request_id: int, error: dict[str, Any]) -> tuple[Any, ...]:
    return (REPLY, request_id, (ERROR, error))


def protocol_error(error: dict[str, Any]) -> tuple[Any, ...]:
    return (PROTOCOL_ERROR, error)


def startup_error(error: dict[str, Any]) -> tuple[Any, ...]:
    return (STARTUP_ERROR, error)
