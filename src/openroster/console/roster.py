"""A person's DingTalk roster (花名册) on the Person page: every group of the tenant's catalogue with the
person's values, multi-row groups (education, emergency contacts, ...) as tables.

Read through ``core.roster.records`` as the DingTalk roster routes read it: option values shown
by their labels, departments and people by their names.
"""

from __future__ import annotations

from dataclasses import dataclass

from openroster.core.directory import Reader
from openroster.core.roster import records
from openroster.core.roster.catalogue import RosterField
from openroster.model.entities import User


@dataclass(frozen=True, slots=True)
class GroupView:
    """One roster group: its fields, and one row of shown values per row (a plain group has one)."""

    name: str
    detail: bool
    fields: tuple[RosterField, ...]
    rows: list[list[str]]

    @property
    def filled(self) -> int:
        """How many values the person has in this group."""
        return sum(1 for row in self.rows for v in row if v)


def roster_view(r: Reader, tenant_id: str, user: User) -> list[GroupView]:
    [record] = records.read_records(r, tenant_id=tenant_id, user_ids=[user.id])
    [values] = records.read_values(r, tenant_id=tenant_id, records=[record])
    out = []
    for group in record.catalogue.groups:
        shown = {f.code: record.get(f.code, values) for f in group.fields}
        count = max((v.row + 1 for vs in shown.values() for v in vs), default=0 if group.detail else 1)
        rows = [
            [", ".join(v.label for v in shown[f.code] if v.row == row) for f in group.fields]
            for row in range(count)
        ]
        out.append(GroupView(group.name, group.detail, group.fields, rows))
    return out
