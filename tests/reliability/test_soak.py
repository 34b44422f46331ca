"""The soak test under pytest, on demand only (``tests/reliability/conftest.py``)::

    OPENROSTER_SOAK_MINUTES=10 .venv/bin/pytest tests/reliability/test_soak.py -p no:cacheprovider

It runs ``python -m bench.soak`` (see bench/soak.py for the mix and the pass
rules) without touching docs/benchmarks.md; run the module itself to write them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.soak
@pytest.mark.e2e
def test_a_steady_mixed_load_runs_without_errors_with_stable_latency_and_flat_memory() -> None:
    minutes = float(os.environ["OPENROSTER_SOAK_MINUTES"])
    rate = os.environ.get("OPENROSTER_SOAK_RATE", "50")
    args = [sys.executable, "-m", "bench.soak", "--minutes", str(minutes), "--rate", rate, "--no-docs"]
    done = subprocess.run(
        args, check=False, cwd=ROOT, capture_output=True, text=True, timeout=minutes * 60 + 600
    )
    assert done.returncode == 0, done.stderr[-3000:]
