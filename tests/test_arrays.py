"""numpy and pandas values as values, ndarrays as tensors both ways (in-process engine).

numpy and pandas are test extras: these tests need them (under CI=true they
are installed by scripts/bootstrap, so they fail rather than skip there).
"""

from __future__ import annotations

import datetime
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snakeport import etf

from .conftest import IN_CI
from .engine_wire import Wire

if IN_CI:
    import numpy as np
    import pandas as pd
else:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")


@pytest.fixture
def wire() -> Iterator[Wire]:
    running = Wire()
    yield running
    running.close()


def call(wire: Wire, module: str, function: str, *args: Any, **fields: Any) -> Any:
    return wire.ok(python_module=module, function=function, args=list(args), **fields)


# numpy dtype names whose Nx name is not the kind letter and the bit width.
NX = {
    "bool": "u8",
    "float16": "f16",
    "float32": "f32",
    "float64": "f64",
    "complex64": "c64",
    "complex128": "c128",
}


def nx_name(dtype: Any) -> str:
    """The Nx type name of a numpy dtype, as the tensor map's "dtype" says it."""
    dtype = np.dtype(dtype)
    return NX.get(dtype.name) or {"i": "s", "u": "u"}[dtype.kind] + str(dtype.itemsize * 8)


def tensor(array: Any) -> dict[str, Any]:
    """A tensor map as the Elixir client sends one."""
    return {
        "__type__": "tensor",
        "dtype": nx_name(array.dtype),
        "shape": tuple(array.shape),
        "data": array.tobytes(),
    }


def data(tensor_map: dict[str, Any]) -> bytes:
    """A tensor's bytes as the BEAM gets them (a binary: here str when it happens to be UTF-8)."""
    raw = tensor_map["data"]
    return raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)


# -- scalars and subclasses as values ---------------------------------------------------


def test_numpy_scalars_are_values(wire: Wire) -> None:
    assert call(wire, "numpy", "sum", [1, 2, 3]) == 6
    assert type(call(wire, "numpy", "int64", 3)) is int
    assert call(wire, "numpy", "bool_", 1) is True
    assert call(wire, "numpy", "float32", 1.5) == 1.5
    assert call(wire, "numpy", "complex64", 2) == complex(2, 0)
    assert call(wire, "numpy", "uint8", 200) == 200
    nan = call(wire, "numpy", "float64", "nan")
    assert nan != nan  # non-finite floats travel as :nan, :infinity, :neg_infinity, as plain floats do
    raw = wire.raw[-1]
    assert b"w\x03nan" in raw


def test_an_array_element_and_iteration_give_values(wire: Wire) -> None:
    array = call(wire, "numpy", "arange", 20_000)
    assert array["__type__"] == "ref" and array["type_name"] == "ndarray"
    assert wire.ok(call_type="method", instance=array, function="__getitem__", args=[1]) == 1
    stream = wire.ok(call_type="method", instance=array, function="__iter__")
    items = wire.ok(call_type="stream_take", stream_ref=stream, max=20_000)["items"]
    assert items == list(range(20_000))
    assert wire.ok(call_type="stats")["refs"] == 1  # no ref per element; the array is still held


def test_datetimes_of_pandas_and_numpy(wire: Wire) -> None:
    naive = call(wire, "pandas", "Timestamp", "2026-01-02 03:04:05.123456789")
    assert naive == datetime.datetime(2026, 1, 2, 3, 4, 5, 123456) and type(naive) is datetime.datetime
    aware = call(wire, "pandas", "Timestamp", "2026-01-02 03:04:05.5", kwargs={"tz": "Asia/Kolkata"})
    assert aware.utcoffset() == datetime.timedelta(hours=5, minutes=30) and aware.microsecond == 500000
    assert wire.ok(call_type="module_attr", python_module="pandas", attr="NaT") is None
    assert call(wire, "numpy", "datetime64", "NaT") is None
    assert call(wire, "numpy", "datetime64", "2020-01-01T00:00:00.123456789") == datetime.datetime(
        2020, 1, 1, 0, 0, 0, 123456
    )
    assert call(wire, "numpy", "datetime64", "2020-01-01") == datetime.date(2020, 1, 1)


def test_dataframe_idioms(wire: Wire) -> None:
    frame = call(wire, "pandas", "DataFrame", {"a": [1, 2], "b": [0.5, 1.5]})
    assert frame["__type__"] == "ref"  # a DataFrame stays a ref
    assert wire.ok(call_type="method", instance=frame, function="to_dict", args=["list"]) == {
        "a": [1, 2],
        "b": [0.5, 1.5],
    }
    got = wire.ok(call_type="method", instance=frame, function="__getitem__", args=["b"], arrays="tensor")
    assert (got["dtype"], got["shape"], data(got)) == ("f64", (2,), struct.pack("=2d", 0.5, 1.5))
    whole = wire.ok(call_type="method", instance=frame, function="to_numpy", arrays="tensor")
    assert (whole["dtype"], whole["shape"], data(whole)) == (
        "f64",
        (2, 2),
        struct.pack("=4d", 1, 0.5, 2, 1.5),
    )
    same = wire.ok(call_type="method", instance=frame, function="__getitem__", args=["b"])
    assert same["__type__"] == "ref" and same["type_name"] == "Series"  # without "arrays": a ref, as before
    status, error = wire.reply(call_type="get_attr", instance=frame, attr="columns", arrays="tensor")
    assert status == "error" and "dtype object has no tensor form" in error["message"]  # as an ndarray's

    stamps = call(wire, "pandas", "date_range", "2026-01-01", kwargs={"periods": 2})
    records = wire.ok(call_type="method", instance=stamps, function="to_list")
    assert records == [datetime.datetime(2026, 1, 1), datetime.datetime(2026, 1, 2)]


