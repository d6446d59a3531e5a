"""A real adapter over pipes, driven from Python as the BEAM would drive it.

``Adapter`` starts ``python -m snakeport`` with the options given, speaks
the wire protocol through its stdin and stdout, and turns the calls of
SnakeBridge's runtime API into request frames built exactly as the Elixir
client builds them (``snakeport.testing.wire``).  Refs come back as
``Ref``/``StreamRef`` objects usable as arguments; an error reply raises
``RemoteError``; Elixir funs are Python callables made with ``fun()``, run
by the harness when the adapter calls them back; messages sent with
``snakeport.send`` to ``pid()`` are collected in ``messages``.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..core import etf
from ..core.framing import FrameBuffer, Oversize, frame
from ..core.terms import Atom, Fun, Pid
from . import wire
from .wire import Ref, StreamRef, elixir_pid, export_fun, to_wire

__all__ = ["Adapter", "AdapterDied", "RemoteError"]

CALL, CREDIT, CANCEL, CALLBACK_REPLY = Atom("call"), Atom("credit"), Atom("cancel"), Atom("callback_reply")
OK, ERROR = Atom("ok"), Atom("error")


class RemoteError(Exception):
    """An error reply: the Python exception (or adapter error) the request raised."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        self.error = dict(error)
        self.python_type: str = str(error.get("type"))
        self.message: str = str(error.get("message"))
        self.traceback: str = str(error.get("traceback") or "")
        self.context: dict[str, Any] = dict(error.get("context") or {})
        super().__init__(f"{self.python_type}: {self.message}")


class AdapterDied(AssertionError):
    """The adapter process ended (or went quiet) before answering; carries its stderr."""


