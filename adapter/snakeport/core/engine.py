"""The adapter's state machine, without I/O: frames in, frames out.

In the spirit of h11's ``Connection``: every decision lives here (the inbox
of frames read but not handled, the requests running and queued, push
streams and their credit, callbacks waiting for the BEAM, cancellations,
which thread reads), and the edge is a short loop around it.  What the
engine needs from outside is injected:

* ``runner``: the runtime (``snakeport.runtime.runner.Runner``): decodes a
  frame with its refs, runs a request, encodes replies;
* ``write(pieces)``: sends one frame given as byte pieces;
* ``source(block)``: called when the engine needs more input; it feeds bytes
  or frames in with ``feed``/``receive`` and returns False at the end of
  input;
* ``host``: threads, if any (``Host``): who is calling, waiting and waking,
  interrupting a job's thread, the clock.  Without one the engine is
  single-threaded and re-entrant, as a test drives it.

Work runs where ``core.schedule`` says: inline on the reading thread while
nothing else runs (no hand-off for a lone call), else on another thread.
When user code calls an Elixir fun, the engine sends ``{:callback, ...}``
and the calling thread waits for the reply: the reading thread goes on
reading meanwhile (requests that come are served, one level deeper when
there is one thread for everything), another thread waits to be woken.
No frame, fault or reply ends the engine: each frame gets an answer or a
protocol error (``handle`` never raises, except to stop because the BEAM is
gone).
"""

from __future__ import annotations

from collections import deque

from . import etf, protocol
from .callbacks import CallbackTable, result_of
from .errors import BeamGoneError, CallbackDepthError, Cancelled, ProtocolError, describe, error_map
from .framing import FrameBuffer, Oversize
from .protocol import CALLBACK, CHUNK, SEND, STUCK, Call, CallbackReply, Cancel, Credit, SendFailed
from .schedule import Job, Running, Schedule

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from collections.abc import Callable
    from typing import Any, Protocol

    from ..runtime.runner import Runner
    from ..runtime.streams import PushStream
    from .framing import Frame
    from .terms import Fun, Pid

    class Recorder(Protocol):
        def record(self, direction: bytes, payload: bytes | bytearray | memoryview) -> None: ...

    class Lock(Protocol):
        def __enter__(self) -> Any: ...

        def __exit__(self, *exc: Any) -> Any: ...

    class Host(Protocol):
        """The threads an engine runs on (the edge's), or none."""

        main: int  # the main thread's ident

        def ident(self) -> int: ...

        def clock(self) -> float: ...

        def wake(self) -> None: ...

        def wait(self, ready: Callable[[], bool]) -> None: ...

        def start_thread(self) -> None: ...

        def interrupt(self, running: Running) -> None: ...

        def clear_interrupt(self) -> None: ...


__all__ = ["DEFAULT_MAX_CALLBACK_DEPTH", "Engine", "SingleThread"]

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


