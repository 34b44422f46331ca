"""Spreadsheet import: people, their departments, custom attributes and roster fields.

A sheet is a header row and one row per person. A header names a profile
column in Chinese or English (``姓名`` / ``Name``, ``工号`` / ``Employee ID``, see
:data:`PROFILE_COLUMNS`), a custom attribute by its name (or ``attr:<id>``), or
a roster field by its name or code (``证件号码`` / ``sys02-certNo``); a mapping
can rename or ignore headers. The rules:

- A row is a person, found again by user id, employee id or email (in that
  order): a match is updated, anything else is created. Every row needs an
  employee id or an email, so that importing the same file again changes
  nothing.
- A column that is present is the truth for its field: an empty cell clears it
  (gender ``undefined``, role ``normal``, status ``active``; no departments
  means the root department). Columns that are absent are left alone.
- Departments are paths below the company (``总部/研发中心/平台组``; several
  separated by ``;``); missing departments are created. A path may start with
  the company's own name; the company itself is written as its name.
- The manager column and relation_user attributes name a person by employee
  id, email or user id, in the file or already in the directory.
- Roster fields hold the first row of their group (detail groups such as
  education have more rows through the DingTalk API).
- Every row goes through the core's own rules before anything is written; the
  report names row, column and reason for each problem. Nothing is written
  unless the whole file is valid, or with ``partial`` only the valid rows;
  ``dry_run`` checks and writes nothing.

Everything is written in one transaction through the core services (new people
through :mod:`openroster.core.people.bulk`), so an import is safe while the server
runs: every server process sees the result as soon as it commits, and a failed
import leaves nothing behind. ``export.py`` writes the same columns, so export
and import round-trip.

The steps: ``parse.py`` reads the cells, ``validate.py`` finds people again,
resolves references and checks new people by the core's rules, ``apply.py``
writes; ``plan.py`` holds what they share, ``columns.py`` the sheet format. A large
first import (a tenant that had nobody) reads, checks and writes a chunk at a time
(``stream.py``), with the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

from openroster.core.directory import Directory
from openroster.core.people import bulk
from openroster.core.sheets import ahead, apply, parse, stream, validate
from openroster.core.sheets.columns import (
    Problem,
    Progress,
    resolve_headers,
    roster_columns,
)
from openroster.core.sheets.parse import parse_rows
from openroster.core.sheets.plan import ImportPlan
from openroster.model.entities import (
    ALL_STATUSES,
    ROOT_DEPT_ID,
)
from openroster.model.errors import Entity, NotFound
from openroster.store import WriteTx


class _Rollback(Exception):
    """Raised inside the write transaction to leave nothing behind."""


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Rows left out because of a problem (with ``partial``), or that would have been.
    invalid: int = 0
    departments_created: int = 0
    problems: list[Problem] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False


def import_sheet(
    d: Directory,
    *,
    tenant_id: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    columns: Mapping[str, str | None] | None = None,
    dry_run: bool = False,
    partial: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one sheet into ``tenant_id`` (see the module doc). Cells are text; the header is row 1."""
    report = ImportReport(dry_run=dry_run)
    with d.reader() as r:
        if r.tx.tenants.get_tenant(tenant_id) is None:
            raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant", entity=Entity.TENANT)
        defs = list(r.definitions(tenant_id))
        options = r.field_options(tenant_id)
        people = r.tx.users.count(tenant_id, statuses=ALL_STATUSES)
    fields = roster_columns(defs, options)
    names = [h.strip() for h in headers]
    targets, report.problems = resolve_headers(names, definitions=defs, roster_fields=fields, columns=columns)
    if report.problems:
        return report
    parsed = parse_rows(rows, targets)
    # Into a tenant that had nobody, the first chunk's rows (and one) are read before the write
    # begins and the rest inside it, whichever way the file is then imported: as it is read
    # (``stream.py``) or the usual way (``stream.fits`` says no, or the reading stops). Otherwise
    # the whole file is read first.
    streams = not (dry_run or people)
    head = list(islice(parsed, bulk.CHUNK + 1) if streams else parsed)
    plan = ImportPlan(d, tenant_id, head, targets, names, defs, fields, progress)
    try:
        with d.writer() as tx:
            _begin(plan, tx)
            if not (streams and stream.fits(plan, head)):
                plan.rows += parsed
                _run_steps(plan)
            elif (fresh := stream.import_rows(plan, parsed)) is not None:  # the usual way after all
                plan = ImportPlan(d, tenant_id, fresh, targets, names, defs, fields, progress)
                _begin(plan, tx)
                _run_steps(plan)
            if (plan.problems and not partial) or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    else:
        report.written = True
    report.rows = len(plan.rows)
    report.problems = sorted(plan.problems, key=lambda p: (p.row, p.column))
    report.invalid = len({p.row for p in plan.problems})
    live = [row for row in plan.rows if row.problem is None]
    report.created = sum(1 for row in live if row.existing is None)
    report.updated = sum(1 for row in live if row.existing is not None and row.changed)
    report.unchanged = sum(1 for row in live if row.existing is not None and not row.changed)
    report.departments_created = plan.departments_created
    return report


def _begin(plan: ImportPlan, tx: WriteTx) -> None:
    """What every step reads first, inside the import's write transaction."""
    plan.tx = tx
    plan.root = tx.depts.get_depts(plan.tenant_id, [ROOT_DEPT_ID])[ROOT_DEPT_ID]
    plan.now = plan.d.clock.now_int()
    plan.people_before = tx.users.count(plan.tenant_id, statuses=ALL_STATUSES)


def _run_steps(plan: ImportPlan) -> None:
    """The steps of one import, in order, inside its write transaction (after :func:`_begin`)."""
    tx = plan.tx
    for row in plan.rows:
        parse.read_cells(plan, row)
    validate.match_people(plan)
    validate.resolve_references(plan)
    apply.make_departments(plan)
    for row in plan.rows:
        validate.read_attributes(plan, row)
    new = [r for r in plan.live() if r.existing is None]
    if not ahead.fits(plan, new):
        validate.check_new(plan, new)
        validate.drop_rows_naming_invalid_rows(plan)
        apply.create(plan)
    else:
        try:
            with tx.bulk.loading(), tx.savepoint():
                load = {r.user_id for r in new}
                with ahead.WriteAhead(plan, len(new), load) as writer:
                    validate.check_new(plan, new, writer.submit)
                    validate.drop_rows_naming_invalid_rows(plan)
                    roster = apply.roster_rows(plan, new)  # while the last chunks are written
                if not writer.wrote_all():
                    raise ahead.Undo
        except ahead.Undo:  # a problem or a failed write: the usual way names it
            apply.create(plan)
        else:
            apply.finish_created(plan, writer.written, roster)
    apply.update(plan, [r for r in plan.live() if r.existing is not None])
    apply.write_roster(plan, [r for r in plan.live() if r.roster and r.existing is not None])
