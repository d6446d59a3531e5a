"""A result prepared once for bench/client: 100,000 floats out, through the client and bare."""

FLOATS_100K = [i * 0.5 for i in range(100_000)]


def floats_100k():
    return FLOATS_100K


# The folder is also a helper folder (bench/roundtrip, bench/streams): every file must register.
HELPERS = {"bench.floats_100k": floats_100k}
