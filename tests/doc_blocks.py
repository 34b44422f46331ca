"""The fenced code blocks of a Markdown page, for the tests that run a page's examples."""

from __future__ import annotations

import re
from pathlib import Path


def code_blocks(path: Path, language: str) -> list[str]:
    """The bodies of the ```language blocks of ``path``, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", path.read_text(encoding="utf-8"), flags=re.S | re.M)
