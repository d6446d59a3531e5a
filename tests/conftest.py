"""Shared fixtures: the codec implementations, the BEAM, strict comparison."""

from __future__ import annotations

import itertools
import math
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snakeport import etf
from snakeport.terms import Atom, FrozenMap, Fun, ImproperList

from .harness import FramedProcess

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Under CI the native codec must have been built, unless the pure one is forced.
NATIVE_REQUIRED = IN_CI and os.environ.get("SNAKEPORT_PURE_CODEC", "") in ("", "0")


@pytest.fixture(params=sorted(etf.IMPLEMENTATIONS), scope="session")
def codec(request: pytest.FixtureRequest) -> Any:
    """Each codec implementation in turn: the same tests run against all."""
    return etf.IMPLEMENTATIONS[request.param]


def beam_tool(name: str) -> str:
    """Path of ``erl``/``escript``/``elixir``: skip without it, but fail under CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (scripts/bootstrap installs Erlang/OTP and Elixir)"
        if IN_CI:
            pytest.fail(message + "; under CI=true the BEAM tests must run")
        pytest.skip(message)
    return path


def assert_same(actual: Any, expected: Any, path: str = "", after_beam: bool = False) -> None:
    """Deep equality that also demands equal types (Atom is not str, [] is not ()).

    ``after_beam`` is for values the BEAM re-encoded: -0.0 may come back as
    0.0 (OTP 25's =:= does not tell them apart) and a fun's atoms may be spelt
    otherwise, so funs compare by arity.
    """
    where = path or "top"
    assert type(actual) is type(expected), f"{where}: {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, float):
        if math.isnan(expected):
            assert math.isnan(actual), f"{where}: {actual!r} != nan"
        else:
            same_sign = after_beam or math.copysign(1, actual) == math.copysign(1, expected)
            assert actual == expected and same_sign, f"{where}: {actual!r} != {expected!r}"
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for index, (a, e) in enumerate(zip(actual, expected, strict=False)):
            assert_same(a, e, f"{path}[{index}]", after_beam)
    elif isinstance(expected, (dict, FrozenMap)):
        assert set(actual) == set(expected), f"{where}: keys {set(actual) ^ set(expected)} differ"
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}[{key!r}]", after_beam)
    elif isinstance(expected, Fun) and after_beam:
        # After the BEAM re-encodes a fun its atoms may be spelt otherwise.
        assert actual.arity == expected.arity, f"{where}: arity {actual.arity} != {expected.arity}"
    elif isinstance(expected, ImproperList):
        assert_same(list(actual.elements), list(expected.elements), path + ".elements", after_beam)
        assert_same(actual.tail, expected.tail, path + ".tail", after_beam)
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


# -- the adapter through pipes ------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "priv" / "python" / "snakeport_adapter.py"
FIXTURES = Path(__file__).parent / "pyfixtures"
sys.path.insert(0, str(FIXTURES))  # the in-process engine tests import them as the adapter would
CALL = Atom("call")


class Adapter:
    """A running adapter and a numbered-request helper."""

    def __init__(self, *options: str, env: dict[str, str] | None = None) -> None:
        environment = dict(os.environ, PYTHONPATH=str(FIXTURES), **(env or {}))
        self.process = FramedProcess([sys.executable, str(LAUNCHER), *options], env=environment)
        self.ids = itertools.count(1)
        self.ready = self.process.recv()

    def call(self, timeout: float = 10.0, **request: Any) -> tuple[str, Any]:
        """Send one request; return ("ok", value) or ("error", error map)."""
        request_id = next(self.ids)
        self.process.send((CALL, request_id, request))
        tag, got_id, (status, value) = self.process.recv(timeout)
        assert (tag, got_id) == ("reply", request_id)
        return str(status), value

    def ok(self, **request: Any) -> Any:
        status, value = self.call(**request)
        assert status == "ok", value
        return value

    def error(self, **request: Any) -> dict[str, Any]:
        status, value = self.call(**request)
        assert status == "error", value
        return value  # type: ignore[no-any-return]

    def fx(self, function: str, *args: Any, **kwargs: Any) -> Any:
        return self.ok(python_module="sp_fixtures", function=function, args=list(args), kwargs=kwargs)

    def close(self) -> int | None:
        return self.process.close()


@pytest.fixture
def adapter() -> Iterator[Adapter]:
    running = Adapter()
    yield running
    assert running.close() == 0
