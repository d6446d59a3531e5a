"""The sans-IO core: terms, the codec, framing, the envelope and the engine.

Nothing here touches a file descriptor, a thread or a signal (a test
enforces it): bytes in, frames out.
"""
