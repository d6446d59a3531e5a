"""What ``--allow-module`` admits: imports, attribute walks, and the objects they reach.

Without patterns everything is allowed and no check runs.  With patterns, a
request may import only modules matching one (``fnmatch``; a pattern also
admits the package's submodules: ``numpy`` admits ``numpy.linalg``), and
every attribute walk (a dotted ``function``, ``attr``, a method on a ref) is
checked step by step:

* a dunder name is refused unless it is one of the protocol methods that act
  on the object itself (``__len__``, ``__iter__``, ``__getitem__``, ...):
  ``__class__``, ``__globals__``, ``__subclasses__``, ``__dict__`` and their
  kind lead out of the allowed code;
* a step that reaches a module that is not allowed is refused
  (``posixpath.os``);
* frames, code objects, tracebacks and cells are refused (``gen.gi_frame``
  leads to ``f_globals``);
* a function, method or class must come from an allowed module (or its C
  accelerator: ``_operator`` for ``operator``), be exported by the allowed
  module it was found in, or be a builtin that neither evaluates nor imports:
  ``eval``, ``exec``, ``compile``, ``__import__``, ``open``, ``breakpoint``,
  ``getattr``, ``setattr``, ``delattr``, ``vars``, ``globals``, ``locals``,
  ``input``, ``help``, ``exit`` and ``quit`` are refused unless ``builtins``
  is allowed.

The root of a walk from a ref is checked the same way, so a ref to a module
or to a refused function is useless.  ``set_attr`` on a module is refused.
It is not a sandbox: allowed code runs with the adapter's full power, and
what it returns or does is its own business (docs/PROTOCOL.md, threat model).
"""

from __future__ import annotations

import builtins
import types

from ..core.errors import AttributeNotAllowedError, ModuleNotAllowedError, ProtocolError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from collections.abc import Iterable
    from typing import Any

__all__ = ["Policy"]

# Dunders that act on the object itself and lead nowhere else.
_SAFE_DUNDERS = frozenset(
    f"__{name}__"
    for name in [
        "len",
        "iter",
        "next",
        "aiter",
        "anext",
        "contains",
        "getitem",
        "setitem",
        "delitem",
        "missing",
        "call",
        "enter",
        "exit",
        "aenter",
        "aexit",
        "str",
        "repr",
        "format",
        "bytes",
        "bool",
        "int",
        "float",
        "complex",
        "index",
        "hash",
        "length_hint",
        "reversed",
        "round",
        "trunc",
        "floor",
        "ceil",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "add",
        "sub",
        "mul",
        "matmul",
        "truediv",
        "floordiv",
        "mod",
        "divmod",
        "pow",
        "lshift",
        "rshift",
        "and",
        "xor",
        "or",
        "neg",
        "pos",
        "abs",
        "invert",
        "radd",
        "rsub",
        "rmul",
        "rmatmul",
        "rtruediv",
        "rfloordiv",
        "rmod",
        "rdivmod",
        "rpow",
        "rlshift",
        "rrshift",
        "rand",
        "rxor",
        "ror",
        "iadd",
        "isub",
        "imul",
        "imatmul",
        "itruediv",
        "ifloordiv",
        "imod",
        "ipow",
        "ilshift",
        "irshift",
        "iand",
        "ixor",
        "ior",
        "array",
        "name",
        "qualname",
        "doc",
        "version",
        "all",
        "file",
    ]
)
_REFUSED_TYPES = (types.FrameType, types.CodeType, types.TracebackType, types.CellType)
_CALLABLE_TYPES = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.MethodWrapperType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
    type,
)
_DANGEROUS_BUILTINS = {
    id(getattr(builtins, name)): name
    for name in [
        "eval",
        "exec",
        "compile",
        "__import__",
        "open",
        "breakpoint",
        "getattr",
        "setattr",
        "delattr",
        "vars",
        "globals",
        "locals",
        "input",
        "help",
        "exit",
        "quit",
    ]
    if hasattr(builtins, name)
}


