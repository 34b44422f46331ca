"""User services: create, read, update and delete people (batch writes: ``batch_writes.py``)."""

from __future__ import annotations

import secrets as _random
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from itertools import repeat
from typing import Any

from openroster.core import recording, validate
from openroster.core.directory import Directory, Reader
from openroster.core.runtime import limits
from openroster.core.runtime.paging import Page
from openroster.model import errors
from openroster.model.dismissions import LeaveReason, leave_entry
from openroster.model.entities import (
    ALL_STATUSES,
    ROOT_DEPT_ID,
    UNIQUE_USER_FIELDS,
    USER_CHOICES,
    USER_TEXT_FIELDS,
    Gender,
    Membership,
    Role,
    User,
    UserStatus,
    ValueType,
)
from openroster.store import WriteTx

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
#: The longest value of each optional text field of a user.
_TEXT_MAX = {
    "employee_id": _SHORT,
    "employer": _LONG,
    "ex_user_id": 128,
    "leader_id": _SHORT,
    "login_name": 128,
    "title": _LONG,
    "telephone": 32,
    "work_place": _LONG,
    "city": 100,
    "country": 100,
    "avatar": 1024,
}


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


#: The fields of a new user, in the order :class:`NewUser` takes them.
NEW_USER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(NewUser))


def new_user_id() -> str:
    return _random.token_hex(6)


def new_user_ids(n: int) -> list[str]:
    """``n`` of :func:`new_user_id`'s ids from one draw (the interpreter lock let go once, not n times)."""
    text = _random.token_hex(6 * n)
    return [text[i : i + 12] for i in range(0, 12 * n, 12)]


def checked_user(item: NewUser, *, prefix: str, now: int) -> User:
    """The user ``item`` describes, checked by the user rules (errors name ``{prefix}<field>``)."""

    checking = ""

    def f(name: str) -> str:
        nonlocal checking
        checking = name
        return f"{prefix}{name}"

    try:
        uid = item.id or new_user_id()
        validate.text(uid, field=f("id"), max_len=_SHORT, required=True)
        user_name = validate.text(
            item.user_name, field=f("user_name"), max_len=limits.NAME_MAX, required=True
        )
        assert user_name is not None
        if not item.dept_ids:
            raise errors.MissingField(
                f"{f('dept_ids')} must name at least one department", field=f("dept_ids")
            )
        if len(item.dept_ids) > limits.USER_DEPTS_MAX:
            raise errors.TooMany(
                f"{f('dept_ids')} has {len(item.dept_ids)} departments; the limit is {limits.USER_DEPTS_MAX}",
                field=f("dept_ids"),
                limit=limits.USER_DEPTS_MAX,
            )
        if len(set(item.dept_ids)) != len(item.dept_ids):
            raise errors.InvalidValue(f"{f('dept_ids')} lists a department twice", field=f("dept_ids"))
        def_dept = item.def_dept_id if item.def_dept_id is not None else item.dept_ids[0]
        if def_dept not in item.dept_ids:
            raise errors.InvalidValue(
                f"{f('def_dept_id')}: {def_dept} is not one of the user's departments", field=f("def_dept_id")
            )
        for d in item.leader_of:
            if d not in item.dept_ids:
                raise errors.InvalidValue(
                    f"{f('leader_of')}: {d} is not one of the user's departments", field=f("leader_of")
                )
        return User(
            tenant_id="",
            id=uid,
            user_name=user_name,
            email=validate.email(item.email, field=f("email")),
            phone=validate.phone(item.phone, field=f("phone")),
            gender=validate.choice(item.gender or "undefined", Gender, field=f("gender")),
            employee_id=validate.text(
                item.employee_id, field=f("employee_id"), max_len=_TEXT_MAX["employee_id"]
            ),
            employer=validate.text(item.employer, field=f("employer"), max_len=_TEXT_MAX["employer"]),
            employment_status=validate.one_of(
                item.employment_status, EMPLOYMENT_STATUSES, field=f("employment_status")
            ),
            employment_type=validate.one_of(
                item.employment_type, EMPLOYMENT_TYPES, field=f("employment_type")
            ),
            ex_user_id=validate.text(item.ex_user_id, field=f("ex_user_id"), max_len=_TEXT_MAX["ex_user_id"]),
            leader_id=validate.text(item.leader_id, field=f("leader_id"), max_len=_TEXT_MAX["leader_id"]),
            login_name=validate.text(item.login_name, field=f("login_name"), max_len=_TEXT_MAX["login_name"]),
            role=validate.choice(item.role or "normal", Role, field=f("role")),
            status=validate.choice(item.status or "active", UserStatus, field=f("status")),
            title=validate.text(item.title, field=f("title"), max_len=_TEXT_MAX["title"]),
            telephone=validate.text(item.telephone, field=f("telephone"), max_len=_TEXT_MAX["telephone"]),
            work_place=validate.text(item.work_place, field=f("work_place"), max_len=_TEXT_MAX["work_place"]),
            city=validate.text(item.city, field=f("city"), max_len=_TEXT_MAX["city"]),
            country=validate.text(item.country, field=f("country"), max_len=_TEXT_MAX["country"]),
            avatar=validate.text(item.avatar, field=f("avatar"), max_len=_TEXT_MAX["avatar"]),
            def_dept_id=def_dept,
            ctime=item.ctime if item.ctime is not None else now,
            mtime=now,
            memberships=tuple(
                Membership(dept_id=d, is_leader=d in item.leader_of, order=i)
                for i, d in enumerate(item.dept_ids)
            ),
        )
    except errors.CoreError as exc:
        raise exc.in_field(errors.Entity.USER, checking) from None


