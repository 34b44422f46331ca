"""A person's DingTalk roster (花名册) on the Person page: every group of the tenant's catalogue with the
person's values, multi-row groups (education, emergency contacts, ...) as tables, and a form per
group to change it.

Read through ``core.roster.records`` and written through ``core.roster.writes.update_in``, as the
DingTalk roster routes read and write it: option values shown by their labels, departments and
people by their names, every row and value checked before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from openroster.core.directory import Directory, Reader
from openroster.core.roster import records, writes
from openroster.core.roster.catalogue import FieldType, RosterField, RosterGroup, Source
from openroster.model.entities import User
from openroster.model.errors import CoreError


@dataclass(frozen=True, slots=True)
class Cell:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class GroupView(RosterGroup):
    """One roster group with the person's rows (a plain group has one)."""

    rows: list[list[Cell]]

    @property
    def filled(self) -> int:
        """How many values the person has in this group."""
        return sum(1 for row in self.rows for c in row if c.value)

    @property
    def writable(self) -> list[tuple[int, RosterField]]:
        """The fields a form may change, with their place in ``fields`` (not the custom attributes:
        the Person page's custom attribute form changes those, one place for each value)."""
        return [
            (i, f)
            for i, f in enumerate(self.fields)
            if not f.read_only and f.field_type is not FieldType.PHOTO and f.source is not Source.CUSTOM
        ]

    def input_name(self, row: int | None, f: RosterField) -> str:
        """The form field of ``f`` in ``row`` (None: the new row of a detail group)."""
        return f"{f.code}@{'new' if row is None else row}"


def roster_view(r: Reader, tenant_id: str, user: User) -> list[GroupView]:
    [record] = records.read_records(r, tenant_id=tenant_id, user_ids=[user.id])
    [values] = records.read_values(r, tenant_id=tenant_id, records=[record])
    out = []
    for group in record.catalogue.groups:
        shown = {f.code: record.get(f.code, values) for f in group.fields}
        count = max((v.row + 1 for vs in shown.values() for v in vs), default=0 if group.detail else 1)
        rows = [
            [
                Cell(
                    ",".join(v.value for v in shown[f.code] if v.row == row),
                    ", ".join(v.label for v in shown[f.code] if v.row == row),
                )
                for f in group.fields
            ]
            for row in range(count)
        ]
        out.append(GroupView(group.id, group.name, group.detail, group.fields, rows))
    return out


def save_group(d: Directory, tenant_id: str, user_id: str, view: GroupView, form: dict[str, str]) -> None:
    """Write the group's form: every row shown (by its index), and a new row of a detail group when
    any of its fields is filled. A CoreError names the input it is about in ``.field``'s place, see
    :func:`error_input`."""
    sections = []
    rows: list[int | None] = list(range(len(view.rows)))
    if view.detail:
        rows.append(None)
    for row in rows:
        fields = tuple(
            writes.FieldWrite(f.code, form.get(view.input_name(row, f), "").strip()) for _, f in view.writable
        )
        if row is None and not any(x.value for x in fields):
            continue
        sections.append(writes.SectionWrite(fields=fields, old_index=row))
    with d.writer() as tx:
        writes.update_in(
            tx, d, tenant_id=tenant_id, user_id=user_id, groups=[writes.GroupWrite(view.id, tuple(sections))]
        )


def error_input(error: CoreError, view: GroupView) -> str:
    """The input a roster error is about (``groups[0].sections[i].section[j]...``), or ""."""
    found = re.search(r"sections\[(\d+)\]\.section\[(\d+)\]", error.field or "")
    if found is None:
        return ""
    section, index = int(found[1]), int(found[2])
    rows: list[int | None] = [*range(len(view.rows)), None]
    writable = view.writable
    if section >= len(rows) or index >= len(writable):
        return ""
    return view.input_name(rows[section], writable[index][1])
