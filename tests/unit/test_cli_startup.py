"""What the ``openroster`` command loads before it runs one: not the API client; and what an
import into an SQLite store loads: not the PostgreSQL dialect nor YAML."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path


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


def test_an_sqlite_import_loads_neither_the_postgresql_dialect_nor_yaml(tmp_path: Path) -> None:
    """``openroster import`` of a .csv into an SQLite store, without a mapping file, does not
    import SQLAlchemy's PostgreSQL dialect (nor psycopg) nor YAML: the modules after the command."""
    data = tmp_path / "data"
    command = [sys.executable, "-m", "openroster"]
    subprocess.run([*command, "tenant", "create", "t", "--name", "示例", "--data-dir", str(data)], check=True)
    sheet = tmp_path / "people.csv"
    sheet.write_text("姓名,工号,部门\n王伟,E1,总部/研发\n李娜,E2,总部\n", encoding="utf-8")
    code = (
        "import json, sys\n"
        "from openroster.cli import main\n"
        f"sys.argv = ['openroster', 'import', {str(sheet)!r}, '--tenant', 't', '--data-dir', {str(data)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "loaded = [m for m in ('sqlalchemy.dialects.postgresql', 'psycopg', 'yaml') if m in sys.modules]\n"
        "print(json.dumps(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
    with sqlite3.connect(data / "openroster.db") as db:  # the import did write
        assert db.execute("SELECT count(*) FROM users WHERE tenant_id = 't'").fetchone() == (2,)
