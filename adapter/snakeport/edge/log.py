"""The adapter's diagnostics on stderr.

A few lines of our own instead of ``logging``, whose import alone costs
about 8 ms of every adapter start.  The adapter reports only warnings
(protocol errors, failures while cleaning up) and errors.
"""

from __future__ import annotations

import os
import sys

LEVELS = {"WARNING": 30, "ERROR": 40, "OFF": 100}
_threshold = LEVELS["WARNING"]


def set_level(name: str) -> None:
    global _threshold
    _threshold = LEVELS[name.upper()]


def _emit(level: str, message: str) -> None:
    if LEVELS[level] >= _threshold:
        try:
            sys.stderr.write(f"snakeport[{os.getpid()}] {level} {message}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # stderr closed: nowhere to say it


def warning(message: str) -> None:
    _emit("WARNING", message)


def error(message: str) -> None:
    _emit("ERROR", message)
