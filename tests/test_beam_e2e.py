"""The real BEAM launches priv/python/snakeport_adapter.py and runs a script of calls."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import beam_tool

SCRIPT = Path(__file__).parent / "beam" / "adapter_e2e.exs"


def test_adapter_through_a_real_port() -> None:
    result = subprocess.run(
        [beam_tool("elixir"), str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, SNAKEPORT_PYTHON=sys.executable),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all end-to-end checks passed" in result.stdout
    assert "stray output to stderr" in result.stderr  # print() went to stderr, not into a frame
