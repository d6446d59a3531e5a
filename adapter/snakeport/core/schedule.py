"""Which work runs where, and who reads: the engine's scheduling state, without threads.

A *job* is a request to run or the next chunk of a push stream.  The thread
that reads frames (the *leader*) runs a job inline when nothing else is
running, so a lone small call pays for no hand-off; otherwise the job is
queued for another thread (``--threads``), or for the main thread when it
must run there.  When the leader has been inside user code for longer than
``RELIEF_AFTER`` seconds, another thread takes over reading (``relieve``),
so a slow call never keeps the next frame waiting; leadership goes back to
the main thread once nothing runs.  The edge supplies the threads; every
method here is called with the engine's lock held and decides only.
"""

from __future__ import annotations

from collections import deque

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

    from ..runtime.request import Origin, Request
    from ..runtime.streams import PushStream

__all__ = ["RELIEF_AFTER", "STUCK_AFTER", "Job", "Running", "Schedule"]

#: Seconds the reading thread may spend in user code before another thread reads instead.
RELIEF_AFTER = 0.002
#: Seconds a cancelled call may go on running before it is reported stuck.
STUCK_AFTER = 1.0


class Job:
    """A request to run, or a push stream's next chunk; ``main`` if it must run on the main thread."""

    __slots__ = ("main", "request", "request_id", "stream")

    def __init__(
        self, request_id: int, request: Request | None, stream: PushStream | None, main: bool = False
    ) -> None:
        self.request_id = request_id
        self.request = request
        self.stream = stream
        self.main = main


class Running:
    """A job being run: where, since when, whether the client cancelled it, where its refs go."""

    __slots__ = (
        "_context",
        "cancelled",
        "cancelled_at",
        "id",
        "in_user_code",
        "job",
        "origin",
        "reported",
        "sleeper",
        "started",
        "thread",
    )

    def __init__(
        self, job: Job, origin: Origin, context: dict[str, Any] | None, thread: int, started: float
    ) -> None:
        self.id = job.request_id
        self.job = job
        self.origin = origin
        self._context = context  # made from the request when first asked for (errors, stuck reports)
        self.thread = thread
        self.started = started
        self.cancelled = False
        self.cancelled_at = 0.0
        self.reported = False  # reported stuck already
        self.in_user_code = False  # an interrupt may be raised in its thread now
        self.sleeper: Any = None  # what a patched time.sleep waits on (the edge's)

    @property
    def chain_depth(self) -> int:
        """How many callbacks enclose this request (the client's ``"callback_depth"`` field)."""
        depth = self.job.request.fields.get("callback_depth", 0) if self.job.request is not None else 0
        return depth if type(depth) is int and depth >= 0 else 0

    @property
    def context(self) -> dict[str, Any]:
        """The request's identity for error maps."""
        if self._context is None:
            request = self.job.request
            self._context = request.context() if request is not None else {"call_type": None}
        return self._context


class Schedule:
    """Queues, what runs on which thread, and which thread reads."""

    def __init__(self, threads: int, main: int) -> None:
        self.threads = threads  # how many jobs may run at once (the main thread's included)
        self.main = main
        self.queue: deque[Job] = deque()  # jobs any thread may run
        self.main_queue: deque[Job] = deque()  # jobs that must run on the main thread
        self.running: dict[int, Running] = {}  # request id -> running job
        self.by_thread: dict[int, list[Running]] = {}  # thread -> its running jobs, innermost last
        self.leader: int | None = main  # the thread that reads frames
        self.reader: int | None = None  # the relief thread while it reads (it runs no job)
        self.leader_busy_since: float | None = None  # when the leader went into user code
        self.idle = 0  # pool threads waiting for a job
        self.spawned = 0  # pool threads started

    # -- admitting ----------------------------------------------------------------

    def admit(self, job: Job, me: int) -> bool:
        """True: run ``job`` on this thread now; False: it was queued for another.

        It runs here when nothing else runs; or, with one thread for everything,
        nested inside a callback wait (the reading thread waits there), as before
        threads.  The relief reader only reads.
        """
        if (
            me != self.reader
            and (not job.main or me == self.main)
            and (not self.running or (self.threads == 1 and me == self.main))
        ):
            return True
        (self.main_queue if job.main else self.queue).append(job)
        return False

    def take(self, me: int, nested: bool) -> Job | None:
        """The next queued job this thread should run, if any.

        A thread waiting for a callback's reply (``nested``) takes a job only
        when no other thread could (the pool is full and none is idle): then a
        fun that calls Python again never waits for a thread that will not come.
        """
        if me == self.main and self.main_queue:
            return self.main_queue.popleft()
        if not self.queue or (nested and (self.idle or self.spawned < self.threads - 1)):
            return None
        return self.queue.popleft()

    def needs_thread(self) -> bool:
        """A queued job has no thread: start one (the edge asks after queueing)."""
        return bool(self.queue) and not self.idle and self.spawned < self.threads - 1

    # -- running ----------------------------------------------------------------------

    def begin(self, running: Running) -> None:
        self.running[running.id] = running
        self.by_thread.setdefault(running.thread, []).append(running)

    def end(self, running: Running) -> None:
        """Forget a job that has ended (idempotent)."""
        if self.running.get(running.id) is running:
            del self.running[running.id]
        stack = self.by_thread.get(running.thread)
        if stack and running in stack:
            stack.remove(running)
            if not stack:
                del self.by_thread[running.thread]

    def current(self, me: int) -> Running | None:
        """The innermost job this thread runs, or failing that the one started last anywhere."""
        stack = self.by_thread.get(me)
        if stack:
            return stack[-1]
        return next(reversed(self.running.values()), None) if self.running else None

    def busy(self) -> bool:
        return bool(self.running or self.queue or self.main_queue)

    # -- reading ---------------------------------------------------------------------------

    def relief_due(self, now: float) -> bool:
        """The leader has been in user code too long: another thread should read."""
        since = self.leader_busy_since
        return since is not None and now - since >= RELIEF_AFTER

    def hand_back_due(self) -> bool:
        """A relief reader may give reading back to the main thread: nothing runs or waits."""
        return self.leader != self.main and not self.busy()

    def stuck(self, now: float) -> list[Running]:
        """Cancelled jobs still running after ``STUCK_AFTER`` and not yet reported."""
        found = [
            running
            for running in self.running.values()
            if running.cancelled and not running.reported and now - running.cancelled_at >= STUCK_AFTER
        ]
        for running in found:
            running.reported = True
        return found

    def cancel_queued(self, request_id: int) -> Job | None:
        """Take a job that has not started out of its queue."""
        for queue in (self.queue, self.main_queue):
            for job in queue:
                if job.request_id == request_id:
                    queue.remove(job)
                    return job
        return None
