"""SnakePort: Python for Elixir and Erlang over a Port, speaking the BEAM's own term format."""

from __future__ import annotations

__version__ = "0.1.0"
