"""The adapter's main loop: frames in, requests run, replies out.

Single-threaded: each frame is decoded, dispatched and answered in turn on
the main thread (where numpy, torch and GUI toolkits expect to be called).
A failure in one request becomes that request's error reply; a frame that
cannot be read becomes a ``{:protocol_error, ...}``; neither ends the loop.

Re-entrant: when user code calls an Elixir fun, the server sends
``{:callback, ...}`` and goes on taking frames from the same inbox, in
order, until the callback's reply arrives; requests that come meanwhile
(from the fun itself or from other callers) are served one level deeper.
"""

from __future__ import annotations

import _thread
import os
import sys
from collections import deque

from .. import __version__
from ..core import etf, protocol
from ..core.errors import BeamGoneError, Cancelled, ProtocolError, error_map
from ..core.terms import Atom, Fun, Pid
from ..runtime import callbacks
from ..runtime.callbacks import CallbackTable
from ..runtime.dispatch import CALL_TYPES, Dispatcher, Outcome, RefHandle, Request, ref_hook
from ..runtime.serialize import ResultEncoder, stream_type_of
from ..runtime.streams import CHUNK_ITEMS, PushStream
from . import log
from .recorder import Recorder
from .transport import FrameReader, Oversize, Transport

CHUNK = Atom("chunk")
CALLBACK = Atom("callback")
SEND = Atom("send")

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
        self.pushing: dict[int, PushStream] = {}  # request id -> running push stream
        self.reader = FrameReader(transport)
        self.inbox: deque[bytes | bytearray | Oversize] = deque()  # read, not yet handled
        self.ended = False  # the input has ended
        self.previous: bytes | bytearray | Oversize = b""  # the frame handled last (see turn)
        self.callbacks = CallbackTable()
        # The requests running now, innermost last: (id, its Request, or for a
        # push stream where its refs live); read only by callbacks and sends.
        self.running: list[tuple[int, Request | tuple[str, str, str]]] = []
        self.cancelled: set[int] = set()  # running requests the client cancelled
        self.main_thread = _thread.get_ident()
        self.write_lock = _thread.allocate_lock()

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
        """Answer frames until the input ends; push stream chunks go out between them."""
        self.send([etf.encode(protocol.ready(self.ready_info()))])
        callbacks.install(self)
        try:
            while self.turn():
                pass
        finally:
            callbacks.install(None)

    def turn(self) -> bool:
        """Handle the next frame (reading, and waiting if idle, when none is here); False at the end."""
        if not self.inbox and not self.fill(block=not self._has_credit()):
            return False
        if self.inbox:
            # Each frame is kept until the next one is read and released just
            # before that one is handled.  Freed earlier, a big frame's buffer
            # sits at the top of the heap and glibc returns it to the kernel,
            # so every big frame faults its pages in anew (measured: 270x the
            # page faults, half the speed at 1 MB).
            self.previous = frame = self.inbox.popleft()
            self.handle(frame)
            del frame
        if not self.inbox:
            self.pump()
        return True

    def fill(self, block: bool) -> bool:
        """Move the frames that have arrived into the inbox; False once the input has ended."""
        frames = None if self.ended else self.reader.read(block)
        if frames is None:
            self.ended = True
            return False
        self.inbox.extend(frames)
        return True

    def _has_credit(self) -> bool:
        return any(stream.credit > 0 for stream in self.pushing.values())

    def pump(self) -> None:
        """One chunk for every push stream that has credit (then requests get a turn)."""
        for stream in [s for s in self.pushing.values() if s.credit > 0]:
            where = (stream.session_id, stream.python_module, stream.library)
            self.running.append((stream.request_id, where))
            try:
                try:
                    items, ended = stream.chunk()
                finally:
                    self.running.pop()
                self.send(self.encoder.encode((CHUNK, stream.request_id, items), *where))
            except BaseException as exc:  # the generator failed: after the chunks it made
                del self.pushing[stream.request_id]
                self.fail(stream.request_id, exc, {"call_type": "stream", "session_id": stream.session_id})
                continue
            if ended:
                del self.pushing[stream.request_id]
                self.send([etf.encode(protocol.reply_ok(stream.request_id, "done"))])

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
        elif isinstance(message, protocol.Credit):
            stream = self.pushing.get(message.id)
            if stream is not None:
                stream.credit += message.amount
        elif isinstance(message, protocol.Cancel):
            stream = self.pushing.pop(message.id, None)
            if stream is not None:
                self.fail(message.id, Cancelled(f"push stream {message.id} cancelled by the client"))
                _close(stream)
            elif any(request_id == message.id for request_id, _ in self.running):
                self.cancelled.add(message.id)  # raised where it waits for a callback
        elif isinstance(message, protocol.SendFailed):
            self.callbacks.dead[message.pid] = message.reason
        elif not self.callbacks.answer(message.id, message.ok, message.value, bool(handles)):
            self.fail(None, ProtocolError(f"callback reply for id {message.id}, but no callback is waiting"))
        # A cancel or credit for a request that is neither a push stream nor
        # waiting for a callback is ignored: a running Python call cannot be
        # interrupted, and a finished one has nothing to cancel.

    def call(self, call: protocol.Call, handles: list[RefHandle]) -> None:
        request: Request | None = None
        try:
            request = Request(call.request)
            self.running.append((call.id, request))
            try:
                outcome = self.dispatcher.run(request, handles)
            finally:
                self.running.pop()
                self.cancelled.discard(call.id)
            if outcome.push:
                self.pushing[call.id] = self._push_stream(call.id, request, outcome)
                return
            where = (outcome.session_id, outcome.python_module, outcome.library)
            value = self.encoder.make_ref(outcome.value, *where) if outcome.as_ref else outcome.value
            payload = self.encoder.encode(protocol.reply_ok(call.id, value), *where)
        except BaseException as exc:  # user code may raise SystemExit or KeyboardInterrupt: still a reply
            context = request.context() if request is not None else {"call_type": None}
            self.fail(call.id, exc, context)
            return
        self.send(payload)

    def _push_stream(self, request_id: int, request: Request, outcome: Outcome) -> PushStream:
        """Iterate a generator, an iterator or another iterable; any other result is one item.

        SnakeBridge's rule: builtin containers (a list, a dict, a str) and
        context managers are values, sent as one item.
        """
        value = outcome.value
        kind = stream_type_of(value)
        if kind is None:
            iterable = hasattr(type(value), "__iter__") and not isinstance(value, _ONE_ITEM)
            value = iter(value) if iterable and not _is_context_manager(value) else iter((value,))
        loop = self.dispatcher.loop() if kind == "async_generator" else None
        stream = PushStream(
            request_id,
            value,
            request.count("credit", 2),
            outcome.session_id,
            outcome.python_module,
            outcome.library,
            loop,
        )
        stream.max_items = request.count("batch", CHUNK_ITEMS) or CHUNK_ITEMS
        return stream

    def run_callback(self, fun: Fun, args: tuple[Any, ...]) -> Any:
        """Have the BEAM run ``fun(*args)``; serve other frames until it answers."""
        if _thread.get_ident() != self.main_thread:
            raise RuntimeError("Elixir funs can be called only from the adapter's main thread")
        request_id, where = self._innermost()
        callback_id = self.callbacks.open()
        try:
            self.send(self.encoder.encode((CALLBACK, callback_id, fun, list(args)), *where))
            while (answer := self.callbacks.waiting[callback_id]) is None:
                if request_id in self.cancelled:
                    raise Cancelled(f"request {request_id} cancelled by the client in callback {callback_id}")
                if not self.turn():
                    raise BeamGoneError(f"the BEAM closed the port while callback {callback_id} waited")
        finally:
            self.callbacks.close(callback_id)
        ok, value, has_refs = answer
        return callbacks.result_of(ok, self.dispatcher.resolve_all(value) if has_refs else value)

    def _innermost(self) -> tuple[int | None, tuple[str, str, str]]:
        """The request running now (if any) and where refs made for it live."""
        if not self.running:
            return None, ("default", "", "")
        request_id, running = self.running[-1]
        return request_id, running if isinstance(running, tuple) else running.where()

    def _take_send_failed(self) -> None:
        """Handle the ``{:send_failed, ...}`` notices that have arrived, ahead of other frames.

        A running call reads no frames, but it must learn that a pid it sends
        to is dead; the notice concerns whatever sends to that pid next, not
        the order of requests.  (When the loop is idle, notices are simply
        handled in turn.)
        """
        self.fill(block=False)
        notices = [frame for frame in self.inbox if protocol.is_send_failed(frame)]
        if notices:
            kept = [frame for frame in self.inbox if not protocol.is_send_failed(frame)]
            self.inbox.clear()
            self.inbox.extend(kept)
            for notice in notices:
                self.handle(notice)

    def send_message(self, pid: Pid, term: Any) -> None:
        """``{:send, Pid, Term}``: the worker delivers ``term`` with ``send/2``."""
        if _thread.get_ident() == self.main_thread:
            self._take_send_failed()
        self.callbacks.check_alive(pid)
        where = self._innermost()[1]
        self.send(self.encoder.encode((SEND, pid, term), *where))

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
        with self.write_lock:  # snakeport.send may be called from the user's threads
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


def _close(stream: PushStream) -> None:
    """Close a cancelled stream's generator (its ``finally`` runs)."""
    try:
        stream.close()
    except Exception as exc:
        log.error(f"closing a cancelled stream failed: {exc!r}")


# Results a push stream sends as one item rather than iterating.
_ONE_ITEM = (str, bytes, bytearray, memoryview, list, tuple, dict, set, frozenset)


def _is_context_manager(value: Any) -> bool:
    return hasattr(type(value), "__enter__") and hasattr(type(value), "__exit__")