def checked_users(items: Sequence[NewUser], *, now: int) -> list[User] | None:
    """:func:`checked_user` of many items at once, a field's column at a time (for bulk loads):
    the same users, or ``None`` when some item breaks a rule (check them one by one to name it)."""
    column = checked_columns(
        {name: [getattr(item, name) for item in items] for name in NEW_USER_FIELDS}, now=now
    )
    if column is None:
        return None
    # strict=False: the constant columns repeat without end.
    return [User(*values) for values in zip(*(column[f.name] for f in _USER_FIELDS), strict=False)]


def checked_columns(items: Mapping[str, Sequence[Any]], *, now: int) -> dict[str, Iterable[Any]] | None:
    """:func:`checked_users` without a :class:`NewUser` or :class:`User` per person: ``items`` holds
    each :data:`NEW_USER_FIELDS` field's values, one per person; returns each :class:`User`
    field's checked values in the same order (constant ones repeat without end), or ``None``."""
    ids = [uid or new_user_id() for uid in items["id"]]
    if validate.texts(ids, max_len=_SHORT, required=True) is None:
        return None
    # A column nobody has a value in (one the sheet does not have) needs no check.
    column: dict[str, Iterable[Any] | None] = {
        name: validate.texts(items[name], max_len=max_len) if any(items[name]) else [None] * len(ids)
        for name, max_len in _TEXT_MAX.items()
    }
    column["user_name"] = validate.texts(items["user_name"], max_len=limits.NAME_MAX, required=True)
    column["email"] = validate.emails(items["email"])
    column["phone"] = validate.phones(items["phone"])
    for name, (enum, default) in USER_CHOICES.items():
        column[name] = validate.choices(items[name], enum, default=default)
    column["employment_type"] = validate.ones_of(items["employment_type"], EMPLOYMENT_TYPES)
    column["employment_status"] = validate.ones_of(items["employment_status"], EMPLOYMENT_STATUSES)
    if any(c is None for c in column.values()):
        return None
    def_depts: list[int] = []
    memberships: list[tuple[Membership, ...]] = []
    made: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[Membership, ...]] = {}
    for depts, def_dept, leader_of in zip(
        items["dept_ids"], items["def_dept_id"], items["leader_of"], strict=True
    ):
        if not depts or (def_dept is not None and def_dept not in depts):
            return None
        def_depts.append(depts[0] if def_dept is None else def_dept)
        key = (depts, leader_of)
        found = made.get(key)
        if found is None:
            if (
                len(depts) > limits.USER_DEPTS_MAX
                or len(set(depts)) != len(depts)
                or any(x not in depts for x in leader_of)
            ):
                return None
            found = made[key] = tuple(
                Membership(dept_id=x, is_leader=x in leader_of, order=k) for k, x in enumerate(depts)
            )
        memberships.append(found)
    column |= {"tenant_id": repeat(""), "id": ids, "def_dept_id": def_depts, "memberships": memberships}
    column |= {"ctime": [now if c is None else c for c in items["ctime"]], "mtime": repeat(now)}
    return {name: values for name, values in column.items() if values is not None}


