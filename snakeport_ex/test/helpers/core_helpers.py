"""Python fixtures for the snakeport_ex ExUnit tests (on PYTHONPATH, called as module functions).

Atoms made here with ``snakeport.Atom`` are named nowhere in Elixir code, so the
BEAM has never seen them: frames holding them cannot be decoded with [:safe].
"""

import time

RELEASED = []


def released():
    return list(RELEASED)


def apply_fun(fun, *args):
    return fun(*args)


def unsafe_items(tag):
    """Two plain items, then one holding an unknown atom, then more for ever (until closed)."""
    from snakeport import Atom

    try:
        yield 1
        yield 2
        yield [Atom("never_seen_in_a_chunk_5501")]
        n = 3
        while True:
            yield n
            n += 1
    finally:
        RELEASED.append(tag)


def call_with_unsafe(fun):
    """Call an Elixir fun with an argument the BEAM cannot decode."""
    from snakeport import Atom

    return fun(Atom("never_seen_in_a_callback_5502"))


def send_unsafe(pid, seconds):
    """Send a term the BEAM cannot decode, then plain ones until the worker's refusal arrives."""
    import snakeport

    snakeport.send(pid, (snakeport.Atom("never_seen_in_a_message_5503"), 1))
    return send_until_refused(pid, seconds)


def send_until_refused(pid, seconds):
    """Send "hello" to ``pid`` until the BEAM refuses (it is dead): the refusal's text."""
    import snakeport

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            snakeport.send(pid, "hello")
        except snakeport.ProcessNotAliveError as exc:
            return str(exc)
        time.sleep(0.005)
    return "never refused"


def send_to(pid, term):
    import snakeport

    snakeport.send(pid, term)
    return True


def slow(seconds, tag):
    time.sleep(seconds)
    return tag


def unsafe_reply():
    from snakeport import Atom

    return {"status": Atom("never_seen_in_a_reply_5504")}


def busy(pid, seconds):
    """Tell ``pid`` the call is running, then keep the worker busy for ``seconds``."""
    import snakeport

    snakeport.send(pid, "busy")
    time.sleep(seconds)
    return "done"
