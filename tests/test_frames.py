"""Recorded frames: dump, replay, damaged files.

``tests/recordings/*.frames`` were recorded by the ExUnit suite through the
real BEAM (``mix_stub/test/recording_test.exs``, with
``SNAKEPORT_UPDATE_RECORDINGS=1``); replaying them here is a regression test
of the adapter.  The Elixir-syntax rendering is checked on terms the BEAM
made (the golden vectors).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snakeport.core.recording import HEADER, RECORD, FramesFormatError, read_records
from snakeport.core.show import elixir, jsonable

from .conftest import CALL, Adapter
from .test_callbacks import golden

ROOT = Path(__file__).parent.parent
RECORDINGS = Path(__file__).parent / "recordings"
ELIXIR_HELPERS = ROOT / "mix_stub" / "test" / "helpers"


def frames(
    *args: str, helpers: Path = ELIXIR_HELPERS, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(helpers), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "snakeport", "frames", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def replay(path: Path, helpers: Path = ELIXIR_HELPERS) -> subprocess.CompletedProcess[str]:
    # The ready frame's build fields (codec, guard, threads) are not compared: the
    # committed recordings were made with the pure codec and replay on the native one.
    return frames("replay", str(path), "--", "--helper-path", str(helpers), helpers=helpers)


# -- replaying what the BEAM recorded ---------------------------------------------


@pytest.mark.parametrize("name", ["basic", "callbacks"])
def test_recorded_sessions_replay(name: str) -> None:
    result = replay(RECORDINGS / f"{name}.frames")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("replay OK: ")


def test_replay_against_a_changed_helper_fails_with_a_readable_diff(tmp_path: Path) -> None:
    source = (ELIXIR_HELPERS / "test_helpers.py").read_text()
    assert 'f"hello {name}{punctuation}"' in source
    (tmp_path / "test_helpers.py").write_text(source.replace('f"hello {name}', 'f"hi {name}'))
    result = replay(RECORDINGS / "basic.frames", helpers=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[:3] == [
        next(line for line in result.stdout.splitlines() if line.startswith("record ")),
        '  expected: {:reply, 8, {:ok, "hello ada!"}}',
        '  got:      {:reply, 8, {:ok, "hi ada!"}}',
    ]
    assert "replay FAILED: 1 difference(s)" in result.stdout


def test_replay_of_what_the_adapter_itself_recorded(tmp_path: Path) -> None:
    path = tmp_path / "adapter.frames"
    running = Adapter("--record", str(path))
    counter = running.ok(
        call_type="class", python_module="collections", **{"class": "Counter"}, args=["abba"]
    )
    assert running.ok(call_type="method", instance=counter, function="most_common", args=[1]) == [("a", 2)]
    running.error(python_module="math", function="sqrt", args=[-1])
    running.process.send_frame(b"not a term at all")  # hostile input is recorded too
    assert running.process.recv()[0] == "protocol_error"
    running.process.send((CALL, 9, {"call_type": "release_ref", "ref": counter}))
    assert running.process.recv() == ("reply", 9, ("ok", True))
    assert running.close() == 0
    result = frames("replay", str(path), helpers=Path(__file__).parent / "pyfixtures")
    assert result.returncode == 0, result.stdout + result.stderr
    dump = frames("dump", str(path)).stdout
    assert "undecodable (" in dump and "<<110, 111, 116, 32, 97, 32, 116, 101, 114, 109" in dump


def test_replay_reports_a_missing_reply(tmp_path: Path) -> None:
    path = tmp_path / "slow.frames"
    running = Adapter("--record", str(path))
    assert running.ok(python_module="sp_fixtures", function="sleep", args=[1.5]) == "slept"
    assert running.close() == 0
    result = frames("replay", str(path), "--timeout", "0.3", helpers=Path(__file__).parent / "pyfixtures")
    assert result.returncode == 1
    assert 'expected: {:reply, 1, {:ok, "slept"}}' in result.stdout
    assert "got:      nothing within 0.3 s" in result.stdout


# -- dump --------------------------------------------------------------------------


def test_dump_prints_number_direction_time_and_the_term() -> None:
    result = frames("dump", str(RECORDINGS / "basic.frames"))
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    number, direction, seconds, text = lines[2].split(maxsplit=3)
    assert (number, direction, text) == ("3", "out", "{:reply, 1, {:ok, 4.0}}")
    assert float(seconds) >= 0
    assert lines[1].split(maxsplit=3)[3].startswith('{:call, 1, %{"args" => [16], "call_type" => "call"')
    assert any('{:reply, 3, {:ok, [{"a", 5}, {"b", 2}]}}' in line for line in lines)


def test_dump_shortens_long_values_unless_full(tmp_path: Path) -> None:
    path = tmp_path / "long.frames"
    running = Adapter("--record", str(path))
    running.ok(python_module="builtins", function="list", args=[list(range(100))])
    running.ok(python_module="builtins", function="bytes", args=[[255] * 1000])
    assert running.close() == 0
    short = frames("dump", str(path), "--direction", "out").stdout
    assert "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, ... 80 more]" in short
    assert "<<255, 255," in short and "... 968 more bytes>>" in short
    full = frames("dump", str(path), "--direction", "out", "--full").stdout
    assert ", ".join(map(str, range(100))) in full and "more" not in full


def test_dump_filters_by_direction_request_id_and_session() -> None:
    path = str(RECORDINGS / "basic.frames")
    outs = frames("dump", path, "--direction", "out").stdout.splitlines()
    assert outs and all(line.split()[1] == "out" for line in outs)
    only_4 = frames("dump", path, "--id", "4").stdout.splitlines()
    assert [line.split(maxsplit=3)[3][:13] for line in only_4] == ["{:call, 4, %{", "{:reply, 4, {"]
    session = frames("dump", path, "--session", "recorded").stdout.splitlines()
    assert len(session) == 18  # nine calls and their replies; not the ready frame
    assert frames("dump", path, "--session", "another").stdout == ""


def test_dump_json_keeps_every_distinction() -> None:
    result = frames("dump", str(RECORDINGS / "callbacks.frames"), "--json")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["number"] for r in records] == list(range(1, len(records) + 1))
    callback = next(r for r in records if r["text"].startswith("{:callback, 1,"))
    assert callback["direction"] == "out"
    assert callback["term"]["tuple"][:3] == [{"atom": "callback"}, 1, {"fun": "&String.length/1"}]
    sends = [r for r in records if r["text"].startswith("{:send, ")]
    assert [s["term"]["tuple"][2]["tuple"][1] for s in sends] == [1, 2, 3]
    assert all(set(r) >= {"time", "offset", "bytes", "term", "text"} for r in records)


# -- damaged files ---------------------------------------------------------------------


def test_a_torn_last_record_is_reported_with_its_offset_after_the_others(tmp_path: Path) -> None:
    data = (RECORDINGS / "basic.frames").read_bytes()
    records = list(read_records(data))
    torn = tmp_path / "torn.frames"
    torn.write_bytes(data[:-5])
    result = frames("dump", str(torn))
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == len(records) - 1
    last = records[-1]
    assert f"torn record {last.number}" in result.stderr and f"at byte offset {last.offset}" in result.stderr
    torn_head = tmp_path / "torn_head.frames"
    torn_head.write_bytes(data[: last.offset + 3])
    assert f"at byte offset {last.offset}" in frames("dump", str(torn_head)).stderr


def test_a_wrong_header_is_an_error_at_offset_0(tmp_path: Path) -> None:
    path = tmp_path / "wrong.frames"
    path.write_bytes(b"SNAKEPORT-FRAMES 9\n" + (RECORDINGS / "basic.frames").read_bytes()[len(HEADER) :])
    result = frames("dump", str(path))
    assert (result.returncode, result.stdout) == (1, "")
    assert "not a SnakePort frames file" in result.stderr and "at byte offset 0" in result.stderr


def test_garbage_after_good_records(tmp_path: Path) -> None:
    data = (RECORDINGS / "callbacks.frames").read_bytes()
    path = tmp_path / "garbage.frames"
    path.write_bytes(data + b"garbage that is not a record")
    result = frames("dump", str(path))
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == len(list(read_records(data)))
    assert "direction byte b'g'" in result.stderr and f"at byte offset {len(data)}" in result.stderr
    replayed = frames("replay", str(path))
    assert replayed.returncode == 2 and "not replayed" in replayed.stderr


def test_reader_errors_carry_the_offset() -> None:
    with pytest.raises(FramesFormatError) as caught:
        list(read_records(HEADER + RECORD.pack(b"i", 0.0, 10) + b"short"))
    assert caught.value.offset == len(HEADER)


def test_a_missing_file_is_exit_2() -> None:
    result = frames("dump", "/nonexistent/x.frames")
    assert result.returncode == 2 and "cannot read" in result.stderr


# -- Elixir syntax, on terms the BEAM made ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pid_1", "#PID<0.9.0>"),
        ("port_1", "#Port<0.0>"),
        ("ref_1", "#Reference<0.3182135217.2663383041.78453>"),
        ("fun_1", "&:lists.map/2"),
        ("fun_4", "#Function<6/1 in gen_vectors_escript__escript__1795__277375__324810__2>"),
        ("atom_4", "Foo.Bar"),
        ("atom_6", ':"hello world"'),
        ("atom_18", "nil"),
        ("map_2", "%{:a => 1}"),
    ],
)
def test_elixir_syntax_of_beam_terms(name: str, text: str) -> None:
    assert elixir(golden(name)) == text


def test_elixir_syntax_of_python_values() -> None:
    assert elixir((1, 'a\n"b', b"\x00\xff", [], {})) == '{1, "a\\n\\"b", <<0, 255>>, [], %{}}'
    assert elixir([float("inf"), float("-inf"), 1.5]) == "[:infinity, :neg_infinity, 1.5]"
    assert jsonable((b"\x01", "t", None)) == {"tuple": [{"binary": "AQ=="}, "t", None]}


def test_a_recording_made_on_a_copied_tree_replays(tmp_path: Path) -> None:
    """The recordings do not depend on where the repository is (paths are normalised)."""
    copy = tmp_path / "helpers"
    shutil.copytree(ELIXIR_HELPERS, copy)
    assert replay(RECORDINGS / "basic.frames", helpers=copy).returncode == 0
