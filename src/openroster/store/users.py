"""Queries on users and their department memberships."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select

from openroster.core.model import Gender, Membership, Role, User, UserStatus
from openroster.store.schema import memberships, users

#: Unique-within-tenant user columns, in the order conflicts are reported.
UNIQUE_COLUMNS: tuple[str, ...] = ("email", "phone", "employee_id", "ex_user_id", "login_name")


def _user(r: Any, ms: tuple[Membership, ...]) -> User:
    return User(
        tenant_id=r["tenant_id"],
        id=r["id"],
        user_name=r["user_name"],
        email=r["email"],
        phone=r["phone"],
        gender=Gender(r["gender"]),
        employee_id=r["employee_id"],
        employer=r["employer"],
        employment_status=r["employment_status"],
        employment_type=r["employment_type"],
        ex_user_id=r["ex_user_id"],
        leader_id=r["leader_id"],
        login_name=r["login_name"],
        role=Role(r["role"]),
        status=UserStatus(r["status"]),
        title=r["title"],
        telephone=r["telephone"],
        work_place=r["work_place"],
        city=r["city"],
        country=r["country"],
        avatar=r["avatar"],
        def_dept_id=r["def_dept_id"],
        ctime=r["ctime"],
        mtime=r["mtime"],
        memberships=ms,
    )


def user_row(u: User) -> dict[str, Any]:
    return {
        "tenant_id": u.tenant_id,
        "id": u.id,
        "user_name": u.user_name,
        "email": u.email,
        "phone": u.phone,
        "gender": u.gender.value,
        "employee_id": u.employee_id,
        "employer": u.employer,
        "employment_status": u.employment_status,
        "employment_type": u.employment_type,
        "ex_user_id": u.ex_user_id,
        "leader_id": u.leader_id,
        "login_name": u.login_name,
        "role": u.role.value,
        "status": u.status.value,
        "title": u.title,
        "telephone": u.telephone,
        "work_place": u.work_place,
        "city": u.city,
        "country": u.country,
        "avatar": u.avatar,
        "def_dept_id": u.def_dept_id,
        "ctime": u.ctime,
        "mtime": u.mtime,
    }


def membership_rows(u: User) -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": u.tenant_id,
            "user_id": u.id,
            "dept_id": m.dept_id,
            "is_leader": m.is_leader,
            "sort_order": m.order,
        }
        for m in u.memberships
    ]


def insert_users(conn: Connection, items: Sequence[User]) -> None:
    if not items:
        return
    conn.execute(insert(users), [user_row(u) for u in items])
    ms = [row for u in items for row in membership_rows(u)]
    if ms:
        conn.execute(insert(memberships), ms)


def get_users(conn: Connection, tenant_id: str, ids: Iterable[str]) -> dict[str, User]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(select(users).where(users.c.tenant_id == tenant_id, users.c.id.in_(wanted))).all()
    if not rows:
        return {}
    found = [r._mapping for r in rows]
    ms: dict[str, list[Membership]] = defaultdict(list)
    for m in conn.execute(
        select(
            memberships.c.user_id, memberships.c.dept_id, memberships.c.is_leader, memberships.c.sort_order
        )
        .where(memberships.c.tenant_id == tenant_id, memberships.c.user_id.in_([r["id"] for r in found]))
        .order_by(memberships.c.user_id, memberships.c.sort_order, memberships.c.dept_id)
    ).all():
        ms[m[0]].append(Membership(dept_id=m[1], is_leader=bool(m[2]), order=m[3]))
    return {r["id"]: _user(r, tuple(ms.get(r["id"], ()))) for r in found}


def existing_ids(conn: Connection, tenant_id: str, ids: Iterable[str]) -> set[str]:
    wanted = list(set(ids))
    if not wanted:
        return set()
    rows = conn.execute(
        select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.id.in_(wanted))
    ).all()
    return {r[0] for r in rows}


def find_unique_conflicts(
    conn: Connection, tenant_id: str, values: Mapping[str, str], *, exclude_user_id: str | None = None
) -> list[tuple[str, str]]:
    """``(column, holder user id)`` for each unique column whose value another user holds."""
    conds = [getattr(users.c, col) == val for col, val in values.items() if val is not None]
    if not conds:
        return []
    q = select(users).where(users.c.tenant_id == tenant_id, or_(*conds))
    if exclude_user_id is not None:
        q = q.where(users.c.id != exclude_user_id)
    taken: list[tuple[str, str]] = []
    for row in conn.execute(q).all():
        r = row._mapping
        for col in UNIQUE_COLUMNS:
            if col in values and values[col] is not None and r[col] == values[col]:
                taken.append((col, r["id"]))
    return taken


def delete_user(conn: Connection, tenant_id: str, user_id: str) -> bool:
    conn.execute(
        delete(memberships).where(memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id)
    )
    return bool(
        conn.execute(delete(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id)).rowcount
    )


def find_taken_values(conn: Connection, tenant_id: str, column: str, values: Iterable[str]) -> dict[str, str]:
    """``{value: holder user id}`` for the values of a unique ``column`` that are already used."""
    wanted = list(set(values))
    out: dict[str, str] = {}
    col = getattr(users.c, column)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for value, holder in conn.execute(
            select(col, users.c.id).where(users.c.tenant_id == tenant_id, col.in_(chunk))
        ).all():
            out[value] = holder
    return out


def first_ids(conn: Connection, tenant_id: str, count: int, *, status: str) -> list[str]:
    rows = conn.execute(
        select(users.c.id)
        .where(users.c.tenant_id == tenant_id, users.c.status == status)
        .order_by(users.c.employee_id, users.c.id)
        .limit(count)
    ).all()
    return [r[0] for r in rows]
