"""The adapter's state machine, without I/O: frames in, frames out.

In the spirit of h11's ``Connection``: every decision lives here (the inbox
of frames read but not handled, the requests running, push streams and
their credit, callbacks waiting for the BEAM, cancellations), and the edge
is a short loop around it.  What the engine needs from outside is injected:

* ``runner``: the runtime (``snakeport.runtime.runner.Runner``): decodes a
  frame with its refs, runs a request, encodes replies;
* ``write(pieces)``: sends one frame given as byte pieces;
* ``source(block)``: called when the engine needs more input (idle, or
  waiting for a callback's reply); it feeds bytes or frames in with
  ``feed``/``receive`` and returns False at the end of input.

Single-threaded and re-entrant: when user code calls an Elixir fun, the
engine sends ``{:callback, ...}`` and goes on taking frames from the same
inbox, in order, until the reply arrives; requests that come meanwhile are
served one level deeper.  No frame, fault or reply ends the engine: each
frame gets an answer or a protocol error (``handle`` never raises, except
to stop because the BEAM is gone).
"""

from __future__ import annotations

from collections import deque

from . import etf, protocol
from .callbacks import CallbackTable, result_of
from .errors import BeamGoneError, CallbackDepthError, Cancelled, ProtocolError, describe, error_map
from .framing import FrameBuffer, Oversize
from .protocol import CALLBACK, CHUNK, SEND, Call, CallbackReply, Cancel, Credit, SendFailed

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from collections.abc import Callable
    from typing import Any, Protocol

    from ..runtime.request import Origin
    from ..runtime.runner import Runner
    from ..runtime.streams import PushStream
    from .framing import Frame
    from .terms import Fun, Pid

    class Recorder(Protocol):
        def record(self, direction: bytes, payload: bytes | bytearray) -> None: ...

    class Lock(Protocol):
        def __enter__(self) -> Any: ...

        def __exit__(self, *exc: Any) -> Any: ...


__all__ = ["DEFAULT_MAX_CALLBACK_DEPTH", "Engine", "Running"]

# Protocol errors logged one by one; after these, every 1000th.
_LOGGED_PROTOCOL_ERRORS = 20

#: Elixir funs called from Python calling Python again, nested this deep at most.
DEFAULT_MAX_CALLBACK_DEPTH = 50

# What goes out when even an error cannot be encoded: {:protocol_error, %{...}}.
_LAST_RESORT = etf.encode(
    protocol.protocol_error(
        {
            "type": "ProtocolError",
            "module": "snakeport.core.errors",
            "message": "a frame could not be answered (the error itself could not be encoded)",
            "traceback": "",
            "context": {},
        }
    )
)


class Running:
    """A request being run: its id, where refs made for it live, whether the client cancelled it."""

    __slots__ = ("cancelled", "context", "id", "origin")

    def __init__(self, request_id: int, origin: Origin, context: dict[str, Any]) -> None:
        self.id = request_id
        self.origin = origin
        self.context = context
        self.cancelled = False


