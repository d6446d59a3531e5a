"""Test Python code the way the BEAM calls it: through the real adapter, over pipes.

    from snakeport.testing import Adapter, RemoteError

    def test_greeting():
        with Adapter("--helper-path", "priv/python") as adapter:
            assert adapter.call("myapp.text", "greet", ["ada"]) == "hello ada"
            counter = adapter.new("collections", "Counter", ["abca"])
            assert adapter.method(counter, "most_common", [1]) == [("a", 2)]

No BEAM is needed: the harness plays the Elixir client, frame for frame
(``snakeport.testing.wire``).  Installed with ``pip install
snakeport[testing]``, which also registers the pytest plugin (the
``snakeport_adapter`` fixture).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from .adapter import Adapter, AdapterDied, RemoteError
from .wire import Ref, StreamRef

__all__ = ["Adapter", "AdapterDied", "Ref", "RemoteError", "StreamRef", "assert_replays"]


def assert_replays(
    path: str | os.PathLike[str],
    *adapter_options: str,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> None:
    """Replay a recorded session against a fresh adapter; fail with the replay tool's diff if it differs."""
    from ..core.recording import read_records
    from ..tools.replay import Replay

    with open(path, "rb") as file:
        records = list(read_records(file.read()))
    command: Sequence[str] = [python, "-m", "snakeport", *adapter_options]
    replay = Replay(records, list(command), timeout, env)
    differences = replay.run()
    if differences:
        shown = "\n".join(str(difference) for difference in differences[:5])
        raise AssertionError(
            f"replay of {os.fspath(path)} FAILED: {len(differences)} difference(s); "
            f"{replay.compared} frames out compared\n{shown}"
        )
