"""Makes the interpreter that imports it (from PYTHONPATH) pretend to be Python 3.8.10.

The launcher reads ``sys.version_info`` before anything else; with this on
the path, the tests see what a real old interpreter would get.
"""

import sys

sys.version_info = (3, 8, 10, "final", 0)  # type: ignore[assignment]
sys.version = "3.8.10 (pretend, for the SnakePort tests)"
