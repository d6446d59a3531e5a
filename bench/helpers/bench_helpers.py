"""Results prepared once, so the benchmark times the trip, not their making."""

INTS_10K = list(range(10_000))
BLOB_1MB = bytes(range(256)) * 4096

HELPERS = {
    "bench.ints_10k": lambda: INTS_10K,
    "bench.blob_1mb": lambda: BLOB_1MB,
}
