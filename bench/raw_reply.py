"""The one-way limit: answer every {packet, 4} request with one ready-made reply frame.

The first frame it reads is the reply to give (the exact bytes the adapter
answered the same request with); every later frame is answered with it.
No codec, no dispatch: what a round trip costs when Python only reads the
request and writes the reply.  bench/speed puts it beside the adapter.
"""

from __future__ import annotations

import contextlib

from raw_echo import framed, serve  # beside this file (the script's folder is first on sys.path)


def main() -> None:
    reply: list[memoryview] = []

    def answer(payload: bytes | bytearray) -> list[memoryview] | None:
        if not reply:  # the first frame: the reply to give, framed once
            reply.extend(framed(bytes(payload)))
            return None
        return list(reply)

    serve(answer)


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        main()
