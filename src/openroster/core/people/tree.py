"""The department tree as a browser walks it: one level at a time, each department with its counts."""

from __future__ import annotations

from dataclasses import dataclass

from openroster.core.directory import Reader
from openroster.core.people import depts
from openroster.core.runtime.paging import Page, Position
from openroster.model.entities import Department


@dataclass(frozen=True, slots=True)
class Branch:
    """A department, the number of people directly in it, and of its direct sub-departments."""

    dept: Department
    members: int
    children: int


def branch(r: Reader, *, tenant_id: str, dept_id: int) -> Branch:
    """One department with its counts (NotFound when the tenant has no such department)."""
    dept = depts.get(r, tenant_id=tenant_id, dept_id=dept_id)
    members, children = r.tx.depts.branch_counts(tenant_id, [dept_id])[dept_id]
    return Branch(dept, members, children)


def branches(r: Reader, *, tenant_id: str, parent_id: int, size: int, after: Position | None) -> Page[Branch]:
    """One page of ``parent_id``'s children (in their order, keyset as ``depts.children_page``), with
    their counts."""
    page = depts.children_page(
        r, tenant_id=tenant_id, dept_id=parent_id, recursive=False, size=size, after=after
    )
    counts = r.tx.depts.branch_counts(tenant_id, [x.id for x in page.items])
    return Page([Branch(x, *counts[x.id]) for x in page.items], page.after)
