"""Maps that stand for Python types: SnakeBridge's tagged maps and Elixir structs.

SnakeBridge marks values JSON cannot carry with ``"__type__"`` maps; ETF carries
most of them natively, but the tags stay part of the contract (with raw
binaries where SnakeBridge used base64).  Elixir's own ``MapSet``, ``Date``,
``Time``, ``NaiveDateTime`` and ``DateTime`` structs arrive as maps with a
``:__struct__`` key.  This module turns both into Python values on the way in,
and Python's sets, complex numbers and dates into tagged maps on the way out.
``ref`` and ``stream_ref`` maps are left alone: resolving them needs the
session registry, which is not the codec's business.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

from ..terms import Atom, FrozenMap, HashableList, ImproperList
from .errors import DecodeError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    import datetime as _dt
    from typing import Any

__all__ = ["NOTHING", "SPECIAL_ATOMS", "freeze", "from_map", "stand_in"]

#: Atoms that decode to Python singletons or floats, and back.
SPECIAL_ATOMS: dict[str, Any] = {
    "true": True,
    "false": False,
    "nil": None,
    "infinity": math.inf,
    "neg_infinity": -math.inf,
    "nan": math.nan,
}

_STRUCT = "__struct__"
_TYPE = "__type__"


def freeze(value: Any) -> Any:
    """Return a hashable equivalent of a decoded value (for set elements, keys)."""
    kind = type(value)
    if kind is list:
        return HashableList(freeze(item) for item in value)
    if kind is dict:
        return FrozenMap({key: freeze(item) for key, item in value.items()})
    if kind is tuple:
        return tuple(freeze(item) for item in value)
    if kind is set:
        return frozenset(value)
    if kind is ImproperList:
        return ImproperList((freeze(item) for item in value), freeze(value.tail))
    return value


def from_map(mapping: dict[Any, Any], frozen: bool) -> Any:
    """Convert a decoded map that is a tagged map or a known struct.

    Anything else (including ``ref`` tags and unknown structs) comes back
    unchanged.  ``frozen`` asks for hashable results (the map was a key).
    """
    struct = mapping.get(_STRUCT)
    if type(struct) is Atom:
        convert = _STRUCTS.get(struct)
        if convert is None:
            return mapping
        try:
            value = convert(mapping)
        except (KeyError, TypeError, ValueError, OverflowError):
            return mapping  # a date Python cannot hold stays a map: nothing is lost
        return frozenset(value) if frozen and type(value) is set else value
    tag = mapping.get(_TYPE)
    if type(tag) is str:
        convert = _TAGS.get(tag)
        if convert is None:
            return mapping
        try:
            value = convert(mapping)
        except (KeyError, TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise DecodeError(f"tagged map {tag!r} is malformed: {exc!r}") from None
        if frozen:
            value = freeze(value)
        return value
    return mapping


#: What ``stand_in`` returns for a value it has no stand-in for.
NOTHING: Any = object()


def stand_in(value: Any) -> Any:
    """What to encode in place of a value ETF has no term for, else ``NOTHING``.

    Sets, complex numbers and dates become tagged maps.  Values of other
    libraries that are plain values in disguise become those values:
    subclasses of ``datetime``/``date``/``time`` (``pandas.Timestamp``, as its
    microseconds and UTC offset; ``pandas.NaT`` as ``nil``), numpy's integer,
    float, bool and complex scalars (``numpy.int64(3)`` is ``3``), its
    ``datetime64`` (``NaT`` as ``nil``).  numpy and pandas are never imported
    here: their values are told by their type's module.
    """
    kind = type(value)
    convert = _TO_WIRE.get(kind)
    if convert is not None:
        return convert(value)
    module = kind.__module__
    if module == "datetime":
        _datetime()
        convert = _TO_WIRE.get(kind)
        return NOTHING if convert is None else convert(value)
    if module == "numpy":
        return _numpy_scalar(value)
    datetime = sys.modules.get("datetime")  # not loaded: nothing can be a subclass of its types
    if datetime is not None and isinstance(value, (datetime.date, datetime.time)):
        return _base_date(value, datetime)
    return NOTHING


def _numpy_scalar(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (``item()``); NaT as ``None``."""
    numpy = sys.modules.get("numpy")
    if numpy is None or not isinstance(value, numpy.generic):
        return NOTHING  # an array (even 0-d): a ref, or a tensor
    dtype, item = value.dtype, value.item
    code = dtype.kind
    if code in "biufc":
        return item()
    if code == "M":  # datetime64: to microseconds, which Python's datetime holds
        if value != value:
            return None
        return item() if dtype.name == "datetime64[D]" else value.astype("datetime64[us]").item()
    return NOTHING


def _base_date(value: Any, datetime: Any) -> Any:
    """A subclass of datetime/date/time as its base value; a NaT (unequal to itself) as ``None``."""
    if value != value:
        return None
    if isinstance(value, datetime.datetime):
        text = datetime.datetime.isoformat(value)  # the base method: microseconds, the offset
        return {_TYPE: "datetime", "value": text}
    if isinstance(value, datetime.date):
        return {_TYPE: "date", "value": datetime.date.isoformat(value)}
    return {_TYPE: "time", "value": datetime.time.isoformat(value)}


# -- Elixir structs --------------------------------------------------------


def _iso_calendar(mapping: dict[Any, Any]) -> None:
    calendar = mapping.get("calendar", "Elixir.Calendar.ISO")
    if calendar != "Elixir.Calendar.ISO":
        raise ValueError("only Calendar.ISO dates convert")