class Policy:
    """The module patterns of ``--allow-module``, and the checks they imply."""

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns = tuple(patterns)
        self.restricted = bool(self.patterns)
        self._verdicts: dict[str, bool] = {}  # module name -> allowed?
        self.builtins_allowed = not self.restricted or self.allows("builtins")

    def allows(self, module: str) -> bool:
        """Whether ``module`` (or the package it belongs to) matches a pattern."""
        verdict = self._verdicts.get(module)
        if verdict is None:
            import fnmatch  # only with --allow-module: re is costly to import at start

            verdict = any(
                fnmatch.fnmatchcase(module, pattern) or fnmatch.fnmatchcase(module, pattern + ".*")
                for pattern in self.patterns
            )
            if len(self._verdicts) < 10_000:
                self._verdicts[module] = verdict
        return verdict

    def check_import(self, name: str) -> None:
        if self.restricted and not self.allows(name):
            raise ModuleNotAllowedError(
                f"module {name!r} is not allowed (allowed: {', '.join(self.patterns)})"
            )

    def walk(self, root: Any, dotted: str, origin: str) -> Any:
        """Follow the attribute path ``dotted`` from ``root`` (named ``origin`` in errors)."""
        if not dotted:
            raise ProtocolError("empty function or attribute name")
        if not self.restricted and "." not in dotted:
            return getattr(root, dotted)  # the common case, unchecked: nothing is restricted
        value = root
        where = origin
        for part in dotted.split("."):
            if self.restricted:
                self.check_name(part, where)
            parent, value = value, getattr(value, part)
            where = f"{where}.{part}" if where else part
            if self.restricted:
                self.check_value(value, parent, where)
        return value

    def check_root(self, obj: Any, where: str) -> None:
        """A ref's object, before anything is walked from it or called on it."""
        if self.restricted:
            self.check_value(obj, None, where)

    def check_name(self, name: str, where: str) -> None:
        if not name:
            raise ProtocolError(f"empty attribute name after {where!r}")
        if name.startswith("__") and name.endswith("__") and name not in _SAFE_DUNDERS:
            raise AttributeNotAllowedError(
                f"attribute {name!r} of {where or 'the object'} is not allowed with --allow-module "
                "(dunders other than the object's own protocol methods lead out of the allowed code)"
            )

    def check_set(self, obj: Any, name: str, where: str) -> None:
        if self.restricted:
            self.check_name(name, where)
            if isinstance(obj, types.ModuleType):
                raise AttributeNotAllowedError(
                    f"setting {name!r} on module {obj.__name__!r} is not allowed with --allow-module"
                )

    def check_value(self, value: Any, parent: Any, where: str) -> None:
        if isinstance(value, types.ModuleType):
            self.check_import(value.__name__)
        elif isinstance(value, _REFUSED_TYPES):
            raise AttributeNotAllowedError(
                f"{where} is a {type(value).__name__} object, which is not allowed with --allow-module"
            )
        elif isinstance(value, _CALLABLE_TYPES):
            self._check_callable(value, parent, where)

    def _check_callable(self, value: Any, parent: Any, where: str) -> None:
        own_name = getattr(value, "__name__", None)
        if isinstance(own_name, str) and not isinstance(value, type):
            self.check_name(own_name, where)  # a bound __subclasses__ got some other way
        name = _DANGEROUS_BUILTINS.get(id(value))
        if name is not None and not self.builtins_allowed:
            raise AttributeNotAllowedError(
                f"{where} is builtins.{name}, which evaluates, imports or reaches attributes: "
                "not allowed unless 'builtins' is allowed"
            )
        module = _home(value)
        if module is None or module == "builtins" or self.allows(module) or self.allows(module.lstrip("_")):
            return
        if isinstance(parent, types.ModuleType) and self.allows(parent.__name__):
            return  # exported by an allowed module: part of its API
        allowed = ", ".join(self.patterns)
        raise ModuleNotAllowedError(
            f"{where} comes from module {module!r}, which is not allowed (allowed: {allowed})"
        )


def _home(value: Any) -> str | None:
    """The module a function, method or class was defined in."""
    if isinstance(value, types.MethodType):
        value = value.__func__
    elif isinstance(value, (types.BuiltinMethodType, types.MethodWrapperType)):
        owner = getattr(value, "__self__", None)
        if owner is not None and not isinstance(owner, types.ModuleType):
            home = getattr(owner if isinstance(owner, type) else type(owner), "__module__", None)
            return home if isinstance(home, str) else None
    elif isinstance(value, (types.WrapperDescriptorType, types.MethodDescriptorType)):
        value = value.__objclass__
    home = getattr(value, "__module__", None)
    return home if isinstance(home, str) else None
