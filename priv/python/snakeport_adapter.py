#!/usr/bin/env python3
"""What the BEAM launches: the SnakePort adapter.

    Port.open({:spawn_executable, python},
              [:binary, {:packet, 4}, :exit_status, args: ["priv/python/snakeport_adapter.py" | opts]])

Two layouts, one file:

* in a checkout (``priv/python/`` of the repository), the package is the
  checkout's ``adapter/snakeport``;
* copied into the Elixir client's ``priv/python/`` at compile time (what a
  Mix release carries), the package sits beside this file, and nothing
  outside the release is needed but the interpreter.

Helpers load from ``helpers/`` beside this file, plus ``--helper-path``.
``SNAKEPORT_PYTHON_PATH`` (os.pathsep-separated; the Elixir client sets it
from the pool's ``python_path:``) goes first on ``sys.path``, ahead of the
adapter's own folder, which is itself ahead of ``PYTHONPATH``.

This file must stay readable by old interpreters: on a Python older than
3.10 it answers the Port with ``{:startup_error, ...}`` naming the version,
instead of failing somewhere inside the package's imports.
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
MINIMUM = (3, 10)


def _binary(text):
    data = text.encode("utf-8")
    return b"m" + struct.pack(">I", len(data)) + data


def _too_old():
    """Tell the BEAM, in one frame it can read, that this Python cannot run the adapter."""
    message = "the SnakePort adapter needs Python %d.%d or newer; %s is Python %s" % (
        MINIMUM + (sys.executable or "this interpreter", sys.version.split()[0])
    )
    sys.stderr.write("snakeport: " + message + "\n")
    error = b"t" + struct.pack(">I", 2)
    error += _binary("type") + _binary("PythonTooOld") + _binary("message") + _binary(message)
    term = b"\x83h\x02w\x0dstartup_error" + error
    try:
        os.write(1, struct.pack(">I", len(term)) + term)
    except OSError:
        pass
    return 1


def _path():
    """The folders the adapter imports from: the pool's python_path, then the package's own."""
    if not os.path.isdir(os.path.join(HERE, "snakeport")):  # a checkout: the package is in adapter/
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "adapter"))
    extra = [entry for entry in os.environ.get("SNAKEPORT_PYTHON_PATH", "").split(os.pathsep) if entry]
    sys.path[0:0] = extra


if __name__ == "__main__":
    if tuple(sys.version_info[:2]) < MINIMUM:
        sys.exit(_too_old())
    _path()
    from snakeport.edge.main import main

    sys.exit(main(default_helper_dirs=[os.path.join(HERE, "helpers")]))
