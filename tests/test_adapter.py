"""The adapter process, driven through pipes (pexpect's PopenSpawn).

Every call type, every error type the adapter makes, stray output, hostile
frames, sessions, eviction, TTL, release, lifecycle and options.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from snakeport import etf
from snakeport.terms import Atom

from .conftest import CALL, LAUNCHER, NATIVE_REQUIRED, Adapter
from .harness import FramedProcess

# -- start-up ------------------------------------------------------------------


def test_ready_frame(adapter: Adapter) -> None:
    tag, info = adapter.ready
    assert tag == "ready"
    assert info["protocol"] == 1 and info["pid"] > 0 and info["python"] == sys.version.split()[0]
    assert "version" in info and "call" in info["call_types"]


def test_ready_frame_names_the_native_codec_when_built() -> None:
    if "native" not in etf.IMPLEMENTATIONS:
        if NATIVE_REQUIRED:
            pytest.fail("the native codec is not built; under CI=true it must be (scripts/bootstrap)")
        pytest.skip("the native codec is not built")
    running = Adapter()
    assert running.ready[1]["codec"] == "native"
    assert running.call(call_type="ping") == ("ok", "pong")
    assert running.close() == 0


def test_pure_codec_when_forced() -> None:
    running = Adapter(env={"SNAKEPORT_PURE_CODEC": "1"})
    assert running.ready[1]["codec"] == "pure"
    assert running.call(call_type="ping") == ("ok", "pong")
    assert running.ok(python_module="math", function="sqrt", args=[16.0]) == 4.0
    assert running.close() == 0


# Python code that makes the native codec unimportable, as on a machine
# where it was never built, then runs the given script.
_WITHOUT_NATIVE = """
import importlib.abc, runpy, sys
class NoNative(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "snakeport.core.etf._cetf":
            raise ImportError("no native codec on this machine")
        return None
sys.meta_path.insert(0, NoNative())
"""


def test_pure_fallback_when_the_native_codec_is_absent() -> None:
    check = _WITHOUT_NATIVE + (
        "from snakeport import etf\n"
        "assert etf.IMPLEMENTATION == 'pure' and sorted(etf.IMPLEMENTATIONS) == ['pure'], etf.IMPLEMENTATIONS\n"
        "assert etf.decode(b''.join(etf.encode_pieces({'k': [1, 2.5]}))) == {'k': [1, 2.5]}\n"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    launch = (
        _WITHOUT_NATIVE
        + f"sys.argv = [{str(LAUNCHER)!r}]\nrunpy.run_path({str(LAUNCHER)!r}, run_name='__main__')\n"
    )
    process = FramedProcess([sys.executable, "-c", launch])
    tag, info = process.recv()
    assert tag == "ready" and info["codec"] == "pure"
    process.send((CALL, 1, {"call_type": "ping"}))
    assert process.recv() == ("reply", 1, ("ok", "pong"))
    assert process.close() == 0


def test_runs_as_module_after_install() -> None:
    process = FramedProcess([sys.executable, "-m", "snakeport"])
    assert process.recv()[0] == "ready"
    process.send((CALL, 1, {"call_type": "ping"}))
    assert process.recv() == ("reply", 1, ("ok", "pong"))
    assert process.close() == 0


def test_bad_option_exits_2_with_message() -> None:
    result = subprocess.run(
        [sys.executable, str(LAUNCHER), "--max-refs", "many"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "--max-refs" in result.stderr and "many" in result.stderr
    assert result.stdout == ""


def test_bad_environment_option_exits_2_naming_the_variable() -> None:
    result = subprocess.run(
        [sys.executable, str(LAUNCHER)],
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ, SNAKEPORT_REF_TTL="-1"),
    )
    assert result.returncode == 2
    assert "SNAKEPORT_REF_TTL" in result.stderr


def test_broken_helper_folder_is_a_startup_error() -> None:
    process = FramedProcess(
        [sys.executable, str(LAUNCHER), "--helper-path", str(Path(__file__).parent / "helpers_broken")]
    )
    tag, error = process.recv()
    assert tag == "startup_error"
    assert error["type"] == "HelperLoadError" and "bad.py" in error["message"]
    assert "broken on purpose" in error["message"]
    assert process.child.wait() == 1


def test_missing_helper_folder_is_a_startup_error() -> None:
    process = FramedProcess([sys.executable, str(LAUNCHER), "--helper-path", "/nonexistent/helpers"])
    tag, error = process.recv()
    assert tag == "startup_error" and "/nonexistent/helpers" in error["message"]
    assert process.child.wait() == 1


# -- call types ----------------------------------------------------------------


def test_call_with_and_without_call_type(adapter: Adapter) -> None:
    for call_type in (None, "call", "function", "dynamic"):
        request: dict[str, Any] = {"python_module": "math", "function": "sqrt", "args": [16]}
        if call_type:
            request["call_type"] = call_type
        assert adapter.ok(**request) == 4.0
    assert adapter.ok(module_path="operator", function="add", args=[1, 2]) == 3
    assert adapter.ok(
        python_module="builtins", function="sorted", args=[[3, 1, 2]], kwargs={"reverse": True}
    ) == [3, 2, 1]


def test_atom_keys_are_accepted(adapter: Adapter) -> None:
    request = {Atom("python_module"): "math", Atom("function"): "sqrt", Atom("args"): [9]}
    adapter.process.send((CALL, 99, request))
    assert adapter.process.recv() == ("reply", 99, ("ok", 3.0))


def test_dotted_function_path(adapter: Adapter) -> None:
    assert adapter.ok(python_module="sp_fixtures", function="Box.Inner.make", args=[1]) == "inner 1"
    when = adapter.ok(python_module="datetime", function="date.fromisoformat", args=["2026-11-21"])
    assert str(when) == "2026-11-21"


def test_class_method_and_attributes(adapter: Adapter) -> None:
    counter = adapter.ok(
        call_type="class", python_module="collections", **{"class": "Counter"}, args=[["a", "b", "a"]]
    )
    assert counter["__type__"] == "ref" and counter["type_name"] == "Counter"
    assert counter["python_module"] == "collections" and counter["library"] == "collections"
    assert len(counter["id"]) == 32
    assert adapter.ok(call_type="method", instance=counter, function="most_common", args=[1]) == [("a", 2)]
    box = adapter.ok(call_type="class", python_module="sp_fixtures", function="Box", args=[5])
    assert adapter.ok(call_type="get_attr", instance=box, attr="value") == 5
    assert adapter.ok(call_type="set_attr", instance=box, attr="value", value=[1, 2]) is True
    assert adapter.ok(call_type="method", instance=box, function="get") == [1, 2]
    assert adapter.ok(call_type="set_attr", instance=box, attr="value", args=["via args"]) is True
    assert adapter.ok(call_type="get_attr", instance=box, function="value") == "via args"


def test_module_attr(adapter: Adapter) -> None:
    assert adapter.ok(call_type="module_attr", python_module="math", attr="pi") == pytest.approx(3.14159265)
    assert adapter.ok(call_type="module_attr", python_module="os", attr="path.sep") == "/"


def test_refs_as_arguments(adapter: Adapter) -> None:
    range_ref = adapter.ok(python_module="builtins", function="range", args=[100])
    assert range_ref["__type__"] == "ref" and range_ref["type_name"] == "range"
    assert adapter.ok(python_module="builtins", function="list", args=[range_ref]) == list(range(100))
    box = adapter.ok(call_type="class", python_module="sp_fixtures", function="Box", args=[range_ref])
    assert adapter.ok(python_module="sp_fixtures", function="type_name", args=[{"deep": [(box,)]}]) == "dict"
    assert adapter.ok(python_module="builtins", function="len", args=[range_ref]) == 100
    assert (
        adapter.ok(python_module="sp_fixtures", function="identity", kwargs={"value": range_ref})["id"]
        != range_ref["id"]
    )


def test_helpers(adapter: Adapter) -> None:
    assert adapter.ok(call_type="helper", helper="snakeport.echo", args=[1, "x"], kwargs={"k": True}) == {
        "args": [1, "x"],
        "kwargs": {"k": True},
    }
    error = adapter.error(call_type="helper", helper="no.such")
    assert error["type"] == "HelperNotFoundError" and "snakeport.echo" in error["message"]


def test_helper_path_and_allowlist() -> None:
    running = Adapter("--helper-path", str(Path(__file__).parent / "helpers_ok"))
    try:
        assert (
            running.ok(call_type="helper", helper="text.shout", args=["hi"], kwargs={"times": 2}) == "HI!HI!"
        )
        assert running.ok(call_type="helper", helper="math.double", args=[21]) == 42
        allowed = {"helper_allowlist": ["math.double"]}
        assert running.ok(call_type="helper", helper="math.double", args=[1], helper_config=allowed) == 2
        error = running.error(call_type="helper", helper="text.shout", args=["x"], helper_config=allowed)
        assert error["type"] == "HelperNotFoundError" and "allowlist" in error["message"]
    finally:
        assert running.close() == 0


def test_streams(adapter: Adapter) -> None:
    range_ref = adapter.ok(python_module="builtins", function="range", args=[3])
    stream = adapter.ok(call_type="method", instance=range_ref, function="__iter__")
    assert stream["__type__"] == "stream_ref" and stream["stream_type"] == "iterator"
    assert [adapter.ok(call_type="stream_next", stream_ref=stream) for _ in range(3)] == [0, 1, 2]
    for _ in range(2):
        assert adapter.ok(call_type="stream_next", stream_ref=stream) == {"__type__": "stop_iteration"}
    generator = adapter.fx("counting", 2, "g")
    assert generator["stream_type"] == "generator"
    error = adapter.error(call_type="stream_len", stream_ref=generator)
    assert error["type"] == "TypeError"
    sized = adapter.ok(call_type="class", python_module="sp_fixtures", function="Sized", args=[4])
    assert sized["__type__"] == "stream_ref"
    assert adapter.ok(call_type="stream_len", stream_ref=sized) == 4


def test_release_closes_generator(adapter: Adapter) -> None:
    generator = adapter.fx("counting", 10, "released-one")
    assert adapter.ok(call_type="stream_next", stream_ref=generator) == 0
    assert adapter.ok(call_type="release_ref", ref=generator) is True
    assert adapter.ok(call_type="release_ref", ref=generator) is False
    assert "released-one" in adapter.fx("released")


def test_graceful_serialization(adapter: Adapter) -> None:
    result = adapter.fx("with_generator")
    assert result["status"] == "ok" and result["n"] == 3
    assert result["data"]["__type__"] == "stream_ref"
    assert [adapter.ok(call_type="stream_next", stream_ref=result["data"]) for _ in range(3)] == [0, 2, 4]
    first, second = adapter.fx("same_twice")
    assert first["id"] == second["again"]["id"]
    assert adapter.fx("context_manager")["__type__"] == "ref"  # a file-like object is no stream


def test_coroutines_are_awaited(adapter: Adapter) -> None:
    assert adapter.fx("async_add", 2, 3) == 5


def test_ping_and_stats(adapter: Adapter) -> None:
    assert adapter.ok(call_type="ping") == "pong"
    adapter.ok(python_module="builtins", function="object", session_id="s-stats")
    stats = adapter.ok(call_type="stats")
    assert stats["sessions"] >= 1 and stats["refs"] >= 1
    assert stats["frames_in"] >= 3 and stats["bytes_out"] > 0


# -- errors ----------------------------------------------------------------------


def test_python_exception_reply(adapter: Adapter) -> None:
    error = adapter.error(python_module="math", function="sqrt", args=[-1], session_id="s9")
    assert error["type"] == "ValueError" and error["module"] == "builtins"
    assert error["message"] == "math domain error"
    assert "Traceback" in error["traceback"] and "ValueError" in error["traceback"]
    assert error["context"] == {
        "call_type": "call",
        "python_module": "math",
        "function": "sqrt",
        "session_id": "s9",
    }
    error = adapter.error(python_module="no_such_module_xyz", function="f")
    assert error["type"] == "ModuleNotFoundError"


def test_system_exit_and_keyboard_interrupt_are_replies(adapter: Adapter) -> None:
    assert adapter.error(python_module="sp_fixtures", function="raise_system_exit")["type"] == "SystemExit"
    assert (
        adapter.error(python_module="sp_fixtures", function="raise_keyboard_interrupt")["type"]
        == "KeyboardInterrupt"
    )
    assert adapter.ok(call_type="ping") == "pong"


def test_unencodable_result_is_an_encode_error(adapter: Adapter) -> None:
    error = adapter.error(python_module="sp_fixtures", function="lone_surrogate")
    assert error["type"] == "EncodeError" and "surrogate" in error["message"]


def test_unknown_call_type(adapter: Adapter) -> None:
    error = adapter.error(call_type="teleport")
    assert (
        error["type"] == "ProtocolError"
        and "teleport" in error["message"]
        and "stream_next" in error["message"]
    )


@pytest.mark.parametrize(
    "request_map,fragment",
    [
        ({"python_module": 5, "function": "sqrt"}, "'python_module' must be a string"),
        ({"python_module": "math"}, "needs field 'function'"),
        ({"python_module": "math", "function": "sqrt", "args": "16"}, "'args' must be a list"),
        ({"python_module": "math", "function": "sqrt", "kwargs": [1]}, "'kwargs' must be a map"),
        ({"python_module": "math", "function": "sqrt", "kwargs": {1: 2}}, "string keys"),
        ({"call_type": 7}, "'call_type' must be a string"),
        ({"call_type": "method", "function": "f"}, "needs field 'instance'"),
        ({"call_type": "method", "instance": "not a ref", "function": "f"}, "must be a ref"),
        ({"session_id": ["x"], "call_type": "ping"}, "'session_id' must be a string"),
    ],
)
def test_wrong_fields_are_protocol_errors(
    adapter: Adapter, request_map: dict[str, Any], fragment: str
) -> None:
    error = adapter.error(**{str(k): v for k, v in request_map.items()})
    assert error["type"] == "ProtocolError" and fragment in error["message"]


def test_allow_module() -> None:
    running = Adapter("--allow-module", "math", "--allow-module", "os.*")
    try:
        assert running.ok(python_module="math", function="sqrt", args=[4]) == 2.0
        assert running.ok(call_type="module_attr", python_module="os.path", attr="sep") == "/"
        error = running.error(python_module="subprocess", function="getoutput", args=["id"])
        assert error["type"] == "ModuleNotAllowedError" and "subprocess" in error["message"]
    finally:
        assert running.close() == 0


# -- hostile frames ----------------------------------------------------------------


def test_hostile_frames_are_answered_and_lose_nothing(adapter: Adapter) -> None:
    keep = adapter.ok(python_module="builtins", function="object", session_id="keeper")
    hostile = [
        b"",
        b"garbage that is not ETF",
        b"\x83",
        b"\x83l\x00\x00\x00\x05a\x01",  # truncated list
        b"\x83m\xff\xff\xff\xff",  # lying length
        etf.encode([1, 2, 3]),  # not a tuple
        etf.encode((Atom("hello"), 1)),  # unknown envelope
        etf.encode(("call", 1, {})),  # tag is a binary, not an atom
        etf.encode((CALL, -1, {})),  # negative id
        etf.encode((Atom("callback_reply"), 5, (Atom("ok"), 1))),  # nobody waits
        b"\x83" + b"l\x00\x00\x00\x01" * 20_000 + b"j" * 20_001,  # too deep
    ]
    for frame in hostile:
        adapter.process.send_frame(frame)
        tag, error = adapter.process.recv()
        assert tag == "protocol_error", frame[:20]
        assert error["type"] == "ProtocolError" and error["message"]
    # an envelope with a readable id gets a reply to that id
    adapter.process.send((CALL, 77, "not a map"))
    assert adapter.process.recv()[:2] == ("reply", 77)
    # the adapter goes on serving, and other sessions keep their refs
    assert adapter.ok(python_module="math", function="sqrt", args=[16]) == 4.0
    assert (
        adapter.ok(call_type="get_attr", instance=keep, attr="__class__", session_id="keeper")["type_name"]
        == "type"
    )


def test_cancel_and_credit_without_work_are_ignored(adapter: Adapter) -> None:
    adapter.process.send((Atom("cancel"), 12345))
    adapter.process.send((Atom("credit"), 12345, 4))
    assert adapter.ok(call_type="ping") == "pong"


def test_oversize_frame_is_refused_by_its_header() -> None:
    running = Adapter("--max-frame-bytes", "1000")
    try:
        running.process.send_frame(etf.encode("x" * 5000))
        tag, error = running.process.recv()
        assert tag == "protocol_error" and "5006 bytes" in error["message"] and "1000" in error["message"]
        # a header declaring 2 GB: refused without reading 2 GB first
        running.process.child.send(struct.pack(">I", 2_000_000_000) + b"only a little")
        assert running.process.recv()[0] == "protocol_error"
    finally:
        running.process.child.kill(9)


# -- stray output and stdin ------------------------------------------------------


@pytest.mark.parametrize("kind", ["print", "sys_stdout", "os_write", "printf"])
def test_stray_output_goes_to_stderr(adapter: Adapter, kind: str) -> None:
    assert adapter.fx("noisy", kind) == kind
    assert adapter.ok(call_type="ping") == "pong"
    deadline = time.monotonic() + 5
    while "stray" not in adapter.process.stderr_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "stray" in adapter.process.stderr_text()


def test_reading_stdin_gets_eof(adapter: Adapter) -> None:
    assert adapter.fx("read_stdin") == ""
    assert adapter.ok(call_type="ping") == "pong"


# -- lifecycle ---------------------------------------------------------------------


def test_stdin_eof_during_a_long_call_ends_the_process_cleanly(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    running = Adapter()
    call = {"python_module": "sp_fixtures", "function": "sleep_then_clean_up", "args": [60, str(marker)]}
    running.process.send((CALL, 1, call))
    deadline = time.monotonic() + 10
    while not marker.exists():  # the call has started
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    running.process.child.sendeof()
    status = running.process.child.wait()
    assert time.monotonic() - started < 1.0
    assert status == 0
    assert marker.read_text() == "cleaned up"  # its finally block ran


def test_parent_death_ends_the_process(tmp_path: Path) -> None:
    """The adapter's parent dies while its stdin stays open elsewhere: it still exits."""
    pid_file = tmp_path / "adapter.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            f"child = subprocess.Popen([sys.executable, {str(LAUNCHER)!r}], stdout=subprocess.PIPE)\n"
            "size = int.from_bytes(child.stdout.read(4), 'big'); child.stdout.read(size)\n"  # ready
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            "time.sleep(60)\n",
        ],
        stdin=subprocess.PIPE,  # we keep the write end: no EOF ever reaches the adapter
    )
    deadline = time.monotonic() + 10
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the adapter did not start"
        time.sleep(0.05)
    adapter_pid = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.kill(adapter_pid, 0)
        except ProcessLookupError:
            break
        try:
            with open(f"/proc/{adapter_pid}/stat") as stat:
                if stat.read().split()[2] == "Z":  # exited, waiting to be reaped by init
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        os.kill(adapter_pid, 9)
        raise AssertionError("the adapter outlived its parent by more than 3 s")
    assert parent.stdin is not None
    parent.stdin.close()


