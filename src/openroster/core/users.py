"""User services: create and read people."""

from __future__ import annotations

import secrets as _random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from openroster.core import limits, validate
from openroster.core.directory import Directory, Reader
from openroster.core.errors import BrokenReference, Conflict, InvalidValue, MissingField, TooMany
from openroster.core.model import (
    Gender,
    Membership,
    Role,
    User,
    UserStatus,
)
from openroster.store import depts as dept_rows
from openroster.store import users as user_rows
from openroster.store.base import WriteTx

#: Employment types: the WPS enterprise and education values plus the DingTalk ones.
EMPLOYMENT_TYPES: tuple[str, ...] = (
    "permanent",
    "intern",
    "part_time",
    "labor_dispatch",
    "retired_rehire",
    "outsourcing",
    "teacher",
    "student",
    "staff",
    "employee",
    "alumni",
    "other",
)
#: Employment statuses.
EMPLOYMENT_STATUSES: tuple[str, ...] = ("probationary", "regular", "leaving")

_SHORT = 64
_LONG = 200


@dataclass(frozen=True, slots=True)
class NewUser:
    """A person to create. Strings are checked and trimmed by the service."""

    user_name: str
    dept_ids: tuple[int, ...]
    id: str | None = None
    email: str | None = None
    phone: str | None = None
    gender: str = "undefined"
    employee_id: str | None = None
    employer: str | None = None
    employment_status: str | None = None
    employment_type: str | None = None
    ex_user_id: str | None = None
    leader_id: str | None = None
    login_name: str | None = None
    role: str = "normal"
    status: str = "active"
    title: str | None = None
    telephone: str | None = None
    work_place: str | None = None
    city: str | None = None
    country: str | None = None
    avatar: str | None = None
    def_dept_id: int | None = None
    leader_of: tuple[int, ...] = field(default=())
    ctime: int | None = None


def new_user_id() -> str:
    return _random.token_hex(6)


def _clean(item: NewUser, *, prefix: str, now: int) -> User:
    def f(name: str) -> str:
        return f"{prefix}{name}"

    uid = item.id or new_user_id()
    validate.text(uid, field=f("id"), max_len=_SHORT, required=True)
    user_name = validate.text(item.user_name, field=f("user_name"), max_len=limits.NAME_MAX, required=True)
    assert user_name is not None
    if not item.dept_ids:
        raise MissingField(f"{f('dept_ids')} must name at least one department", field=f("dept_ids"))
    if len(item.dept_ids) > limits.USER_DEPTS_MAX:
        raise TooMany(
            f"{f('dept_ids')} has {len(item.dept_ids)} departments; the limit is {limits.USER_DEPTS_MAX}",
            field=f("dept_ids"),
            limit=limits.USER_DEPTS_MAX,
        )
    if len(set(item.dept_ids)) != len(item.dept_ids):
        raise InvalidValue(f"{f('dept_ids')} lists a department twice", field=f("dept_ids"))
    def_dept = item.def_dept_id if item.def_dept_id is not None else item.dept_ids[0]
    if def_dept not in item.dept_ids:
        raise InvalidValue(
            f"{f('def_dept_id')}: {def_dept} is not one of the user's departments", field=f("def_dept_id")
        )
    for d in item.leader_of:
        if d not in item.dept_ids:
            raise InvalidValue(
                f"{f('leader_of')}: {d} is not one of the user's departments", field=f("leader_of")
            )
    return User(
        tenant_id="",
        id=uid,
        user_name=user_name,
        email=validate.email(item.email, field=f("email")),
        phone=validate.phone(item.phone, field=f("phone")),
        gender=validate.choice(item.gender or "undefined", Gender, field=f("gender")),
        employee_id=validate.text(item.employee_id, field=f("employee_id"), max_len=_SHORT),
        employer=validate.text(item.employer, field=f("employer"), max_len=_LONG),
        employment_status=validate.one_of(
            item.employment_status, EMPLOYMENT_STATUSES, field=f("employment_status")
        ),
        employment_type=validate.one_of(item.employment_type, EMPLOYMENT_TYPES, field=f("employment_type")),
        ex_user_id=validate.text(item.ex_user_id, field=f("ex_user_id"), max_len=128),
        leader_id=validate.text(item.leader_id, field=f("leader_id"), max_len=_SHORT),
        login_name=validate.text(item.login_name, field=f("login_name"), max_len=128),
        role=validate.choice(item.role or "normal", Role, field=f("role")),
        status=validate.choice(item.status or "active", UserStatus, field=f("status")),
        title=validate.text(item.title, field=f("title"), max_len=_LONG),
        telephone=validate.text(item.telephone, field=f("telephone"), max_len=32),
        work_place=validate.text(item.work_place, field=f("work_place"), max_len=_LONG),
        city=validate.text(item.city, field=f("city"), max_len=100),
        country=validate.text(item.country, field=f("country"), max_len=100),
        avatar=validate.text(item.avatar, field=f("avatar"), max_len=1024),
        def_dept_id=def_dept,
        ctime=item.ctime if item.ctime is not None else now,
        mtime=now,
        memberships=tuple(
            Membership(dept_id=d, is_leader=d in item.leader_of, order=i) for i, d in enumerate(item.dept_ids)
        ),
    )


