"""A stand-in adapter for the worker tests: speaks the frame protocol, nothing else.

Requests by "function":
  "echo"  -> {:ok, args}
  "hang"  -> no reply (but {:send, Pid, "hanging"} when its first argument is a pid);
             on {:cancel, id}: with kwargs {"on_cancel": "stuck"} two {:stuck, id, info}
             frames, with {"on_cancel": "reply"} a Cancelled error reply
"""

import os
import struct
import sys

from snakeport import etf
from snakeport.terms import Atom, Pid

READY, REPLY, OK, ERROR, STUCK, SEND = (Atom(a) for a in ("ready", "reply", "ok", "error", "stuck", "send"))


def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def write(term):
    frame = etf.encode(term)
    try:
        os.write(1, struct.pack(">I", len(frame)) + frame)
    except BrokenPipeError:  # the BEAM closed the port
        sys.exit(0)


def main():
    write((READY, {"protocol": 1, "pid": os.getpid(), "fake": True}))
    hanging = {}
    while True:
        (size,) = struct.unpack(">I", read_exact(4))
        message = etf.decode(read_exact(size))
        tag = message[0]
        if tag == "call":
            request_id, request = message[1], message[2]
            if request.get("function") == "hang":
                hanging[request_id] = request
                args = request.get("args", [])
                if args and isinstance(args[0], Pid):
                    write((SEND, args[0], "hanging"))
            else:
                write((REPLY, request_id, (OK, request.get("args", []))))
        elif tag == "cancel" and message[1] in hanging:
            request_id = message[1]
            request = hanging[request_id]
            action = request.get("kwargs", {}).get("on_cancel")
            context = {
                "call_type": "call",
                "python_module": request.get("python_module"),
                "function": "hang",
                "session_id": request.get("session_id"),
            }
            if action == "stuck":
                info = {"request": context, "running_ms": 1500, "cancelled_ms": 1000}
                write((STUCK, request_id, info))
                write((STUCK, request_id, info))
            elif action == "reply":
                error = {"type": "Cancelled", "message": "cancelled", "context": context}
                write((REPLY, request_id, (ERROR, error)))
                del hanging[request_id]


main()
