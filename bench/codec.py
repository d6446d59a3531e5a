"""Codec speed, every implementation (pure, native) beside stdlib json and pickle, in one run.

Decodes frames the BEAM made (bench/codec_frames.escript; our own encoder
only if no BEAM is installed, and then it says so) and encodes the decoded
values; json and pickle (protocol 5) get the equivalent plain Python data
(atoms as str; the 1 MB binary as base64 text for json, bytes for pickle).
Each figure: ops/s, best of 5 repeats of at least 0.2 s.  ``--check`` holds
the implementation SnakePort uses (``etf.IMPLEMENTATION``) to its targets.

    python bench/codec.py            # table
    python bench/codec.py --check    # exit 1 if a target is missed
"""

from __future__ import annotations

import argparse
import base64
import json
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from snakeport import etf
from snakeport.terms import Atom

HERE = Path(__file__).parent
CASES = ["request_map", "ints_10k", "floats_10k", "binary_1mb", "maps_1000"]


def python_data() -> dict[str, Any]:
    """The same data as the BEAM frames, as plain Python values."""
    return {
        "request_map": {
            "call_type": "call",
            "python_module": "math",
            "function": "sqrt",
            "args": [16],
            "kwargs": {},
            "session_id": "s1",
        },
        "ints_10k": list(range(1, 10001)),
        "floats_10k": [i * 1.1 for i in range(1, 10001)],
        "binary_1mb": bytes(range(256)) * 4096,
        "maps_1000": [
            {"id": i, "name": "item", "score": i * 0.5, "tags": [Atom("a"), Atom("b")]}
            for i in range(1, 1001)
        ],
    }


def beam_frames() -> tuple[dict[str, bytes], str]:
    escript = shutil.which("escript")
    if escript is None:
        data = python_data()
        return {name: etf.encode(data[name]) for name in CASES}, "snakeport's encoder (no BEAM found)"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([escript, str(HERE / "codec_frames.escript"), tmp], check=True)
        frames = {name: (Path(tmp) / f"{name}.etf").read_bytes() for name in CASES}
    return frames, "the BEAM's term_to_binary"


def plain(value: Any) -> Any:
    """What json and pickle are given: atoms as str, bytes as base64 for json."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Atom):
        return str(value)
    return value


def rate(func: Callable[[], Any]) -> float:
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    number = max(number, 1)
    while True:
        best = min(timer.repeat(5, number))
        if best >= 0.2 or number > 1 << 24:
            return number / best
        number *= 2


def measure_case(name: str, frame: bytes) -> list[dict[str, Any]]:
    """One row per implementation; json and pickle are measured once and shared."""
    value = etf.decode(frame)
    data = plain(value)
    json_data = base64.b64encode(data).decode() if isinstance(data, bytes) else data
    json_text = json.dumps(json_data)
    pickled = pickle.dumps(data, 5)
    shared = {
        "json_dec": rate(lambda: json.loads(json_text)),
        "json_enc": rate(lambda: json.dumps(json_data)),
        "pickle_dec": rate(lambda: pickle.loads(pickled)),
        "pickle_enc": rate(lambda: pickle.dumps(data, 5)),
    }
    rows = []
    for impl, codec in sorted(etf.IMPLEMENTATIONS.items()):
        decoded = codec.decode(frame)
        rows.append(
            {
                "case": name,
                "impl": impl,
                "etf_dec": rate(lambda codec=codec: codec.decode(frame)),
                "etf_enc": rate(lambda codec=codec, decoded=decoded: codec.encode(decoded)),
                **shared,
            }
        )
    return rows


def measure() -> tuple[list[dict[str, Any]], str]:
    frames, source = beam_frames()
    return [row for name in CASES for row in measure_case(name, frames[name])], source


def both(dec: float, enc: float) -> float:
    """Round trips per second: one decode plus one encode."""
    return 1 / (1 / dec + 1 / enc)


def misses_of(row: dict[str, Any]) -> list[str]:
    """The targets a row misses: the issue's for native, the earlier ones for pure."""
    json_ratio = both(row["etf_dec"], row["etf_enc"]) / both(row["json_dec"], row["json_enc"])
    pickle_ratio = both(row["etf_dec"], row["etf_enc"]) / both(row["pickle_dec"], row["pickle_enc"])
    dec_ratio = row["etf_dec"] / row["json_dec"]
    enc_ratio = row["etf_enc"] / row["json_enc"]
    case, impl = row["case"], row["impl"]
    misses = []
    need = 3.0 if impl == "native" else 0.6
    if case == "request_map" and json_ratio < need:
        misses.append(f"{impl}: request_map dec+enc is {json_ratio:.2f}x json (target >= {need}x)")
    if case == "binary_1mb" and pickle_ratio < 0.9:
        misses.append(f"{impl}: binary_1mb dec+enc is {pickle_ratio:.2f}x pickle (target: as fast)")
    if impl == "native":
        if case == "maps_1000" and dec_ratio < 1:
            misses.append(f"native: maps_1000 decode is {dec_ratio:.2f}x json (target >= 1x)")
        if case in ("ints_10k", "floats_10k") and min(dec_ratio, enc_ratio) < 1:
            misses.append(
                f"native: {case} is slower than json (decode {dec_ratio:.2f}x, encode {enc_ratio:.2f}x)"
            )
    elif case != "binary_1mb" and min(dec_ratio, enc_ratio) < 0.2:
        misses.append(
            f"{impl}: {case}: {'decode' if dec_ratio < enc_ratio else 'encode'} is "
            f"{1 / min(dec_ratio, enc_ratio):.1f}x slower than json (target <= 5x)"
        )
    return misses


