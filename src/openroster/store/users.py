"""Queries on users and their department memberships."""

from __future__ import annotations

import heapq
import sys
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, func, insert, or_, select, union, update
from sqlalchemy.exc import IntegrityError

from openroster.model.entities import (
    ALL_STATUSES,
    UNIQUE_USER_FIELDS,
    Gender,
    Membership,
    Role,
    User,
    UserStatus,
)
from openroster.model.errors import Conflict, Entity
from openroster.store.depts import subtree_ids
from openroster.store.inserts import insert_many
from openroster.store.schema import memberships, users
from openroster.store.sql import (
    Read,
    column_values,
    in_write,
    name_matches,
    one_query,
    page_and_total,
    run,
)


def _shared(value: str | None) -> str | None:
    """One copy of a value many people share (employer, title, city...): cached users are many."""
    return None if value is None else sys.intern(value)


# The row reader stays spelled out, unlike the other row modules' (``sql.from_columns``): it runs
# for every person a cache miss loads, and plain keyword arguments take about half the time.
def _user(r: Any, ms: tuple[Membership, ...]) -> User:
    return User(
        tenant_id=sys.intern(r["tenant_id"]),
        id=r["id"],
        user_name=r["user_name"],
        email=r["email"],
        phone=r["phone"],
        gender=Gender(r["gender"]),
        employee_id=r["employee_id"],
        employer=_shared(r["employer"]),
        employment_status=_shared(r["employment_status"]),
        employment_type=_shared(r["employment_type"]),
        ex_user_id=r["ex_user_id"],
        leader_id=r["leader_id"],
        login_name=r["login_name"],
        role=Role(r["role"]),
        status=UserStatus(r["status"]),
        title=_shared(r["title"]),
        telephone=r["telephone"],
        work_place=_shared(r["work_place"]),
        city=_shared(r["city"]),
        country=_shared(r["country"]),
        avatar=r["avatar"],
        def_dept_id=r["def_dept_id"],
        ctime=r["ctime"],
        mtime=r["mtime"],
        memberships=ms,
    )


