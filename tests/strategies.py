"""Hypothesis strategies over the term space SnakePort's codec maps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from snakeport.core.etf.tagged import SPECIAL_ATOMS
from snakeport.etf import decode
from snakeport.terms import Atom, BitString, FrozenMap, HashableList, ImproperList, Opaque

VECTORS = Path(__file__).parent / "golden" / "vectors.tsv"


def _golden_opaques() -> list[Opaque]:
    found = []
    for line in VECTORS.read_text().splitlines():
        name, variant, hexdata, _ = line.split("\t") if not line.startswith("#") else ("", "", "", "")
        if name.startswith(("pid_", "ref_", "port_", "fun_")) and variant in ("v1", "v2"):
            found.append(decode(bytes.fromhex(hexdata)))
    return found


OPAQUES = _golden_opaques()

atoms = st.text(max_size=20).filter(lambda name: name not in SPECIAL_ATOMS).map(Atom) | st.sampled_from(
    [Atom("ok"), Atom("error"), Atom("Elixir.Foo"), Atom("ü" * 255)]
)
bitstrings = st.builds(
    lambda data, bits: BitString(data[:-1] + bytes([data[-1] & (0xFF << (8 - bits)) & 0xFF]), bits),
    st.binary(min_size=1, max_size=8),
    st.integers(1, 7),
)
floats = st.floats(allow_nan=False, allow_infinity=True)
scalars = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-(2**3000), 2**3000),
    floats,
    st.text(max_size=30),
    st.binary(max_size=30),
    atoms,
    st.none(),
    st.booleans(),
    bitstrings,
    st.sampled_from(OPAQUES),
)
number_lists = (
    st.lists(st.integers(0, 255), min_size=16, max_size=80)
    | st.lists(st.integers(-(2**31), 2**31 - 1), min_size=16, max_size=80)
    | st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=16, max_size=80)
)

# Keys: hashable, and no two distinct keys that become one term (bytes/str
# twins are dropped by a filter on the whole dict).
hashable_keys = st.recursive(
    st.one_of(st.integers(-(2**40), 2**40), st.text(max_size=8), atoms, st.binary(max_size=4), st.booleans()),
    lambda inner: st.one_of(
        st.tuples(inner, inner),
        st.lists(inner, max_size=3).map(HashableList),
        st.dictionaries(st.text(max_size=4), inner, max_size=3).map(FrozenMap),
    ),
    max_leaves=6,
)


def _no_twins(mapping: dict[Any, Any]) -> bool:
    from snakeport.etf import encode

    encoded = [encode(key) for key in mapping]
    return len(set(encoded)) == len(encoded)


def _improper(elements: list[Any], tail: Any) -> ImproperList:
    return ImproperList(elements, tail)


terms = st.recursive(
    scalars | number_lists,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(hashable_keys, inner, max_size=4).filter(_no_twins),
        st.builds(_improper, st.lists(inner, min_size=1, max_size=3), scalars),
    ),
    max_leaves=40,
)


def wire_normal(value: Any, key: bool = False) -> Any:
    """The value Python gets back after a trip through the BEAM."""
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value)
    if isinstance(value, ImproperList):
        return ImproperList([wire_normal(v, key) for v in value.elements], wire_normal(value.tail, key))
    if isinstance(value, (list, HashableList)):
        items = [wire_normal(v, key) for v in value]
        return HashableList(items) if key else items
    if isinstance(value, tuple):
        return tuple(wire_normal(v, key) for v in value)
    if isinstance(value, (dict, FrozenMap)):
        atoms = {k for k in value if type(k) is Atom}
        items = {
            # a text binary key beside an atom key of the same name stays bytes (Atom("a") == "a")
            (
                bytes(k)
                if isinstance(k, (bytes, bytearray)) and wire_normal(k) in atoms
                else wire_normal(k, True)
            ): (wire_normal(v, key))
            for k, v in value.items()
        }
        return FrozenMap(items) if key else items
    return value
