"""SnakePort's own error types, and the error map every failure becomes.

A reply carries ``{:error, %{"type", "module", "message", "traceback",
"context"}}``; ``type`` is the exception's class name, so the adapter's
errors are named for what went wrong.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = [
    "AdapterError",
    "BeamGoneError",
    "Cancelled",
    "ElixirError",
    "HelperLoadError",
    "HelperNotFoundError",
    "ModuleNotAllowedError",
    "ProcessNotAliveError",
    "ProtocolError",
    "RefEvictedError",
    "RefNotFoundError",
    "SessionMismatchError",
    "error_map",
]


class AdapterError(Exception):
    """Base of the errors SnakePort raises itself (not the user's code)."""


class ProtocolError(AdapterError):
    """A frame or request that does not follow the protocol."""


class RefNotFoundError(AdapterError):
    """A ref id this session never had, or has released."""


class RefEvictedError(RefNotFoundError):
    """A ref the registry dropped to stay within its limits (count or idle time)."""


class SessionMismatchError(AdapterError):
    """A ref used from a session other than the one that owns it."""


class ModuleNotAllowedError(AdapterError):
    """An import refused by ``--allow-module``."""


class HelperNotFoundError(AdapterError):
    """A helper name no helper folder registered (or the allowlist refused)."""


class HelperLoadError(AdapterError):
    """A helper file that failed to import or to register its helpers."""


class Cancelled(AdapterError):
    """A request cancelled by the client before it finished."""


def error_map(exc: BaseException, context: dict[str, Any]) -> dict[str, Any]:
    """The wire form of an exception: type, module, message, traceback, context."""
    import traceback  # at first error, not at every start

    # str() of a KeyError adds quotes around its key
    message = str(exc.args[0]) if isinstance(exc, KeyError) and len(exc.args) == 1 else str(exc)
    return {
        "type": type(exc).__name__,
        "module": type(exc).__module__,
        "message": message,
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        "context": context,
    }


class ElixirError(Exception):
    """An Elixir fun called from Python failed: it raised, exited, threw or timed out.

    ``kind`` is ``"error"``, ``"exit"``, ``"throw"`` or ``"timeout"``;
    ``elixir_type`` the exception module (``"ArithmeticError"``) when there is one.
    """

    def __init__(self, message: str, kind: str = "error", elixir_type: str | None = None) -> None:
        super().__init__(f"({elixir_type or kind}) {message}")
        self.message = message
        self.kind = kind
        self.elixir_type = elixir_type


class ProcessNotAliveError(AdapterError):
    """``snakeport.send`` to a BEAM process the worker found dead."""


class BeamGoneError(AdapterError):
    """The BEAM closed the port while Python waited for a callback's reply."""
