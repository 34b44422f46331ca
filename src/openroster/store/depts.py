"""Queries on departments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, func, insert, select, update

from openroster.core.model import Department
from openroster.store.schema import depts, memberships


def _dept(row: object) -> Department:
    r = row._mapping  # type: ignore[attr-defined]
    return Department(
        tenant_id=r["tenant_id"],
        id=r["id"],
        parent_id=r["parent_id"],
        name=r["name"],
        order=r["sort_order"],
        ex_dept_id=r["ex_dept_id"],
        abs_path=r["abs_path"],
        ctime=r["ctime"],
    )


def insert_depts(conn: Connection, items: Sequence[Department]) -> None:
    if not items:
        return
    conn.execute(
        insert(depts),
        [
            {
                "tenant_id": d.tenant_id,
                "id": d.id,
                "parent_id": d.parent_id,
                "name": d.name,
                "sort_order": d.order,
                "ex_dept_id": d.ex_dept_id,
                "abs_path": d.abs_path,
                "ctime": d.ctime,
            }
            for d in items
        ],
    )


def get_depts(conn: Connection, tenant_id: str, ids: Iterable[int]) -> dict[int, Department]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(select(depts).where(depts.c.tenant_id == tenant_id, depts.c.id.in_(wanted))).all()
    return {d.id: d for d in map(_dept, rows)}


def find_by_ex_ids(conn: Connection, tenant_id: str, ex_ids: Iterable[str]) -> dict[str, Department]:
    wanted = list(set(ex_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(depts).where(depts.c.tenant_id == tenant_id, depts.c.ex_dept_id.in_(wanted))
    ).all()
    return {d.ex_dept_id: d for d in map(_dept, rows) if d.ex_dept_id is not None}


def find_child_by_name(conn: Connection, tenant_id: str, parent_id: int, name: str) -> Department | None:
    row = conn.execute(
        select(depts).where(
            depts.c.tenant_id == tenant_id, depts.c.parent_id == parent_id, depts.c.name == name
        )
    ).first()
    return _dept(row) if row is not None else None


def max_child_order(conn: Connection, tenant_id: str, parent_id: int) -> int:
    value = conn.execute(
        select(func.max(depts.c.sort_order)).where(
            depts.c.tenant_id == tenant_id, depts.c.parent_id == parent_id
        )
    ).scalar()
    return int(value or 0)


def list_all(conn: Connection, tenant_id: str) -> list[Department]:
    rows = conn.execute(select(depts).where(depts.c.tenant_id == tenant_id).order_by(depts.c.id)).all()
    return [_dept(r) for r in rows]


def count_members(conn: Connection, tenant_id: str, dept_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(memberships)
            .where(memberships.c.tenant_id == tenant_id, memberships.c.dept_id == dept_id)
        ).scalar_one()
    )


def set_abs_path(conn: Connection, tenant_id: str, dept_id: int, abs_path: str) -> None:
    conn.execute(
        update(depts).where(depts.c.tenant_id == tenant_id, depts.c.id == dept_id).values(abs_path=abs_path)
    )
