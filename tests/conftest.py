"""Shared fixtures: the codec implementations, the BEAM, strict comparison."""

from __future__ import annotations

import math
import os
import shutil
from typing import Any

import pytest

from snakeport import etf
from snakeport.terms import FrozenMap, ImproperList

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


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


def assert_same(actual: Any, expected: Any, path: str = "") -> None:
    """Deep equality that also demands equal types (Atom is not str, [] is not ())."""
    where = path or "top"
    assert type(actual) is type(expected), f"{where}: {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, float):
        if math.isnan(expected):
            assert math.isnan(actual), f"{where}: {actual!r} != nan"
        else:
            assert actual == expected and math.copysign(1, actual) == math.copysign(1, expected), (
                f"{where}: {actual!r} != {expected!r}"
            )
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for index, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{path}[{index}]")
    elif isinstance(expected, (dict, FrozenMap)):
        assert set(actual) == set(expected), f"{where}: keys {set(actual) ^ set(expected)} differ"
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, ImproperList):
        assert_same(list(actual.elements), list(expected.elements), path + ".elements")
        assert_same(actual.tail, expected.tail, path + ".tail")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
