"""Arrays as tensors: ``{dtype, shape, data}``, the form Nx reads, both ways.

Out (a request with ``"arrays" => "tensor"``): an ndarray, an object with
``__array_interface__`` (PIL images, ...), a torch CPU tensor or a pandas
Series or Index becomes

    %{"__type__" => "tensor", "dtype" => "f32", "shape" => {2, 3}, "data" => <<...>>}

``dtype`` in Nx's notation as text (``s8..s64``, ``u8..u64``, ``f16``,
``f32``, ``f64``, ``bf16``, ``c64``, ``c128``; bool as ``u8``), ``shape`` a
tuple, ``data`` row-major, native-endian.  The bytes go out as a view of the
array's own buffer (``writev`` reads them in place: no ``tobytes()`` copy);
a non-contiguous or foreign-endian array is made contiguous and native
first.  Object, string, structured and date dtypes have no tensor form: a
``TypeError`` says so.

In (the same map from Elixir): an ndarray over the frame's bytes, read-only,
without a copy (numpy is imported then, the first time a tensor arrives);
where numpy cannot be imported, a ``memoryview`` with the shape.

numpy is looked for in ``sys.modules``, never imported to check: an adapter
whose user code does not use it never pays for it.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms of a Port's start; only mypy needs it here
    from typing import Any

__all__ = ["from_tensor", "tensor_of"]

# numpy dtype kind + item size -> Nx type, as text
_NX = {
    ("b", 1): "u8",
    ("i", 1): "s8",
    ("i", 2): "s16",
    ("i", 4): "s32",
    ("i", 8): "s64",
    ("u", 1): "u8",
    ("u", 2): "u16",
    ("u", 4): "u32",
    ("u", 8): "u64",
    ("f", 2): "f16",
    ("f", 4): "f32",
    ("f", 8): "f64",
    ("c", 8): "c64",
    ("c", 16): "c128",
}
# Nx type -> numpy dtype name, and memoryview format (None: no format for it)
_NUMPY = {
    "u8": ("uint8", "B"),
    "u16": ("uint16", "H"),
    "u32": ("uint32", "I"),
    "u64": ("uint64", "Q"),
    "s8": ("int8", "b"),
    "s16": ("int16", "h"),
    "s32": ("int32", "i"),
    "s64": ("int64", "q"),
    "f16": ("float16", "e"),
    "f32": ("float32", "f"),
    "f64": ("float64", "d"),
    "c64": ("complex64", None),
    "c128": ("complex128", None),
    "bf16": ("bfloat16", None),
}


def tensor_of(obj: Any) -> dict[str, Any] | None:
    """The tensor map for an array-like object, or None when it is not one."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None
    if isinstance(obj, numpy.ndarray):
        array = obj
    elif hasattr(type(obj), "__array_interface__") or _is_torch(obj):
        array = numpy.asarray(obj)
    elif _is_pandas_column(obj):
        array = obj.to_numpy()
    else:
        return None
    dtype = array.dtype
    name = "bf16" if dtype.name == "bfloat16" else _NX.get((dtype.kind, dtype.itemsize))
    if name is None or dtype.fields is not None:
        raise TypeError(
            f"an array of dtype {dtype} has no tensor form (object, string, structured and date dtypes "
            "do not); convert it first, or let it travel as a ref"
        )
    if dtype.byteorder not in ("=", "|"):
        array = array.astype(dtype.newbyteorder("="))
    if not array.flags.c_contiguous:  # (ascontiguousarray would make a 0-d array 1-d)
        array = array.copy(order="C")
    return {
        "__type__": "tensor",
        "dtype": name,
        "shape": tuple(int(size) for size in array.shape),
        "data": memoryview(array.reshape(-1).view(numpy.uint8)) if array.size else b"",
    }


def _is_torch(obj: Any) -> bool:
    """A torch tensor on the CPU (its ``__array__`` gives an ndarray without a copy)."""
    return type(obj).__module__.startswith("torch") and hasattr(obj, "__array__") and hasattr(obj, "numpy")


def _is_pandas_column(obj: Any) -> bool:
    """A pandas Series or Index (one column of values; a DataFrame stays a ref)."""
    kind = type(obj)
    return kind.__module__.startswith("pandas") and getattr(obj, "ndim", 0) == 1 and hasattr(kind, "to_numpy")


def from_tensor(mapping: dict[Any, Any]) -> Any:
    """A tensor map from the BEAM as an ndarray (read-only, over its bytes) or a shaped memoryview."""
    dtype, shape, data = mapping["dtype"], mapping["shape"], mapping["data"]
    if dtype not in _NUMPY:
        raise ValueError(f"unknown tensor dtype {dtype!r}; known: {', '.join(_NUMPY)}")
    if type(shape) is list:
        shape = tuple(shape)
    if type(shape) is not tuple or not all(type(size) is int and size >= 0 for size in shape):
        raise TypeError("shape must be a tuple of non-negative integers")
    if type(data) is str:
        data = data.encode("utf-8", "surrogatepass")
    if type(data) is not bytes:
        raise TypeError("data must be a binary")
    numpy_name, view_format = _NUMPY[dtype]
    itemsize = (int(dtype[1:]) if dtype[0] != "b" else 16) // 8
    count = 1
    for size in shape:
        count *= size
    if len(data) != count * itemsize:
        raise ValueError(f"data has {len(data)} bytes; {dtype} of shape {shape} needs {count * itemsize}")
    try:
        import numpy

        return numpy.frombuffer(data, dtype=numpy_name).reshape(shape)
    except (ImportError, TypeError):  # no numpy; or no bfloat16 in it (ml_dtypes adds one)
        pass
    view = memoryview(data)
    return view.cast(view_format, shape) if view_format is not None and shape else view  # type: ignore[call-overload]