def _microsecond(mapping: dict[Any, Any]) -> int:
    micro = mapping.get("microsecond", (0, 0))
    if type(micro) is not tuple or len(micro) != 2:
        raise ValueError("microsecond must be {us, precision}")
    return int(micro[0])


def _date(mapping: dict[Any, Any]) -> Any:  # a datetime.date
    _iso_calendar(mapping)
    return _datetime().date(mapping["year"], mapping["month"], mapping["day"])


def _time(mapping: dict[Any, Any], tz: _dt.tzinfo | None = None) -> Any:  # a datetime.time
    _iso_calendar(mapping)
    return _datetime().time(mapping["hour"], mapping["minute"], mapping["second"], _microsecond(mapping), tz)


def _naive(mapping: dict[Any, Any]) -> Any:  # a datetime.datetime
    return _datetime().datetime.combine(_date(mapping), _time(mapping))


def _aware(mapping: dict[Any, Any]) -> Any:  # a datetime.datetime
    offset = int(mapping["utc_offset"]) + int(mapping["std_offset"])
    zone = mapping.get("time_zone")
    if zone == "Etc/UTC" and offset == 0:
        tz: _dt.tzinfo = _datetime().timezone.utc
    else:
        tz = _datetime().timezone(
            _datetime().timedelta(seconds=offset), str(mapping.get("zone_abbr") or zone)
        )
    return _datetime().datetime.combine(_date(mapping), _time(mapping, tz))


def _map_set(mapping: dict[Any, Any]) -> set[Any]:
    members = mapping["map"]
    if type(members) is not dict:
        raise TypeError("MapSet.map must be a map")
    return set(members)


_STRUCTS: dict[str, Callable[[dict[Any, Any]], Any]] = {
    "Elixir.MapSet": _map_set,
    "Elixir.Date": _date,
    "Elixir.Time": _time,
    "Elixir.NaiveDateTime": _naive,
    "Elixir.DateTime": _aware,
}


# -- SnakeBridge tagged maps -----------------------------------------------


def _field(mapping: dict[Any, Any], *names: str) -> Any:
    for name in names:
        if name in mapping:
            return mapping[name]
    raise KeyError(names[0])


def _elements(mapping: dict[Any, Any]) -> list[Any]:
    elements = _field(mapping, "elements", "value")
    if type(elements) is not list:
        raise TypeError("elements must be a list")
    return elements


def _bytes(mapping: dict[Any, Any]) -> bytes:
    data = _field(mapping, "data", "value")
    if type(data) is str:
        return data.encode()
    if type(data) is bytes:
        return data
    raise TypeError("data must be a binary")


def _iso(mapping: dict[Any, Any]) -> str:
    """The ISO-8601 text, in the subset Python 3.10's ``fromisoformat`` reads.

    Elixir writes a "Z" suffix and fractions of any precision ("12.5");
    3.10 wants "+00:00" and exactly 3 or 6 digits.
    """
    value = mapping["value"]
    if type(value) is not str:
        raise TypeError("value must be an ISO-8601 string")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    dot = value.find(".")
    if dot < 0:
        return value
    end = dot + 1
    while end < len(value) and value[end].isdigit():
        end += 1
    return value[: dot + 1] + (value[dot + 1 : end] + "00000")[:6] + value[end:]


def _special_float(mapping: dict[Any, Any]) -> float:
    value = SPECIAL_ATOMS.get(mapping["value"])
    if type(value) is not float:
        raise ValueError("value must be infinity, neg_infinity or nan")
    return value


def _pairs(mapping: dict[Any, Any]) -> dict[Any, Any]:
    pairs = mapping["pairs"]
    result = {}
    for pair in pairs:
        key, value = pair
        result[freeze(key)] = value
    if len(result) != len(pairs):
        raise ValueError("two keys are equal in Python")
    return result


def _atom(mapping: dict[Any, Any]) -> Any:
    name = mapping["value"]
    if type(name) is not str and type(name) is not Atom:
        raise TypeError("value must be a string")
    return SPECIAL_ATOMS[name] if name in SPECIAL_ATOMS else Atom(name)


_TAGS: dict[str, Callable[[dict[Any, Any]], Any]] = {
    "bytes": _bytes,
    "tuple": lambda m: tuple(_elements(m)),
    "set": lambda m: {freeze(item) for item in _elements(m)},
    "frozenset": lambda m: frozenset(freeze(item) for item in _elements(m)),
    "atom": _atom,
    "complex": lambda m: complex(m["real"], m["imag"]),
    "datetime": lambda m: _datetime().datetime.fromisoformat(_iso(m)),
    "date": lambda m: _datetime().date.fromisoformat(_iso(m)),
    "time": lambda m: _datetime().time.fromisoformat(_iso(m)),
    "special_float": _special_float,
    "dict": _pairs,
}

_TO_WIRE: dict[type, Callable[[Any], dict[str, Any]]] = {
    set: lambda v: {_TYPE: "set", "elements": list(v)},
    frozenset: lambda v: {_TYPE: "frozenset", "elements": list(v)},
    complex: lambda v: {_TYPE: "complex", "real": v.real, "imag": v.imag},
}


def _datetime() -> Any:
    """The datetime module, imported when first needed (2.5 ms off every start)."""
    import datetime

    if datetime.datetime not in _TO_WIRE:
        _TO_WIRE[datetime.datetime] = _iso_wire("datetime")
        _TO_WIRE[datetime.date] = _iso_wire("date")
        _TO_WIRE[datetime.time] = _iso_wire("time")
    return datetime


def _iso_wire(tag: str) -> Callable[[Any], dict[str, Any]]:
    return lambda value: {_TYPE: tag, "value": value.isoformat()}