def test_clean_exit_on_eof(adapter: Adapter) -> None:
    assert adapter.ok(call_type="ping") == "pong"


# -- sessions ----------------------------------------------------------------------


def test_session_isolation(adapter: Adapter) -> None:
    ref = adapter.ok(python_module="builtins", function="object", session_id="alice")
    assert ref["session_id"] == "alice"
    error = adapter.error(call_type="get_attr", instance=ref, attr="__class__", session_id="bob")
    assert (
        error["type"] == "SessionMismatchError" and "alice" in error["message"] and "bob" in error["message"]
    )
    forged = dict(ref, session_id="bob")
    error = adapter.error(call_type="get_attr", instance=forged, attr="__class__", session_id="bob")
    assert error["type"] == "RefNotFoundError"
    error = adapter.error(call_type="release_ref", ref=ref, session_id="bob")
    assert error["type"] == "SessionMismatchError"
    assert (
        adapter.ok(call_type="get_attr", instance=ref, attr="__class__", session_id="alice")["type_name"]
        == "type"
    )


def test_unknown_and_released_refs(adapter: Adapter) -> None:
    fake = {"__type__": "ref", "id": "0" * 32, "session_id": "default"}
    error = adapter.error(call_type="method", instance=fake, function="f")
    assert error["type"] == "RefNotFoundError" and "0" * 32 in error["message"]
    ref = adapter.ok(python_module="builtins", function="object")
    assert adapter.ok(call_type="release_ref", ref=ref) is True
    assert adapter.error(call_type="get_attr", instance=ref, attr="__class__")["type"] == "RefNotFoundError"


