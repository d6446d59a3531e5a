"""``python -m snakeport``: run the adapter on a Port's fds.

usage: snakeport [options]
       snakeport frames dump|replay FILE ...   (a recorded session: see `snakeport frames --help`)
       snakeport call MODULE FUNCTION [ARG ...] (one call through a fresh adapter: `snakeport call --help`)

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
  --threads N              SNAKEPORT_THREADS          requests that may run at once (default 32, started
                                                      as needed; 1: one at a time, on the main thread)
  --main-thread NAME       SNAKEPORT_MAIN_THREAD      calls of module NAME (or NAME = module.function) run
                                                      on the main thread (repeatable; env: comma-separated)
  --max-callback-depth N   SNAKEPORT_MAX_CALLBACK_DEPTH  Elixir funs calling Python calling funs, nested
                                                      at most N deep (default 50)
  --log-level LEVEL        SNAKEPORT_LOG_LEVEL        stderr diagnostics: WARNING (default), ERROR, OFF
  -h, --help                                          show this help and exit

Bad options: a message on stderr and exit status 2.  (The parser is our
own: argparse costs 10 ms of every start, a Port's start is on the clock.)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..core import etf, protocol
from ..core.engine import Engine
from ..core.errors import error_map
from ..core.link import LINK
from ..runtime.dispatch import CALL_TYPES
from ..runtime.helpers import HelperRegistry
from ..runtime.runner import Runner
from . import guard, log
from .options import OptionError, Options, parse_options
from .recorder import Recorder
from .threads import ThreadHost
from .transport import Transport, protect_stdio

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["main"]


def main(
    argv: Sequence[str] | None = None, default_helper_dirs: Sequence[str | os.PathLike[str]] = ()
) -> int:
    """Run the adapter (or ``frames dump|replay``); the process's exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["frames"]:
        from ..tools.frames_cli import main as frames_main

        return frames_main(args[1:])
    if args[:1] == ["call"]:
        from ..tools.call_cli import main as call_main

        return call_main(args[1:])
    if "-h" in args or "--help" in args:
        sys.stdout.write(__doc__ or "")
        return 0
    try:
        options = parse_options(args)
    except OptionError as exc:
        sys.stderr.write(f"snakeport: error: {exc}\n")
        return 2
    log.set_level(options.log_level)
    fd_in, fd_out = protect_stdio() if options.fds is None else options.fds
    guard_kind = guard.watch(fd_in)
    transport = Transport(fd_in, fd_out)
    try:
        helpers = HelperRegistry([*default_helper_dirs, *options.helper_path])
        recorder = Recorder(options.record) if options.record else None
    except Exception as exc:
        _write_startup_error(transport, exc)
        return 1
    engine = _engine(options, transport, helpers, recorder)
    # Each nested callback level is about a dozen Python frames of the engine's own.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000 + 40 * options.max_callback_depth))
    LINK.engine = engine
    try:
        engine.start(_ready_info(guard_kind, options.threads))
        engine.serve()
    except (BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass  # the BEAM closed the port (the guard may have asked us to stop): nobody is left to answer
    finally:
        LINK.engine = None
        engine.runner.close()
        if recorder is not None:
            recorder.close()
    return 0


def _engine(
    options: Options, transport: Transport, helpers: HelperRegistry, recorder: Recorder | None
) -> Engine:
    import _thread

    counters: list[Engine] = []
    runner = Runner.build(
        helpers,
        options.allow_module,
        max_refs=options.max_refs,
        ref_ttl=options.ref_ttl,
        compress_above=options.compress_above,
        stats=lambda: counters[0].counters(),
        warn=log.warning,
        main_thread=options.main_thread,
    )
    host = ThreadHost(log.warning)
    engine = Engine(
        runner,
        transport.write,
        lambda block: transport.read_into(engine, block),
        max_frame_bytes=options.max_frame_bytes,
        recorder=recorder,
        warn=log.warning,
        max_callback_depth=options.max_callback_depth,
        lock=_thread.allocate_lock(),
        out_lock=_thread.allocate_lock(),  # snakeport.send may be called from the user's threads
        host=host,
        threads=options.threads,
    )
    host.attach(engine, transport)
    counters.append(engine)
    return engine


def _ready_info(guard_kind: str, threads: int) -> dict[str, Any]:
    return {
        "protocol": protocol.PROTOCOL_VERSION,
        "version": __version__,
        "python": sys.version.split()[0],
        "pid": os.getpid(),
        "codec": etf.IMPLEMENTATION,
        "guard": guard_kind,
        "threads": threads,
        "call_types": sorted(CALL_TYPES),
    }


def _write_startup_error(transport: Transport, exc: Exception) -> None:
    transport.write([etf.encode(protocol.startup_error(error_map(exc, {"phase": "startup"})))])
    log.error(f"startup failed: {exc}")


if __name__ == "__main__":
    sys.exit(main())
