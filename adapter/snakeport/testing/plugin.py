"""The pytest plugin (registered by ``pip install snakeport[testing]``).

Fixtures:

* ``snakeport_adapter``: a running adapter for one test, started with the
  options of the ``snakeport`` marker (``@pytest.mark.snakeport("--helper-path",
  "helpers")``) or of the ``snakeport_options`` ini setting / the
  ``--snakeport-option`` command-line option;
* ``snakeport_adapter_factory``: a function making more adapters with any
  options (all stopped after the test).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .adapter import Adapter

__all__ = ["snakeport_adapter", "snakeport_adapter_factory"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("snakeport_options", "options for the adapter of the snakeport_adapter fixture", default="")
    parser.addoption(
        "--snakeport-option",
        action="append",
        default=[],
        help="an adapter option for the snakeport_adapter fixture (repeatable)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "snakeport(*options): adapter options for the snakeport_adapter fixture"
    )


@pytest.fixture
def snakeport_adapter_factory() -> Iterator[Callable[..., Adapter]]:
    """``factory(*options, **settings)`` starts an adapter; every one is stopped after the test."""
    started: list[Adapter] = []

    def factory(*options: str, **settings: Any) -> Adapter:
        adapter = Adapter(*options, **settings)
        adapter.start()
        started.append(adapter)
        return adapter

    yield factory
    for adapter in started:
        adapter.stop()


@pytest.fixture
def snakeport_adapter(
    request: pytest.FixtureRequest, snakeport_adapter_factory: Callable[..., Adapter]
) -> Adapter:
    """A running adapter for this test (options: the ``snakeport`` marker, ini, command line)."""
    options = shlex.split(str(request.config.getini("snakeport_options")))
    options += [
        part for option in request.config.getoption("--snakeport-option") for part in shlex.split(option)
    ]
    marker = request.node.get_closest_marker("snakeport")
    if marker is not None:
        options += [str(arg) for arg in marker.args]
    return snakeport_adapter_factory(*options)
