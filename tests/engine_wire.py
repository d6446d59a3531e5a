"""The BEAM's side of an in-process engine: request frames in, reply terms out.

``Wire`` builds the same engine the adapter runs (``Runner.build`` +
``Engine``) with a list as its input and a list as its output, so engine
tests run in milliseconds with byte strings.  Callbacks are answered by a
function of the callback frame (``answer``), which may also queue more
input (a fun that calls Python again).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from snakeport import etf
from snakeport.core.engine import Engine
from snakeport.core.link import LINK
from snakeport.runtime.helpers import HelperRegistry
from snakeport.runtime.runner import Runner
from snakeport.terms import Atom

CALL = Atom("call")
CALLBACK_REPLY = Atom("callback_reply")
OK = Atom("ok")
ERROR = Atom("error")
HELPERS = Path(__file__).resolve().parent.parent / "priv" / "python" / "helpers"


class Wire:
    """An engine with scripted input, decoded output and callbacks answered by ``answer``."""

    def __init__(
        self,
        *,
        helper_dirs: Iterable[Path] = (HELPERS,),
        allow: Iterable[str] = (),
        answer: Callable[[Wire, tuple[Any, ...]], Any] | None = None,
        max_frame_bytes: int = etf.DEFAULT_MAX_SIZE,
        max_refs: int = 10_000,
        ref_ttl: float | None = None,
        clock: Callable[[], float] | None = None,
        max_callback_depth: int = 50,
    ) -> None:
        self.warnings: list[str] = []  # what the engine logged
        self.pending: deque[bytes] = deque()  # frames the engine reads when it asks
        self.out: list[Any] = []  # every frame it wrote, decoded
        self.raw: list[bytes] = []  # the same, as bytes
        self.answer = answer
        self.ids = itertools.count(1)
        extra: dict[str, Any] = {} if clock is None else {"clock": clock}
        runner = Runner.build(
            HelperRegistry(helper_dirs),
            allow,
            max_refs=max_refs,
            ref_ttl=ref_ttl,
            stats=lambda: self.engine.counters(),
            **extra,
        )
        self.engine = Engine(
            runner,
            self._write,
            self._source,
            max_frame_bytes=max_frame_bytes,
            warn=self.warnings.append,
            max_callback_depth=max_callback_depth,
        )
        LINK.engine = self.engine

    def close(self) -> None:
        LINK.engine = None

    # -- the engine's sides ------------------------------------------------------

    def _write(self, pieces: list[Any]) -> None:
        raw = b"".join(bytes(piece) for piece in pieces)
        self.raw.append(raw)
        term = etf.decode(raw)
        self.out.append(term)
        if self.answer is not None and type(term) is tuple and term[0] == "callback":
            reply = self.answer(self, term)
            if reply is not None:
                self.pending.append(etf.encode(reply))

    def _source(self, block: bool) -> bool:
        if self.pending:
            self.engine.feed(_framed(self.pending.popleft()))
            return True
        return not block  # asked to wait with nothing to come: the input has ended

    # -- the BEAM's side ------------------------------------------------------

    def run(self, *frames: bytes) -> list[Any]:
        """Feed ``frames``, let the engine handle everything; the terms it wrote meanwhile."""
        start = len(self.out)
        self.engine.ended = False
        self.pending.extend(frames)
        schedule = self.engine.schedule
        while self.pending or self.engine.inbox or schedule.queue or schedule.main_queue:
            self.engine.step()
        return self.out[start:]

    def send(self, *terms: Any) -> list[Any]:
        return self.run(*(etf.encode(term) for term in terms))

    def request(self, **fields: Any) -> tuple[int, list[Any]]:
        request_id = next(self.ids)
        return request_id, self.send((CALL, request_id, fields))

    def reply(self, **fields: Any) -> tuple[str, Any]:
        """One request's reply: ("ok", value) or ("error", error map)."""
        request_id, out = self.request(**fields)
        replies = [term for term in out if term[0] == "reply" and term[1] == request_id]
        assert len(replies) == 1, out
        status, value = replies[0][2]
        return str(status), value

    def ok(self, **fields: Any) -> Any:
        status, value = self.reply(**fields)
        assert status == "ok", value
        return value

    def error(self, **fields: Any) -> dict[str, Any]:
        status, value = self.reply(**fields)
        assert status == "error", value
        return value  # type: ignore[no-any-return]


def _framed(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload
