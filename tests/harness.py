"""A piped child speaking {packet, 4} frames, driven with pexpect's PopenSpawn.

PopenSpawn merges the child's stderr into its stdout, which would corrupt the
framing; the child is therefore started through ``sh`` with stderr sent to a
file, which tests can read (``stderr_text``) to see what the child logged.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pexpect
from pexpect.popen_spawn import PopenSpawn

from snakeport import etf
from snakeport.core.framing import FrameBuffer, Oversize, frame


class FramedProcess:
    """Start a command; send and receive length-prefixed ETF frames."""

    def __init__(self, argv: Sequence[str], **kwargs: Any) -> None:
        handle, name = tempfile.mkstemp(prefix="snakeport-stderr-")
        os.close(handle)
        self.stderr_path = Path(name)
        wrapped = ["sh", "-c", 'exec "$@" 2>>"$SNAKEPORT_TEST_STDERR"', "sh", *argv]
        env = dict(kwargs.pop("env", None) or os.environ)
        env["SNAKEPORT_TEST_STDERR"] = str(self.stderr_path)
        self.child = PopenSpawn(wrapped, encoding=None, env=env, **kwargs)
        self.framer = FrameBuffer()
        self.ready: deque[bytes] = deque()

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def send_frame(self, payload: bytes) -> None:
        self.child.send(frame(payload))

    def send(self, term: Any) -> None:
        self.send_frame(etf.encode(term))

    def recv_frame(self, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while not self.ready:
            try:
                chunk = self.child.read_nonblocking(max(1 << 16, self.framer.pending_need()), timeout=0.05)
            except pexpect.EOF:
                raise EOFError(f"the child closed its output; its stderr:\n{self.stderr_text()}") from None
            if chunk:
                self.ready.extend(
                    bytes(got) for got in self.framer.feed(chunk) if not isinstance(got, Oversize)
                )
            elif time.monotonic() > deadline:
                raise TimeoutError(f"no complete frame in time; the child's stderr:\n{self.stderr_text()}")
            else:
                time.sleep(0.0002)  # PopenSpawn's reader thread needs the GIL to fill its queue
        return self.ready.popleft()

    def recv(self, timeout: float = 10.0) -> Any:
        return etf.decode(self.recv_frame(timeout))

    def close(self) -> int | None:
        self.child.sendeof()
        status = self.child.wait()
        self.stderr_path.unlink(missing_ok=True)
        return status
