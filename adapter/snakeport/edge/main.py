"""``python -m snakeport``: run the adapter on a Port's fds.

usage: snakeport [options]
       snakeport frames dump|replay FILE ...   (a recorded session: see `snakeport frames --help`)

Each option also comes from an environment variable; the command line wins,
and list options take both.

  --record FILE            SNAKEPORT_RECORD           append every frame in and out to FILE
  --helper-path DIR        SNAKEPORT_HELPER_PATH      a helper folder (repeatable; env: os.pathsep-separated)
  --allow-module PATTERN   SNAKEPORT_ALLOW_MODULE     modules that may be imported, fnmatch patterns
                                                      (repeatable; env: comma-separated; default: all)
  --max-frame-bytes N      SNAKEPORT_MAX_FRAME_BYTES  refuse bigger frames by their header (default 1 GiB)
  --max-refs N             SNAKEPORT_MAX_REFS         refs per session, LRU out (default 10000)
  --ref-ttl S              SNAKEPORT_REF_TTL          drop refs idle for S seconds (default: never)
  --fds IN,OUT             SNAKEPORT_FDS              protocol fds (default 0,1; e.g. 3,4 for nouse_stdio)
  --compress-above BYTES   SNAKEPORT_COMPRESS_ABOVE   zlib-compress replies over BYTES
  --log-level LEVEL        SNAKEPORT_LOG_LEVEL        stderr diagnostics: DEBUG, INFO, WARNING (default),
                                                      ERROR, CRITICAL
  -h, --help                                          show this help and exit

Bad options: a message on stderr and exit status 2.  (The parser is our
own: argparse costs 10 ms of every start, a Port's start is on the clock.)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from ..core import etf, protocol
from ..core.errors import error_map
from ..runtime.dispatch import Dispatcher
from ..runtime.helpers import HelperRegistry
from ..runtime.registry import DEFAULT_MAX_REFS, Registry
from ..runtime.serialize import ResultEncoder
from . import log
from .recorder import Recorder
from .server import Server
from .transport import Transport, protect_stdio, watch_for_hangup

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["OptionError", "Options", "main", "parse_options"]


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


def main(
    argv: Sequence[str] | None = None, default_helper_dirs: Sequence[str | os.PathLike[str]] = ()
) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["frames"]:
        from ..tools.frames_cli import main as frames_main

        return frames_main(args[1:])
    if "-h" in args or "--help" in args:
        sys.stdout.write(__doc__ or "")
        return 0
    try:
        options = parse_options(args)
    except OptionError as exc:
        sys.stderr.write(f"snakeport: error: {exc}\n")
        return 2
    log.set_level(options.log_level)
    if options.fds is None:
        fd_in, fd_out = protect_stdio()
    else:
        fd_in, fd_out = options.fds
    watch_for_hangup(fd_in)
    transport = Transport(fd_in, fd_out, options.max_frame_bytes)
    try:
        helpers = HelperRegistry([*default_helper_dirs, *options.helper_path])
        recorder = Recorder(options.record) if options.record else None
    except Exception as exc:
        transport.write(etf.encode(protocol.startup_error(error_map(exc, {"phase": "startup"}))))
        log.error(f"startup failed: {exc}")
        return 1
    registry = Registry(max_refs=options.max_refs, ttl=options.ref_ttl, on_release=_close_generator)
    dispatcher = Dispatcher(registry, helpers, options.allow_module, stats=lambda: _counters(transport))
    try:  # noqa: SIM105 - contextlib.suppress would add an import to every start
        Server(transport, dispatcher, ResultEncoder(registry, options.compress_above), recorder).serve()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the BEAM closed the port while we wrote: nobody is left to answer
    return 0


def _counters(transport: Transport) -> dict[str, Any]:
    return {
        "frames_in": transport.frames_in,
        "frames_out": transport.frames_out,
        "bytes_in": transport.bytes_in,
        "bytes_out": transport.bytes_out,
    }


def _close_generator(entry: Any) -> None:
    """Released streams run their generator's ``finally`` blocks now, not at GC."""
    close = getattr(entry.obj, "close", None) if entry.stream_type == "generator" else None
    if close is not None:
        try:
            close()
        except Exception as exc:  # a generator failing in its finally: nothing to answer
            log.error(f"closing a released generator failed: {exc!r}")


if __name__ == "__main__":
    sys.exit(main())
