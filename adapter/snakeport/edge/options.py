"""The adapter's command-line options and their environment variables.

Each option also comes from an environment variable; the command line wins,
and list options take both.  The parser is our own: argparse costs 10 ms of
every start, and a Port's start is on the clock.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from ..core import etf
from ..core.engine import DEFAULT_MAX_CALLBACK_DEPTH
from ..runtime.registry import DEFAULT_MAX_REFS
from . import log

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["OptionError", "Options", "parse_options"]


class OptionError(ValueError):
    """A bad option or option value."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError
    return value


def _fds(text: str) -> tuple[int, int]:
    parts = [int(part) for part in text.split(",")]
    if len(parts) != 2 or min(parts) < 0:
        raise ValueError
    return parts[0], parts[1]


def _level(text: str) -> str:
    if text.upper() not in log.LEVELS:
        raise ValueError
    return text.upper()


# option: (attribute, parser, what a valid value is, environment variable, list separator or None)
_OPTIONS: dict[str, tuple[str, Callable[[str], Any], str, str, str | None]] = {
    "--record": ("record", str, "a file name", "SNAKEPORT_RECORD", None),
    "--helper-path": ("helper_path", str, "a folder", "SNAKEPORT_HELPER_PATH", os.pathsep),
    "--allow-module": ("allow_module", str, "a module pattern", "SNAKEPORT_ALLOW_MODULE", ","),
    "--max-frame-bytes": (
        "max_frame_bytes",
        _positive_int,
        "a positive integer",
        "SNAKEPORT_MAX_FRAME_BYTES",
        None,
    ),
    "--max-refs": ("max_refs", _positive_int, "a positive integer", "SNAKEPORT_MAX_REFS", None),
    "--ref-ttl": ("ref_ttl", _positive_float, "a positive number of seconds", "SNAKEPORT_REF_TTL", None),
    "--fds": ("fds", _fds, "two fds, IN,OUT", "SNAKEPORT_FDS", None),
    "--compress-above": (
        "compress_above",
        _positive_int,
        "a positive integer",
        "SNAKEPORT_COMPRESS_ABOVE",
        None,
    ),
    "--log-level": ("log_level", _level, "one of " + ", ".join(log.LEVELS), "SNAKEPORT_LOG_LEVEL", None),
    "--threads": ("threads", _positive_int, "a positive integer", "SNAKEPORT_THREADS", None),
    "--main-thread": ("main_thread", str, "a module or module.function", "SNAKEPORT_MAIN_THREAD", ","),
    "--max-callback-depth": (
        "max_callback_depth",
        _positive_int,
        "a positive integer",
        "SNAKEPORT_MAX_CALLBACK_DEPTH",
        None,
    ),
}


class Options:
    """The adapter's settings, defaults first."""

    def __init__(self) -> None:
        self.record: str | None = None
        self.helper_path: list[str] = []
        self.allow_module: list[str] = []
        self.max_frame_bytes: int = etf.DEFAULT_MAX_SIZE
        self.max_refs: int = DEFAULT_MAX_REFS
        self.ref_ttl: float | None = None
        self.fds: tuple[int, int] | None = None
        self.compress_above: int | None = None
        self.log_level: str = "WARNING"
        self.max_callback_depth: int = DEFAULT_MAX_CALLBACK_DEPTH
        # Requests that may run at once (the main thread's included): Python's own
        # default for pools of I/O-bound work, as concurrent.futures picks it.
        self.threads: int = 32  # lazily started; waiting calls need threads, not CPUs
        self.main_thread: list[str] = []

    def set(self, flag: str, text: str, source: str) -> None:
        attribute, parse, valid, _, separator = _OPTIONS[flag]
        try:
            value = parse(text)
        except ValueError:
            raise OptionError(f"{source}: {text!r} is not {valid}") from None
        if separator is None:
            setattr(self, attribute, value)
        else:
            getattr(self, attribute).append(value)


def parse_options(argv: Sequence[str], environ: dict[str, str] | None = None) -> Options:
    """Settings from the environment, then from ``argv``; OptionError if bad."""
    environ = dict(os.environ if environ is None else environ)
    options = Options()
    for flag, (_, _, _, variable, separator) in _OPTIONS.items():
        raw = environ.get(variable, "")
        if raw:
            for part in raw.split(separator) if separator else [raw]:
                if part:
                    options.set(flag, part, f"environment variable {variable}")
    args = list(argv)
    while args:
        arg = args.pop(0)
        flag, equals, value = arg.partition("=")
        if flag not in _OPTIONS:
            raise OptionError(f"unknown option {arg!r} (see --help)")
        if not equals:
            if not args:
                raise OptionError(f"option {flag} needs a value")
            value = args.pop(0)
        options.set(flag, value, flag)
    return options
