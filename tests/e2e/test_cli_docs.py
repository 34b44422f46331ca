"""docs/cli.md: every ``sh`` block, in order, in one shell, beside ``openroster serve --demo``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sdk_support import Sandbox, open_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"


def test_every_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"^```sh\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)
    assert len(blocks) >= 8
    work = tmp_path / "work"
    work.mkdir()
    sandboxes = open_sandbox(work, "--demo")  # its store: work/data; the docs use ./openroster-data
    sandbox: Sandbox = next(sandboxes)
    (work / "openroster-data").symlink_to(sandbox.data_dir)
    script = "set -euo pipefail\n" + "\n".join(b.replace(DOCUMENTED_URL, sandbox.base_url) for b in blocks)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROSTER_")}
    env |= {"HOME": str(tmp_path), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
    try:
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        sandboxes.close()
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    out = done.stdout
    assert '"code":0' in out and "exit status 1" in out  # the call that fails on purpose
    assert "3 rows: 3 created" in out and '"unchanged": 3' in out
    assert "['吴晴', '周新']" in out  # the new people in 研发中心, read back through the API
    assert "not an email" in out and "row,column,reason" in out
    assert "1 rows: 1 created" in out  # the mapped sheet
