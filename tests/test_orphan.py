"""No orphan, ever: the adapter goes with its BEAM, even while a C call holds the GIL.

A real BEAM opens the adapter as a Port and starts a call; the test kills
the BEAM with SIGKILL (or has it close the port) and watches the adapter's
process disappear.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import FIXTURES, IN_CI, LAUNCHER, beam_tool

SCRIPT = Path(__file__).parent / "beam" / "orphan.exs"


def guards() -> list[str]:
    native = importlib.util.find_spec("snakeport.edge._guard") is not None
    if not native and IN_CI:
        return ["python", "native"]  # the native one must be built under CI: its test fails below
    return ["python", "native"] if native else ["python"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for our purpose
            return stat.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:  # it went between the two looks
        return False


def start(guard: str, marker: Path, function: str, *args: str) -> tuple[subprocess.Popen[str], int]:
    if guard == "native":
        assert importlib.util.find_spec("snakeport.edge._guard") is not None, "the native guard is not built"
    env = dict(os.environ, SNAKEPORT_PURE_GUARD="1" if guard == "python" else "0")
    beam = subprocess.Popen(
        [
            beam_tool("elixir"),
            str(SCRIPT),
            sys.executable,
            str(LAUNCHER),
            str(FIXTURES),
            function,
            *args,
            str(marker),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert beam.stdout is not None
    line = beam.stdout.readline()
    assert line.startswith("adapter "), line
    _, pid, _, reported = line.split()
    assert reported == guard
    deadline = time.monotonic() + 20
    while not marker.exists():  # the call has started
        assert time.monotonic() < deadline, "the call never started"
        time.sleep(0.01)
    return beam, int(pid)


def gone_within(pid: int, seconds: float) -> float:
    start = time.monotonic()
    while alive(pid):
        waited = time.monotonic() - start
        if waited > seconds:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"the adapter outlived its BEAM by more than {seconds} s")
        time.sleep(0.01)
    return time.monotonic() - start


@pytest.mark.parametrize("guard", guards())
def test_beam_killed_while_a_c_call_holds_the_gil(guard: str, tmp_path: Path) -> None:
    beam, pid = start(guard, tmp_path / "started", "hold_gil", "30")
    beam.kill()
    beam.wait()
    assert gone_within(pid, 1.0) < 1.0


@pytest.mark.parametrize("guard", guards())
def test_beam_killed_while_the_gil_is_free_runs_the_clean_exit(guard: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    beam, pid = start(guard, marker, "sleep_then_clean_up", "30")
    beam.kill()
    beam.wait()
    gone_within(pid, 1.0)
    if guard == "native":
        assert marker.read_text() == "cleaned up"  # the finally block ran
    else:  # the parent-death signal kills at once: no finally (the port-close case below runs it)
        assert marker.read_text() in ("started", "cleaned up")


@pytest.mark.parametrize("guard", guards())
def test_port_closed_while_the_gil_is_free_runs_the_clean_exit(guard: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    beam, pid = start(guard, marker, "sleep_then_clean_up", "30")
    assert beam.stdin is not None and beam.stdout is not None
    beam.stdin.close()  # the BEAM closes the port and lives on
    assert beam.stdout.readline().strip() == "port closed"
    gone_within(pid, 1.0)
    assert marker.read_text() == "cleaned up"
    beam.kill()
    beam.wait()


def test_port_closed_while_a_c_call_holds_the_gil_native(tmp_path: Path) -> None:
    if "native" not in guards():
        pytest.skip("the native guard is not built (pure installs: the call must return first)")
    beam, pid = start("native", tmp_path / "started", "hold_gil", "30")
    assert beam.stdin is not None
    beam.stdin.close()
    assert gone_within(pid, 1.5) < 1.5
    beam.kill()
    beam.wait()
