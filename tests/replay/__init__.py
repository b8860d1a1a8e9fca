"""Replay recorded API responses through the real client libraries (vcrpy, a local server)."""
