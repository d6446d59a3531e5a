"""Which callbacks into Elixir are waiting, answered or given up; which pids are dead.

State of the engine, without I/O: a callback id is opened when Python calls
an Elixir fun, answered when ``{:callback_reply, ...}`` arrives, and closed
when the caller stops waiting (a late answer is then dropped quietly, not
reported).  Bounded, so a hostile peer cannot grow it without limit.
"""

from __future__ import annotations

from collections import OrderedDict

from .errors import ElixirError, ProcessNotAliveError
from .terms import Pid

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["CallbackTable", "result_of"]

# How many given-up callback ids and dead pids are remembered.
_MEMORY = 10_000


class CallbackTable:
    """Callback ids: waiting, answered, given up; and pids reported dead."""

    def __init__(self) -> None:
        self.next_id = 1
        # id -> (ok, value, whether value holds refs to resolve) once answered
        self.waiting: dict[int, tuple[bool, Any, bool] | None] = {}
        self.given_up: OrderedDict[int, None] = OrderedDict()
        self.dead: OrderedDict[Pid, str] = OrderedDict()  # pid -> why the worker could not deliver to it

    def open(self) -> int:
        callback_id = self.next_id
        self.next_id += 1
        self.waiting[callback_id] = None
        return callback_id

    def answer(self, callback_id: int, ok: bool, value: Any, has_refs: bool) -> bool:
        """Record a reply; False when no callback with this id is waiting."""
        if self.given_up.pop(callback_id, False) is None:
            return True
        if self.waiting.get(callback_id, False) is not None:
            return False
        self.waiting[callback_id] = (ok, value, has_refs)
        return True

    def close(self, callback_id: int) -> None:
        """Stop waiting for ``callback_id``; an answer that comes later is dropped quietly."""
        if self.waiting.pop(callback_id, None) is None:
            _remember(self.given_up, callback_id, None)

    def mark_dead(self, pid: Pid, reason: str) -> None:
        _remember(self.dead, pid, reason)

    def check_alive(self, pid: Pid) -> None:
        why = self.dead.get(pid)
        if why is not None:
            from .show import opaque_text  # only on this error: not at every start

            raise ProcessNotAliveError(f"cannot send to {opaque_text(pid)}: {why}")


def _remember(table: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    table[key] = value
    while len(table) > _MEMORY:
        table.popitem(last=False)


def result_of(ok: bool, value: Any) -> Any:
    """A callback's value, or the ElixirError its ``{:error, reason}`` describes."""
    if ok:
        return value
    if isinstance(value, dict):
        kind = value.get("kind", "error")
        elixir_type = value.get("type")
        message = value.get("message")
        if not isinstance(message, str):
            from .show import brief

            message = brief(value, 500)
        raise ElixirError(message, str(kind), elixir_type if isinstance(elixir_type, str) else None)
    from .show import brief

    raise ElixirError(brief(value, 500))
