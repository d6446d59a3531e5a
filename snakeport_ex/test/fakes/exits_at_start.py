"""An adapter that cannot start: it says why on stderr and exits with status 3."""

import sys

print("fake adapter: loading the model failed", file=sys.stderr)
print("fake adapter: CUDA device not found", file=sys.stderr)
sys.exit(3)
