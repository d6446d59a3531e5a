"""``python -m snakeport``: the adapter (see ``snakeport.edge.main``), or ``frames dump|replay``."""

import sys

from .edge.main import main

if __name__ == "__main__":
    sys.exit(main())
