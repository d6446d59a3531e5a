"""Tools that are never imported at start: recorded-frame dump and replay."""