class SingleThread:
    """The host of an engine that one thread drives (tests, tools): nothing to wait for or wake."""

    main = 0

    def ident(self) -> int:
        return 0

    def clock(self) -> float:
        return 0.0

    def wake(self) -> None:
        pass

    def wait(self, ready: Callable[[], bool]) -> None:
        if not ready():
            raise BeamGoneError("a single-threaded engine has nobody to wait for")

    def start_thread(self) -> None:
        pass

    def interrupt(self, running: Running) -> None:
        pass

    def clear_interrupt(self) -> None:
        pass


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
        out_lock: Lock | None = None,
        host: Host | None = None,
        threads: int = 1,
    ) -> None:
        self.runner = runner
        self.write = write
        self.source = source
        self.recorder = recorder
        self.warn = warn or _ignore
        self.max_callback_depth = max_callback_depth
        self.host: Host = host if host is not None else SingleThread()
        # Held while the engine's state changes (never while user code runs);
        # the out lock while a frame is written (user threads send too).
        self.lock: Lock = lock if lock is not None else _NoLock()
        self.out_lock: Lock = out_lock if out_lock is not None else _NoLock()
        self.schedule = Schedule(threads, self.host.main)
        self.framer = FrameBuffer(max_frame_bytes)
        self.inbox: deque[Frame] = deque()  # read, not yet handled
        # The frame handled last, kept until the next one is handled: freed
        # earlier, a big frame's buffer sits at the top of the heap and glibc
        # returns it to the kernel, so every big frame faults its pages in
        # anew (measured: 270x the page faults, half the speed at 1 MB).
        self.previous: Frame = b""
        self.ended = False  # the input has ended
        self.pushing: dict[int, PushStream] = {}  # request id -> push stream
        self.chunking: set[int] = set()  # push streams with a chunk job queued or running
        self.cancelling: set[int] = set()  # push streams cancelled while a chunk was being made
        self.callbacks = CallbackTable()
        self.callback_depth: dict[int, int] = {}  # thread -> callbacks it waits for, nested
        self.frames_out = 0
        self.bytes_out = 0
        self.protocol_errors = 0

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
        self.host.wake()

    # -- the loops ---------------------------------------------------------------

    def start(self, info: dict[str, Any]) -> None:
        """Send ``{:ready, info}``: the first frame of every session."""
        self.send([etf.encode(protocol.ready(info))])

    def serve(self) -> None:
        """The main thread's loop: read while it leads, else run what comes; until the input ends."""
        me = self.host.ident()
        while not self.ended:
            if self.schedule.leader == me:
                if not self.step():
                    break
            else:
                self._follow(me, nested=False)

    def work(self) -> None:
        """A pool thread's loop: run queued jobs until the input ends."""
        me = self.host.ident()
        while not self.ended:
            self._follow(me, nested=False)

    def step(self) -> bool:
        """The reading thread's turn: a frame, or a queued job when no frame waits; False at the end."""
        me = self.host.ident()
        if not self.inbox:
            job = self._inline_job(me)
            if job is not None and self.source is not None and not self.ended:
                self.source(False)  # frames that are here go first
            if job is not None and not self.inbox:
                self.execute(job, me)
                return True
            if job is not None:
                self._requeue(job)
            if not self.inbox and not self._fill(block=True):
                return False
        if self.inbox:
            self.previous = frame = self.inbox.popleft()
            self.handle(frame)
            del frame
        return True

    def _inline_job(self, me: int) -> Job | None:
        """A queued job the reading thread may run itself: nothing else runs."""
        with self.lock:
            schedule = self.schedule
            if schedule.running or me == schedule.reader:
                return None
            return schedule.take(me, nested=False)

    def _requeue(self, job: Job) -> None:
        with self.lock:
            (self.schedule.main_queue if job.main else self.schedule.queue).appendleft(job)

    def _follow(self, me: int, nested: bool, callback_id: int | None = None) -> None:
        """Wait for a job to run, the lead, the end (or, ``nested``, an answer); run what came."""
        got: list[Job] = []
        schedule = self.schedule

        def ready() -> bool:
            with self.lock:
                if self.ended or schedule.leader == me:
                    return True
                if callback_id is not None and self._answered_or_cancelled(callback_id, me):
                    return True
                job = schedule.take(me, nested)
                if job is not None:
                    got.append(job)
                    return True
                return False

        with self.lock:
            schedule.idle += not nested
        try:
            self.host.wait(ready)
        finally:
            with self.lock:
                schedule.idle -= not nested
        if got:
            self.execute(got[0], me)

    def _fill(self, block: bool) -> bool:
        """Ask the source for input; False once the input has ended."""
        if self.ended or self.source is None:
            self.end()
            return False
        if not self.source(block):
            self.end()
            return bool(self.inbox)
        return True

    # -- reading: who does it -------------------------------------------------------

    def relieve(self, me: int) -> bool:
        """Called by the relief thread now and then: take over reading if the reader is stuck in user code."""
        with self.lock:
            schedule = self.schedule
            if schedule.leader == me or not schedule.relief_due(self.host.clock()):
                return False
            schedule.leader = schedule.reader = me
            schedule.leader_busy_since = None
        return True

    def hand_back(self, me: int) -> bool:
        """Called by the relief reader when it is idle: give reading back to the main thread."""
        with self.lock:
            schedule = self.schedule
            if schedule.leader != me or not schedule.hand_back_due() or self.inbox:
                return False
            schedule.leader = schedule.main
            schedule.reader = None
        self.host.wake()
        return True

    def report_stuck(self) -> None:
        """Tell the client about cancelled calls that go on running (``{:stuck, Id, Info}``)."""
        now = self.host.clock()
        with self.lock:
            stuck = self.schedule.stuck(now)
        for running in stuck:
            info = {
                "request": running.context,
                "running_ms": int((now - running.started) * 1000),
                "cancelled_ms": int((now - running.cancelled_at) * 1000),
            }
            self.warn(f"request {running.id} goes on running {info['cancelled_ms']} ms after its cancel")
            self.send([etf.encode((STUCK, running.id, info))])

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
                self.credit(request_id, amount)
            case Cancel(request_id):
                self.cancel(request_id)
            case SendFailed(pid, reason):
                with self.lock:
                    self.callbacks.mark_dead(pid, reason)
            case CallbackReply(callback_id, ok, value):
                with self.lock:
                    answered = self.callbacks.answer(callback_id, ok, value, bool(handles))
                if not answered:
                    unknown = f"callback reply for id {callback_id}, but no callback is waiting"
                    self.fail(None, ProtocolError(unknown))
                self.host.wake()

    def _undecodable(self, frame: bytes | bytearray | memoryview, exc: etf.DecodeError) -> None:
        """A frame whose term does not decode: answer by its id when its head is readable."""
        head = protocol.peek_id(frame)
        if head is not None and head[0] == "call":
            self.fail(head[1], ProtocolError(f"request {head[1]} could not be decoded: {exc}"))
            return
        if head is not None and head[0] == "callback_reply":
            # The waiting callback fails at once, rather than waiting for ever.
            error = {
                "kind": "error",
                "type": "DecodeError",
                "message": f"the reply could not be decoded: {exc}",
            }
            with self.lock:
                answered = head[1] in self.callbacks.waiting and self.callbacks.answer(
                    head[1], False, error, False
                )
            if answered:
                self.host.wake()
                return
        self.fail(None, ProtocolError(f"frame could not be decoded: {exc}"))

    def _last_resort(self, frame: Frame, exc: BaseException) -> None:
        head = protocol.peek_id(frame) if isinstance(frame, (bytes, bytearray, memoryview)) else None
        request_id = head[1] if head is not None and head[0] == "call" else None
        try:
            self.fail(request_id, ProtocolError(f"the adapter failed on this frame: {describe(exc)[:500]}"))
        except (BeamGoneError, BrokenPipeError, ConnectionResetError):
            raise
        except BaseException:
            self.send([_LAST_RESORT])

    # -- requests --------------------------------------------------------------

    def call(self, request_id: int, fields: dict[str, Any], handles: list[Any]) -> None:
        """Admit one request: run it here and now, or queue it for another thread."""
        try:
            request = self.runner.request(fields, handles)
            job = Job(request_id, request, None, self.runner.main_only(request))
        except BaseException as exc:
            self.fail(request_id, exc, {"call_type": None})
            return
        self._admit(job)

    def _admit(self, job: Job) -> None:
        me = self.host.ident()
        request_id = job.request_id
        with self.lock:
            schedule = self.schedule
            if job.request is not None and (
                request_id in schedule.running
                or request_id in self.pushing
                or (schedule.queue and any(queued.request_id == request_id for queued in schedule.queue))
                or (
                    schedule.main_queue
                    and any(queued.request_id == request_id for queued in schedule.main_queue)
                )
            ):
                duplicate = here = spawn = False
            else:
                duplicate = None
                here = schedule.admit(job, me)
                if here and job.request is not None:  # begin it now: one turn of the lock
                    running = self._begin(job, me)
                spawn = not here and schedule.needs_thread()
                if spawn:
                    schedule.spawned += 1
        if duplicate is not None:
            message = f"request id {request_id} is already in use by a request still running"
            self.fail(request_id, ProtocolError(message))
        elif here:
            if job.request is not None:
                self._run_request(job, running, me)
            else:
                self.execute(job, me)
        else:
            if spawn:
                self.host.start_thread()
            self.host.wake()

    def execute(self, job: Job, me: int) -> None:
        """Run one job on this thread and send what it gives (a reply, a chunk, an error)."""
        if job.stream is not None:
            self._chunk(job, me)
            return
        with self.lock:
            running = self._begin(job, me)
        self._run_request(job, running, me)

    def _begin(self, job: Job, me: int) -> Running:
        """Record a request as running on this thread (the lock held)."""
        request = job.request
        assert request is not None
        running = Running(job, request.origin(), None, me, self.host.clock())
        schedule = self.schedule
        schedule.begin(running)
        if schedule.leader == me and schedule.leader_busy_since is None:
            schedule.leader_busy_since = running.started
        return running

    def _enter_locked(self, running: Running, me: int) -> None:
        schedule = self.schedule
        schedule.begin(running)
        if schedule.leader == me and schedule.leader_busy_since is None:
            schedule.leader_busy_since = running.started

    def _run_request(self, job: Job, running: Running, me: int) -> None:
        request = job.request
        assert request is not None
        try:
            try:
                running.in_user_code = True
                outcome = self.runner.run(request)
            finally:
                self._leave(running, me)
            if outcome.push:
                stream = self.runner.push_stream(job.request_id, request, outcome)
                with self.lock:
                    self.pushing[job.request_id] = stream
                self._more_chunks(stream)
                return
            pieces = self.runner.reply(job.request_id, outcome)
        except BaseException as exc:  # user code may raise SystemExit or KeyboardInterrupt: still a reply
            self.fail(job.request_id, exc, running.context)
            return
        self.send(pieces)

    def _enter(self, running: Running, me: int) -> None:
        with self.lock:
            self._enter_locked(running, me)

    def _leave(self, running: Running, me: int) -> None:
        """The job is out of user code: no more interrupts, forget it (idempotent: late ones land here)."""
        while True:
            try:
                with self.lock:
                    running.in_user_code = False
                    schedule = self.schedule
                    schedule.end(running)
                    if schedule.leader == me and me not in schedule.by_thread:
                        schedule.leader_busy_since = None
                    waiting = bool(schedule.queue or schedule.main_queue)
                self.host.clear_interrupt()
                break
            except Cancelled:  # raised for the job just as it ended: it has ended
                continue
        if waiting:
            self.host.wake()

    def credit(self, request_id: int, amount: int) -> None:
        with self.lock:
            stream = self.pushing.get(request_id)
            if stream is None:
                return
            stream.credit += amount
        self._more_chunks(stream)

    def _more_chunks(self, stream: PushStream) -> None:
        """Queue the stream's next chunk if it has credit and none is being made."""
        with self.lock:
            if (
                stream.credit <= 0
                or stream.request_id in self.chunking
                or stream.request_id not in self.pushing
            ):
                return
            self.chunking.add(stream.request_id)
        self._admit(Job(stream.request_id, None, stream))

    def _chunk(self, job: Job, me: int) -> None:
        """Make and send one chunk of a push stream; then queue the next (frames get a turn between)."""
        stream = job.stream
        assert stream is not None
        request_id = stream.request_id
        context = {"call_type": "stream", "session_id": stream.origin.session_id}
        running = Running(job, stream.origin, context, me, self.host.clock())
        self._enter(running, me)
        failure: BaseException | None = None
        items: list[Any] = []
        ended = False
        try:
            try:
                running.in_user_code = True
                items, ended = stream.chunk()
            finally:
                self._leave(running, me)
        except BaseException as exc:  # the generator failed (after the chunks it made), or was cancelled
            failure = exc
        with self.lock:
            cancelled = request_id in self.cancelling
            if cancelled or failure is not None or ended:  # the stream is over
                self.chunking.discard(request_id)
                self.cancelling.discard(request_id)
                self.pushing.pop(request_id, None)
        if not cancelled and failure is None:
            # Still "chunking" while it is sent: a credit meanwhile cannot start the next
            # chunk, which could then go out first.
            self.send(self.runner.encode((CHUNK, request_id, items), stream.origin))
            if ended:
                self.send([etf.encode(protocol.reply_ok(request_id, "done"))])
                return
            with self.lock:
                self.chunking.discard(request_id)
                cancelled = request_id in self.cancelling
                self.cancelling.discard(request_id)
        if cancelled:
            self._close(stream)
            self.fail(request_id, Cancelled(f"push stream {request_id} cancelled by the client"))
        elif failure is not None:
            self.fail(request_id, failure, running.context)
        else:
            self._more_chunks(stream)

    def cancel(self, request_id: int) -> None:
        """``{:cancel, Id}``: a push stream is closed; a queued job dropped; a running one interrupted."""
        interrupt = None
        with self.lock:
            schedule = self.schedule
            stream = self.pushing.pop(request_id, None)
            making = stream is not None and request_id in self.chunking
            if making and schedule.cancel_queued(request_id) is not None:  # its chunk had not started
                self.chunking.discard(request_id)
                making = False
            if making:  # the chunk being made ends it (closed, then answered), interrupted if it can be
                self.cancelling.add(request_id)
            queued = None if stream is not None else schedule.cancel_queued(request_id)
            running = (
                schedule.running.get(request_id) if queued is None and (stream is None or making) else None
            )
            if running is not None and not running.cancelled:
                running.cancelled = True
                running.cancelled_at = self.host.clock()
                stack = schedule.by_thread.get(running.thread)
                if running.in_user_code and stack and stack[-1] is running:
                    interrupt = running
        if stream is not None and not making:
            self._close(stream)
            self.fail(request_id, Cancelled(f"push stream {request_id} cancelled by the client"))
        elif queued is not None:
            self.fail(request_id, Cancelled(f"request {request_id} cancelled by the client before it ran"))
        if interrupt is not None:
            self.host.interrupt(interrupt)
        self.host.wake()  # a cancelled callback wait notices

    def _close(self, stream: PushStream) -> None:
        """Close a cancelled stream's generator (its ``finally`` runs)."""
        try:
            stream.close()
        except Exception as exc:
            self.warn(f"closing a cancelled stream failed: {describe(exc)[:500]}")

    # -- what user code reaches (through core.link) ---------------------------

    def run_callback(self, fun: Fun, args: tuple[Any, ...]) -> Any:
        """Have the BEAM run ``fun(*args)``; until it answers, read (if this thread reads) or wait."""
        me = self.host.ident()
        with self.lock:
            depth = self.callback_depth.get(me, 0)
            running = self.schedule.current(me)
            # Nested on this thread, or (the client says) inside the callbacks of other requests.
            chain = max(depth, running.chain_depth if running is not None else 0)
            if chain >= self.max_callback_depth:
                raise CallbackDepthError(
                    f"Elixir funs and Python calls are nested {chain} deep, the most allowed "
                    f"(--max-callback-depth {self.max_callback_depth})"
                )
            origin = running.origin if running is not None else self.runner.default_origin
            mine = running if running is not None and running.thread == me else None
            callback_id = self.callbacks.open()
            self.callback_depth[me] = depth + 1
            if mine is not None:
                mine.in_user_code = False  # no interrupt while it waits: the cancel is raised here
            busy_since = self.schedule.leader_busy_since
            if self.schedule.leader == me:
                self.schedule.leader_busy_since = None  # reading again, not stuck in user code
        try:
            self.send(self.runner.encode((CALLBACK, callback_id, fun, list(args)), origin))
            while True:
                with self.lock:
                    answer = self.callbacks.waiting[callback_id]
                    if answer is None and mine is not None and mine.cancelled:
                        raise Cancelled(
                            f"request {mine.id} cancelled by the client in callback {callback_id}"
                        )
                    leading = self.schedule.leader == me
                if answer is not None:
                    break
                if self.ended:
                    raise BeamGoneError(f"the BEAM closed the port while callback {callback_id} waited")
                if leading:
                    if not self.step():
                        raise BeamGoneError(f"the BEAM closed the port while callback {callback_id} waited")
                else:
                    self._follow(me, nested=True, callback_id=callback_id)
        finally:
            with self.lock:
                self.callback_depth[me] -= 1
                if not self.callback_depth[me]:
                    del self.callback_depth[me]
                self.callbacks.close(callback_id)
                if mine is not None:
                    mine.in_user_code = True
                if self.schedule.leader == me and busy_since is not None:
                    self.schedule.leader_busy_since = self.host.clock()
        ok, value, has_refs = answer
        return result_of(ok, self.runner.resolve_all(value) if has_refs else value)

    def _answered_or_cancelled(self, callback_id: int, me: int) -> bool:
        if self.callbacks.waiting.get(callback_id) is not None:
            return True
        running = self.schedule.current(me)
        return running is not None and running.thread == me and running.cancelled

    def send_message(self, pid: Pid, term: Any) -> None:
        """``{:send, Pid, Term}``: the worker delivers ``term`` with ``send/2``."""
        me = self.host.ident()
        if self.schedule.leader == me:
            self._take_send_failed()
        with self.lock:
            self.callbacks.check_alive(pid)
            running = self.schedule.current(me)
        origin = running.origin if running is not None else self.runner.default_origin
        self.send(self.runner.encode((SEND, pid, term), origin))

    def _take_send_failed(self) -> None:
        """Handle the ``{:send_failed, ...}`` notices that have arrived, ahead of other frames.

        A call running on the reading thread reads no frames, but it must
        learn that a pid it sends to is dead; the notice concerns whatever
        sends to that pid next, not the order of requests.
        """
        if not self.ended and self.source is not None and not self.source(False):
            self.end()
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
            with self.lock:
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
        """Frames and bytes in and out, and what runs, for the ``stats`` call type."""
        with self.lock:
            schedule = self.schedule
            return {
                "frames_in": self.framer.frames,
                "frames_out": self.frames_out,
                "bytes_in": self.framer.bytes,
                "bytes_out": self.bytes_out,
                "protocol_errors": self.protocol_errors,
                "running": len(schedule.running),
                "queued": len(schedule.queue) + len(schedule.main_queue),
                "threads": schedule.threads,
                "pool_threads": schedule.spawned,
            }


def _queued(queue: deque[Job], request_id: int) -> bool:
    return bool(queue) and any(job.request_id == request_id for job in queue)


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
