"""Queries on departments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, delete, func, select, tuple_, update

from openroster.model.entities import Department
from openroster.store.inserts import insert_many
from openroster.store.schema import depts, memberships, tenants
from openroster.store.sql import (
    Read,
    column_values,
    name_matches,
    one_query,
    page_and_total,
    row_reader,
    run,
)

# Departments are read on every cache miss: the positional reader, not from_columns.
_read_dept = row_reader(Department, order="sort_order")


def _dept(row: Any) -> Department:
    return _read_dept(row._mapping)


def insert_depts(conn: Connection, items: Sequence[Department]) -> None:
    insert_many(conn, depts, [{**column_values(d, without={"order"}), "sort_order": d.order} for d in items])


#: Built once (a hot read): building a statement per call cost several times running it.
_DEPTS = select(depts).where(
    depts.c.tenant_id == bindparam("tenant"), depts.c.id.in_(bindparam("ids", expanding=True))
)


def get_depts(conn: Connection, tenant_id: str, ids: Iterable[int]) -> dict[int, Department]:
    return run(conn, get_depts_read(conn, tenant_id, ids))


def get_depts_read(conn: Connection, tenant_id: str, ids: Iterable[int]) -> Read[dict[int, Department]]:
    """:func:`get_depts` as a read to run with others (``sql.together``)."""
    wanted = list(set(ids))
    return one_query(_DEPTS if wanted else None, {"tenant": tenant_id, "ids": wanted}, _depts_by_id)


def _depts_by_id(rows: Sequence[Any]) -> dict[int, Department]:
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


def subtree_ids(tenant_id: str, root_id: int) -> Select[Any]:
    """A SELECT of ``root_id`` and the ids of every department below it (a recursive CTE)."""
    tree = (
        select(depts.c.id)
        .where(depts.c.tenant_id == tenant_id, depts.c.id == root_id)
        .cte("subtree", recursive=True)
    )
    below = select(depts.c.id).where(depts.c.tenant_id == tenant_id, depts.c.parent_id == tree.c.id)
    tree = tree.union_all(below)
    return select(tree.c.id)


def subtree_id_set(conn: Connection, tenant_id: str, root_id: int) -> set[int]:
    """``root_id`` and the ids of every department below it."""
    return {int(x) for x in conn.execute(subtree_ids(tenant_id, root_id)).scalars()}


def descendants(conn: Connection, tenant_id: str, dept_id: int) -> list[Department]:
    """Every department below ``dept_id`` (not itself), in id order."""
    rows = conn.execute(
        select(depts)
        .where(
            depts.c.tenant_id == tenant_id,
            depts.c.id.in_(subtree_ids(tenant_id, dept_id)),
            depts.c.id != dept_id,
        )
        .order_by(depts.c.id)
    ).all()
    return [_dept(r) for r in rows]


def is_descendant(conn: Connection, tenant_id: str, dept_id: int, ancestor_id: int) -> bool:
    """True when ``dept_id`` is ``ancestor_id`` or lies below it."""
    row = conn.execute(
        select(depts.c.id).where(
            depts.c.tenant_id == tenant_id,
            depts.c.id == dept_id,
            depts.c.id.in_(subtree_ids(tenant_id, ancestor_id)),
        )
    ).first()
    return row is not None


def child_page_ids(
    conn: Connection, tenant_id: str, parent_id: int, *, after: tuple[int, int] | None, limit: int
) -> list[tuple[int, int]]:
    """``(order, id)`` of up to ``limit`` children of ``parent_id`` after ``after``, in that order.

    Keyset on the ``ix_depts_parent`` index (tenant, parent, order, id).
    """
    q = select(depts.c.sort_order, depts.c.id).where(
        depts.c.tenant_id == tenant_id, depts.c.parent_id == parent_id
    )
    if after is not None:
        q = q.where(tuple_(depts.c.sort_order, depts.c.id) > tuple_(*after))
    rows = conn.execute(q.order_by(depts.c.sort_order, depts.c.id).limit(limit)).all()
    return [(r[0], r[1]) for r in rows]


def descendant_page_ids(
    conn: Connection, tenant_id: str, dept_id: int, *, after: int | None, limit: int
) -> list[int]:
    """Ids of up to ``limit`` departments below ``dept_id`` greater than ``after``, in id order."""
    q = select(depts.c.id).where(
        depts.c.tenant_id == tenant_id,
        depts.c.id.in_(subtree_ids(tenant_id, dept_id)),
        depts.c.id != dept_id,
    )
    if after is not None:
        q = q.where(depts.c.id > after)
    return [r[0] for r in conn.execute(q.order_by(depts.c.id).limit(limit)).all()]


def count_children(conn: Connection, tenant_id: str, dept_id: int, *, recursive: bool) -> int:
    cond: ColumnElement[bool]
    if recursive:
        cond = depts.c.id.in_(subtree_ids(tenant_id, dept_id)) & (depts.c.id != dept_id)
    else:
        cond = depts.c.parent_id == dept_id
    return int(
        conn.execute(
            select(func.count()).select_from(depts).where(depts.c.tenant_id == tenant_id, cond)
        ).scalar_one()
    )


def search_ids(
    conn: Connection, tenant_id: str, word: str, *, offset: int, limit: int
) -> tuple[list[int], int]:
    """Ids of the departments whose name holds ``word``, in id order from ``offset``; and how many
    match in all."""
    q = (
        select(depts.c.id)
        .where(depts.c.tenant_id == tenant_id, name_matches(depts.c.name, word, exact=False))
        .order_by(depts.c.id)
    )
    return page_and_total(conn, q, offset=offset, limit=limit)


def update_dept(conn: Connection, d: Department) -> None:
    """Write ``d``'s parent, name, order, ex_dept_id and abs_path."""
    conn.execute(
        update(depts)
        .where(depts.c.tenant_id == d.tenant_id, depts.c.id == d.id)
        .values(
            parent_id=d.parent_id,
            name=d.name,
            sort_order=d.order,
            ex_dept_id=d.ex_dept_id,
            abs_path=d.abs_path,
        )
    )


