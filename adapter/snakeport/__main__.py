"""``python -m snakeport``: run the adapter on a Port's fds.

Options (each also from an environment variable; the command line wins):

  --record FILE            SNAKEPORT_RECORD           append every frame to FILE
  --helper-path DIR        SNAKEPORT_HELPER_PATH      helper folder (repeatable; env: os.pathsep-separated)
  --allow-module PATTERN   SNAKEPORT_ALLOW_MODULE     importable modules, fnmatch (repeatable; env: commas)
  --max-frame-bytes N      SNAKEPORT_MAX_FRAME_BYTES  refuse bigger frames by their header (default 1 GiB)
  --max-refs N             SNAKEPORT_MAX_REFS         refs per session, LRU beyond (default 10000)
  --ref-ttl S              SNAKEPORT_REF_TTL          drop refs idle for S seconds (default: never)
  --fds IN,OUT             SNAKEPORT_FDS              protocol fds (default 0,1; 3,4 for nouse_stdio)
  --compress-above BYTES   SNAKEPORT_COMPRESS_ABOVE   zlib-compress replies over BYTES
  --log-level LEVEL        SNAKEPORT_LOG_LEVEL        stderr logging (default WARNING)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import etf, protocol
from .dispatch import Dispatcher
from .errors import error_map
from .frames import Recorder
from .helpers import HelperRegistry
from .registry import DEFAULT_MAX_REFS, Registry
from .serialize import ResultEncoder
from .server import Server
from .transport import Transport, protect_stdio, watch_for_hangup

__all__ = ["main", "parse_options"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be positive")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("must be positive")
    return value


def _fds(text: str) -> tuple[int, int]:
    parts = [int(part) for part in text.split(",")]
    if len(parts) != 2 or min(parts) < 0:
        raise ValueError("must be two fds, IN,OUT")
    return parts[0], parts[1]


_positive_int.__name__ = "positive integer"
_positive_float.__name__ = "positive number"
_fds.__name__ = "IN,OUT pair of fds"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snakeport", description="The SnakePort adapter: serves SnakeBridge calls over a BEAM Port."
    )
    parser.add_argument("--record", metavar="FILE")
    parser.add_argument("--helper-path", metavar="DIR", action="append", default=[])
    parser.add_argument("--allow-module", metavar="PATTERN", action="append", default=[])
    parser.add_argument("--max-frame-bytes", metavar="N", type=_positive_int, default=etf.DEFAULT_MAX_SIZE)
    parser.add_argument("--max-refs", metavar="N", type=_positive_int, default=DEFAULT_MAX_REFS)
    parser.add_argument("--ref-ttl", metavar="S", type=_positive_float, default=None)
    parser.add_argument("--fds", metavar="IN,OUT", type=_fds, default=None)
    parser.add_argument("--compress-above", metavar="BYTES", type=_positive_int, default=None)
    parser.add_argument(
        "--log-level",
        metavar="LEVEL",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        type=str.upper,
    )
    return parser


_ENV: dict[str, tuple[str, str]] = {
    # dest: (variable, how a value joins: "one", or the separator of a list)
    "record": ("SNAKEPORT_RECORD", "one"),
    "helper_path": ("SNAKEPORT_HELPER_PATH", os.pathsep),
    "allow_module": ("SNAKEPORT_ALLOW_MODULE", ","),
    "max_frame_bytes": ("SNAKEPORT_MAX_FRAME_BYTES", "one"),
    "max_refs": ("SNAKEPORT_MAX_REFS", "one"),
    "ref_ttl": ("SNAKEPORT_REF_TTL", "one"),
    "fds": ("SNAKEPORT_FDS", "one"),
    "compress_above": ("SNAKEPORT_COMPRESS_ABOVE", "one"),
    "log_level": ("SNAKEPORT_LOG_LEVEL", "one"),
}


def parse_options(argv: Sequence[str], environ: dict[str, str] | None = None) -> argparse.Namespace:
    """Options from the environment, then the command line (which wins); exit 2 if bad.

    List options (helper folders, allowed modules) take both.
    """
    environ = dict(os.environ if environ is None else environ)
    parser = build_parser()
    checker = build_parser()
    checker.exit_on_error = False
    from_env: list[str] = []
    for dest, (variable, join) in _ENV.items():
        raw = environ.get(variable, "")
        values = [raw] if join == "one" else [part for part in raw.split(join) if part]
        for value in values if raw else []:
            arg = f"--{dest.replace('_', '-')}={value}"
            try:
                checker.parse_args([arg])
            except argparse.ArgumentError as exc:
                parser.error(f"environment variable {variable}={raw!r}: {exc.message}")
            from_env.append(arg)
    return parser.parse_args([*from_env, *argv])


def main(argv: Sequence[str] | None = None, default_helper_dirs: Sequence[str | Path] = ()) -> int:
    options = parse_options(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=options.log_level, stream=sys.stderr, format="snakeport[%(process)d] %(levelname)s %(message)s"
    )
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
        logging.getLogger("snakeport").error("startup failed: %s", exc)
        return 1
    registry = Registry(max_refs=options.max_refs, ttl=options.ref_ttl, on_release=_close_generator)
    dispatcher = Dispatcher(registry, helpers, options.allow_module, stats=lambda: _counters(transport))
    Server(transport, dispatcher, ResultEncoder(registry, options.compress_above), recorder).serve()
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
        except Exception:  # a generator failing in its finally: nothing to answer
            logging.getLogger("snakeport").exception("closing a released generator failed")


if __name__ == "__main__":
    sys.exit(main())
