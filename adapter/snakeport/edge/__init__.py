"""The edge: file descriptors, the loop around the engine, options, recording, logging."""
