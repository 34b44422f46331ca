"""The soak (``test_soak.py``) runs on demand only: set ``OPENROSTER_SOAK_MINUTES`` to collect it."""

from __future__ import annotations

import os

import pytest

collect_ignore = [] if os.environ.get("OPENROSTER_SOAK_MINUTES") else ["test_soak.py"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: the on-demand soak test (bench/soak.py)")