def delete_dept(conn: Connection, tenant_id: str, dept_id: int) -> bool:
    return bool(
        conn.execute(delete(depts).where(depts.c.tenant_id == tenant_id, depts.c.id == dept_id)).rowcount
    )


def lock_tree(conn: Connection, tenant_id: str) -> None:
    """Serialise changes to the tenant's tree until the transaction ends.

    PostgreSQL runs write transactions side by side (read committed): two moves
    checked against the same old tree could together make a loop, and a child
    could be created under a department being deleted. Locking the tenant's row
    first makes them take turns. SQLite write transactions already do
    (``BEGIN IMMEDIATE``), and SQLAlchemy leaves ``FOR UPDATE`` out there.
    """
    conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update())


def branch_counts(conn: Connection, tenant_id: str, dept_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """``{dept_id: (members, children)}`` for each of ``dept_ids`` (zeros included): the people directly
    in it and its direct sub-departments, two grouped seeks (``ix_memberships_dept``, ``ix_depts_parent``)."""
    wanted = list(dict.fromkeys(dept_ids))
    if not wanted:
        return {}
    members = _counts_by(conn, memberships.c.dept_id, memberships.c.tenant_id == tenant_id, wanted)
    children = _counts_by(conn, depts.c.parent_id, depts.c.tenant_id == tenant_id, wanted)
    return {i: (int(members.get(i, 0)), int(children.get(i, 0))) for i in wanted}


def _counts_by(
    conn: Connection, column: Any, where: ColumnElement[bool], values: list[int]
) -> dict[int, int]:
    """``{value: rows}`` of the rows matching ``where`` whose ``column`` is one of ``values``."""
    rows = conn.execute(select(column, func.count()).where(where, column.in_(values)).group_by(column)).all()
    return {int(v): int(n) for v, n in rows}
