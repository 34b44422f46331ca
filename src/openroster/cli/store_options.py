"""The store options every command shares: ``--data-dir`` or ``--database-url``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from openroster.config import Settings

if TYPE_CHECKING:
    from openroster.core.directory import Directory

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


def open_for_cli(
    data_dir: Path, database_url: str | None, *, sqlite_synchronous: str = "NORMAL"
) -> Directory:
    """Open the store (upgrading its schema) the way the server does; safe while it runs.

    A store option the store refuses (an unsupported URL, an unknown synchronous
    mode) or a master key that cannot unseal the store's app secrets ends the
    command with its message and exit status 2, not a traceback.
    """
    from openroster.core.tenancy import apps
    from openroster.server.opening import open_directory

    settings = Settings(data_dir=data_dir, database_url=database_url, sqlite_synchronous=sqlite_synchronous)
    try:
        d = open_directory(settings)
        d.store.migrate()
        apps.check_master_key(d)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    return d
