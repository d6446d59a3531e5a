"""Codec speed beside stdlib json and pickle, measured in one run.

Decodes frames the BEAM made (bench/codec_frames.escript; our own encoder
only if no BEAM is installed, and then it says so) and encodes the decoded
values; json and pickle (protocol 5) get the equivalent plain Python data
(atoms as str; the 1 MB binary as base64 text for json, bytes for pickle).
Each figure: ops/s, best of 5 repeats of at least 0.2 s.

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


def measure_case(name: str, frame: bytes) -> dict[str, Any]:
    value = etf.decode(frame)
    data = plain(value)
    json_data = base64.b64encode(data).decode() if isinstance(data, bytes) else data
    json_text = json.dumps(json_data)
    pickled = pickle.dumps(data, 5)
    return {
        "case": name,
        "etf_dec": rate(lambda: etf.decode(frame)),
        "etf_enc": rate(lambda: etf.encode(value)),
        "json_dec": rate(lambda: json.loads(json_text)),
        "json_enc": rate(lambda: json.dumps(json_data)),
        "pickle_dec": rate(lambda: pickle.loads(pickled)),
        "pickle_enc": rate(lambda: pickle.dumps(data, 5)),
    }


def measure() -> tuple[list[dict[str, Any]], str]:
    frames, source = beam_frames()
    return [measure_case(name, frames[name]) for name in CASES], source


def both(dec: float, enc: float) -> float:
    """Round trips per second: one decode plus one encode."""
    return 1 / (1 / dec + 1 / enc)


def report(rows: list[dict[str, Any]], source: str) -> list[str]:
    print(
        f"Python {platform.python_version()}, {platform.machine()}; frames made by {source}; "
        f"codec implementation: {etf.IMPLEMENTATION}"
    )
    print()
    print(
        "| case | etf dec/s | etf enc/s | json dec/s | json enc/s | pickle dec/s | pickle enc/s "
        "| dec vs json | enc vs json | dec+enc vs json | dec+enc vs pickle |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    misses = []
    for row in rows:
        json_ratio = both(row["etf_dec"], row["etf_enc"]) / both(row["json_dec"], row["json_enc"])
        pickle_ratio = both(row["etf_dec"], row["etf_enc"]) / both(row["pickle_dec"], row["pickle_enc"])
        dec_ratio = row["etf_dec"] / row["json_dec"]
        enc_ratio = row["etf_enc"] / row["json_enc"]
        print(
            f"| {row['case']} | {row['etf_dec']:,.0f} | {row['etf_enc']:,.0f} | {row['json_dec']:,.0f} "
            f"| {row['json_enc']:,.0f} | {row['pickle_dec']:,.0f} | {row['pickle_enc']:,.0f} "
            f"| {dec_ratio:.2f}x | {enc_ratio:.2f}x | {json_ratio:.2f}x | {pickle_ratio:.2f}x |"
        )
        if row["case"] == "request_map" and json_ratio < 0.6:
            misses.append(f"request_map dec+enc is {json_ratio:.2f}x json (target >= 0.6x)")
        if row["case"] == "binary_1mb" and pickle_ratio < 0.9:
            misses.append(f"binary_1mb dec+enc is {pickle_ratio:.2f}x pickle (target: as fast)")
        if row["case"] != "binary_1mb" and min(dec_ratio, enc_ratio) < 0.2:
            misses.append(
                f"{row['case']}: {'decode' if dec_ratio < enc_ratio else 'encode'} is "
                f"{1 / min(dec_ratio, enc_ratio):.1f}x slower than json (target <= 5x)"
            )
    print()
    print(
        "Targets: request_map dec+enc >= 0.6x json; no case slower than 5x json "
        "(each of decode and encode); binary_1mb as fast as pickle."
    )
    for line in misses or ["all targets met"]:
        print(f"- {line}")
    return misses


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
