"""``openroster import``: people from a spreadsheet, straight into the store through the core services."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from openroster.cli.store_options import DEFAULT_DATA_DIR, DatabaseUrl, DataDir, open_for_cli
from openroster.core.sheets.files import SheetError, read_sheet, write_sheet
from openroster.model.errors import CoreError

if TYPE_CHECKING:
    from openroster.core.sheets import imports as sheet_imports

err = Console(stderr=True)
out = Console()

#: Problems printed to the terminal; ``--report`` writes them all.
SHOWN_PROBLEMS = 50

_PHASES = {
    "reading": "reading rows",
    "checking": "checking people",
    "creating": "creating people",
    "updating": "updating people",
    "roster": "writing roster fields",
}


class _Bar:
    """One Rich progress bar per phase of the import, on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=not enabled,
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        task = self.tasks.get(phase)
        if task is None:
            if not total and not done:
                return  # nothing to do in this phase
            task = self.tasks[phase] = self.progress.add_task(_PHASES.get(phase, phase), total=total or None)
        self.progress.update(task, completed=done, total=max(total, done) if total else None)


def read_mapping(path: Path) -> dict[str, str | None]:
    """A mapping file: ``{"columns": {"header in the file": "column" | null}}`` (YAML or JSON)."""
    import yaml  # (here: 12 ms of every start of the command line otherwise)

    text = path.read_text(encoding="utf-8")
    try:
        data: Any = orjson.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise SheetError(f"{path}: not valid JSON/YAML: {exc}") from None
    columns = data.get("columns", data) if isinstance(data, dict) else None
    if not isinstance(columns, dict) or not all(isinstance(v, str | None) for v in columns.values()):
        raise SheetError(f"{path}: expected {{columns: {{header: column or null}}}}")
    return {str(k): v for k, v in columns.items()}


def import_command(
    file: Annotated[Path, typer.Argument(help="The .xlsx or .csv file.", exists=True, dir_okay=False)],
    tenant: Annotated[str, typer.Option(help="The tenant to import into.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            help="YAML/JSON file mapping the file's headers to columns (or null to ignore).", exists=True
        ),
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="The worksheet to read (default: the first).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything, write nothing.")] = False,
    partial: Annotated[
        bool, typer.Option("--partial", help="Write the valid rows even if others have problems.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option(help="Write every problem to this .csv or .xlsx file.")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Import people from a spreadsheet, with their departments, attributes and roster fields.

    Nothing is written unless every row is valid (or, with --partial, the valid
    rows are). Importing the same file again changes nothing. Safe while the
    server runs.
    """
    try:
        columns = read_mapping(mapping) if mapping is not None else None
        headers, rows, total = read_sheet(file, sheet=sheet)
    except SheetError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    from openroster.core.sheets import imports as sheet_imports

    bar = _Bar(progress and not json)
    # An import makes a few objects per cell and keeps them to its end, and the cyclic garbage
    # collector's passes over them were a fifth of its CPU (100,000 rows, .csv: 11.1 → 8.8 s) for
    # no memory back (the same peak, 585 MiB): it is off while the import runs.
    collecting = gc.isenabled()
    gc.disable()
    d = open_for_cli(data_dir, database_url)
    try:
        with bar.progress:
            result = sheet_imports.import_sheet(
                d,
                tenant_id=tenant,
                headers=headers,
                rows=_counted(rows, total, bar),
                columns=columns,
                dry_run=dry_run,
                partial=partial,
                progress=bar,
            )
    except CoreError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    finally:
        d.store.dispose()
        if collecting:
            gc.enable()
    if report is not None:
        write_sheet(
            report, ["row", "column", "reason"], ([str(p.row), p.column, p.reason] for p in result.problems)
        )
    _print_report(result, file, json=json)
    if result.problems and not (partial and result.written):
        raise typer.Exit(1)


def _counted(rows: Iterator[list[str]], total: int, bar: _Bar) -> Iterator[list[str]]:
    n = 0
    for row in rows:
        yield row
        n += 1
        if n % 2000 == 0:
            bar("reading", n, max(total, n) if total else 0)
    bar("reading", n, n)


def _print_report(result: sheet_imports.ImportReport, file: Path, *, json: bool) -> None:
    if json:
        data = {
            "rows": result.rows,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "invalid": result.invalid,
            "departments_created": result.departments_created,
            "written": result.written,
            "dry_run": result.dry_run,
            "problems": [{"row": p.row, "column": p.column, "reason": p.reason} for p in result.problems],
        }
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if result.problems:
        table = Table(title=f"{len(result.problems)} problem(s) in {file.name}", title_justify="left")
        table.add_column("row", justify="right")
        table.add_column("column")
        table.add_column("reason", overflow="fold")
        for p in result.problems[:SHOWN_PROBLEMS]:
            table.add_row(str(p.row), p.column or "—", p.reason)
        out.print(table)
        if len(result.problems) > SHOWN_PROBLEMS:
            out.print(f"… and {len(result.problems) - SHOWN_PROBLEMS} more (--report FILE writes them all)")
    if not result.rows and result.problems:
        out.print("[red]nothing written[/red]: fix the header row")
        return
    verb = "would be" if result.dry_run or not result.written else ""
    counts = (
        f"{result.rows} rows: {result.created} {verb} created, {result.updated} {verb} updated, "
        f"{result.unchanged} unchanged, {result.invalid} invalid; "
        f"{result.departments_created} department(s) {verb} created"
    ).replace("  ", " ")
    if result.dry_run:
        status = "[yellow]dry run: nothing written[/yellow]"
    elif result.written:
        status = "[green]written[/green]" + (" (invalid rows left out)" if result.invalid else "")
    else:
        status = "[red]nothing written[/red]: fix the problems, or use --partial to write the valid rows"
    out.print(f"{counts}\n{status}")
