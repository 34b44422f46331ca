"""The Import page: people from a spreadsheet into a tenant, as ``openroster import`` does, the
tenant's people exported as a spreadsheet, as ``openroster export`` does, and the tenant replaced
from a snapshot, as the control API's snapshot import does.

The same services run: ``core.sheets.files`` reads the file, ``core.sheets.imports.import_sheet``
checks every row and writes all of them or none (a refused file changes nothing), and
``core.sheets.export.export_sheet`` makes a sheet the import reads back unchanged. The page's
script sends the file as the request body (with the session's CSRF token in a header), shows its
progress in a progress bar, then the summary or the problems this module renders.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote, unquote

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from openroster.console.pages import FormRefused, console_of, page, render, signed_in
from openroster.console.session import csrf_ok
from openroster.core.directory import Directory
from openroster.core.sheets import columns as sheet_columns
from openroster.core.sheets import export as sheet_export
from openroster.core.sheets import imports as sheet_imports
from openroster.core.sheets.files import FORMATS, SheetError, read_sheet, write_sheet
from openroster.core.tenancy import tenants as tenant_service
from openroster.fixtures import snapshot
from openroster.model.errors import CoreError, InvalidValue

#: The header the page's script sends the CSRF token in (the body is the file itself).
CSRF_HEADER = "x-csrf-token"
#: The header naming the uploaded file (URL-encoded): its extension says .xlsx or .csv.
NAME_HEADER = "x-file-name"
#: Problems listed on the page (the CLI's --report writes them all).
SHOWN_PROBLEMS = 200


def routes(r: APIRouter) -> None:
    @r.get("/tenants/{tenant_id}/import")
    async def import_page(request: Request, tenant_id: str) -> Response:
        session = signed_in(request)
        tenant = tenant_service.get(console_of(request).directory, tenant_id)
        return page(request, "import.html", session=session, tenant=tenant, formats=FORMATS)

    @r.post("/tenants/{tenant_id}/import")
    async def run_import(request: Request, tenant_id: str) -> Response:
        """The file is the body; the reply is the result as an HTML fragment for the page."""
        name, data = await _upload(request)
        dry_run = request.query_params.get("dry_run") == "1"
        d = console_of(request).directory
        try:
            report = _import(d, tenant_id, name, data, dry_run=dry_run)
        except (SheetError, CoreError) as exc:
            message = exc.message if isinstance(exc, CoreError) else str(exc)
            return HTMLResponse(render(request, "_import_result.html", report=None, message=message))
        shown = report.problems[:SHOWN_PROBLEMS]
        return HTMLResponse(
            render(request, "_import_result.html", report=report, problems=shown, message="", file_name=name)
        )

    @r.post("/tenants/{tenant_id}/snapshot")
    async def restore(request: Request, tenant_id: str) -> Response:
        """A snapshot of the tenant replaces it (``fixtures.snapshot.import_``, as
        ``PUT /_openroster/tenants/{id}/snapshot``); the reply is the result as an HTML fragment."""
        _, data = await _upload(request)
        try:
            result = snapshot.import_(console_of(request).directory, data, tenant_id=tenant_id)
        except CoreError as exc:
            return HTMLResponse(render(request, "_snapshot_result.html", message=exc.message))
        return HTMLResponse(
            render(
                request,
                "_snapshot_result.html",
                message="",
                tenant_id=tenant_id,
                new_secrets=result.new_secrets,
            )
        )

    @r.get("/tenants/{tenant_id}/export.{fmt}")
    async def export(request: Request, tenant_id: str, fmt: str) -> Response:
        signed_in(request)
        if fmt not in FORMATS:
            raise InvalidValue(f"format: {fmt!r} is not one of {', '.join(FORMATS)}", field="format")
        headers = request.query_params.get("headers", "zh")
        if headers not in ("zh", "en"):
            raise InvalidValue(f"headers: {headers!r} is not zh or en", field="headers")
        language = sheet_columns.Language(headers)
        names, rows = sheet_export.export_sheet(
            console_of(request).directory, tenant_id=tenant_id, language=language
        )
        with tempfile.TemporaryDirectory(prefix="openroster-export-") as tmp:
            target = Path(tmp) / f"people.{fmt}"
            write_sheet(target, names, rows)
            data = target.read_bytes()
        media = (
            "text/csv"
            if fmt == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        filename = quote(f"{tenant_id}.{fmt}")
        return Response(
            data,
            media_type=media,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
        )


async def _upload(request: Request) -> tuple[str, bytes]:
    """The uploaded file's name and bytes, once the session's CSRF token in its header is checked."""
    session = signed_in(request)
    if not csrf_ok(session, request.headers.get(CSRF_HEADER, "")):
        raise FormRefused
    return unquote(request.headers.get(NAME_HEADER, "")), await request.body()


def _import(
    d: Directory, tenant_id: str, name: str, data: bytes, *, dry_run: bool
) -> sheet_imports.ImportReport:
    """The import of ``data``, a file called ``name`` (read from a temporary copy, as the CLI reads one)."""
    suffix = Path(name).suffix.lower()
    if suffix.lstrip(".") not in FORMATS:
        raise SheetError(f"{name or 'the file'}: expected a .xlsx or .csv file")
    with tempfile.TemporaryDirectory(prefix="openroster-import-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            headers, rows, _ = read_sheet(path)
            return sheet_imports.import_sheet(
                d, tenant_id=tenant_id, headers=headers, rows=rows, dry_run=dry_run
            )
        except SheetError as exc:
            raise SheetError(str(exc).replace(str(path), name)) from None
