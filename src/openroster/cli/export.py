"""``openroster export``: a tenant's people as a spreadsheet that ``openroster import`` reads back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from openroster.cli.store_options import DEFAULT_DATA_DIR, DatabaseUrl, DataDir, open_for_cli
from openroster.core.sheets.files import FORMATS, write_sheet
from openroster.model.errors import CoreError

err = Console(stderr=True)


def export_command(
    tenant: Annotated[str, typer.Option(help="The tenant to export.")],
    format: Annotated[str, typer.Option("--format", help="xlsx or csv.")] = "xlsx",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: TENANT.FORMAT).")
    ] = None,
    headers: Annotated[str, typer.Option(help="Header language: zh or en.")] = "zh",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Export a tenant's people to a spreadsheet that `openroster import` reads back unchanged."""
    if format not in FORMATS:
        err.print(f"[red]error:[/red] --format must be one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    if headers not in ("zh", "en"):
        err.print("[red]error:[/red] --headers must be zh or en")
        raise typer.Exit(2)
    target = output or Path(f"{tenant}.{format}")
    if target.suffix.lower() != f".{format}":
        err.print(f"[red]error:[/red] {target} does not end in .{format}")
        raise typer.Exit(2)
    from openroster.core.sheets import columns as sheet_columns
    from openroster.core.sheets import export as sheet_export

    d = open_for_cli(data_dir, database_url)
    try:
        names, rows = sheet_export.export_sheet(d, tenant_id=tenant, language=sheet_columns.Language(headers))
    except CoreError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    finally:
        d.store.dispose()
    count = write_sheet(target, names, rows)
    err.print(f"{count} people written to {target}")