#: The fields of a user, in the order :class:`User` takes them.
_USER_FIELDS = fields(User)


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
        _with_tenant(checked_user(item, prefix=prefix(i), now=now), tenant_id) for i, item in enumerate(items)
    ]
    _check_batch_unique(cleaned, prefix)
    all_depts = {m.dept_id for u in cleaned for m in u.memberships}
    known = tx.depts.get_depts(tenant_id, all_depts)
    new_ids = {u.id for u in cleaned}
    leader_ids = {u.leader_id for u in cleaned if u.leader_id is not None} - new_ids
    known_leaders = tx.users.existing_ids(tenant_id, leader_ids)
    clashing_ids = tx.users.existing_ids(tenant_id, new_ids)
    taken = {
        col: tx.users.find_taken_values(tenant_id, col, [v for u in cleaned if (v := getattr(u, col))])
        for col in UNIQUE_USER_FIELDS
    }
    for i, u in enumerate(cleaned):
        p = prefix(i)
        if u.id in clashing_ids:
            raise errors.Conflict(
                f"{p}id: user {u.id!r} already exists",
                field=f"{p}id",
                entity=errors.Entity.USER,
                item_field=(errors.Entity.USER, "id"),
            )
        for m in u.memberships:
            if m.dept_id not in known:
                raise errors.BrokenReference(
                    f"{p}dept_ids: department {m.dept_id} does not exist",
                    field=f"{p}dept_ids",
                    entity=errors.Entity.DEPARTMENT,
                )
        if u.leader_id is not None and u.leader_id not in known_leaders and u.leader_id not in new_ids:
            raise errors.BrokenReference(
                f"{p}leader_id: user {u.leader_id!r} does not exist",
                field=f"{p}leader_id",
                entity=errors.Entity.USER,
            )
        if u.leader_id == u.id:
            raise errors.InvalidValue(
                f"{p}leader_id: a user cannot be their own leader", field=f"{p}leader_id"
            )
        for col, value in _unique_values(u).items():
            holder = taken[col].get(value)
            if holder is not None:
                raise errors.Conflict(
                    f"{p}{col}: {value!r} is already used by user {holder!r}",
                    field=f"{p}{col}",
                    entity=errors.Entity.USER,
                    item_field=(errors.Entity.USER, col),
                )
    tx.users.insert_users(cleaned)
    for u in cleaned:
        tx.changed(tenant_id, "user", u.id)
    recording.users_created(tx, tenant_id, [u.id for u in cleaned])
    return cleaned


def _with_tenant(u: User, tenant_id: str) -> User:
    return replace(u, tenant_id=tenant_id)


def _unique_values(u: User) -> dict[str, str]:
    return {col: v for col in UNIQUE_USER_FIELDS if (v := getattr(u, col)) is not None}


