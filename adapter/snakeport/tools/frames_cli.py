"""``python -m snakeport frames dump|replay FILE``: read a recorded session.

``dump`` prints each record (number, direction, seconds since start, the
term in Elixir syntax; ``--json`` one JSON object per line), filtered by
direction, request id or session.  ``replay`` runs a fresh adapter on the
recorded input and compares its output (see ``snakeport.replay``).  A file
that is torn or corrupt is read up to the damage, which is reported with
its byte offset; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence

from ..core import etf
from ..core.recording import FramesFormatError, Record, read_records
from ..core.show import elixir, jsonable
from .replay import Replay, adapter_command

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["main"]

# Envelopes whose second element is a request id.
_REQUEST_TAGS = ("call", "reply", "chunk", "cancel", "credit")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m snakeport frames", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dump = commands.add_parser("dump", help="print each recorded frame as an Elixir term")
    dump.add_argument("file")
    dump.add_argument("--full", action="store_true", help="do not shorten long lists, maps and binaries")
    dump.add_argument("--json", action="store_true", help="one JSON object per record")
    dump.add_argument("--direction", choices=("in", "out"), help="only frames to (in) or from (out) Python")
    dump.add_argument(
        "--id", type=int, help="only frames of this request id (call, reply, chunk, cancel, credit)"
    )
    dump.add_argument("--session", help="only calls of this session and the frames of their request ids")
    replay = commands.add_parser(
        "replay",
        help="replay the input to a fresh adapter, compare outputs",
        epilog="Options for the fresh adapter go after --: replay FILE -- --helper-path DIR",
    )
    replay.add_argument("file")
    replay.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for each output (default 10)"
    )
    replay.add_argument("--max-diffs", type=int, default=5, help="differences to print (default 5)")
    argv = list(argv)
    split = argv.index("--") if "--" in argv else len(argv)  # after --: the fresh adapter's options
    options = parser.parse_args(argv[:split])
    options.adapter_args = argv[split + 1 :]
    try:
        with open(options.file, "rb") as file:
            data = file.read()
    except OSError as exc:
        sys.stderr.write(f"snakeport frames: cannot read {options.file}: {exc.strerror}\n")
        return 2
    if options.command == "dump":
        return _dump(data, options)
    return _replay(data, options)


def _records(data: bytes, damage: list[FramesFormatError]) -> Iterator[Record]:
    """The file's records; the error that ends them early goes into ``damage``."""
    try:
        yield from read_records(data)
    except FramesFormatError as exc:
        damage.append(exc)


def _dump(data: bytes, options: argparse.Namespace) -> int:
    damage: list[FramesFormatError] = []
    sessions: set[int] = set()  # request ids of the chosen session's calls
    out = sys.stdout
    for record in _records(data, damage):
        try:
            term: Any = etf.decode(record.payload)
            error = None
        except etf.DecodeError as exc:
            term, error = None, str(exc)
        if not _selected(record, term, error, options, sessions):
            continue
        if options.json:
            fields = {
                "number": record.number,
                "direction": record.direction,
                "time": record.time,
                "offset": record.offset,
                "bytes": len(record.payload),
            }
            if error is None:
                fields.update(term=jsonable(term), text=elixir(term, options.full))
            else:
                fields.update(undecodable=error, hex=record.payload.hex())
            out.write(json.dumps(fields, ensure_ascii=False) + "\n")
        else:
            text = (
                elixir(term, options.full)
                if error is None
                else (f"undecodable ({error}): {elixir(record.payload, options.full)}")
            )
            out.write(f"{record.number:>5}  {record.direction:<3}  {record.time:10.6f}  {text}\n")
    for problem in damage:
        sys.stderr.write(f"snakeport frames: {options.file}: {problem}; the records before it are shown\n")
    return 1 if damage else 0


def _selected(
    record: Record, term: Any, error: str | None, options: argparse.Namespace, sessions: set[int]
) -> bool:
    if options.direction and record.direction != options.direction:
        return False
    if options.id is None and options.session is None:
        return True
    if error is not None or type(term) is not tuple or len(term) < 2 or term[0] not in _REQUEST_TAGS:
        return False
    request_id = term[1]
    if options.id is not None and request_id != options.id:
        return False
    if options.session is not None:
        if term[0] == "call" and isinstance(term[2], dict) and record.direction == "in":
            if _session_of(term[2]) == options.session:
                sessions.add(request_id)
        return request_id in sessions
    return True


def _session_of(request: dict[Any, Any]) -> str:
    session = request.get("session_id")
    return session if isinstance(session, str) else "default"


def _replay(data: bytes, options: argparse.Namespace) -> int:
    damage: list[FramesFormatError] = []
    records = list(_records(data, damage))
    if damage:
        sys.stderr.write(f"snakeport frames: {options.file}: {damage[0]}; not replayed\n")
        return 2
    replay = Replay(records, adapter_command(options.adapter_args), options.timeout)
    differences = replay.run()
    for difference in differences[: options.max_diffs]:
        sys.stdout.write(f"{difference}\n")
    inputs = sum(record.direction == "in" for record in records)
    summary = f"{inputs} frames in, {replay.compared} frames out compared"
    if differences:
        sys.stdout.write(f"replay FAILED: {len(differences)} difference(s); {summary}\n")
        return 1
    sys.stdout.write(f"replay OK: {summary}, all matched\n")
    return 0
