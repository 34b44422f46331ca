"""docs/events.md: every ``python`` block, in order, prints what its comments say."""

from __future__ import annotations

from pathlib import Path

import pytest

from doc_blocks import code_blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_every_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = code_blocks(DOC, "python")
    assert len(blocks) == 3
    namespace: dict[str, object] = {"__name__": "docs_events"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{DOC.name}[block {i}]", "exec"), namespace)  # noqa: S102
    expected = [
        comment.split("# ", 1)[1]
        for block in blocks
        for comment in map(str.strip, block.splitlines())
        if comment.startswith("print(") and "# " in comment
    ]
    printed = capsys.readouterr().out.splitlines()
    assert (
        printed[0]
        == "kso.user create {'company_id': 'C1', 'users': [{'company_id': 'C1', 'user_id': 'u1001'}]}"
    )
    assert printed[1:] == expected