def test_release_session_counts_and_frees(adapter: Adapter) -> None:
    for _ in range(3):
        adapter.ok(python_module="builtins", function="object", session_id="temp")
    assert adapter.ok(call_type="release_session", session_id="temp") == 3
    assert adapter.ok(call_type="release_session", session_id="temp") == 0


def test_release_session_gives_memory_back(adapter: Adapter) -> None:
    before = adapter.fx("rss_kb")
    for _ in range(2):
        held = adapter.ok(python_module="sp_fixtures", function="big_box", args=[100], session_id="heavy")
        assert held["__type__"] == "ref"  # 100 MB each, held in Python
    grown = adapter.fx("rss_kb")
    assert grown - before > 180_000, (before, grown)
    assert adapter.ok(call_type="release_session", session_id="heavy") == 2
    after = adapter.fx("rss_kb")
    assert grown - after > 180_000, (before, grown, after)


def test_eviction_names_the_limit() -> None:
    running = Adapter("--max-refs", "3")
    try:
        refs = [running.ok(python_module="builtins", function="object", session_id="s") for _ in range(5)]
        error = running.error(
            call_type="get_attr", instance=refs[0], attr="__class__.__name__", session_id="s"
        )
        assert error["type"] == "RefEvictedError" and "limit of 3" in error["message"]
        assert (
            running.ok(call_type="get_attr", instance=refs[4], attr="__class__.__name__", session_id="s")
            == "object"
        )
        other = running.ok(python_module="builtins", function="object", session_id="other")
        assert running.ok(call_type="get_attr", instance=other, attr="__class__.__name__", session_id="other")
    finally:
        assert running.close() == 0