def create(d: Directory, *, tenant_id: str, item: NewUser) -> User:
    return create_many(d, tenant_id=tenant_id, items=[item], field_prefix="")[0]


def create_many(
    d: Directory, *, tenant_id: str, items: Sequence[NewUser], field_prefix: str = "users"
) -> list[User]:
    """Create several users, all or none."""
    with d.writer() as tx:
        return create_in(tx, d, tenant_id=tenant_id, items=items, field_prefix=field_prefix)


def create_in(
    tx: WriteTx, d: Directory, *, tenant_id: str, items: Sequence[NewUser], field_prefix: str = "users"
) -> list[User]:
    now = d.clock.now_int()

    def prefix(i: int) -> str:
        if not field_prefix:
            return ""
        return f"{field_prefix}[{i}]."

    cleaned = [
        _with_tenant(_clean(item, prefix=prefix(i), now=now), tenant_id) for i, item in enumerate(items)
    ]
    _check_batch_unique(cleaned, prefix)
    all_depts = {m.dept_id for u in cleaned for m in u.memberships}
    known = dept_rows.get_depts(tx.conn, tenant_id, all_depts)
    new_ids = {u.id for u in cleaned}
    leader_ids = {u.leader_id for u in cleaned if u.leader_id is not None} - new_ids
    known_leaders = user_rows.existing_ids(tx.conn, tenant_id, leader_ids)
    clashing_ids = user_rows.existing_ids(tx.conn, tenant_id, new_ids)
    taken = {
        col: user_rows.find_taken_values(
            tx.conn, tenant_id, col, [v for u in cleaned if (v := getattr(u, col))]
        )
        for col in user_rows.UNIQUE_COLUMNS
    }
    for i, u in enumerate(cleaned):
        p = prefix(i)
        if u.id in clashing_ids:
            raise Conflict(f"{p}id: user {u.id!r} already exists", field=f"{p}id")
        for m in u.memberships:
            if m.dept_id not in known:
                raise BrokenReference(
                    f"{p}dept_ids: department {m.dept_id} does not exist", field=f"{p}dept_ids"
                )
        if u.leader_id is not None and u.leader_id not in known_leaders and u.leader_id not in new_ids:
            raise BrokenReference(f"{p}leader_id: user {u.leader_id!r} does not exist", field=f"{p}leader_id")
        if u.leader_id == u.id:
            raise InvalidValue(f"{p}leader_id: a user cannot be their own leader", field=f"{p}leader_id")
        for col, value in _unique_values(u).items():
            holder = taken[col].get(value)
            if holder is not None:
                raise Conflict(f"{p}{col}: {value!r} is already used by user {holder!r}", field=f"{p}{col}")
    user_rows.insert_users(tx.conn, cleaned)
    for u in cleaned:
        tx.changed(tenant_id, "user", u.id)
    return cleaned


def _with_tenant(u: User, tenant_id: str) -> User:
    return replace(u, tenant_id=tenant_id)


def _unique_values(u: User) -> dict[str, str]:
    return {col: v for col in user_rows.UNIQUE_COLUMNS if (v := getattr(u, col)) is not None}


def _check_batch_unique(items: Sequence[User], prefix: Callable[[int], str]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, u in enumerate(items):
        for col, v in (("id", u.id), *_unique_values(u).items()):
            first = seen.setdefault((col, v), i)
            if first != i:
                p = prefix(i)
                raise Conflict(f"{p}{col}: {v!r} is used twice in this batch", field=f"{p}{col}")


def batch_read(
    r: Reader, *, tenant_id: str, user_ids: Sequence[str], statuses: Iterable[UserStatus]
) -> list[User]:
    """The users among ``user_ids`` (in that order, once each) whose status is in ``statuses``.

    Ids that do not exist in the tenant are simply absent from the result.
    """
    wanted = set(statuses)
    unique = list(dict.fromkeys(user_ids))
    found = r.users(tenant_id, unique)
    return [u for uid in unique if (u := found.get(uid)) is not None and u.status in wanted]
