#!/usr/bin/env python3
"""What the BEAM launches: the SnakePort adapter, from a plain checkout.

    Port.open({:spawn_executable, python},
              [:binary, {:packet, 4}, :exit_status, args: ["priv/python/snakeport_adapter.py" | opts]])

Uses the checkout's ``adapter/`` package (installed or not) and loads
helpers from ``priv/python/helpers`` beside this file, plus ``--helper-path``.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "adapter"))

from snakeport.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(default_helper_dirs=[HERE / "helpers"]))
