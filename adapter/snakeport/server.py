"""The adapter's main loop: frames in, requests run, replies out.

Single-threaded: each frame is decoded, dispatched and answered in turn on
the main thread (where numpy, torch and GUI toolkits expect to be called).
A failure in one request becomes that request's error reply; a frame that
cannot be read becomes a ``{:protocol_error, ...}``; neither ends the loop.
"""

from __future__ import annotations

import os
import sys

from . import __version__, etf, log, protocol
from .dispatch import CALL_TYPES, Dispatcher, RefHandle, Request, ref_hook
from .errors import ProtocolError, error_map
from .frames import Recorder
from .serialize import ResultEncoder
from .transport import Oversize, Transport

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["Server"]


class Server:
    """Serves one transport until its input ends."""

    def __init__(
        self,
        transport: Transport,
        dispatcher: Dispatcher,
        encoder: ResultEncoder,
        recorder: Recorder | None = None,
    ) -> None:
        self.transport = transport
        self.dispatcher = dispatcher
        self.encoder = encoder
        self.recorder = recorder

    def ready_info(self) -> dict[str, Any]:
        return {
            "protocol": protocol.PROTOCOL_VERSION,
            "version": __version__,
            "python": sys.version.split()[0],
            "pid": os.getpid(),
            "codec": etf.IMPLEMENTATION,
            "call_types": list(CALL_TYPES),
        }

    def serve(self) -> None:
        self.send([etf.encode(protocol.ready(self.ready_info()))])
        for frame in self.transport.frames():
            self.handle(frame)

    def handle(self, frame: bytes | bytearray | Oversize) -> None:
        """Answer one incoming frame, whatever it holds."""
        if isinstance(frame, Oversize):
            self.fail(
                None,
                ProtocolError(
                    f"frame of {frame.size} bytes is over the {frame.limit}-byte limit "
                    "(--max-frame-bytes); skipped"
                ),
            )
            return
        if self.recorder is not None:
            self.recorder.record(b"i", frame)
        handles: list[RefHandle] = []
        try:
            term = etf.decode(frame, tag_hook=ref_hook(handles))
        except etf.DecodeError as exc:
            self.fail(None, ProtocolError(f"frame could not be decoded: {exc}"))
            return
        try:
            message = protocol.parse(term)
        except protocol.EnvelopeError as exc:
            self.fail(exc.request_id, ProtocolError(str(exc)))
            return
        if isinstance(message, protocol.Call):
            self.call(message, handles)
        elif isinstance(message, protocol.CallbackReply):
            self.fail(None, ProtocolError(f"callback reply for id {message.id}, but no callback is waiting"))
        # Cancel and Credit: every request runs to its end before the next
        # frame is read, so there is nothing in flight to cancel or credit.

    def call(self, call: protocol.Call, handles: list[RefHandle]) -> None:
        request: Request | None = None
        try:
            request = Request(call.request)
            outcome = self.dispatcher.run(request, handles)
            where = (outcome.session_id, outcome.python_module, outcome.library)
            value = self.encoder.make_ref(outcome.value, *where) if outcome.as_ref else outcome.value
            payload = self.encoder.encode(protocol.reply_ok(call.id, value), *where)
        except BaseException as exc:  # user code may raise SystemExit or KeyboardInterrupt: still a reply
            context = request.context() if request is not None else {"call_type": None}
            self.fail(call.id, exc, context)
            return
        self.send(payload)

    def fail(self, request_id: int | None, exc: BaseException, context: dict[str, Any] | None = None) -> None:
        """Send an error: a reply when the request id is known, else a protocol error."""
        error = error_map(exc, context or {})
        if request_id is None:
            log.warning(f"protocol error: {error['message']}")
        try:
            payload = _error_frame(request_id, error)
        except etf.EncodeError:  # e.g. a message with a lone surrogate: say it escaped
            payload = _error_frame(request_id, _escaped(error))
        self.send([payload])

    def send(self, pieces: list[Any]) -> None:
        """Write one frame given as byte pieces (see ``etf.encoder.encode_pieces``)."""
        if self.recorder is not None:
            self.recorder.record(b"o", b"".join(pieces))
        self.transport.write_pieces(pieces)


def _error_frame(request_id: int | None, error: dict[str, Any]) -> bytes:
    term = protocol.protocol_error(error) if request_id is None else protocol.reply_error(request_id, error)
    return etf.encode(term)


def _escaped(error: dict[str, Any]) -> dict[str, Any]:
    def text(value: Any) -> Any:
        return value.encode("utf-8", "backslashreplace").decode() if isinstance(value, str) else value

    return {
        key: ({k: text(v) for k, v in value.items()} if isinstance(value, dict) else text(value))
        for key, value in error.items()
    }
