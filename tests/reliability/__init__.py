"""Reliability suite: crash safety, hostile input, limits, slow clients (docs/security.md)."""
