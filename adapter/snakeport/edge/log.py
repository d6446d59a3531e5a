"""The adapter's diagnostics on stderr.

A few lines of our own instead of ``logging``, whose import alone costs
about 8 ms of every adapter start.
"""

from __future__ import annotations

import os
import sys

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_threshold = LEVELS["WARNING"]


def set_level(name: str) -> None:
    global _threshold
    _threshold = LEVELS[name.upper()]


def emit(level: str, message: str) -> None:
    if LEVELS[level] >= _threshold:
        sys.stderr.write(f"snakeport[{os.getpid()}] {level} {message}\n")
        sys.stderr.flush()


def warning(message: str) -> None:
    emit("WARNING", message)


def error(message: str) -> None:
    emit("ERROR", message)
