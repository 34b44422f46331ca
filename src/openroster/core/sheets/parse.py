"""Parsing a sheet: rows of cells become each person's values, department paths and references."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from openroster.core.sheets.columns import (
    Target,
    split_paths,
)
from openroster.core.sheets.plan import ImportPlan, Row


def parse_rows(rows: Iterable[Sequence[str]], targets: Sequence[Target | None]) -> Iterator[Row]:
    kinds = ("profile", "attr", "roster")
    plan = [(j, kinds.index(t.kind), t.key) for j, t in enumerate(targets) if t is not None]
    width = len(targets)
    for i, given in enumerate(rows):
        cells = given if len(given) >= width else [*given, *([""] * (width - len(given)))]
        try:
            blank = not "".join(cells[:width]).strip()
        except TypeError:  # an empty cell given as None
            blank = not "".join(c or "" for c in cells[:width]).strip()
        if blank:
            continue
        row = Row(i + 2, {}, {}, {})
        buckets = (row.profile, row.attrs, row.roster)
        for j, kind, key in plan:
            cell = cells[j]
            buckets[kind][key] = cell.strip() if cell else ""
        yield row


def read_cells(plan: ImportPlan, row: Row) -> None:
    p = row.profile
    values = row.values
    for key in plan.text_keys:
        values[key] = p[key] or None
    if values.get("email"):
        values["email"] = str(values["email"]).lower()
    for key, enum in plan.enums:
        raw = p[key]
        try:
            values[key] = plan.enum_values[key, raw]
        except KeyError:
            try:
                values[key] = plan.enum_values[key, raw] = enum.parse(raw)
            except KeyError:
                plan.fail(row, plan.col(key), f"{raw!r} is not one of {enum.describe()}")
    departments = p.get("departments")
    if departments:
        # A cell's paths, read once for the rows with that cell (again for each row when a path
        # is a problem, which each such row is given).
        paths = plan.cell_paths.get(departments)
        if paths is None:
            column = plan.col("departments")
            found = [plan.path(row, raw, column) for raw in split_paths(departments)]
            paths = tuple(dict.fromkeys(path for path in found if path is not None))
            if None not in found:
                plan.cell_paths[departments] = paths
        row.paths = paths
    if p.get("main_department"):
        row.main_path = plan.path(row, p["main_department"], plan.col("main_department"))
        if row.main_path is not None and row.main_path not in (row.paths or [()]):
            plan.fail(row, plan.col("main_department"), "is not one of the person's departments")
    row.user_id = p.get("id", "")
    if not (p.get("employee_id") or p.get("email") or row.user_id):
        column = plan.col("employee_id") or plan.col("email")
        plan.fail(row, column, "an employee id or an email is needed to find this person again")
