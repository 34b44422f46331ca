"""Applying an import: departments, new people, changes to existing people, roster fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from openroster.core.custom import attributes
from openroster.core.people import batch_writes, bulk, users
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import writes as roster_writes
from openroster.core.sheets import lookups
from openroster.core.sheets.columns import (
    TEXT_KEYS,
    split_paths,
)
from openroster.core.sheets.plan import ImportPlan, Row
from openroster.model.entities import (
    AttributeUpdate,
    AttributeValueData,
    UserAttributeUpdate,
    UserStatus,
    ValueType,
)
from openroster.model.errors import CoreError


@dataclass
class Changes:
    """What an import changes about one existing person."""

    depts: batch_writes.DeptAssignment | None = None
    profile: dict[str, object] = field(default_factory=dict)
    status: UserStatus | None = None
    attrs: list[AttributeUpdate] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.depts or self.profile or self.status or self.attrs)


def make_departments(plan: ImportPlan) -> None:
    related = [a.id for a in plan.defs.values() if a.value_type is ValueType.RELATION_DEPTS]
    wanted: dict[tuple[str, ...], None] = {}
    for row in plan.live():
        for a in related:
            for raw in split_paths(row.attrs.get(a, "")):
                path = plan.path(row, raw, plan.col(a, "attr"))
                if path is not None:
                    wanted.setdefault(path)
        if row.problem is None:
            for path in row.paths:
                wanted.setdefault(path)
    wanted.pop((), None)
    plan.depts = {(): plan.root}
    plan.known_depts = {x.id for x in plan.tx.depts.list_all(plan.tenant_id)}
    add_paths(plan, list(wanted))


def add_paths(plan: ImportPlan, paths: list[tuple[str, ...]]) -> set[int]:
    """Make the departments of ``paths`` that are missing (``bulk.add_department_paths``): each
    path's department goes in ``plan.depts``, its id in ``plan.known_depts`` (the tenant's
    department ids), and those made are counted in ``plan.departments_created``; the paths' ids."""
    if not paths:
        return set()
    found = bulk.add_department_paths(plan.tx, plan.d, tenant_id=plan.tenant_id, paths=paths)
    plan.depts.update(found)
    ids = {x.id for x in found.values()}
    plan.departments_created += len(ids - plan.known_depts)
    plan.known_depts |= ids
    return ids


def create(plan: ImportPlan) -> None:
    """Write the checked new people in order (managers first), then their roster fields."""
    chunks = [(rows, pc) for rows, pc in plan.prepared]
    if any(r.problem is not None for rows, _ in chunks for r in rows):
        # Rows dropped after checking (uniqueness, invalid managers): build those chunks again.
        chunks = [
            (live, plan.prepare(live))
            for rows, _ in chunks
            if (live := [r for r in rows if r.problem is None])
        ]
    total = sum(len(rows) for rows, _ in chunks)
    done = 0
    # A relation may name someone of a later chunk (it is not a reporting line: two people may
    # name each other); everyone of ``chunks`` is written here, or the transaction rolls back.
    load = {r.user_id for rows, _ in chunks for r in rows}
    with plan.tx.bulk.loading():
        for rows, pc in chunks:
            bulk.write(plan.tx, pc, tenant_id=plan.tenant_id, load=load)
            done += len(rows)
            plan.tick("creating", done, total)
    finish_created(plan, chunks)


def finish_created(
    plan: ImportPlan,
    chunks: list[tuple[list[Row], bulk.PreparedChunk]],
    roster: list[tuple[str, str, str, int, str, str]] | None = None,
) -> None:
    """After the chunks of new people are written (by :func:`create` or ahead, ``ahead.py``):
    the tenant's change, their roster fields (``roster``: :func:`roster_rows` of them, built
    while the chunks were written ahead)."""
    created = [r for rows, _ in chunks for r in rows]
    if created:
        plan.tx.changed(plan.tenant_id, "tenant", plan.tenant_id)
    plan.tx.bulk.insert_roster_values(roster if roster is not None else roster_rows(plan, created))
    for row in created:
        row.changed = True