def report(rows: list[dict[str, Any]], source: str) -> list[str]:
    """Print the table and the missed targets; return those of the implementation in use."""
    print(
        f"Python {platform.python_version()}, {platform.machine()}; frames made by {source}; "
        f"implementations: {', '.join(sorted(etf.IMPLEMENTATIONS))} (in use: {etf.IMPLEMENTATION})"
    )
    print()
    print(
        "| case | codec | etf dec/s | etf enc/s | json dec/s | json enc/s | pickle dec/s | pickle enc/s "
        "| dec vs json | enc vs json | dec+enc vs json | dec+enc vs pickle |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    misses: list[str] = []
    for row in rows:
        json_ratio = both(row["etf_dec"], row["etf_enc"]) / both(row["json_dec"], row["json_enc"])
        pickle_ratio = both(row["etf_dec"], row["etf_enc"]) / both(row["pickle_dec"], row["pickle_enc"])
        dec_ratio = row["etf_dec"] / row["json_dec"]
        enc_ratio = row["etf_enc"] / row["json_enc"]
        print(
            f"| {row['case']} | {row['impl']} | {row['etf_dec']:,.0f} | {row['etf_enc']:,.0f} "
            f"| {row['json_dec']:,.0f} | {row['json_enc']:,.0f} | {row['pickle_dec']:,.0f} "
            f"| {row['pickle_enc']:,.0f} | {dec_ratio:.2f}x | {enc_ratio:.2f}x | {json_ratio:.2f}x "
            f"| {pickle_ratio:.2f}x |"
        )
        misses += misses_of(row)
    print()
    print(
        "Targets: native: request_map dec+enc >= 3x json, maps_1000 decode >= json, number lists "
        "faster than json, binary_1mb as fast as pickle; pure: request_map dec+enc >= 0.6x json, "
        "no case slower than 5x json (each of decode and encode), binary_1mb as fast as pickle."
    )
    for line in misses or ["all targets met"]:
        print(f"- {line}")
    return [line for line in misses if line.startswith(etf.IMPLEMENTATION + ":")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    misses = report(*measure())
    return 1 if args.check and misses else 0


if __name__ == "__main__":
    sys.exit(main())
