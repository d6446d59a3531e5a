"""Python results to wire terms, with graceful refs.

Whatever the codec can encode is sent as a value; any leaf it cannot (an
instance, a module, a ``range``, an ndarray) becomes a ref in the session's
registry, and an iterator or generator becomes a stream ref; with the
origin's ``tensors``, arrays become tensor maps instead (``runtime.arrays``).  Containers keep
their structure.  The same object twice in one result is one ref.
"""

from __future__ import annotations

import types

from ..core.etf import encode_pieces
from .arrays import tensor_of
from .registry import Registry
from .request import Origin

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["ResultEncoder", "stream_type_of"]

_PLAIN_ITERABLES = (str, bytes, bytearray, list, tuple, dict, set, frozenset)


def stream_type_of(obj: Any) -> str | None:
    """SnakeBridge's rule: which results are streams, and of which kind.

    Generators and async generators are streams; so is any object with
    ``__next__`` and ``__iter__`` that is not a builtin container and not a
    context manager (files and connections stay plain refs).
    """
    if isinstance(obj, types.GeneratorType):
        return "generator"
    if isinstance(obj, types.AsyncGeneratorType):
        return "async_generator"
    kind = type(obj)
    if (
        hasattr(kind, "__next__")
        and hasattr(kind, "__iter__")
        and not isinstance(obj, _PLAIN_ITERABLES)
        and not (hasattr(kind, "__enter__") and hasattr(kind, "__exit__"))
    ):
        return "iterator"
    return None


class ResultEncoder:
    """Encodes one outgoing term, registering refs for what cannot travel."""

    def __init__(self, registry: Registry, compress_above: int | None = None) -> None:
        self.registry = registry
        self.compress_above = compress_above

    def make_ref(self, obj: Any, origin: Origin) -> dict[str, Any]:
        """Register ``obj`` and return its wire map (a ref, or a stream ref)."""
        stream_type = stream_type_of(obj)
        wire = {
            "__type__": "ref" if stream_type is None else "stream_ref",
            "__schema__": 1,
            "id": self.registry.add(
                origin.session_id, obj, origin.python_module, origin.library, stream_type
            ),
            "session_id": origin.session_id,
            "type_name": type(obj).__name__,
            "python_module": origin.python_module,
            "library": origin.library,
        }
        if stream_type is not None:
            wire["stream_type"] = stream_type
        return wire

    def encode(self, term: Any, origin: Origin) -> list[Any]:
        """Encode ``term`` as frame pieces; each leaf the codec cannot encode becomes a ref."""
        made: dict[int, tuple[Any, dict[str, Any]]] = {}  # id -> (object kept alive, its wire map)

        tensors = origin.tensors

        def as_ref(obj: Any) -> dict[str, Any]:
            if tensors:
                tensor = tensor_of(obj)
                if tensor is not None:
                    return tensor
            known = made.get(id(obj))
            if known is None:
                known = made[id(obj)] = (obj, self.make_ref(obj, origin))
            return known[1]

        try:
            return encode_pieces(term, default=as_ref, compress_above=self.compress_above)
        except BaseException:
            for _, wire in made.values():  # refs of a reply that is never sent
                self.registry.release(origin.session_id, wire["id"])
            raise
