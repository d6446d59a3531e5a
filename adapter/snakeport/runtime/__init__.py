"""What requests do: call types, sessions and refs, streams, helpers, results to terms."""
