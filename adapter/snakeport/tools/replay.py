"""Replaying a recorded session against a fresh adapter.

The recorded order is causal: an output recorded before an input was made
before that input was handled (the adapter records as it handles and
sends; the Elixir worker as it sends and receives).  So the replay sends
each input only after reading every output recorded before it, compares
each output with the recorded one, and at the end checks nothing extra
comes.  What legitimately varies is normalised first (``Normaliser``): ref
and stream ids are renamed in order of first appearance, tracebacks lose
their paths and line numbers, the ready frame its process id and versions.
Ref ids in later inputs are translated to the ids the fresh adapter made.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections import deque
from collections.abc import Mapping

from ..core import etf
from ..core.framing import FrameBuffer, Oversize, frame
from ..core.recording import Record
from ..core.show import elixir
from ..core.terms import Atom

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["Difference", "Normaliser", "Replay"]

_TRACEBACK_PLACE = re.compile(r'File "[^"]*", line \d+')
# A traceback frame inside the adapter itself (with its source line and any caret line).
_ADAPTER_FRAME = re.compile(
    r'  File "[^"]*[/\\]snakeport[/\\](?:(?:core|runtime|edge|tools|etf)[/\\])*\w+\.py", '
    r"line \d+, in [^\n]*\n(    [^\n]*\n)*"
)
_CARETS = re.compile(r"^ *[~^]+ *\n", re.MULTILINE)
# Of the ready frame's info only the protocol version is compared: the rest describes the build.
_READY_KEPT = ("protocol",)


class Normaliser:
    """Rewrites one side's frames into a form both sides share."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}  # ref id -> "ref-N"
        self.ids: dict[str, str] = {}  # "ref-N" -> ref id

    def name(self, ref_id: str) -> str:
        known = self.names.get(ref_id)
        if known is None:
            known = self.names[ref_id] = f"ref-{len(self.names) + 1}"
            self.ids[known] = ref_id
        return known

    def frame(self, term: Any) -> Any:
        """A decoded output frame, normalised."""
        if type(term) is tuple and len(term) == 2 and term[0] == "ready" and isinstance(term[1], dict):
            info = {key: value for key, value in term[1].items() if key in _READY_KEPT}
            return (term[0], self.term(info))
        return self.term(term)

    def term(self, term: Any) -> Any:
        if isinstance(term, dict):
            if term.get("__type__") in ("ref", "stream_ref"):
                for key in ("id", "ref_id"):
                    if isinstance(term.get(key), str):
                        self.name(term[key])
            return {self.term(key): self._field(key, value) for key, value in term.items()}
        if type(term) is tuple:
            return tuple(self.term(item) for item in term)
        if type(term) is list:
            return [self.term(item) for item in term]
        if type(term) is str:
            return self._text(term)
        return term

    def _field(self, key: Any, value: Any) -> Any:
        if key == "traceback" and isinstance(value, str):
            text = _ADAPTER_FRAME.sub("", _CARETS.sub("", self._text(value)))
            return _TRACEBACK_PLACE.sub('File "<path>", line <n>', text)
        return self.term(value)

    def _text(self, text: str) -> str:
        for ref_id, name in self.names.items():
            if ref_id in text:
                text = text.replace(ref_id, name)
        return text


def translate_refs(term: Any, recorded: Normaliser, fresh: Normaliser) -> tuple[Any, bool]:
    """``term`` (an input) with recorded ref ids replaced by the fresh adapter's; whether any was."""
    changed = False

    def walk(node: Any) -> Any:
        nonlocal changed
        if isinstance(node, dict):
            out = {walk(key): walk(value) for key, value in node.items()}
            if out.get("__type__") in ("ref", "stream_ref"):
                for key in ("id", "ref_id"):
                    value = out.get(key)
                    name = recorded.names.get(value) if isinstance(value, str) else None
                    if name is not None and name in fresh.ids:
                        out[key] = fresh.ids[name]
                        changed = True
            return out
        if type(node) is tuple:
            return tuple(walk(item) for item in node)
        if type(node) is list:
            return [walk(item) for item in node]
        return node

    return walk(term), changed


class Difference:
    """One output that did not match: the record, what was expected, what came."""

    def __init__(self, record: Record | None, expected: str, got: str) -> None:
        self.record = record
        self.expected = expected
        self.got = got

    def __str__(self) -> str:
        where = (
            f"record {self.record.number} (out, {self.record.time:.6f} s)" if self.record else "after the end"
        )
        return f"{where}:\n  expected: {self.expected}\n  got:      {self.got}"


class Replay:
    """Feeds a recording's inputs to a fresh adapter and compares its outputs."""

    def __init__(
        self,
        records: list[Record],
        command: list[str],
        timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.records = records
        self.command = command
        self.timeout = timeout
        self.env = None if env is None else dict(env)
        self.recorded = Normaliser()
        self.fresh = Normaliser()
        self.differences: list[Difference] = []
        self.compared = 0
        self.sent = 0

    def run(self) -> list[Difference]:
        process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env)
        assert process.stdin is not None and process.stdout is not None
        reader = _FrameReader(process.stdout.fileno())
        try:
            waiting: deque[Record] = deque()
            for record in self.records:
                if record.direction == "out":
                    waiting.append(record)
                    continue
                if not self._expect(waiting, reader):
                    return self.differences
                self._send(process.stdin.fileno(), record.payload)
            if self._expect(waiting, reader):
                process.stdin.close()
                while (extra := reader.read(self.timeout)) is not None:
                    self.differences.append(Difference(None, "the end of output", _show(extra)))
        finally:
            if not process.stdin.closed:
                process.stdin.close()
            try:
                process.wait(self.timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return self.differences

    def _expect(self, waiting: deque[Record], reader: _FrameReader) -> bool:
        """Read one output per waiting record and compare; False if the adapter went quiet."""
        while waiting:
            record = waiting.popleft()
            expected = _decoded(record.payload)
            got = reader.read(self.timeout)
            if got is None:
                self.differences.append(
                    Difference(
                        record, elixir(expected), f"nothing within {self.timeout:g} s (or the end of output)"
                    )
                )
                return False
            self.compared += 1
            actual = _decoded(got)
            if self.recorded.frame(expected) != self.fresh.frame(actual):
                self.differences.append(Difference(record, elixir(expected), elixir(actual)))
        return True

    def _send(self, fd: int, payload: bytes) -> None:
        try:
            term = etf.decode(payload)
        except etf.DecodeError:
            term = None  # a hostile frame: sent as recorded
        if term is not None:
            translated, changed = translate_refs(term, self.recorded, self.fresh)
            if changed:
                payload = etf.encode(translated)
        data = memoryview(frame(payload))
        while data:
            data = data[os.write(fd, data) :]
        self.sent += 1


def _decoded(payload: bytes) -> Any:
    try:
        return etf.decode(payload)
    except etf.DecodeError as exc:
        return (Atom("undecodable"), str(exc), payload)


def _show(payload: bytes) -> str:
    return elixir(_decoded(payload))


class _FrameReader:
    """``{packet, 4}`` frames from a pipe, with a timeout per frame."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.framer = FrameBuffer()
        self.ready: deque[bytes] = deque()

    def read(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while not self.ready:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.ready.extend(bytes(f) for f in self.framer.feed(chunk) if not isinstance(f, Oversize))
        return self.ready.popleft()


def adapter_command(adapter_args: list[str]) -> list[str]:
    """The fresh adapter a replay talks to: this Python, ``-m snakeport``, the given options."""
    return [sys.executable, "-m", "snakeport", *adapter_args]
