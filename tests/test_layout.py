"""The layout keeps its promises: the core does no I/O, start-up stays lean."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "adapter" / "snakeport"
# What would let the core touch a file descriptor, a process, a thread or a signal.
FORBIDDEN = {
    "os",
    "select",
    "subprocess",
    "threading",
    "_thread",
    "socket",
    "signal",
    "fcntl",
    "selectors",
    "io",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "core").rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_the_core_imports_nothing_that_does_io(path: Path) -> None:
    found = imported_modules(path) & FORBIDDEN
    assert not found, f"{path.relative_to(PACKAGE)} imports {sorted(found)}: the core must stay sans-IO"


def test_the_core_never_imports_the_edge_or_the_tools() -> None:
    for path in (PACKAGE / "core").rglob("*.py"):
        text = path.read_text()
        assert "..edge" not in text and "..tools" not in text, path


def test_starting_the_adapter_imports_no_tool_and_nothing_heavy() -> None:
    probe = (
        "import sys; sys.argv = ['x', '--help']\n"
        "import snakeport.edge.main as m\n"
        "heavy = sorted(n for n in sys.modules if n.split('.')[0] in "
        "{'asyncio', 'typing', 'logging', 'argparse', 're', 'dataclasses', 'datetime', 'threading', 'ctypes'} "
        "or n.startswith('snakeport.tools'))\n"
        "print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
