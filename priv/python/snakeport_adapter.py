#!/usr/bin/env python3
"""What the BEAM launches: the SnakePort adapter, from a plain checkout.

    Port.open({:spawn_executable, python},
              [:binary, {:packet, 4}, :exit_status, args: ["priv/python/snakeport_adapter.py" | opts]])

Uses the checkout's ``adapter/`` package (installed or not) and loads
helpers from ``priv/python/helpers`` beside this file, plus ``--helper-path``.
"""

import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "adapter"))

from snakeport.edge.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(default_helper_dirs=[os.path.join(HERE, "helpers")]))
