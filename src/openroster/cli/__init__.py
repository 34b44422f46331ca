"""The ``openroster`` command."""

from __future__ import annotations

from openroster.cli.main import app, main

__all__ = ["app", "main"]