class Adapter:
    """A running adapter (a context manager): make calls, get values back.

    ``Adapter("--helper-path", "helpers", "--threads", "4")`` takes the
    adapter's own command-line options; ``python``, ``env`` and ``cwd`` say
    how to start it; ``record`` records the session (frames format) for
    ``frames dump``/``replay`` and ``assert_replays``.
    """

    def __init__(
        self,
        *adapter_options: str,
        python: str = sys.executable,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        record: str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.options = list(adapter_options)
        if record is not None:
            self.options += ["--record", os.fspath(record)]
        self.python = python
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.timeout = timeout
        self.info: dict[str, Any] = {}
        self.messages: list[Any] = []  # what Python sent to pid() with snakeport.send
        self.process: subprocess.Popen[bytes] | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - open while the adapter lives
        self._framer = FrameBuffer()
        self._frames: deque[bytes] = deque()
        self._replies: dict[int, Any] = {}
        self._chunks: dict[int, deque[list[Any]]] = {}
        self._funs: dict[bytes, Callable[..., Any]] = {}
        self._next_id = 1
        self._pid = elixir_pid()

    # -- life ---------------------------------------------------------------------

    def __enter__(self) -> Adapter:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.python, "-m", "snakeport", *self.options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=self.env,
            cwd=self.cwd,
        )
        first = self._next_frame(self.timeout)
        if type(first) is tuple and first[0] == "ready":
            self.info = dict(first[1])
            return
        if type(first) is tuple and first[0] == "startup_error":
            self.stop()
            raise AdapterDied(f"the adapter failed to start: {first[1].get('message')}\n{self.stderr()}")
        raise AdapterDied(f"the adapter's first frame was {first!r}, not {{:ready, info}}\n{self.stderr()}")

    def stop(self) -> int | None:
        """Close the adapter's input and wait for it to exit; its exit status."""
        process = self.process
        if process is None:
            return None
        if process.stdin is not None and not process.stdin.closed:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            status = process.wait(self.timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            status = process.wait()
        if process.stdout is not None:
            process.stdout.close()
        return status

    def stderr(self) -> str:
        """What the adapter wrote on stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def pid(self) -> Pid:
        """A pid Python can send messages to: they land in ``messages``."""
        return self._pid

    def fun(self, function: Callable[..., Any], arity: int | None = None) -> Fun:
        """A term Python receives as an Elixir fun; calling it runs ``function`` here."""
        if arity is None:
            import inspect

            arity = len(inspect.signature(function).parameters)
        made = export_fun(len(self._funs) + 1, arity)
        self._funs[made.raw] = function
        return made

    # -- SnakeBridge's runtime API ---------------------------------------------------

    def call(
        self,
        module: str,
        function: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        session: str = "default",
        timeout: float | None = None,
        **runtime: Any,
    ) -> Any:
        """``module.function(*args, **kwargs)`` in the adapter: its value (``RemoteError`` if it raised)."""
        return self.request(wire.call_request(module, function, args, kwargs, session, **runtime), timeout)

    def new(
        self,
        module: str,
        cls: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        session: str = "default",
    ) -> Ref:
        """An instance of ``module.cls``, as a ref."""
        return self.request(wire.class_request(module, cls, args, kwargs, session))  # type: ignore[no-any-return]

    def method(
        self, ref: Ref, name: str, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
    ) -> Any:
        return self.request(wire.method_request(ref, name, args, kwargs))

    def get_attr(self, ref: Ref, name: str) -> Any:
        return self.request(wire.get_attr_request(ref, name))

    def set_attr(self, ref: Ref, name: str, value: Any) -> Any:
        return self.request(wire.set_attr_request(ref, name, value))

    def module_attr(self, module: str, name: str, session: str = "default") -> Any:
        return self.request(wire.module_attr_request(module, name, session))

    def helper(
        self,
        name: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        session: str = "default",
    ) -> Any:
        return self.request(wire.helper_request(name, args, kwargs, session))

    def take(self, stream_ref: StreamRef, n: int) -> list[Any]:
        """Up to ``n`` items of a stream ref (fewer at its end)."""
        return list(self.request(wire.take_request(stream_ref, n))["items"])

    def stream(
        self,
        module: str,
        function: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        session: str = "default",
        credit: int = 2,
        batch: int = 1024,
    ) -> Iterator[Any]:
        """A push stream: the items ``module.function(...)`` yields, granting credit as they are used."""
        request_id = self._send_call(
            wire.stream_request(module, function, args, kwargs, session, credit, batch)
        )
        self._chunks[request_id] = deque()
        try:
            while True:
                chunk = self._wait(request_id, self.timeout, chunks=True)
                if chunk is None:  # the reply: done, or the error after the items
                    self._reply_value(self._replies.pop(request_id))
                    return
                yield from chunk
                self._send((CREDIT, request_id, 1))
        finally:
            if request_id in self._chunks:
                del self._chunks[request_id]
                if request_id not in self._replies:
                    self._send((CANCEL, request_id))

    def release(self, ref: Ref) -> bool:
        return bool(self.request(wire.release_request(ref)))

    def release_session(self, session: str) -> int:
        return int(self.request(wire.release_session_request(session)))

    def stats(self) -> dict[str, Any]:
        return dict(self.request({"call_type": "stats"}))

    def request(self, fields: Mapping[str, Any], timeout: float | None = None) -> Any:
        """Send any request map (values are turned into wire terms as the Elixir client does); its value."""
        request_id = self._send_call(dict(fields))
        self._wait(request_id, self.timeout if timeout is None else timeout)
        return self._reply_value(self._replies.pop(request_id))

    # -- the wire -------------------------------------------------------------------

    def _send_call(self, fields: dict[str, Any]) -> int:
        request_id = self._next_id
        self._next_id += 1
        self._send((CALL, request_id, to_wire(fields)))
        return request_id

    def _send(self, term: Any) -> None:
        process = self._running()
        assert process.stdin is not None
        try:
            process.stdin.write(frame(etf.encode(term)))
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died("the adapter closed its input") from None

    def _wait(self, request_id: int, timeout: float, chunks: bool = False) -> Any:
        """Serve what comes (callbacks, messages, other replies) until ``request_id`` is answered.

        With ``chunks``, return the next chunk of that push stream as soon as one
        is here (None once it has been answered).
        """
        deadline = time.monotonic() + timeout
        while True:
            if chunks and self._chunks.get(request_id):
                return self._chunks[request_id].popleft()
            if request_id in self._replies:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._died(f"no reply to request {request_id} within {timeout:g} s")
            self._dispatch(self._next_frame(left))

    def _dispatch(self, term: Any) -> None:
        if type(term) is not tuple or not term:
            raise self._died(f"the adapter sent a frame that is not an envelope: {term!r}")
        kind = term[0]
        if kind == "reply":
            self._replies[term[1]] = term[2]
        elif kind == "chunk" and term[1] in self._chunks:
            self._chunks[term[1]].append(term[2])
        elif kind == "callback":
            self._callback(term[1], term[2], term[3])
        elif kind == "send" and term[1] == self._pid:
            self.messages.append(term[2])
        elif kind == "protocol_error":
            raise RemoteError(term[1])

    def _callback(self, callback_id: int, fun: Fun, args: list[Any]) -> None:
        """Run the Python callable behind ``fun``, answer as the Elixir worker would."""
        function = self._funs.get(fun.raw)
        if function is None:
            reply: Any = (ERROR, {"kind": "error", "type": "UndefinedFunctionError", "message": f"{fun!r}"})
        else:
            try:
                reply = (OK, to_wire(function(*args)))
            except RemoteError as exc:  # a call back into Python that failed
                reply = (ERROR, {"kind": "error", "type": "SnakeBridge.Error", "message": str(exc)})
            except Exception as exc:
                reply = (ERROR, {"kind": "error", "type": type(exc).__name__, "message": str(exc)})
        self._send((CALLBACK_REPLY, callback_id, reply))

    def _reply_value(self, result: Any) -> Any:
        status, value = result
        if status == "ok":
            return value
        raise RemoteError(value)

    def _next_frame(self, timeout: float) -> Any:
        process = self._running()
        assert process.stdout is not None
        fd = process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while not self._frames:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise self._died(f"no frame from the adapter within {timeout:g} s")
            chunk = os.read(fd, max(1 << 16, self._framer.pending_need()))
            if not chunk:
                with contextlib.suppress(subprocess.TimeoutExpired):  # so that its exit status is known
                    self._running().wait(timeout=1)
                raise self._died("the adapter exited")
            self._frames.extend(
                bytes(got) for got in self._framer.feed(chunk) if not isinstance(got, Oversize)
            )
        return etf.decode(self._frames.popleft(), tag_hook=_refs)

    def _running(self) -> subprocess.Popen[bytes]:
        if self.process is None:
            raise RuntimeError("the adapter is not started: use it as a context manager, or call start()")
        return self.process

    def _died(self, what: str) -> AdapterDied:
        process = self.process
        status = None
        if process is not None:
            # Its output can end a moment before the process does: give the status a moment.
            with contextlib.suppress(subprocess.TimeoutExpired):
                status = process.wait(0.5)
        ended = "" if status is None else f" (exit status {status})"
        return AdapterDied(f"{what}{ended}; the adapter's stderr:\n{self.stderr()}")


def _refs(mapping: dict[str, Any]) -> Any:
    """Ref maps in replies become objects usable as arguments."""
    kind = mapping.get("__type__")
    if kind == "ref":
        return Ref(mapping)
    if kind == "stream_ref":
        return StreamRef(mapping)
    return mapping
