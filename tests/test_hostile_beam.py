"""A hostile peer over a real Port: at least 10,000 frames, the adapter answering a ping and
keeping a session's ref after each one (``tests/beam/hostile_frames.exs``).

``SNAKEPORT_HOSTILE_FRAMES=200000`` runs the long (nightly) mode; ``SNAKEPORT_HOSTILE_SEED``
picks the random seed (the default changes every day, and is printed).
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import LAUNCHER, beam_tool

SCRIPT = Path(__file__).parent / "beam" / "hostile_frames.exs"
MAX_FRAME_BYTES = 8 << 20
# Peak RSS the adapter may reach under this suite: the interpreter (~12 MB), a lying header's
# first buffer (4 MiB), an inflated 1 MB bomb, and slack for the allocator.
PEAK_RSS_KB = 64 * 1024


def test_hostile_frames_over_a_real_port() -> None:
    frames = int(os.environ.get("SNAKEPORT_HOSTILE_FRAMES", "10000"))
    seed = int(os.environ.get("SNAKEPORT_HOSTILE_SEED", datetime.date.today().strftime("%Y%m%d")))
    result = subprocess.run(
        [
            beam_tool("elixir"),
            str(SCRIPT),
            sys.executable,
            str(LAUNCHER),
            str(frames),
            str(seed),
            str(MAX_FRAME_BYTES),
        ],
        capture_output=True,
        text=True,
        timeout=60 + frames // 100,
    )
    print(result.stdout[-2000:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary = re.search(r"OK (\d+) frames in \d+ ms, seed (\d+), adapter peak RSS (\d+) kB", result.stdout)
    assert summary, result.stdout[-2000:]
    assert int(summary.group(1)) >= frames
    assert int(summary.group(3)) < PEAK_RSS_KB, f"peak RSS {summary.group(3)} kB (seed {seed})"
