"""Writes to many users at once, all or none: status, departments, order within a department."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from openroster.core import recording, validate
from openroster.core.directory import Directory
from openroster.core.runtime import limits
from openroster.model.entities import (
    Membership,
    User,
    UserStatus,
)
from openroster.model.errors import (
    BrokenReference,
    CoreError,
    Entity,
    InvalidValue,
    NotFound,
    RuleViolation,
)
from openroster.store import WriteTx


def _batch_ids(user_ids: Sequence[str], *, field: str) -> list[str]:
    validate.count(user_ids, field=field, limit=limits.USER_BATCH_WRITE_MAX, what="user")
    return list(dict.fromkeys(user_ids))


def _require_users(
    tx: WriteTx, tenant_id: str, user_ids: Sequence[str], *, field: str, item_field: str = ""
) -> dict[str, User]:
    """The users, or NotFound naming ``{field}[i]{item_field}`` of the first missing one."""
    found = tx.users.get_users(tenant_id, user_ids)
    for i, uid in enumerate(user_ids):
        if uid not in found:
            where = f"{field}[{i}]{item_field}"
            raise NotFound(f"{where}: user {uid!r} does not exist", field=where, entity=Entity.USER)
    return found


def set_status(
    d: Directory, *, tenant_id: str, user_ids: Sequence[str], status: UserStatus, field: str = "user_ids"
) -> list[str]:
    """Give every listed user ``status`` (all or none); the distinct ids, in order."""
    _batch_ids(user_ids, field=field)
    with d.writer() as tx:
        return set_status_in(tx, d, tenant_id=tenant_id, user_ids=user_ids, status=status, field=field)


def set_status_in(
    tx: WriteTx,
    d: Directory,
    *,
    tenant_id: str,
    user_ids: Sequence[str],
    status: UserStatus,
    field: str = "user_ids",
) -> list[str]:
    """:func:`set_status` inside a write transaction the caller holds (no batch-size limit)."""
    ids = list(dict.fromkeys(user_ids))
    found = _require_users(tx, tenant_id, list(user_ids), field=field)
    tx.users.set_status(tenant_id, ids, status.value, mtime=d.clock.now_int())
    for uid in ids:
        tx.changed(tenant_id, "user", uid)
        recording.user_updated(tx, tenant_id, found[uid], replace(found[uid], status=status))
    return ids


@dataclass(frozen=True, slots=True)
class DeptAssignment:
    """A user's new set of departments (and optionally main department)."""

    user_id: str
    dept_ids: tuple[int, ...]
    def_dept_id: int | None = None
    #: The departments the user leads (each one of ``dept_ids``); None: the flags kept as they are.
    leader_of: tuple[int, ...] | None = None


def update_depts(
    d: Directory, *, tenant_id: str, items: Sequence[DeptAssignment], field: str = "items"
) -> list[User]:
    """Replace the departments of several users, all or none.

    A department a user keeps keeps its leader flag and order; a new one starts
    as a plain membership with order 0. ``def_dept_id``, when given, must be one
    of the new departments; when absent the current main department stays if
    the user keeps it, else the first of ``dept_ids`` becomes the main one.
    """
    _batch_ids([i.user_id for i in items], field=field)
    with d.writer() as tx:
        return update_depts_in(tx, d, tenant_id=tenant_id, items=items, field=field)


def _with_leadership(
    memberships: tuple[Membership, ...], leader_of: tuple[int, ...], *, field: str, index: int
) -> tuple[Membership, ...]:
    """``memberships`` with the leader flag on exactly the departments of ``leader_of``."""
    held = {m.dept_id for m in memberships}
    for x in leader_of:
        if x not in held:
            raise InvalidValue(f"{field}: {x} is not one of the user's departments", field=field, index=index)
    return tuple(replace(m, is_leader=m.dept_id in leader_of) for m in memberships)


def update_depts_in(
    tx: WriteTx, d: Directory, *, tenant_id: str, items: Sequence[DeptAssignment], field: str = "items"
) -> list[User]:
    """:func:`update_depts` inside a write transaction the caller holds (no batch-size limit)."""
    found = _require_users(
        tx,
        tenant_id,
        [i.user_id for i in items],
        field=field,
        item_field=".user_id" if field == "items" else "",
    )
    return _assign(tx, d, tenant_id, found, items, field)


def change_members_in(
    tx: WriteTx,
    d: Directory,
    *,
    tenant_id: str,
    dept_id: int,
    added: Sequence[str],
    removed: Sequence[str],
    field: str = "members",
) -> list[User]:
    """Add the people ``added`` to department ``dept_id`` and take the people ``removed`` out of it,
    all or none, inside a write transaction the caller holds: one read of everyone named, then
    :func:`update_depts_in`'s set-based write (any number of people; a person already where they
    are asked to be is left alone). The people are numbered ``added`` first, then ``removed``: one
    that does not exist is a :class:`BrokenReference` at that index (``field[i]``), one the removal
    would leave in no department a :class:`RuleViolation` at that index."""
    named = [*added, *removed]
    found = tx.users.get_users(tenant_id, named)
    for i, uid in enumerate(named):
        if uid not in found:
            where = f"{field}[{i}]"
            raise BrokenReference(
                f"{where}: user {uid!r} does not exist", field=where, entity=Entity.USER, index=i
            )
    items: list[DeptAssignment] = []
    for i, uid in enumerate(removed, len(added)):
        current = found[uid].dept_ids
        rest = tuple(x for x in current if x != dept_id)
        if not rest:
            raise RuleViolation(
                f"{field}[{i}]: removing user {uid!r} from department {dept_id} would leave them in none",
                field=f"{field}[{i}]",
                index=i,
            )
        if rest != current:
            items.append(DeptAssignment(uid, rest))
    items += [
        DeptAssignment(u, (*found[u].dept_ids, dept_id)) for u in added if dept_id not in found[u].dept_ids
    ]
    return _assign(tx, d, tenant_id, found, items, field)


