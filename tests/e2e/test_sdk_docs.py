"""docs/sdk.md: every ``python`` block, in order, against ``openroster serve --demo``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sdk_support import Sandbox, open_sandbox

from doc_blocks import code_blocks

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"


def test_every_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = code_blocks(DOC, "python")
    assert len(blocks) >= 8
    sandboxes = open_sandbox(tmp_path, "--demo")
    sandbox: Sandbox = next(sandboxes)
    namespace: dict[str, object] = {"__name__": "docs_sdk"}
    try:
        for i, block in enumerate(blocks):
            source = block.replace(DOCUMENTED_URL, sandbox.base_url)
            exec(compile(source, f"{DOC.name}[block {i}]", "exec"), namespace)  # noqa: S102
    finally:
        sandboxes.close()
    printed = capsys.readouterr().out
    assert "示例科技有限公司" in printed and "{'职级': 'P6'}" in printed and "林示例 本科" in printed
    assert "wps 40400002" in printed and "400 40000004" in printed
