"""Results prepared once, so the benchmark times the trip, not their making."""

INTS_10K = list(range(10_000))
FLOATS_100K = [i * 0.5 for i in range(100_000)]
BLOB_1MB = bytes(range(256)) * 4096


def ints_10k():
    return INTS_10K


def floats_100k():
    return FLOATS_100K


def blob_1mb():
    return BLOB_1MB


HELPERS = {
    "bench.ints_10k": lambda: INTS_10K,
    "bench.blob_1mb": lambda: BLOB_1MB,
}


def ints(n):
    """Small ints, one by one."""
    return (i & 0xFF for i in range(n))


def blobs(n, size):
    """Binaries of ``size`` bytes, not UTF-8 (they stay bytes)."""
    blob = bytes([0xFF]) * size
    return (blob for _ in range(n))


def python_rate(kind, n, size=1024):
    """Python's own iteration of the same generator: items/s, the ceiling."""
    import time

    gen = ints(n) if kind == "ints" else blobs(n, size)
    start = time.perf_counter()
    for _ in gen:
        pass
    return n / (time.perf_counter() - start)


def call_back(fun, n):
    """Call an Elixir fun ``n`` times: the callback round trip, timed in Python."""
    import time

    start = time.perf_counter()
    for i in range(n):
        fun(i)
    return n / (time.perf_counter() - start)


def sleep(seconds):
    """A call that waits (the GIL free), as I/O or a remote service would."""
    import time

    time.sleep(seconds)
    return seconds


_MATRICES = {}


def matmul(n):
    """A numpy matrix product of n x n (numpy releases the GIL inside); the sum of the result."""
    import numpy

    if n not in _MATRICES:
        _MATRICES[n] = numpy.random.default_rng(1).random((n, n))
    a = _MATRICES[n]
    return float((a @ a).sum())


HELPERS.update({"bench.sleep": sleep, "bench.matmul": matmul})


_ARRAYS = {}


def _array(name):
    """Arrays made once (numpy imported at the first array call, as user code would)."""
    if name not in _ARRAYS:
        import numpy

        rng = numpy.random.default_rng(1)
        _ARRAYS["f32_100mb"] = rng.random(25 * 1024 * 1024, dtype="float32")
        _ARRAYS["f64_1m"] = rng.random(1_000_000)
    return _ARRAYS[name]


def array_100mb():
    """A 100 MB float32 array (send with "arrays" => "tensor")."""
    return _array("f32_100mb")


def bytes_100mb():
    """The same 100 MB as bytes, made once: the baseline for the tensor."""
    if "bytes_100mb" not in _ARRAYS:
        _ARRAYS["bytes_100mb"] = _array("f32_100mb").tobytes()
    return _ARRAYS["bytes_100mb"]


def floats_1m():
    """A million float64 values, as an array (a tensor) ..."""
    return _array("f64_1m")


def floats_1m_list():
    """... or through tolist(), as users do without tensors."""
    return _array("f64_1m").tolist()