# -- tensors out -------------------------------------------------------------------


DTYPES = [
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_out(wire: Wire, dtype: str) -> None:
    array = (np.arange(6) % 2 == 1) if dtype == "bool" else np.arange(6).astype(dtype)
    got = call(wire, "sp_fixtures", "make_array", dtype, arrays="tensor")
    assert (got["dtype"], got["shape"]) == (nx_name(dtype), (6,))
    assert data(got) == array.astype("u1" if dtype == "bool" else dtype).tobytes()


@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (2, 1, 3), (2, 2, 2, 2), (3, 0, 2)])
def test_shapes_out(wire: Wire, shape: tuple[int, ...]) -> None:
    array = np.arange(int(np.prod(shape)), dtype="float32").reshape(shape)
    got = call(wire, "sp_fixtures", "identity", tensor(array), arrays="tensor")
    assert got["shape"] == shape and data(got) == array.tobytes()


def test_non_contiguous_and_big_endian_arrays_come_out_right(wire: Wire) -> None:
    transposed, sliced, big = call(wire, "sp_fixtures", "strided", arrays="tensor")
    expected = np.arange(6, dtype="f4").reshape(2, 3).T.copy().tobytes()
    assert transposed["shape"] == (3, 2) and data(transposed) == expected
    assert sliced["shape"] == (3,) and data(sliced) == np.array([0, 2, 4], dtype="i4").tobytes()
    assert big["dtype"] == "s32" and data(big) == np.array([1, 2], dtype="=i4").tobytes()


def test_arrays_at_any_depth_and_default_refs(wire: Wire) -> None:
    nested = call(wire, "sp_fixtures", "nested_arrays", arrays="tensor")
    assert nested["deep"][0]["__type__"] == "tensor" and nested["n"] == 3
    assert call(wire, "sp_fixtures", "nested_arrays")["deep"][0]["__type__"] == "ref"  # the default


def test_object_and_structured_dtypes_are_a_clear_error(wire: Wire) -> None:
    error = wire.error(python_module="sp_fixtures", function="object_array", arrays="tensor")
    assert error["type"] == "TypeError" and "dtype object has no tensor form" in error["message"]
    assert wire.ok(call_type="stats")["refs"] == 0  # nothing left behind


def test_the_tensor_bytes_are_the_arrays_own(wire: Wire) -> None:
    """The reply's data piece is a view of the array's buffer: writev sends it without a copy."""
    from snakeport.runtime.request import Origin

    array = np.ones(1 << 17, dtype="f4")  # 512 KiB
    pieces = wire.engine.runner.encoder.encode({"x": array}, Origin("s", "m", "m", tensors=True))
    (big,) = [piece for piece in pieces if len(piece) >= 1 << 19]
    assert isinstance(big, memoryview)
    assert np.frombuffer(big, dtype="f4").ctypes.data == array.ctypes.data


# -- tensors in ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [d for d in DTYPES if d != "bool"])
def test_every_dtype_in(wire: Wire, dtype: str) -> None:
    array = np.arange(6).astype(dtype).reshape(2, 3)
    described = call(wire, "sp_fixtures", "describe_array", tensor(array))
    expected = {
        "type": "ndarray",
        "dtype": dtype,
        "shape": (2, 3),
        "writeable": False,
        "sum": array.sum().item(),
    }
    assert described == expected


def test_a_tensor_argument_is_an_array_over_the_frames_bytes(wire: Wire) -> None:
    assert call(wire, "numpy", "sum", tensor(np.arange(10, dtype="f8"))) == 45.0


def test_a_bad_tensor_is_a_decode_error(wire: Wire) -> None:
    bad = {"__type__": "tensor", "dtype": "f32", "shape": (3,), "data": b"\x00" * 8}
    _, out = wire.request(python_module="numpy", function="sum", args=[bad])
    assert out[0][0] == "reply" and "needs 12" in out[0][2][1]["message"]


def test_without_numpy_a_tensor_is_a_shaped_memoryview() -> None:
    from snakeport.runtime.arrays import from_tensor

    saved = sys.modules.get("numpy")
    sys.modules["numpy"] = None  # type: ignore[assignment]  # an import now fails
    try:
        view = from_tensor({"dtype": "s32", "shape": (2, 2), "data": struct.pack("=4i", 1, 2, 3, 4)})
    finally:
        sys.modules["numpy"] = saved  # type: ignore[assignment]
    assert isinstance(view, memoryview) and view.shape == (2, 2) and view.tolist() == [[1, 2], [3, 4]]


def test_numpy_is_not_imported_by_the_adapter_for_a_small_call() -> None:
    import subprocess

    probe = (
        "import sys\nfrom tests.engine_wire import Wire\nw = Wire()\n"
        "assert w.ok(python_module='operator', function='add', args=[1, 2]) == 3\n"
        "print('numpy' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=root
    )
    assert result.stdout.strip() == "False", result.stderr


def test_the_codec_alone_needs_no_numpy() -> None:
    assert etf.decode(etf.encode([1, 2])) == [1, 2]
