"""The codec's two exception types, shared by every implementation."""

from __future__ import annotations


class DecodeError(ValueError):
    """Raised for every malformed, truncated or over-limit input.

    ``offset`` is the byte position (within the bytes given to ``decode``,
    counting the version byte) where the problem was found; ``None`` when it
    concerns the input as a whole.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.reason = message
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at byte {offset})")


class EncodeError(ValueError):
    """Raised for a Python value that has no faithful Erlang term.

    ``path`` says where in the value the culprit sits, e.g. ``[2]['x']``;
    ``culprit`` is the offending value itself.
    """

    def __init__(self, message: str, path: str = "", culprit: object = None) -> None:
        self.reason = message
        self.path = path
        self.culprit = culprit
        super().__init__(message if not path else f"{message} at {path}")
