"""Python's side of callbacks and messages to the BEAM, without I/O.

An Elixir fun arrives as ``terms.Fun``; calling it asks the running server
(``install``) to send ``{:callback, CbId, Fun, Args}`` and to keep serving
frames until ``{:callback_reply, CbId, Result}`` comes back.  The table
here tracks which callback ids are waiting, which were answered, and which
were given up (so a late answer is dropped quietly, not reported).
``send`` is the user-facing ``snakeport.send(pid, term)``.
"""

from __future__ import annotations

from ..core.errors import ElixirError, ProcessNotAliveError
from ..core.terms import Fun, Pid

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any, Protocol

    class Link(Protocol):
        """What the running server offers user code."""

        def run_callback(self, fun: Fun, args: tuple[Any, ...]) -> Any: ...

        def send_message(self, pid: Pid, term: Any) -> None: ...


__all__ = ["CallbackTable", "install", "result_of", "send"]

_link: Link | None = None


def install(link: Link | None) -> None:
    """Make ``link`` the server that runs Elixir funs and sends messages (None: none)."""
    global _link
    _link = link
    Fun.runner = None if link is None else link.run_callback


def send(pid: Pid, term: Any) -> None:
    """Send ``term`` to the BEAM process ``pid`` (as Erlang's ``send/2``: no wait).

    Raises ``ProcessNotAliveError`` once the worker has reported that ``pid``
    is dead (a send to a dead process is otherwise lost, as in Erlang).
    """
    if not isinstance(pid, Pid):
        raise TypeError(f"snakeport.send needs a pid (a snakeport.terms.Pid), got {type(pid).__name__}")
    if _link is None:
        raise RuntimeError("snakeport.send works only inside the SnakePort adapter")
    _link.send_message(pid, term)


class CallbackTable:
    """Callback ids: waiting, answered, given up; and pids reported dead."""

    def __init__(self) -> None:
        self.next_id = 1
        # id -> (ok, value, whether value holds refs to resolve) once answered
        self.waiting: dict[int, tuple[bool, Any, bool] | None] = {}
        self.given_up: set[int] = set()
        self.dead: dict[Pid, str] = {}  # pid -> why the worker could not deliver to it

    def open(self) -> int:
        callback_id = self.next_id
        self.next_id += 1
        self.waiting[callback_id] = None
        return callback_id

    def answer(self, callback_id: int, ok: bool, value: Any, has_refs: bool) -> bool:
        """Record a reply; False when no callback with this id is waiting."""
        if callback_id in self.given_up:
            self.given_up.discard(callback_id)
            return True
        if callback_id not in self.waiting or self.waiting[callback_id] is not None:
            return False
        self.waiting[callback_id] = (ok, value, has_refs)
        return True

    def close(self, callback_id: int) -> None:
        """Stop waiting for ``callback_id``; an answer that comes later is dropped quietly."""
        if self.waiting.pop(callback_id, None) is None:
            self.given_up.add(callback_id)

    def check_alive(self, pid: Pid) -> None:
        why = self.dead.get(pid)
        if why is not None:
            from ..core.show import opaque_text  # only on this error: not at every start

            raise ProcessNotAliveError(f"cannot send to {opaque_text(pid)}: {why}")


def result_of(ok: bool, value: Any) -> Any:
    """A callback's value, or the ElixirError its ``{:error, reason}`` describes."""
    if ok:
        return value
    if isinstance(value, dict):
        kind = value.get("kind", "error")
        elixir_type = value.get("type")
        message = value.get("message", repr(value))
        raise ElixirError(str(message), str(kind), elixir_type if isinstance(elixir_type, str) else None)
    raise ElixirError(repr(value))
