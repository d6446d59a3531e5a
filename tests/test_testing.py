"""``snakeport.testing``: the harness users test their Python code with, its plugin, its CLI."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snakeport.terms import Atom
from snakeport.testing import Adapter, AdapterDied, Ref, RemoteError, StreamRef, assert_replays

from .conftest import FIXTURES

ENV = dict(os.environ, PYTHONPATH=str(FIXTURES))


@pytest.fixture
def harness() -> Iterator[Adapter]:
    with Adapter(env=ENV) as adapter:
        yield adapter


def test_calls_and_values(harness: Adapter) -> None:
    assert harness.info["protocol"] == 1 and harness.info["pid"] > 0
    assert harness.call("math", "sqrt", [16]) == 4.0
    assert harness.call("builtins", "sorted", [[3, 1, 2]], {"reverse": True}) == [3, 2, 1]
    assert harness.call("sp_fixtures", "identity", [(1, "a", Atom("b"), b"\xff", {1, 2})]) == (
        1,
        "a",
        Atom("b"),
        b"\xff",
        {1, 2},
    )
    assert harness.call("sp_fixtures", "type_name", [b"bytes"]) == "bytes"  # bytes arrive as bytes
    assert harness.call("sp_fixtures", "identity", [datetime.date(2026, 12, 1)]) == datetime.date(2026, 12, 1)
    assert harness.module_attr("math", "pi") == pytest.approx(3.14159, 1e-5)


def test_refs_methods_attributes(harness: Adapter) -> None:
    counter = harness.new("collections", "Counter", ["abca"])
    assert isinstance(counter, Ref) and counter.type_name == "Counter"
    assert harness.method(counter, "most_common", [1]) == [("a", 2)]
    box = harness.new("sp_fixtures", "Box", [counter])  # a ref as an argument
    inner = harness.get_attr(box, "value")
    assert inner == {"a": 2, "b": 1, "c": 1}  # the object itself: a Counter travels as a map
    assert harness.set_attr(box, "value", 5) is True
    assert harness.method(box, "get") == 5
    assert harness.release(counter) is True and harness.release(counter) is False
    with pytest.raises(RemoteError) as info:
        harness.method(counter, "most_common")
    assert info.value.python_type == "RefNotFoundError"


def test_sessions_and_stats(harness: Adapter) -> None:
    harness.new("sp_fixtures", "Box", [1], session="s1")
    harness.new("sp_fixtures", "Box", [2], session="s1")
    assert harness.stats()["refs"] == 2
    assert harness.release_session("s1") == 2
    assert harness.stats()["sessions"] == 0


def test_stream_refs_and_push_streams(harness: Adapter) -> None:
    counter = harness.call("itertools", "count", [1])
    assert isinstance(counter, StreamRef) and counter.stream_type == "iterator"
    assert harness.take(counter, 3) == [1, 2, 3]
    assert harness.take(counter, 2) == [4, 5]
    items = harness.stream("builtins", "range", [10], batch=3, credit=1)
    assert list(items) == list(range(10))


def test_a_push_stream_left_early_is_cancelled(harness: Adapter) -> None:
    items = harness.stream("sp_fixtures", "counting", [1000, "left early"], batch=1, credit=1)
    assert next(items) == 0
    items.close()  # the generator is cancelled in Python: its finally runs
    assert "left early" in harness.call("sp_fixtures", "released")


def test_helpers_and_raw_requests() -> None:
    helpers = Path(__file__).resolve().parent.parent / "priv" / "python" / "helpers"
    with Adapter("--helper-path", str(helpers), env=ENV) as adapter:
        assert adapter.helper("snakeport.echo", [1], {"k": 2}) == {"args": [1], "kwargs": {"k": 2}}
        assert adapter.request({"call_type": "ping"}) == "pong"


def test_errors_carry_type_message_traceback_context(harness: Adapter) -> None:
    with pytest.raises(RemoteError) as info:
        harness.call("sp_fixtures", "failing_now")
    error = info.value
    assert (error.python_type, error.message) == ("ValueError", "failing now")
    assert "sp_fixtures.py" in error.traceback and error.context["function"] == "failing_now"
    assert str(error) == "ValueError: failing now"


def test_callbacks_run_python_callables(harness: Adapter) -> None:
    double = harness.fun(lambda x: x * 2)
    assert harness.call("builtins", "list", [harness.call("builtins", "map", [double, [1, 2, 3]])]) == [
        2,
        4,
        6,
    ]
    words = ["pear", "fig", "banana"]
    assert harness.call("builtins", "sorted", [words], {"key": harness.fun(len)}) == ["fig", "pear", "banana"]


def test_a_failing_callback_is_an_elixir_error_in_python(harness: Adapter) -> None:
    def boom() -> None:
        raise ValueError("no")

    caught = harness.call("sp_fixtures", "catch_elixir", [harness.fun(boom)])
    assert caught["kind"] == "error" and caught["type"] == "ValueError" and caught["message"] == "no"


def test_nested_callbacks(harness: Adapter) -> None:
    def outer(n: int) -> Any:  # calls Python again, which calls back again
        inner = harness.fun(lambda m: m + 100)
        return harness.call("sp_fixtures", "apply_fun", [inner, n])

    assert harness.call("sp_fixtures", "apply_fun", [harness.fun(outer), 1]) == 101


def test_messages_to_the_harness_pid(harness: Adapter) -> None:
    assert harness.call("sp_fixtures", "progress", [harness.pid(), 3]) == "finished"
    assert harness.messages == [(Atom("progress"), 1, 3), (Atom("progress"), 2, 3), (Atom("progress"), 3, 3)]


def test_options_pass_through(tmp_path: Path) -> None:
    with Adapter("--allow-module", "math", env=ENV) as adapter:
        assert adapter.call("math", "sqrt", [4]) == 2.0
        with pytest.raises(RemoteError) as info:
            adapter.call("os", "getcwd")
        assert info.value.python_type == "ModuleNotAllowedError"
    with Adapter("--threads", "3", env=ENV) as adapter:
        assert adapter.info["threads"] == 3


def test_adapter_death_is_reported_with_its_stderr() -> None:
    with Adapter(env=ENV) as adapter, pytest.raises(AdapterDied) as info:
        adapter.call("sp_fixtures", "die_noisily")
    assert "dying on purpose" in str(info.value) and "exit status 3" in str(info.value)


def test_a_bad_option_fails_at_start() -> None:
    with pytest.raises(AdapterDied) as info, Adapter("--threads", "many", env=ENV):
        pass
    assert "--threads" in str(info.value)


def test_recording_and_assert_replays(tmp_path: Path) -> None:
    path = tmp_path / "session.frames"
    with Adapter(record=path, env=ENV) as adapter:
        counter = adapter.new("collections", "Counter", ["abca"])
        assert adapter.method(counter, "most_common", [1]) == [("a", 2)]
        with pytest.raises(RemoteError):
            adapter.call("math", "sqrt", [-1])
    assert_replays(path)  # the same adapter replays it clean
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "collections.py").write_text("class Counter:\n    def __init__(self, s):\n        pass\n")
    with pytest.raises(AssertionError) as info:
        assert_replays(path, env=dict(ENV, PYTHONPATH=str(changed)))  # a Counter that changed
    assert "FAILED" in str(info.value) and "expected:" in str(info.value)


def test_the_plugin_fixture_from_a_test_module(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_default(snakeport_adapter):
            assert snakeport_adapter.call("math", "sqrt", [9]) == 3.0

        @pytest.mark.snakeport("--threads", "2")
        def test_marker(snakeport_adapter):
            assert snakeport_adapter.info["threads"] == 2

        def test_factory(snakeport_adapter_factory):
            adapter = snakeport_adapter_factory("--allow-module", "math")
            assert adapter.call("math", "floor", [2.5]) == 2
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snakeport", "call", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )


def test_the_call_command() -> None:
    result = cli("math", "sqrt", "16")
    assert (result.returncode, result.stdout) == (0, "4.0\n")
    result = cli("builtins", "sorted", "[3, 1, 2]", "--kwargs", "{'reverse': True}")
    assert result.stdout == "[3, 2, 1]\n"
    result = cli("sp_fixtures", "identity", "(1, 'a')", "--json")
    assert result.stdout == '{"tuple": [1, "a"]}\n'
    result = cli("math", "sqrt", "--", "-1")
    assert result.returncode == 1 and "ValueError: math domain error" in result.stderr
    result = cli("os", "getcwd", "--option=--allow-module=math")
    assert result.returncode == 1 and "ModuleNotAllowedError" in result.stderr