def _check_batch_unique(items: Sequence[User], prefix: Callable[[int], str]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, u in enumerate(items):
        for col, v in (("id", u.id), *_unique_values(u).items()):
            first = seen.setdefault((col, v), i)
            if first != i:
                p = prefix(i)
                raise errors.Conflict(
                    f"{p}{col}: {v!r} is used twice in this batch",
                    field=f"{p}{col}",
                    entity=errors.Entity.USER,
                    item_field=(errors.Entity.USER, col),
                )


def batch_read(
    r: Reader, *, tenant_id: str, user_ids: Sequence[str], statuses: Iterable[UserStatus]
) -> list[User]:
    """The users among ``user_ids`` (in that order, once each) whose status is in ``statuses``;
    ids that do not exist in the tenant are simply absent from the result."""
    wanted = set(statuses)
    found = r.users(tenant_id, user_ids)  # in the order asked for; a repeated id keeps its first place
    return [u for u in found.values() if u.status in wanted]


# -- reads --------------------------------------------------------------------------

#: The unique user fields people are looked up by, with how a looked-up value is normalised.
LOOKUP_FIELDS: dict[str, Callable[[str], str]] = {
    "email": lambda v: v.strip().lower(),
    "phone": str.strip,
    "ex_user_id": str.strip,
    "login_name": str.strip,
}


def get(r: Reader, *, tenant_id: str, user_id: str, field: str = "user_id") -> User:
    """One user; NotFound naming ``field`` when the tenant has no such user."""
    found = r.users(tenant_id, [user_id]).get(user_id)
    if found is None:
        raise errors.NotFound(
            f"{field}: user {user_id!r} does not exist", field=field, entity=errors.Entity.USER
        )
    return found


def list_page(
    r: Reader,
    *,
    tenant_id: str,
    statuses: Collection[UserStatus],
    size: int,
    after: str | None,
    with_total: bool = False,
) -> Page[User]:
    """One page of the tenant's users with a status in ``statuses``, in id order (keyset: runtime/paging)."""
    wanted = [s.value for s in statuses]
    ids = r.tx.users.page_ids(tenant_id, statuses=wanted, after=after, limit=size + 1)
    more = len(ids) > size
    ids = ids[:size]
    found = r.users(tenant_id, ids)
    total = r.tx.users.count(tenant_id, statuses=wanted) if with_total else None
    return Page([found[i] for i in ids if i in found], (ids[-1],) if more and ids else None, total)


def every_id(r: Reader, *, tenant_id: str, batch: int = 1000) -> Iterator[str]:
    """Every user id of the tenant, whatever the status, in id order (read ``batch`` at a time)."""
    statuses = sorted(ALL_STATUSES)
    after: str | None = None
    while True:
        ids = r.tx.users.page_ids(tenant_id, statuses=statuses, after=after, limit=batch)
        yield from ids
        if len(ids) < batch:
            return
        after = ids[-1]


def ids_at(r: Reader, *, tenant_id: str, offset: int, limit: int) -> list[str]:
    """Up to ``limit`` user ids of the tenant from the ``offset``-th (0-based), whatever the status, in
    id order: one query, no id before ``offset`` read."""
    return r.tx.users.ids_at(tenant_id, offset=offset, limit=limit)


def ids_named(r: Reader, *, tenant_id: str, value: str) -> list[str]:
    """The ids of the people whose email, login name or id is ``value`` (each compared as
    :func:`find_by` compares it), whatever their status: one query, at most three people."""
    return r.tx.users.ids_named(
        tenant_id,
        email=LOOKUP_FIELDS["email"](value),
        login_name=LOOKUP_FIELDS["login_name"](value),
        user_id=value,
    )


def count_all(r: Reader, *, tenant_id: str) -> int:
    """How many people the tenant has, whatever their status."""
    return r.tx.users.count(tenant_id, statuses=sorted(ALL_STATUSES))


def find_by(
    r: Reader, *, tenant_id: str, field: str, values: Sequence[str], statuses: Collection[UserStatus]
) -> list[User]:
    """The users whose ``field`` (email, phone, ex_user_id) is one of ``values``, in that order, once each."""
    normalise = LOOKUP_FIELDS[field]
    validate.count(values, field=f"{field}s", limit=limits.USER_LOOKUP_MAX, what="value", required=False)
    wanted = list(dict.fromkeys(normalise(v) for v in values if v.strip()))
    holders = r.tx.users.find_taken_values(tenant_id, field, wanted)
    ids = list(dict.fromkeys(holders[v] for v in wanted if v in holders))
    found = r.users(tenant_id, ids)
    return [u for uid in ids if (u := found.get(uid)) is not None and u.status in statuses]


# -- writes -------------------------------------------------------------------------

#: Fields :func:`update` accepts; the departments change through :func:`update_depts`.
UPDATABLE_FIELDS: frozenset[str] = frozenset({*USER_TEXT_FIELDS, "gender", "role", "def_dept_id"})


def update(d: Directory, *, tenant_id: str, user_id: str, changes: Mapping[str, object]) -> User:
    """Change some profile fields of one user.

    ``changes`` holds only the fields to change; ``""`` clears an optional field. The rules of
    :func:`create` apply: unique values stay unique, ``leader_id`` names an existing user (not the
    user, and not someone who reports to the user), ``def_dept_id`` one of the user's departments."""
    with d.writer() as tx:
        return update_in(tx, d, tenant_id=tenant_id, user_id=user_id, changes=changes)


def update_in(
    tx: WriteTx,
    d: Directory,
    *,
    tenant_id: str,
    user_id: str,
    changes: Mapping[str, object],
    current: User | None = None,
) -> User:
    """:func:`update` inside a write transaction the caller holds. ``current``: the user as the
    caller already read them in this transaction (which locked them), else they are read here."""
    unknown = sorted(set(changes) - UPDATABLE_FIELDS)
    if unknown:
        raise errors.InvalidValue(f"{unknown[0]} cannot be changed here", field=unknown[0])
    if current is None:
        current = tx.users.get_users(tenant_id, [user_id]).get(user_id)
    if current is None:
        raise errors.NotFound(
            f"user_id: user {user_id!r} does not exist", field="user_id", entity=errors.Entity.USER
        )
    merged = _as_new_user(current, changes)
    cleaned = replace(
        checked_user(merged, prefix="", now=d.clock.now_int()),
        tenant_id=tenant_id,
        memberships=current.memberships,
    )
    if not current.memberships:
        cleaned = replace(cleaned, def_dept_id=current.def_dept_id)
    _check_unique_update(tx, current, cleaned)
    if cleaned.leader_id is not None and cleaned.leader_id != current.leader_id:
        try:
            _check_leader(tx, tenant_id, user_id, cleaned.leader_id, field="leader_id")
        except errors.CoreError as exc:
            raise exc.in_field(errors.Entity.USER, "leader_id") from None
    tx.users.update_user(cleaned)
    tx.changed(tenant_id, "user", user_id)
    recording.user_updated(tx, tenant_id, current, cleaned)
    return cleaned


def _as_new_user(current: User, changes: Mapping[str, object]) -> NewUser:
    fields: dict[str, Any] = {name: getattr(current, name) for name in USER_TEXT_FIELDS}
    fields.update(gender=current.gender.value, role=current.role.value, def_dept_id=current.def_dept_id)
    fields.update(changes)
    dept_ids = current.dept_ids or (current.def_dept_id or ROOT_DEPT_ID,)
    if fields["def_dept_id"] is None or fields["def_dept_id"] == "":
        fields["def_dept_id"] = current.def_dept_id if current.def_dept_id in dept_ids else dept_ids[0]
    return NewUser(
        id=current.id,
        dept_ids=dept_ids,
        status=current.status.value,
        leader_of=tuple(m.dept_id for m in current.memberships if m.is_leader),
        ctime=current.ctime,
        **fields,
    )


def _check_unique_update(tx: WriteTx, current: User, cleaned: User) -> None:
    changed = {
        col: v
        for col in UNIQUE_USER_FIELDS
        if (v := getattr(cleaned, col)) is not None and v != getattr(current, col)
    }
    for col, holder in tx.users.find_unique_conflicts(current.tenant_id, changed, exclude_user_id=current.id):
        raise errors.Conflict(
            f"{col}: {changed[col]!r} is already used by user {holder!r}",
            field=col,
            entity=errors.Entity.USER,
            item_field=(errors.Entity.USER, col),
        )


#: How far up a reporting line is followed when looking for a cycle.
_LEADER_CHAIN_MAX = 10_000


def _check_leader(tx: WriteTx, tenant_id: str, user_id: str, leader_id: str, *, field: str) -> None:
    if leader_id == user_id:
        raise errors.InvalidValue(f"{field}: a user cannot be their own leader", field=field)
    if not tx.users.existing_ids(tenant_id, [leader_id]):
        raise errors.BrokenReference(
            f"{field}: user {leader_id!r} does not exist", field=field, entity=errors.Entity.USER
        )
    step = leader_id
    for _ in range(_LEADER_CHAIN_MAX):
        above = tx.users.leader_of(tenant_id, step)
        if above is None:
            return
        step = above
        if step == user_id:
            raise errors.RuleViolation(
                f"{field}: {leader_id!r} reports (directly or not) to {user_id!r}; "
                "a reporting line cannot loop",
                field=field,
            )


def delete(d: Directory, *, tenant_id: str, user_id: str, reason: LeaveReason = LeaveReason.UNKNOWN) -> None:
    """Delete a user with their memberships and custom attribute values.

    Whatever pointed at the user is cleared in the same transaction: other
    users' ``leader_id`` and relation_user attribute values naming them. Someone who had not left
    yet gets a row in the leave log, for ``reason`` (``oapi``: an API call; ``delete``: an admin).
    """
    with d.writer() as tx:
        last = tx.users.get_users(tenant_id, [user_id]).get(user_id)
        if last is None:
            raise errors.NotFound(
                f"user_id: user {user_id!r} does not exist", field="user_id", entity=errors.Entity.USER
            )
        reports = tx.users.clear_leader(tenant_id, user_id, mtime=d.clock.now_int())
        for uid in reports:
            tx.changed(tenant_id, "user", uid)
        for report in tx.users.get_users(tenant_id, reports).values():
            # Only leader_id changed, and it is not part of ``before``: the state read now is the one before.
            before = replace(report, leader_id=user_id)
            recording.user_updated(tx, tenant_id, before, report)
        relation_attrs = [
            a.id for a in tx.attrs.list_definitions(tenant_id) if a.value_type is ValueType.RELATION_USER
        ]
        holders = tx.attrs.delete_matching_values(tenant_id, relation_attrs, [user_id])
        for uid in holders:
            tx.changed(tenant_id, "attrvals", uid)
        recording.attribute_values(tx, tenant_id, {uid: relation_attrs for uid in holders if uid != user_id})
        tx.users.delete_user(tenant_id, user_id)
        if last.status is not UserStatus.DIMISSION:
            tx.dismissions.append_leave(tenant_id, leave_entry(last, reason, d.now_ms()))
        recording.user_deleted(tx, tenant_id, last)
        tx.changed(tenant_id, "user", user_id)
        tx.changed(tenant_id, "attrvals", user_id)