class Engine:
    """Serves one connection: the frames of one BEAM worker."""

    def __init__(
        self,
        runner: Runner,
        write: Callable[[list[Any]], None],
        source: Callable[[bool], bool] | None = None,
        *,
        max_frame_bytes: int = etf.DEFAULT_MAX_SIZE,
        recorder: Recorder | None = None,
        warn: Callable[[str], None] | None = None,
        max_callback_depth: int = DEFAULT_MAX_CALLBACK_DEPTH,
        lock: Lock | None = None,
        thread_ident: Callable[[], int] | None = None,
    ) -> None:
        self.runner = runner
        self.write = write
        self.source = source
        self.recorder = recorder
        self.warn = warn or _ignore
        self.max_callback_depth = max_callback_depth
        self.framer = FrameBuffer(max_frame_bytes)
        self.inbox: deque[Frame] = deque()  # read, not yet handled
        # The frame handled last, kept until the next one is handled: freed
        # earlier, a big frame's buffer sits at the top of the heap and glibc
        # returns it to the kernel, so every big frame faults its pages in
        # anew (measured: 270x the page faults, half the speed at 1 MB).
        self.previous: Frame = b""
        self.ended = False  # the input has ended
        self.stack: list[Running] = []  # the requests running now, innermost last
        self.pushing: dict[int, PushStream] = {}  # request id -> push stream
        self.callbacks = CallbackTable()
        self.callback_depth = 0  # callbacks waiting, nested
        self.frames_out = 0
        self.bytes_out = 0
        self.protocol_errors = 0
        # Held while a frame is written: user threads send too (snakeport.send).
        self.out_lock: Lock = lock if lock is not None else _NoLock()
        # Which thread runs the loop (only it may wait for a callback's reply).
        self.thread_ident = thread_ident
        self.loop_thread = thread_ident() if thread_ident is not None else None

    # -- input ---------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes from the wire: the frames they complete go to the inbox."""
        self.inbox.extend(self.framer.feed(data))

    def filled(self, count: int) -> None:
        """``count`` bytes were read straight into ``framer.space()``."""
        self.inbox.extend(self.framer.filled(count))

    def receive(self, frames: list[Frame]) -> None:
        """Whole frames (without their length headers) for the inbox."""
        for frame in frames:
            self.framer.frames += 1
            self.framer.bytes += 4 + (frame.size if isinstance(frame, Oversize) else len(frame))
        self.inbox.extend(frames)

    def end(self) -> None:
        """The input has ended: no more frames will come."""
        self.ended = True

    # -- the loop --------------------------------------------------------------

    def start(self, info: dict[str, Any]) -> None:
        """Send ``{:ready, info}``: the first frame of every session."""
        self.send([etf.encode(protocol.ready(info))])

    def serve(self) -> None:
        """Handle frames until the input ends."""
        while self.step():
            pass

    def step(self) -> bool:
        """Handle the next frame (asking the source for input when none is here); False at the end."""
        if not self.inbox and not self._fill(block=not self.has_credit()):
            return False
        if self.inbox:
            self.previous = frame = self.inbox.popleft()
            self.handle(frame)
            del frame
        if not self.inbox:
            self.pump()
        return True

    def _fill(self, block: bool) -> bool:
        """Ask the source for input; False once the input has ended."""
        if self.ended or self.source is None:
            self.ended = True
            return False
        if not self.source(block):
            self.ended = True
            return bool(self.inbox)
        return True

    def has_credit(self) -> bool:
        return any(stream.credit > 0 for stream in self.pushing.values())

    # -- one frame -------------------------------------------------------------

    def handle(self, frame: Frame) -> None:
        """Answer one incoming frame, whatever it holds; never raises (but to stop: BeamGoneError)."""
        try:
            self._handle(frame)
        except (BeamGoneError, BrokenPipeError, ConnectionResetError):
            raise  # nobody is left to answer
        except BaseException as exc:  # the last resort: the frame still gets an answer
            self._last_resort(frame, exc)

    def _handle(self, frame: Frame) -> None:
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
        try:
            term, handles = self.runner.decode(frame, self.framer.max_frame_bytes)
        except etf.DecodeError as exc:
            self._undecodable(frame, exc)
            return
        try:
            message = protocol.parse(term)
        except protocol.EnvelopeError as exc:
            self.fail(exc.request_id, ProtocolError(str(exc)))
            return
        match message:
            case Call(request_id, fields):
                self.call(request_id, fields, handles)
            case Credit(request_id, amount):
                stream = self.pushing.get(request_id)
                if stream is not None:
                    stream.credit += amount
            case Cancel(request_id):
                self.cancel(request_id)
            case SendFailed(pid, reason):
                self.callbacks.mark_dead(pid, reason)
            case CallbackReply(callback_id, ok, value):
                if not self.callbacks.answer(callback_id, ok, value, bool(handles)):
                    self.fail(
                        None,
                        ProtocolError(f"callback reply for id {callback_id}, but no callback is waiting"),
                    )

    def _undecodable(self, frame: bytes | bytearray, exc: etf.DecodeError) -> None:
        """A frame whose term does not decode: answer by its id when its head is readable."""
        head = protocol.peek_id(frame)
        if head is not None and head[0] == "call":
            self.fail(head[1], ProtocolError(f"request {head[1]} could not be decoded: {exc}"))
        elif head is not None and head[0] == "callback_reply" and head[1] in self.callbacks.waiting:
            # The waiting callback fails at once, rather than waiting for ever.
            error = {
                "kind": "error",
                "type": "DecodeError",
                "message": f"the reply could not be decoded: {exc}",
            }
            self.callbacks.answer(head[1], False, error, False)
        else:
            self.fail(None, ProtocolError(f"frame could not be decoded: {exc}"))

    def _last_resort(self, frame: Frame, exc: BaseException) -> None:
        head = protocol.peek_id(frame) if isinstance(frame, (bytes, bytearray)) else None
        request_id = head[1] if head is not None and head[0] == "call" else None
        try:
            self.fail(request_id, ProtocolError(f"the adapter failed on this frame: {describe(exc)[:500]}"))
        except (BeamGoneError, BrokenPipeError, ConnectionResetError):
            raise
        except BaseException:
            self.send([_LAST_RESORT])

    # -- requests --------------------------------------------------------------

    def call(self, request_id: int, fields: dict[str, Any], handles: list[Any]) -> None:
        """Run one request and send its reply (or start its push stream)."""
        running: Running | None = None
        try:
            if any(r.id == request_id for r in self.stack) or request_id in self.pushing:
                raise ProtocolError(f"request id {request_id} is already in use by a request still running")
            request = self.runner.request(fields, handles)
            running = Running(request_id, request.origin(), request.context())
            self.stack.append(running)
            try:
                outcome = self.runner.run(request)
            finally:
                self.stack.pop()
            if outcome.push:
                self.pushing[request_id] = self.runner.push_stream(request_id, request, outcome)
                return
            pieces = self.runner.reply(lambda value: protocol.reply_ok(request_id, value), outcome)
        except BaseException as exc:  # user code may raise SystemExit or KeyboardInterrupt: still a reply
            self.fail(request_id, exc, running.context if running is not None else {"call_type": None})
            return
        self.send(pieces)

    def cancel(self, request_id: int) -> None:
        """``{:cancel, Id}``: a push stream is closed; a request waiting for a callback stops waiting."""
        stream = self.pushing.pop(request_id, None)
        if stream is not None:
            self.fail(request_id, Cancelled(f"push stream {request_id} cancelled by the client"))
            self._close(stream)
            return
        for running in self.stack:
            if running.id == request_id:
                running.cancelled = True  # raised where it waits for a callback
        # A cancel for a request that has ended has nothing to cancel.

    def pump(self) -> None:
        """One chunk for every push stream that has credit (then requests get a turn)."""
        for stream in [s for s in self.pushing.values() if s.credit > 0]:
            running = Running(stream.request_id, stream.origin, {"call_type": "stream"})
            self.stack.append(running)
            try:
                try:
                    items, ended = stream.chunk()
                finally:
                    self.stack.pop()
                self.send(self.runner.encode((CHUNK, stream.request_id, items), stream.origin))
            except (BeamGoneError, BrokenPipeError, ConnectionResetError):
                raise
            except BaseException as exc:  # the generator failed: after the chunks it made
                self.pushing.pop(stream.request_id, None)
                self.fail(
                    stream.request_id, exc, {"call_type": "stream", "session_id": stream.origin.session_id}
                )
                continue
            if ended:
                self.pushing.pop(stream.request_id, None)
                self.send([etf.encode(protocol.reply_ok(stream.request_id, "done"))])

    def _close(self, stream: PushStream) -> None:
        """Close a cancelled stream's generator (its ``finally`` runs)."""
        try:
            stream.close()
        except Exception as exc:
            self.warn(f"closing a cancelled stream failed: {describe(exc)[:500]}")

    # -- what user code reaches (through core.link) ---------------------------

    def run_callback(self, fun: Fun, args: tuple[Any, ...]) -> Any:
        """Have the BEAM run ``fun(*args)``; serve other frames until it answers."""
        if self.thread_ident is not None and self.thread_ident() != self.loop_thread:
            raise RuntimeError("Elixir funs can be called only from the adapter's main thread")
        if self.callback_depth >= self.max_callback_depth:
            raise CallbackDepthError(
                f"Elixir funs and Python calls are nested {self.callback_depth} deep, the most allowed "
                f"(--max-callback-depth {self.max_callback_depth})"
            )
        running = self.stack[-1] if self.stack else None
        origin = running.origin if running is not None else self.runner.default_origin
        callback_id = self.callbacks.open()
        self.callback_depth += 1
        try:
            self.send(self.runner.encode((CALLBACK, callback_id, fun, list(args)), origin))
            while (answer := self.callbacks.waiting[callback_id]) is None:
                if running is not None and running.cancelled:
                    raise Cancelled(f"request {running.id} cancelled by the client in callback {callback_id}")
                if not self.step():
                    raise BeamGoneError(f"the BEAM closed the port while callback {callback_id} waited")
        finally:
            self.callback_depth -= 1
            self.callbacks.close(callback_id)
        ok, value, has_refs = answer
        return result_of(ok, self.runner.resolve_all(value) if has_refs else value)

    def send_message(self, pid: Pid, term: Any) -> None:
        """``{:send, Pid, Term}``: the worker delivers ``term`` with ``send/2``."""
        if self.thread_ident is None or self.thread_ident() == self.loop_thread:
            self._take_send_failed()
        self.callbacks.check_alive(pid)
        origin = self.stack[-1].origin if self.stack else self.runner.default_origin
        self.send(self.runner.encode((SEND, pid, term), origin))

    def _take_send_failed(self) -> None:
        """Handle the ``{:send_failed, ...}`` notices that have arrived, ahead of other frames.

        A running call reads no frames, but it must learn that a pid it sends
        to is dead; the notice concerns whatever sends to that pid next, not
        the order of requests.  (When the loop is idle, notices are simply
        handled in turn.)
        """
        if not self.ended and self.source is not None and not self.source(False):
            self.ended = True
        if any(protocol.is_send_failed(frame) for frame in self.inbox):
            notices = [frame for frame in self.inbox if protocol.is_send_failed(frame)]
            kept = [frame for frame in self.inbox if not protocol.is_send_failed(frame)]
            self.inbox.clear()
            self.inbox.extend(kept)
            for notice in notices:
                self.handle(notice)

    # -- output ------------------------------------------------------------------

    def fail(self, request_id: int | None, exc: BaseException, context: dict[str, Any] | None = None) -> None:
        """Send an error: a reply when the request id is known, else a protocol error."""
        error = error_map(exc, context or {})
        if request_id is None:
            self.protocol_errors += 1
            count = self.protocol_errors
            if count <= _LOGGED_PROTOCOL_ERRORS or count % 1000 == 0:  # a hostile peer must not flood stderr
                more = "" if count <= _LOGGED_PROTOCOL_ERRORS else f" (error {count}: every 1000th is shown)"
                self.warn(f"protocol error: {error['message']}{more}")
        try:
            payload = _error_frame(request_id, error)
        except etf.EncodeError:  # e.g. a message with a lone surrogate: say it escaped
            payload = _error_frame(request_id, _escaped(error))
        self.send([payload])

    def send(self, pieces: list[Any]) -> None:
        """Write one frame given as byte pieces (see ``etf.encoder.encode_pieces``)."""
        with self.out_lock:
            if self.recorder is not None:
                self.recorder.record(b"o", b"".join(pieces))
            self.write(pieces)
            self.frames_out += 1
            self.bytes_out += sum(map(len, pieces)) + 4

    def counters(self) -> dict[str, int]:
        """Frames and bytes in and out, for the ``stats`` call type."""
        return {
            "frames_in": self.framer.frames,
            "frames_out": self.frames_out,
            "bytes_in": self.framer.bytes,
            "bytes_out": self.bytes_out,
            "protocol_errors": self.protocol_errors,
        }


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


def _ignore(message: str) -> None:
    pass


class _NoLock:
    """A lock for an engine that only one thread touches (contextlib costs 4 ms of a start)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
