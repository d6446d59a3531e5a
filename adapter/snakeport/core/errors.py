"""SnakePort's own error types, and the error map every failure becomes.

A reply carries ``{:error, %{"type", "module", "message", "traceback",
"context"}}``; ``type`` is the exception's class name, so the adapter's
errors are named for what went wrong.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from types import TracebackType
    from typing import Any

__all__ = [
    "AdapterError",
    "AttributeNotAllowedError",
    "BeamGoneError",
    "CallbackDepthError",
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
    "describe",
    "error_map",
    "format_traceback",
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
    """An import, or an object from a module, refused by ``--allow-module``."""


class AttributeNotAllowedError(AdapterError):
    """An attribute walk refused by ``--allow-module`` (a dunder, a frame, an evaluating builtin)."""


class HelperNotFoundError(AdapterError):
    """A helper name no helper folder registered (or the allowlist refused)."""


class HelperLoadError(AdapterError):
    """A helper file that failed to import or to register its helpers."""


class Cancelled(BaseException):
    """A request cancelled by the client before it finished.

    A ``BaseException`` (like ``KeyboardInterrupt``), so a user's ``except
    Exception`` does not swallow the interrupt that stops a call; ``finally``
    blocks run.
    """


class CallbackDepthError(AdapterError):
    """Elixir funs and Python calls nested deeper than the adapter allows."""


def error_map(exc: BaseException, context: dict[str, Any]) -> dict[str, Any]:
    """The wire form of an exception: type, module, message, traceback, context.

    Never raises, whatever the exception's ``__str__`` does.
    """
    kind = type(exc)
    return {
        "type": kind.__name__,
        "module": kind.__module__,
        "message": _message(exc),
        "traceback": format_traceback(exc),
        "context": context,
    }


def describe(exc: BaseException) -> str:
    """``"ValueError: message"``, whatever the exception's ``__str__`` does."""
    return f"{type(exc).__name__}: {_message(exc)}"


def _message(exc: BaseException, unquoted: bool = True) -> str:
    try:  # str() of a KeyError adds quotes around its key
        if unquoted and isinstance(exc, KeyError) and len(exc.args) == 1:
            return str(exc.args[0])
        return str(exc)
    except Exception:
        try:
            return repr(exc)
        except Exception:
            return f"<{type(exc).__name__} that cannot be shown>"


def format_traceback(exc: BaseException) -> str:
    """The traceback text Python prints, without its ``^^^^`` caret lines or the adapter's own frames.

    Leading frames inside SnakePort (the engine, the dispatcher) are left out:
    the traceback starts where the request entered the user's code.
    ``traceback.format_exception`` compiles each frame's source line to place
    the carets (about 57 us per exception); the frames, files, lines, source
    text and chained exceptions are what a user reads, and cost little.
    """
    import linecache  # at first error, not at every start

    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    note = ""
    while current is not None and id(current) not in seen and len(chain) < 100:
        seen.add(id(current))
        chain.append((current, note))
        if current.__cause__ is not None:
            current, note = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, note = current.__context__, _CONTEXT
        else:
            current = None
    lines: list[str] = []
    for error, after in reversed(chain):
        if error.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
        tb = _user_frames(error.__traceback__, type(error).__module__.startswith("snakeport"))
        shown = 0
        while tb is not None:
            code = tb.tb_frame.f_code
            if shown < _MAX_FRAMES:
                lines.append(f'  File "{code.co_filename}", line {tb.tb_lineno}, in {code.co_name}\n')
                source = linecache.getline(code.co_filename, tb.tb_lineno).strip()
                if source:
                    lines.append(f"    {source}\n")
            shown += 1
            tb = tb.tb_next
        if shown > _MAX_FRAMES:
            lines.append(f"  [... {shown - _MAX_FRAMES} more frames]\n")
        message = _message(error, unquoted=False)
        name = type(error).__qualname__
        module = type(error).__module__
        if module not in ("builtins", "__main__"):
            name = f"{module}.{name}"
        lines.append(f"{name}: {message}\n" if message else f"{name}\n")
        if after:
            lines.append(after)
    return "".join(lines)


def _user_frames(tb: TracebackType | None, ours: bool) -> TracebackType | None:
    """``tb`` without its leading frames inside SnakePort.

    An error of SnakePort's own keeps them when nothing follows (they say
    where the adapter refused); a user's error that has no Python frame of its
    own (``math.sqrt(-1)``) shows no frame.
    """
    first = tb
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        tb = tb.tb_next
    return first if tb is None and ours else tb


_MAX_FRAMES = 200
# The snakeport package's folder: frames there are the adapter's, not the user's.
_PACKAGE_DIR = __file__[: -len("core/errors.py")]
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


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
