"""``openroster users list|get|export``: people through the WPS API, as tables, JSON or a spreadsheet.

These commands are API clients like any other (credentials: see ``cli/credentials.py``),
so they work against a running openroster and against WPS 365 itself.
``users export`` writes the columns ``openroster import`` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from openroster.cli.call import print_json
from openroster.cli.credentials import Credentials, CredentialsError, with_credentials
from openroster.core.sheets.files import FORMATS, write_sheet
from openroster.model.entities import (
    AttributeDefinition,
    AttributeOption,
    AttributeValueData,
    UrlValue,
    ValueType,
)

if TYPE_CHECKING:
    from openroster.client import ApiError, TransportError, WpsClient
    from openroster.client.wps_models import AttrDefinition, AttrValue, User

# The API client is imported by the commands' bodies (see ``cli/credentials.py``).

users_app = typer.Typer(no_args_is_help=True, help="People, through the WPS API.")
out = Console()
err = Console(stderr=True)

Status = Annotated[
    list[str] | None, typer.Option("--status", help="Statuses to include (repeat); default: active.")
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def open_wps(creds: Credentials) -> WpsClient:
    try:
        return creds.wps()
    except CredentialsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def api_failure(exc: ApiError | TransportError) -> typer.Exit:
    from openroster.client import ApiError

    err.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1 if isinstance(exc, ApiError) else 3)


def _depts(u: User) -> str:
    return "; ".join(d.abs_path for d in u.depts or [])


@users_app.command("list")
@with_credentials()
def users_list(
    creds: Credentials,
    status: Status = None,
    dept: Annotated[str | None, typer.Option(help="Only the members of this department.")] = None,
    recursive: Annotated[bool, typer.Option(help="With --dept: also its sub-departments.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many people (0: all).")] = 100,
    json: Json = False,
) -> None:
    """List people (all pages, up to --limit)."""
    from openroster.client import ApiError, TransportError

    statuses = status or ["active"]
    found: list[User] = []
    with open_wps(creds) as wps:
        try:
            if dept is None:
                people = wps.iter_users(status=statuses, with_dept=True, page_size=50)
            else:
                members = wps.iter_dept_members(
                    dept, recursive=recursive, status=statuses, with_user_detail=True, page_size=50
                )
                people = (m.user_info for m in members if m.user_info is not None)
            for u in people:
                found.append(u)
                if limit and len(found) >= limit:
                    break
            if dept is not None:  # members come without their departments
                by_id: dict[str, User] = {}
                for start in range(0, len(found), 100):
                    ids = [u.id for u in found[start : start + 100]]
                    by_id |= {u.id: u for u in wps.batch_read_users(ids, status=statuses, with_dept=True)}
                found = [by_id.get(u.id, u) for u in found]
        except (ApiError, TransportError) as exc:
            raise api_failure(exc) from None
    if json:
        print_json([u.model_dump(mode="json") for u in found])
        return
    table = Table(title=f"{len(found)} people", title_justify="left")
    for name in ("id", "name", "employee id", "email", "mobile", "title", "departments", "status"):
        table.add_column(name, overflow="fold")
    for u in found:
        table.add_row(
            u.id, u.user_name, u.employee_id, u.email or "", u.phone or "", u.title, _depts(u), u.status
        )
    out.print(table)


@users_app.command("get")
@with_credentials()
def users_get(
    creds: Credentials,
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    json: Json = False,
) -> None:
    """Show one person with their departments and custom attributes."""
    from openroster.client import ApiError, TransportError

    with open_wps(creds) as wps:
        try:
            user = wps.get_user(user_id, with_dept=True)
            values = wps.read_custom_attrs([user_id])
        except (ApiError, TransportError) as exc:
            raise api_failure(exc) from None
    attrs = values[0].custom_attrs if values else []
    if json:
        print_json(
            {**user.model_dump(mode="json"), "custom_attrs": [a.model_dump(mode="json") for a in attrs]}
        )
        return
    table = Table(title=f"{user.user_name} ({user.id})", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in user.model_dump(exclude={"depts"}).items():
        if value not in ("", None):
            table.add_row(name, str(value))
    table.add_row("departments", _depts(user))
    for a in attrs:
        value = a.value
        table.add_row(a.attr_name or a.attr_id, _attr_text(value))
    out.print(table)


def _attr_text(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "link"):
        return f"{getattr(value, 'title', '')} {value.link}".strip()
    return str(value)


@users_app.command("export")
@with_credentials()
def users_export(
    creds: Credentials,
    output: Annotated[Path, typer.Option("--output", "-o", help="The .xlsx or .csv file to write.")],
    headers: Annotated[str, typer.Option(help="Header language: zh or en.")] = "zh",
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Statuses to include (repeat); default: all.")
    ] = None,
) -> None:
    """Export people through the API to a spreadsheet in the columns `openroster import` reads."""
    # The sheet layout is the core's (the importer reads it back); only this command loads it.
    from openroster.client import ApiError, TransportError
    from openroster.client.wps import ALL_STATUSES
    from openroster.core.sheets import columns as sheet_columns
    from openroster.core.sheets import export as sheet_export

    if output.suffix.lower().lstrip(".") not in FORMATS or headers not in ("zh", "en"):
        err.print("[red]error:[/red] --output must end in .xlsx or .csv and --headers be zh or en")
        raise typer.Exit(2)
    with open_wps(creds) as wps:
        try:
            root = wps.get_root_dept()
            people = list(wps.iter_users(status=status or ALL_STATUSES, with_dept=True, page_size=50))
            defs = wps.list_custom_attr_definitions()
            values: dict[str, list[AttrValue]] = {}
            for start in range(0, len(people) if defs else 0, 50):
                for v in wps.read_custom_attrs([u.id for u in people[start : start + 50]]):
                    values[v.user_id] = v.custom_attrs
            paths = {d.id: d.abs_path for u in people for d in u.depts or []}
            wanted = {x for vs in values.values() for a in vs for x in a.relation_depts} - set(paths)
            for start in range(0, len(wanted), 100):
                paths |= {d.id: d.abs_path for d in wps.batch_read_depts(sorted(wanted)[start : start + 100])}
        except (ApiError, TransportError) as exc:
            raise api_failure(exc) from None
    fmt = sheet_export.SheetFormat(sheet_columns.Language(headers), root.name)
    core_defs = [_definition(a, i) for i, a in enumerate(defs)]
    refs = {u.id: sheet_columns.person_ref(u.employee_id, u.email, u.id) for u in people}

    def path_of(dept_id: int) -> str:
        return fmt.path(paths[str(dept_id)]) if str(dept_id) in paths else str(dept_id)

    def ref(uid: str) -> str:
        return refs.get(uid, uid)

    rows = []
    for u in people:
        record: dict[str, str | None] = {k: getattr(u, k, None) for k in sheet_columns.TEXT_KEYS}
        depts = u.depts or []
        record.update(
            id=u.id,
            gender=u.gender or None,
            role=u.role,
            status=u.status,
            employment_type=u.employment_type or None,
            employment_status=u.employment_status or None,
            departments="; ".join(fmt.path(d.abs_path) for d in depts),
            main_department=fmt.path(paths[u.def_dept_id])
            if len(depts) > 1 and u.def_dept_id in paths
            else "",
            leader=ref(u.leader_id) if u.leader_id else "",
        )
        by_attr = {a.attr_id: a for a in values.get(u.id, [])}
        cells = fmt.profile_cells(record)
        cells += [fmt.attribute(a, _value(a, by_attr.get(a.id)), ref, path_of) for a in core_defs]
        rows.append(cells)
    count = write_sheet(
        output, sheet_export.profile_headers(fmt) + sheet_export.attribute_headers(core_defs), rows
    )
    err.print(f"{count} people written to {output}")


def _definition(a: AttrDefinition, order: int) -> AttributeDefinition:
    return AttributeDefinition(
        tenant_id="",
        id=a.id,
        name=a.name,
        value_type=ValueType(a.value_type),
        options=tuple(AttributeOption(key=o.key, name=o.name) for o in a.options),
        order=order,
        ctime=0,
    )


def _value(a: AttributeDefinition, v: AttrValue | None) -> AttributeValueData | None:
    """A WPS value in the core's form (``None`` when empty)."""
    if v is None:
        return None
    if a.value_type is ValueType.RELATION_DEPTS:
        return tuple(int(x) for x in v.relation_depts) or None
    if a.value_type is ValueType.URL:
        return UrlValue(title=v.url.title, link=v.url.link) if v.url.link else None
    raw = v.value
    return raw if isinstance(raw, str) and raw else None