def roster_rows(plan: ImportPlan, rows: list[Row]) -> list[tuple[str, str, str, int, str, str]]:
    """New people's roster fields (checked in ``validate.check_new``), as rows to insert at once.

    What ``roster_writes.update_in`` stores for a person without a roster: the first
    row of each group, and in a detail group the fields not given as empty.
    """
    cat = roster_catalogue.catalogue_for(list(plan.defs.values()))
    group_of = {code: f.group_id for code, f in plan.roster_fields.items()}
    # A detail group's stored fields (all written, empty when not given); None: the given ones.
    stored: dict[str, list[str] | None] = {}
    for group_id in set(group_of.values()):
        group = cat.group(group_id)
        assert group is not None
        stored[group_id] = (
            [f.code for f in group.fields if f.source is roster_catalogue.Source.STORED]
            if group.detail
            else None
        )
    tenant_id = plan.tenant_id
    values: list[tuple[str, str, str, int, str, str]] = []
    for row in rows:
        groups: dict[str, dict[str, str]] = {}
        for code, value in row.roster.items():
            if value:
                groups.setdefault(group_of[code], {})[code] = value
        for group_id, given in groups.items():
            codes = stored[group_id]
            if codes is None:
                values += [(tenant_id, row.user_id, group_id, 0, c, v) for c, v in given.items()]
            else:
                values += [(tenant_id, row.user_id, group_id, 0, c, given.get(c, "")) for c in codes]
    # In key order here (while the chunks are written ahead), so the store's sort has nothing to do.
    return plan.tx.bulk.in_key_order(values, 5)


def update(plan: ImportPlan, rows: list[Row]) -> None:
    stored = lookups.attribute_values(plan.tx, plan.tenant_id, [r.user_id for r in rows], plan.defs)
    for i, row in enumerate(rows):
        if i % 1000 == 0:
            plan.tick("updating", i, len(rows))
        try:
            changes = changes_of(plan, row, stored.get(row.user_id, {}))
            if changes:
                with plan.tx.savepoint():
                    apply_changes(plan, row, changes)
                row.changed = True
        except CoreError as exc:
            plan.fail_core(row, exc)
    plan.tick("updating", len(rows), len(rows))


def changes_of(plan: ImportPlan, row: Row, stored: Mapping[str, AttributeValueData]) -> Changes:
    """What differs between the row and the person it names."""
    current = row.existing
    assert current is not None
    out = Changes()
    if {"departments", "main_department"} & plan.has:
        dept_ids = plan.dept_ids(row) if "departments" in plan.has else current.dept_ids
        main = plan.depts[row.main_path].id if row.main_path is not None else None
        if dept_ids != current.dept_ids or main not in (None, current.def_dept_id):
            out.depts = batch_writes.DeptAssignment(current.id, dept_ids, main)
    for key in (*TEXT_KEYS, "gender", "role", "employment_type", "employment_status", "leader_id"):
        if key in row.values:
            want = row.values[key]
            have = getattr(current, key)
            have = have.value if isinstance(have, StrEnum) else have
            if (want or None) != (have or None):
                out.profile[key] = want if want is not None else ""
    status = row.values.get("status")
    if status is not None and status != current.status.value:
        out.status = UserStatus(status)
    for j, a in enumerate(row.attr_updates):
        if plan.check_value(row, j) != stored.get(a.attr_id):
            out.attrs.append(a)
    return out


def apply_changes(plan: ImportPlan, row: Row, changes: Changes) -> None:
    """Write the changes through the core services (their rules apply)."""
    tid, uid = plan.tenant_id, row.user_id
    if changes.depts is not None:
        batch_writes.update_depts_in(plan.tx, plan.d, tenant_id=tid, items=[changes.depts])
    if changes.profile:
        users.update_in(plan.tx, plan.d, tenant_id=tid, user_id=uid, changes=changes.profile)
    if changes.status is not None:
        batch_writes.set_status_in(plan.tx, plan.d, tenant_id=tid, user_ids=[uid], status=changes.status)
    if changes.attrs:
        update = UserAttributeUpdate(uid, tuple(changes.attrs))
        attributes.update_values_in(plan.tx, tenant_id=tid, updates=[update])


def write_roster(plan: ImportPlan, rows: list[Row]) -> None:
    """Roster fields of people already there, through the roster service, only what differs."""
    stored = lookups.first_roster_rows(plan.tx, plan.tenant_id, [r.user_id for r in rows])
    for i, row in enumerate(rows):
        if i % 1000 == 0:
            plan.tick("roster", i, len(rows))
        have = stored.get(row.user_id, {})
        by_group: dict[str, list[roster_writes.FieldWrite]] = {}
        for code, value in row.roster.items():
            if have.get(code, "") != value:
                by_group.setdefault(plan.roster_fields[code].group_id, []).append(
                    roster_writes.FieldWrite(code, value)
                )
        if not by_group:
            continue
        groups = [
            roster_writes.GroupWrite(
                group_id=g, sections=(roster_writes.SectionWrite(tuple(writes), old_index=0),)
            )
            for g, writes in by_group.items()
        ]
        try:
            with plan.tx.savepoint():
                roster_writes.update_in(
                    plan.tx, plan.d, tenant_id=plan.tenant_id, user_id=row.user_id, groups=groups
                )
        except CoreError as exc:
            plan.fail(row, plan.column_of(exc), exc.detail)
        else:
            row.changed = True
    plan.tick("roster", len(rows), len(rows))
