"""``python -m snakeport call MODULE FUNCTION [ARG ...]``: one call through a real adapter.

Arguments are Python literals (``'[1, 2]'``, ``"'text'"``, ``3.5``; a word
that is not a literal is a string).  The result is printed in Elixir syntax
(as ``frames dump`` shows terms), or as JSON with ``--json``; an error reply
is printed on stderr and the exit status is 1.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m snakeport call", description=__doc__.split("\n")[0])
    parser.add_argument("module")
    parser.add_argument("function")
    parser.add_argument("args", nargs="*", help="positional arguments, as Python literals")
    parser.add_argument("--kwargs", default="{}", help="keyword arguments, a Python dict literal")
    parser.add_argument("--session", default="default", help="the session id (default: default)")
    parser.add_argument(
        "--option", action="append", default=[], help="an adapter option, e.g. --option=--helper-path=DIR"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the reply")
    options = parser.parse_args(argv)
    kwargs = _literal(options.kwargs)
    if not isinstance(kwargs, dict):
        parser.error("--kwargs must be a dict literal")

    from ..core.show import elixir, jsonable
    from ..testing import Adapter, RemoteError
    from ..testing.wire import Ref

    adapter_options = [part for option in options.option for part in option.split("=", 1)]
    with Adapter(*adapter_options, timeout=options.timeout) as adapter:
        try:
            value = adapter.call(
                options.module,
                options.function,
                [_literal(arg) for arg in options.args],
                kwargs,
                session=options.session,
                timeout=options.timeout,
            )
        except RemoteError as exc:
            trace = exc.traceback if "  File " in exc.traceback else ""
            sys.stderr.write(f"{exc.python_type}: {exc.message}\n{trace}")
            return 1
    shown = _plain(value, Ref)
    sys.stdout.write((json.dumps(jsonable(shown)) if options.json else elixir(shown)) + "\n")
    return 0


def _plain(value: Any, ref: type) -> Any:
    """Refs shown as the maps they travel as."""
    if isinstance(value, ref):
        return value.wire  # type: ignore[attr-defined]
    if isinstance(value, list):
        return [_plain(item, ref) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item, ref) for item in value)
    if isinstance(value, dict):
        return {key: _plain(item, ref) for key, item in value.items()}
    return value
