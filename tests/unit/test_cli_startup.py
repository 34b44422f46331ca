"""What the ``openroster`` command loads before it runs one: not the API client."""

from __future__ import annotations

import subprocess
import sys


def test_the_command_line_starts_without_the_api_client() -> None:
    """The store commands (``import``, ``export``, ``tenant``) do not pay for the API client's
    pydantic models and httpx: the commands that call an API import it in their bodies."""
    code = (
        "import sys, openroster.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'httpx', 'pydantic'} "
        "or m.startswith('openroster.client')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
