"""docs/configuration.md names every option of `openroster serve` and every environment variable."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.core import TyperGroup, TyperOption

from openroster.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_every_serve_option_is_documented() -> None:
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
    serve = command.commands["serve"]
    options = [o for p in serve.params if isinstance(p, TyperOption) and not p.hidden for o in p.opts]
    assert "--data-dir" in options
    missing = [o for o in options if o != "--help" and f"`{o}" not in DOC]
    assert missing == []


def test_every_environment_variable_is_documented() -> None:
    used = set()
    for path in [*(ROOT / "src" / "openroster").rglob("*.py"), *(ROOT / "scripts").iterdir()]:
        used |= set(re.findall(r"\bOPENROSTER_[A-Z_]+[A-Z]\b", path.read_text(encoding="utf-8")))
    assert used, "the scan found no variables at all"
    missing = sorted(v for v in used if f"`{v}`" not in DOC)
    assert missing == []
