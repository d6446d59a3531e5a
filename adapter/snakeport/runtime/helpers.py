"""Helper functions loaded from helper folders, SnakeBridge's conventions.

Every ``*.py`` file not starting with ``_`` in each folder is imported, and
registers helpers by one of: a ``__snakebridge_helpers__`` dict, a
``snakebridge_helpers()`` function returning one, or a ``HELPERS`` dict
(name -> callable).  Names are free strings ("text.shout").  A file that
fails to import or to register is a ``HelperLoadError`` naming the file.
"""

from __future__ import annotations

import os
import sys
import zlib
from collections.abc import Callable, Iterable, Mapping

from ..core.errors import HelperLoadError, HelperNotFoundError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["HelperRegistry"]


class HelperRegistry:
    """Helpers by name, loaded once from the given folders."""

    def __init__(self, folders: Iterable[str | os.PathLike[str]] = ()) -> None:
        self.helpers: dict[str, Callable[..., Any]] = {}
        self.origins: dict[str, str] = {}
        for folder in folders:
            self.load_folder(os.fspath(folder))

    def load_folder(self, folder: str) -> None:
        if not os.path.isdir(folder):
            raise HelperLoadError(f"helper folder {folder} does not exist or is not a folder")
        tag = f"{zlib.crc32(os.path.realpath(folder).encode()):08x}"
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py") and not name.startswith("_"):
                self._load_file(os.path.join(folder, name), f"snakeport_helper_{tag}_{name[:-3]}")

    def _load_file(self, path: str, module_name: str) -> None:
        import importlib.util  # only when there are helper files

        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError("no loader for this file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            table = _registry_of(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise HelperLoadError(f"helper file {path} failed to load: {type(exc).__name__}: {exc}") from exc
        for name, func in table.items():
            if not isinstance(name, str) or not callable(func):
                raise HelperLoadError(f"helper file {path}: {name!r} must be a name mapped to a callable")
            if name in self.helpers:
                raise HelperLoadError(f"helper {name!r} of {path} is already defined by {self.origins[name]}")
            self.helpers[name] = func
            self.origins[name] = path

    def get(self, name: str, allowlist: Any = "all") -> Callable[..., Any]:
        """The helper called ``name``, if it exists and the allowlist admits it."""
        func = self.helpers.get(name)
        if func is None:
            known = ", ".join(sorted(self.helpers)) or "none loaded"
            raise HelperNotFoundError(f"helper {name!r} not found (known: {known})")
        if allowlist != "all" and name not in (allowlist or ()):
            raise HelperNotFoundError(f"helper {name!r} is not in this request's helper_allowlist")
        return func


def _registry_of(module: Any) -> Mapping[str, Any]:
    for attribute in ("__snakebridge_helpers__", "HELPERS"):
        table = getattr(module, attribute, None)
        if table is not None:
            break
    else:
        factory = getattr(module, "snakebridge_helpers", None)
        table = factory() if callable(factory) else None
    if table is None:
        raise ValueError("defines none of __snakebridge_helpers__, snakebridge_helpers() or HELPERS")
    if not isinstance(table, Mapping):
        raise TypeError(f"its helper registry is a {type(table).__name__}, not a mapping")
    return table