def user_row(u: User) -> dict[str, Any]:
    return {
        **column_values(u, without={"memberships"}),
        "gender": u.gender.value,
        "role": u.role.value,
        "status": u.status.value,
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


def _taken_column(exc: IntegrityError) -> str | None:
    """The unique user column a failed write collided on (SQLite and PostgreSQL spell it differently)."""
    text = str(exc.orig)
    return next((c for c in UNIQUE_USER_FIELDS if f"ux_users_{c}" in text or f"users.{c}" in text), None)


@contextmanager
def _unique_values_guarded(values: Callable[[str], object]) -> Iterator[None]:
    """Turn a unique-index violation into :class:`Conflict` naming the column.

    The services check uniqueness before they write, but on PostgreSQL two
    transactions can pass that check together; the index then refuses the
    second, and this says so as a conflict rather than an internal error.
    """
    try:
        yield
    except IntegrityError as exc:
        col = _taken_column(exc)
        if col is None:
            raise
        raise Conflict(
            f"{col}: {values(col)!r} is already used by another user (taken by a concurrent write)",
            field=col,
            entity=Entity.USER,
            item_field=(Entity.USER, col),
        ) from None


def insert_users(conn: Connection, items: Sequence[User]) -> None:
    if not items:
        return
    rows = [user_row(u) for u in items]
    with _unique_values_guarded(lambda col: ", ".join(str(r[col]) for r in rows if r[col] is not None)):
        conn.execute(insert(users), rows)
    insert_many(conn, memberships, [row for u in items for row in membership_rows(u)])


# The hot reads' statements, built once: building one per call cost several times its execution.
_USERS = select(users).where(
    users.c.tenant_id == bindparam("tenant"), users.c.id.in_(bindparam("ids", expanding=True))
)
_USERS_LOCKED = _USERS.order_by(users.c.id).with_for_update()
_MEMBERSHIPS = (
    select(memberships.c.user_id, memberships.c.dept_id, memberships.c.is_leader, memberships.c.sort_order)
    .where(
        memberships.c.tenant_id == bindparam("tenant"),
        memberships.c.user_id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(memberships.c.user_id, memberships.c.sort_order, memberships.c.dept_id)
)
_EXISTING = select(users.c.id).where(
    users.c.tenant_id == bindparam("tenant"), users.c.id.in_(bindparam("ids", expanding=True))
)


def get_users(conn: Connection, tenant_id: str, ids: Iterable[str], *, lock: bool = True) -> dict[str, User]:
    """The users among ``ids``, with their memberships.

    Inside a write transaction the rows stay locked until it ends (``FOR UPDATE``
    on PostgreSQL, in id order; SQLite's writers are serial anyway): whatever a
    writer read and writes back whole (``update_user``) cannot lose a concurrent
    write of another field of the same person. ``lock=False``: a read that feeds no write (a
    write job's reply), which must not take a lock after the write's own (a deadlock).
    """
    return run(conn, get_users_read(conn, tenant_id, ids, lock=lock))


def get_users_read(
    conn: Connection, tenant_id: str, ids: Iterable[str], *, lock: bool = True
) -> Read[dict[str, User]]:
    """:func:`get_users` as a read to run with others (``sql.together``): the rows, then the
    memberships of the ids asked for (those of the rows found: a membership is a user's)."""
    wanted = list(set(ids))
    if not wanted:
        return Read((), _no_users)
    params = {"tenant": tenant_id, "ids": wanted}
    q = _USERS_LOCKED if lock and in_write(conn) else _USERS
    return Read(((q, params), (_MEMBERSHIPS, params)), _users_with_memberships)


def _no_users(_rows: list[Sequence[Any]]) -> dict[str, User]:
    return {}


def _users_with_memberships(rows: list[Sequence[Any]]) -> dict[str, User]:
    found = [r._mapping for r in rows[0]]
    ms: dict[str, list[Membership]] = defaultdict(list)
    for m in rows[1]:
        ms[m[0]].append(Membership(dept_id=m[1], is_leader=bool(m[2]), order=m[3]))
    return {r["id"]: _user(r, tuple(ms.get(r["id"], ()))) for r in found}


# A UNION of three seeks: with an OR, SQLite's planner scans the tenant on another index instead.
_NAMED = union(
    *(
        select(users.c.id).where(users.c.tenant_id == bindparam("tenant"), column == bindparam(name))
        for column, name in ((users.c.email, "email"), (users.c.login_name, "login"), (users.c.id, "id"))
    )
)


def ids_named(conn: Connection, tenant_id: str, *, email: str, login_name: str, user_id: str) -> list[str]:
    """The ids of the users whose email is ``email``, whose login name is ``login_name`` or whose id
    is ``user_id``: one statement, each of its legs a unique index's seek."""
    params = {"tenant": tenant_id, "email": email, "login": login_name, "id": user_id}
    return [r[0] for r in conn.execute(_NAMED, params).all()]


def existing_ids(conn: Connection, tenant_id: str, ids: Iterable[str]) -> set[str]:
    return run(conn, existing_ids_read(conn, tenant_id, ids))


def existing_ids_read(conn: Connection, tenant_id: str, ids: Iterable[str]) -> Read[set[str]]:
    """:func:`existing_ids` as a read to run with others (``sql.together``)."""
    wanted = list(set(ids))
    return one_query(_EXISTING if wanted else None, {"tenant": tenant_id, "ids": wanted}, _first_column_set)


def _first_column_set(rows: Sequence[Any]) -> set[str]:
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
        for col in UNIQUE_USER_FIELDS:
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


# -- paging ------------------------------------------------------------------------


def _page_query(*, by_status: bool) -> Select[Any]:
    q = select(users.c.id).where(users.c.tenant_id == bindparam("tenant"), users.c.id > bindparam("after"))
    if by_status:
        q = q.where(users.c.status == bindparam("status"))
    return q.order_by(users.c.id).limit(bindparam("limit"))


# Built once: a page is the hot path of a sync job, and building the statement cost more than
# running it (the store's query on its index is ~40 us; SQLAlchemy's construction ~70 us more).
_PAGE_ALL = _page_query(by_status=False)
_PAGE_BY_STATUS = _page_query(by_status=True)


_IDS_AT = (
    select(users.c.id)
    .where(users.c.tenant_id == bindparam("tenant"))
    .order_by(users.c.id)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


def ids_at(conn: Connection, tenant_id: str, *, offset: int, limit: int) -> list[str]:
    """Up to ``limit`` user ids from the ``offset``-th (0-based) on, whatever the status, in id order.

    For callers whose position is a number (SCIM's ``startIndex``): the database skips ``offset``
    entries of the primary key, no row before them leaves it. The skip still grows with
    ``offset``; a caller that can keep its place pages with :func:`page_ids` instead."""
    return [
        r[0] for r in conn.execute(_IDS_AT, {"tenant": tenant_id, "offset": offset, "limit": limit}).all()
    ]


def page_ids(
    conn: Connection, tenant_id: str, *, statuses: Collection[str], after: str | None, limit: int
) -> list[str]:
    """Up to ``limit`` user ids greater than ``after``, in id order, whose status is in ``statuses``.

    Keyset paging: every query seeks straight to ``after`` in an index, so the
    last page costs what the first does. With a subset of the statuses, one
    seek per status on ``ix_users_status`` (tenant, status, id), merged here;
    with every status, one seek on the primary key.
    """
    params = {"tenant": tenant_id, "after": after if after is not None else "", "limit": limit}
    wanted = sorted(set(statuses))
    if set(wanted) >= ALL_STATUSES:
        return [r[0] for r in conn.execute(_PAGE_ALL, params).all()]
    runs = [[r[0] for r in conn.execute(_PAGE_BY_STATUS, {**params, "status": s}).all()] for s in wanted]
    return list(heapq.merge(*runs))[:limit]


def _next_string(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (None: there is none)."""
    code = ord(prefix[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:  # surrogates are no characters of a stored name
        code = 0xE000
    return prefix[:-1] + chr(code) if code <= sys.maxunicode else None


def name_prefix_page(
    conn: Connection,
    tenant_id: str,
    prefix: str,
    *,
    statuses: Collection[str],
    after: tuple[str, str] | None,
    limit: int,
) -> list[tuple[str, str]]:
    """Up to ``limit`` ``(user_name, id)`` pairs of users whose name starts with ``prefix``, in that order.

    Keyset paging on ``ix_users_name`` (tenant, user_name, id): a range seek from ``prefix`` (or
    from ``after``) to the first name past every name with the prefix, so a search costs the
    same on a tenant of a million people as on one of ten.
    """
    if not prefix:
        return []
    end = _next_string(prefix)
    q = select(users.c.user_name, users.c.id).where(users.c.tenant_id == tenant_id)
    if after is None:
        q = q.where(users.c.user_name >= prefix)
    else:
        q = q.where(
            or_(
                users.c.user_name > after[0],
                (users.c.user_name == after[0]) & (users.c.id > after[1]),
            ),
            users.c.user_name >= prefix,
        )
    if end is not None:
        q = q.where(users.c.user_name < end)
    if not set(statuses) >= ALL_STATUSES:
        q = q.where(users.c.status.in_(sorted(set(statuses))))
    rows = conn.execute(q.order_by(users.c.user_name, users.c.id).limit(limit)).all()
    # Under a PostgreSQL collation other than C the range may hold names that sort between but do
    # not start with the prefix: the prefix is checked here too.
    return [(r[0], r[1]) for r in rows if r[0].startswith(prefix)]


def count(conn: Connection, tenant_id: str, *, statuses: Collection[str]) -> int:
    q = select(func.count()).select_from(users).where(users.c.tenant_id == tenant_id)
    if not set(statuses) >= ALL_STATUSES:
        q = q.where(users.c.status.in_(sorted(set(statuses))))
    return int(conn.execute(q).scalar_one())


def search_ids(
    conn: Connection,
    tenant_id: str,
    word: str,
    *,
    exact: bool,
    statuses: Collection[str],
    offset: int,
    limit: int,
) -> tuple[list[str], int]:
    """Ids of the users whose name holds ``word`` (``exact``: is ``word``) and whose status is in
    ``statuses``, in id order from ``offset``; and how many match in all."""
    q = (
        select(users.c.id)
        .where(
            users.c.tenant_id == tenant_id,
            users.c.status.in_(sorted(set(statuses))),
            name_matches(users.c.user_name, word, exact=exact),
        )
        .order_by(users.c.id)
    )
    return page_and_total(conn, q, offset=offset, limit=limit)


def _members_query(tenant_id: str, dept_id: int, recursive: bool, statuses: Collection[str]) -> Select[Any]:
    col = memberships.c.user_id
    scope = (
        memberships.c.dept_id.in_(subtree_ids(tenant_id, dept_id))
        if recursive
        else memberships.c.dept_id == dept_id
    )
    q: Select[Any] = select(col).where(memberships.c.tenant_id == tenant_id, scope)
    if not set(statuses) >= ALL_STATUSES:
        q = q.join(users, (users.c.tenant_id == memberships.c.tenant_id) & (users.c.id == col)).where(
            users.c.status.in_(sorted(set(statuses)))
        )
    return q.distinct()


def member_page_ids(
    conn: Connection,
    tenant_id: str,
    dept_id: int,
    *,
    recursive: bool,
    statuses: Collection[str],
    after: str | None,
    limit: int,
) -> list[str]:
    """Up to ``limit`` ids (greater than ``after``, in id order) of members of ``dept_id``.

    ``recursive``: members of the department or of any department below it.
    """
    q = _members_query(tenant_id, dept_id, recursive, statuses)
    if after is not None:
        q = q.where(memberships.c.user_id > after)
    return [r[0] for r in conn.execute(q.order_by(memberships.c.user_id).limit(limit)).all()]


def count_members(
    conn: Connection, tenant_id: str, dept_id: int, *, recursive: bool, statuses: Collection[str]
) -> int:
    inner = _members_query(tenant_id, dept_id, recursive, statuses).subquery()
    return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())


def dept_leaders(
    conn: Connection, tenant_id: str, dept_ids: Iterable[int]
) -> dict[int, list[tuple[str, int]]]:
    """``{dept id: [(user id, order), ...]}`` of each department's leaders, by order then user id."""
    wanted = list(set(dept_ids))
    out: dict[int, list[tuple[str, int]]] = defaultdict(list)
    if not wanted:
        return out
    for dept_id, user_id, order in conn.execute(
        select(memberships.c.dept_id, memberships.c.user_id, memberships.c.sort_order)
        .where(
            memberships.c.tenant_id == tenant_id,
            memberships.c.dept_id.in_(wanted),
            memberships.c.is_leader.is_(True),
        )
        .order_by(memberships.c.dept_id, memberships.c.sort_order, memberships.c.user_id)
    ).all():
        out[dept_id].append((user_id, order))
    return out


# -- writes ----------------------------------------------------------------------------


def update_user(conn: Connection, u: User) -> None:
    """Write every profile column of ``u`` (its memberships are left alone)."""
    row = user_row(u)
    with _unique_values_guarded(row.__getitem__):
        conn.execute(
            update(users)
            .where(users.c.tenant_id == u.tenant_id, users.c.id == u.id)
            .values({k: v for k, v in row.items() if k not in ("tenant_id", "id")})
        )


def replace_memberships(conn: Connection, u: User) -> None:
    """Make ``u.memberships`` the user's memberships."""
    conn.execute(
        delete(memberships).where(memberships.c.tenant_id == u.tenant_id, memberships.c.user_id == u.id)
    )
    insert_many(conn, memberships, membership_rows(u))


# Built once, like the paging statements: run for a few hundred people per call.
_DROP_MEMBERSHIP = delete(memberships).where(
    memberships.c.tenant_id == bindparam("tenant"),
    memberships.c.user_id == bindparam("user"),
    memberships.c.dept_id == bindparam("dept"),
)
_SET_MAIN_DEPT = (
    update(users)
    .where(users.c.tenant_id == bindparam("tenant"), users.c.id == bindparam("user"))
    .values(def_dept_id=bindparam("def_dept"), mtime=bindparam("now"))
)


def move_members(conn: Connection, tenant_id: str, befores: Sequence[User], afters: Sequence[User]) -> None:
    """Give each user of ``afters`` its memberships and main department (``befores[i]`` is
    ``afters[i]`` as stored), set-based: one DELETE of the memberships that go, one INSERT of those
    that come and one UPDATE of the users' main department and ``mtime``, each an executemany over
    every user, whatever their number. A membership both have stays as it is stored, unless its
    leadership or order changed (then it goes and comes again)."""
    gone: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    mains: list[dict[str, Any]] = []
    for before, after in zip(befores, afters, strict=True):
        kept = set(before.memberships) & set(after.memberships)
        had = {m.dept_id for m in before.memberships if m not in kept}
        gone += [{"tenant": tenant_id, "user": after.id, "dept": x} for x in had]
        stays = {m.dept_id for m in kept}
        new += [row for row in membership_rows(after) if row["dept_id"] not in stays]
        mains.append(
            {"tenant": tenant_id, "user": after.id, "def_dept": after.def_dept_id, "now": after.mtime}
        )
    if gone:
        conn.execute(_DROP_MEMBERSHIP, gone)
    insert_many(conn, memberships, new)
    if mains:
        conn.execute(_SET_MAIN_DEPT, mains)


def set_status(conn: Connection, tenant_id: str, ids: Sequence[str], status: str, *, mtime: int) -> None:
    for start in range(0, len(ids), 500):
        conn.execute(
            update(users)
            .where(users.c.tenant_id == tenant_id, users.c.id.in_(ids[start : start + 500]))
            .values(status=status, mtime=mtime)
        )


def leader_of(conn: Connection, tenant_id: str, user_id: str) -> str | None:
    value = conn.execute(
        select(users.c.leader_id).where(users.c.tenant_id == tenant_id, users.c.id == user_id)
    ).scalar()
    return str(value) if value is not None else None


def clear_leader(conn: Connection, tenant_id: str, leader_id: str, *, mtime: int) -> list[str]:
    """Clear ``leader_id`` wherever it names ``leader_id``; the ids of the users changed."""
    ids = [
        r[0]
        for r in conn.execute(
            select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.leader_id == leader_id)
        ).all()
    ]
    if ids:
        conn.execute(
            update(users)
            .where(users.c.tenant_id == tenant_id, users.c.leader_id == leader_id)
            .values(leader_id=None, mtime=mtime)
        )
    return ids


def set_member_order(conn: Connection, tenant_id: str, user_id: str, dept_id: int, order: int) -> bool:
    """Set a user's order within a department; False when the user is not a member."""
    return bool(
        conn.execute(
            update(memberships)
            .where(
                memberships.c.tenant_id == tenant_id,
                memberships.c.user_id == user_id,
                memberships.c.dept_id == dept_id,
            )
            .values(sort_order=order)
        ).rowcount
    )