def test_least_recently_used_is_evicted_first() -> None:
    running = Adapter("--max-refs", "2")
    try:
        first = running.ok(python_module="builtins", function="object")
        second = running.ok(python_module="builtins", function="object")
        running.ok(
            call_type="get_attr", instance=first, attr="__class__.__name__"
        )  # first is now the most recent
        running.ok(python_module="builtins", function="object")
        assert (
            running.error(call_type="get_attr", instance=second, attr="__class__.__name__")["type"]
            == "RefEvictedError"
        )
        assert running.ok(call_type="get_attr", instance=first, attr="__class__.__name__")
    finally:
        assert running.close() == 0


def test_ttl_from_environment() -> None:
    running = Adapter(env={"SNAKEPORT_REF_TTL": "0.3"})
    try:
        ref = running.ok(python_module="builtins", function="object")
        time.sleep(0.5)
        error = running.error(call_type="get_attr", instance=ref, attr="__class__")
        assert error["type"] == "RefEvictedError" and "TTL" in error["message"]
    finally:
        assert running.close() == 0


# -- other channels and options ----------------------------------------------------


def test_fds_option_for_nouse_stdio() -> None:
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER), "--fds", f"{to_child_r},{from_child_w}"],
        pass_fds=(to_child_r, from_child_w),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(to_child_r)
    os.close(from_child_w)
    reader = os.fdopen(from_child_r, "rb")

    def recv() -> Any:
        (size,) = struct.unpack(">I", reader.read(4))
        return etf.decode(reader.read(size))

    assert recv()[0] == "ready"
    body = etf.encode((CALL, 1, {"python_module": "math", "function": "sqrt", "args": [25]}))
    os.write(to_child_w, struct.pack(">I", len(body)) + body)
    assert recv() == ("reply", 1, ("ok", 5.0))
    os.close(to_child_w)
    assert process.wait(timeout=10) == 0
    reader.close()


def test_compressed_replies() -> None:
    running = Adapter("--compress-above", "1000")
    try:
        running.process.send((CALL, 1, {"python_module": "builtins", "function": "str", "args": ["a"]}))
        assert running.process.recv_frame()[1] != 80
        running.process.send(
            (CALL, 2, {"python_module": "operator", "function": "mul", "args": ["ab", 5000]})
        )
        frame = running.process.recv_frame()
        assert frame[1] == 80 and len(frame) < 1000
        assert etf.decode(frame) == ("reply", 2, ("ok", "ab" * 5000))
    finally:
        assert running.close() == 0


def test_large_frames_both_ways(adapter: Adapter) -> None:
    blob = bytes(range(256)) * (1 << 16)  # 16 MiB, not UTF-8
    assert adapter.ok(python_module="builtins", function="len", args=[blob]) == len(blob)
    back = adapter.ok(python_module="sp_fixtures", function="identity", args=[blob])
    assert back == blob