def _assign(
    tx: WriteTx,
    d: Directory,
    tenant_id: str,
    found: Mapping[str, User],
    items: Sequence[DeptAssignment],
    field: str,
) -> list[User]:
    """Give each item's user (read, as stored, in ``found``) its departments, checked first, then
    written set-based with one change record each."""
    known = tx.depts.get_depts(tenant_id, {x for i in items for x in i.dept_ids})
    now = d.clock.now_int()
    seen: set[str] = set()
    out: list[User] = []
    flips: list[tuple[int, list[str]]] = []  # a department whose leaders change, its leaders before
    for i, item in enumerate(items):
        p = f"{field}[{i}]"
        if item.user_id in seen:
            raise InvalidValue(
                f"{p}.user_id: user {item.user_id!r} appears twice in this batch", field=f"{p}.user_id"
            )
        seen.add(item.user_id)
        current = found[item.user_id]
        try:
            _check_dept_list(item.dept_ids, known, field=f"{p}.dept_ids")
        except CoreError as exc:
            raise exc.in_field(Entity.USER, "dept_ids").at_item(i) from None
        if item.def_dept_id is not None and item.def_dept_id not in item.dept_ids:
            raise InvalidValue(
                f"{p}.def_dept_id: {item.def_dept_id} is not one of the user's departments",
                field=f"{p}.def_dept_id",
                index=i,
                item_field=(Entity.USER, "def_dept_id"),
            )
        keep = {m.dept_id: m for m in current.memberships}
        memberships = tuple(
            keep.get(x) or Membership(dept_id=x, is_leader=False, order=0) for x in item.dept_ids
        )
        flipped: list[int] = []
        if item.leader_of is not None:
            memberships = _with_leadership(memberships, item.leader_of, field=f"{p}.leader_of", index=i)
            led = {m.dept_id for m in current.memberships if m.is_leader}
            flipped = sorted((led ^ {m.dept_id for m in memberships if m.is_leader}) & set(item.dept_ids))
        formers = tx.users.dept_leaders(tenant_id, flipped) if flipped else {}
        flips += [(x, [uid for uid, _ in formers.get(x, [])]) for x in flipped]
        def_dept = item.def_dept_id
        if def_dept is None:
            def_dept = current.def_dept_id if current.def_dept_id in item.dept_ids else item.dept_ids[0]
        out.append(replace(current, memberships=memberships, def_dept_id=def_dept, mtime=now))
    befores = [found[u.id] for u in out]
    tx.users.move_members(tenant_id, befores, out)  # set-based: three statements for everyone
    for before, user in zip(befores, out, strict=True):
        tx.changed(tenant_id, "user", user.id)
        recording.user_updated(tx, tenant_id, before, user)
    for x, former in flips:  # a department whose leaders changed, as depts.update records it
        recording.dept_updated(tx, tenant_id, known[x], known[x], former, leaders_changed=True)
    return out


def _check_dept_list(dept_ids: Sequence[int], known: Mapping[int, object], *, field: str) -> None:
    validate.count(dept_ids, field=field, limit=limits.USER_DEPTS_MAX, what="department")
    if len(set(dept_ids)) != len(dept_ids):
        raise InvalidValue(f"{field} lists a department twice", field=field)
    for j, x in enumerate(dept_ids):
        if x not in known:
            raise BrokenReference(
                f"{field}[{j}]: department {x} does not exist",
                field=f"{field}[{j}]",
                entity=Entity.DEPARTMENT,
            )


@dataclass(frozen=True, slots=True)
class MemberOrder:
    """A user's order within one of their departments."""

    user_id: str
    dept_id: int
    order: int


def update_orders(d: Directory, *, tenant_id: str, items: Sequence[MemberOrder]) -> None:
    """Set users' order within departments, all or none."""
    _batch_ids([i.user_id for i in items], field="user_order_list")
    with d.writer() as tx:
        found = _require_users(
            tx, tenant_id, [i.user_id for i in items], field="user_order_list", item_field=".user_id"
        )
        for i, item in enumerate(items):
            p = f"user_order_list[{i}]"
            validate.order(item.order, field=f"{p}.order")
            if item.dept_id not in found[item.user_id].dept_ids:
                raise RuleViolation(
                    f"{p}.dept_id: user {item.user_id!r} is not a member of department {item.dept_id}",
                    field=f"{p}.dept_id",
                )
        after = dict(found)
        for item in items:
            tx.users.set_member_order(tenant_id, item.user_id, item.dept_id, item.order)
            tx.changed(tenant_id, "user", item.user_id)
            u = after[item.user_id]
            ms = tuple(
                replace(m, order=item.order) if m.dept_id == item.dept_id else m for m in u.memberships
            )
            after[item.user_id] = replace(u, memberships=ms)
        for uid, u in after.items():
            recording.user_updated(tx, tenant_id, found[uid], u)
