"""The one link from user code to the running engine.

An Elixir fun is a Python callable (``terms.Fun``) and ``snakeport.send``
writes a message: both go through ``LINK``, which the edge points at the
engine it runs.  Outside the adapter there is no engine, and both say so.
"""

from __future__ import annotations

from .terms import Pid

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any, Protocol

    from .terms import Fun

    class Runner(Protocol):
        """What the running engine offers user code."""

        def run_callback(self, fun: Fun, args: tuple[Any, ...]) -> Any: ...

        def send_message(self, pid: Pid, term: Any) -> None: ...


__all__ = ["LINK", "Link", "send"]


class Link:
    """Holds the engine that runs Elixir funs and sends messages (None outside the adapter)."""

    __slots__ = ("engine",)

    def __init__(self) -> None:
        self.engine: Runner | None = None

    def call(self, fun: Fun, args: tuple[Any, ...]) -> Any:
        engine = self.engine
        if engine is None:
            raise RuntimeError(
                "an Elixir fun can only be called inside the SnakePort adapter serving the BEAM that sent it"
            )
        return engine.run_callback(fun, args)

    def send(self, pid: Pid, term: Any) -> None:
        engine = self.engine
        if engine is None:
            raise RuntimeError("snakeport.send works only inside the SnakePort adapter")
        engine.send_message(pid, term)


LINK = Link()


def send(pid: Pid, term: Any) -> None:
    """Send ``term`` to the BEAM process ``pid`` (as Erlang's ``send/2``: no wait).

    Raises ``ProcessNotAliveError`` once the worker has reported that ``pid``
    is dead (a send to a dead process is otherwise lost, as in Erlang).
    """
    if not isinstance(pid, Pid):
        raise TypeError(f"snakeport.send needs a pid (a snakeport.terms.Pid), got {type(pid).__name__}")
    LINK.send(pid, term)
