"""The store options every command shares: ``--data-dir`` or ``--database-url``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.server.app import open_directory

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir", envvar="OPENROSTER_DATA_DIR", help="Directory of the SQLite database and master key."
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="OPENROSTER_DATABASE_URL",
        help="sqlite:///PATH or postgresql://USER@HOST/DB (overrides --data-dir for the database).",
    ),
]
DEFAULT_DATA_DIR = Path("openroster-data")


def open_for_cli(data_dir: Path, database_url: str | None) -> Directory:
    """Open the store (upgrading its schema) the way the server does; safe while it runs."""
    d = open_directory(Settings(data_dir=data_dir, database_url=database_url))
    d.store.migrate()
    return d
