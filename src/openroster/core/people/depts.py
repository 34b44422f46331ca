"""Department services: the tree, rooted at department 1."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from openroster.core import recording, validate
from openroster.core.directory import Directory, Reader
from openroster.core.runtime import limits
from openroster.core.runtime.paging import Page, Position, expect
from openroster.model.entities import ALL_STATUSES, Department, Membership, User, UserStatus, ValueType
from openroster.model.errors import (
    BrokenReference,
    Conflict,
    Entity,
    InvalidValue,
    MissingField,
    NotFound,
    RuleViolation,
)
from openroster.store import WriteTx


@dataclass(frozen=True, slots=True)
class NewDepartment:
    name: str
    parent_id: int
    order: int | None = None
    ex_dept_id: str | None = None
    #: An explicit id (seeds, imports); allocated when absent.
    id: int | None = None


def clean_name(name: str | None, *, field: str = "name") -> str:
    value = validate.text(name, field=field, max_len=limits.NAME_MAX, required=True)
    assert value is not None
    if "/" in value:
        raise InvalidValue(f"{field} may not contain '/' (it separates the levels of abs_path)", field=field)
    return value


def create(
    d: Directory, *, tenant_id: str, item: NewDepartment, leaders: Sequence[Leader] = ()
) -> Department:
    """Create a department (and, with ``leaders``, make those users its leaders), all or nothing."""
    with d.writer() as tx:
        dept = create_in(tx, d, tenant_id=tenant_id, item=item)
        if leaders:
            set_leaders_in(tx, d, tenant_id=tenant_id, dept_id=dept.id, leaders=leaders)
        return dept


def _lock_and_get(tx: WriteTx, tenant_id: str, dept_id: int) -> Department:
    """Lock the tenant's department tree, then read ``dept_id`` (refused when it does not exist)."""
    tx.depts.lock_tree(tenant_id)
    current = tx.depts.get_depts(tenant_id, [dept_id]).get(dept_id)
    if current is None:
        raise NotFound(
            f"dept_id: department {dept_id} does not exist", field="dept_id", entity=Entity.DEPARTMENT
        )
    return current


def _conflict(field: str, what: str) -> Conflict:
    return Conflict(f"{field}: {what}", field=field, entity=Entity.DEPARTMENT)


def _check_name_free(
    tx: WriteTx, tenant_id: str, parent_id: int, name: str, *, field: str, renamed: int | None = None
) -> None:
    """Refuse a second child of ``parent_id`` named ``name`` (``renamed``: the department being renamed)."""
    clash = tx.depts.find_child_by_name(tenant_id, parent_id, name)
    if clash is not None and clash.id != renamed:
        raise _conflict(field, f"department {parent_id} already has a child named {name!r}")


def create_in(
    tx: WriteTx, d: Directory, *, tenant_id: str, item: NewDepartment, field: str = ""
) -> Department:
    """Create one department inside an open write transaction."""
    prefix = f"{field}." if field else ""
    tx.depts.lock_tree(tenant_id)
    name = clean_name(item.name, field=f"{prefix}name")
    ex_id = validate.text(item.ex_dept_id, field=f"{prefix}ex_dept_id", max_len=128)
    parent = tx.depts.get_depts(tenant_id, [item.parent_id]).get(item.parent_id)
    if parent is None:
        raise NotFound(
            f"{prefix}parent_id: department {item.parent_id} does not exist",
            field=f"{prefix}parent_id",
            entity=Entity.DEPARTMENT,
        )
    if parent.abs_path.count("/") >= limits.DEPT_DEPTH_MAX:
        raise RuleViolation(
            f"{prefix}parent_id: the tree may be at most {limits.DEPT_DEPTH_MAX} levels deep",
            field=f"{prefix}parent_id",
        )
    _check_name_free(tx, tenant_id, parent.id, name, field=f"{prefix}name")
    if ex_id is not None and tx.depts.find_by_ex_ids(tenant_id, [ex_id]):
        raise _conflict(f"{prefix}ex_dept_id", f"{ex_id!r} is already used by another department")
    order = (
        validate.order(item.order, field=f"{prefix}order")
        if item.order is not None
        else tx.depts.max_child_order(tenant_id, parent.id) + 1
    )
    if item.id is not None:
        new_id = item.id
        if tx.depts.get_depts(tenant_id, [new_id]):
            raise _conflict(f"{prefix}id", f"department {new_id} already exists")
        tx.tenants.reserve_dept_id(tenant_id, new_id)
    else:
        new_id = tx.tenants.allocate_dept_ids(tenant_id)
    dept = Department(
        tenant_id=tenant_id,
        id=new_id,
        parent_id=parent.id,
        name=name,
        order=order,
        ex_dept_id=ex_id,
        abs_path=f"{parent.abs_path}/{name}",
        ctime=d.clock.now_int(),
    )
    tx.depts.insert_depts([dept])
    tx.changed(tenant_id, "dept", new_id)
    recording.depts_created(tx, tenant_id, [dept])
    return dept


def ensure_path(tx: WriteTx, d: Directory, *, tenant_id: str, names: Sequence[str]) -> Department:
    """The department at ``root/names[0]/names[1]/...``, creating missing levels."""
    current = tx.depts.get_depts(tenant_id, [1])[1]
    for name in names:
        child = tx.depts.find_child_by_name(tenant_id, current.id, name)
        if child is None:
            child = create_in(tx, d, tenant_id=tenant_id, item=NewDepartment(name=name, parent_id=current.id))
        current = child
    return current


def get_many(r: Reader, *, tenant_id: str, dept_ids: Sequence[int]) -> dict[int, Department]:
    return r.depts(tenant_id, list(dept_ids))


def list_all(d: Directory, *, tenant_id: str) -> list[Department]:
    with d.reader() as r:
        return r.tx.depts.list_all(tenant_id)


# -- reads --------------------------------------------------------------------------


def every(r: Reader, *, tenant_id: str) -> list[Department]:
    """Every department of the tenant, by id."""
    return r.tx.depts.list_all(tenant_id)


def direct_member_ids(r: Reader, *, tenant_id: str, dept_id: int, batch: int = 1000) -> list[str]:
    """The ids of everyone who belongs to ``dept_id`` itself, whatever their status, by id."""
    statuses = sorted(ALL_STATUSES)
    ids: list[str] = []
    while True:
        page = r.tx.users.member_page_ids(
            tenant_id,
            dept_id,
            recursive=False,
            statuses=statuses,
            after=ids[-1] if ids else None,
            limit=batch,
        )
        ids += page
        if len(page) < batch:
            return ids


def get(r: Reader, *, tenant_id: str, dept_id: int, field: str = "dept_id") -> Department:
    """One department; NotFound naming ``field`` when the tenant has no such department."""
    found = r.depts(tenant_id, [dept_id]).get(dept_id)
    if found is None:
        raise NotFound(f"{field}: department {dept_id} does not exist", field=field, entity=Entity.DEPARTMENT)
    return found


def batch_read(r: Reader, *, tenant_id: str, dept_ids: Sequence[int]) -> list[Department]:
    """The departments among ``dept_ids`` (in that order, once each); unknown ids are absent."""
    validate.count(dept_ids, field="dept_ids", limit=limits.DEPT_BATCH_READ_MAX, what="department")
    unique = list(dict.fromkeys(dept_ids))
    found = r.depts(tenant_id, unique)
    return [found[i] for i in unique if i in found]


def by_ex_ids(r: Reader, *, tenant_id: str, ex_dept_ids: Sequence[str]) -> list[Department]:
    """The departments whose ex_dept_id is listed (in that order, once each)."""
    validate.count(ex_dept_ids, field="ex_dept_ids", limit=limits.DEPT_BATCH_READ_MAX, what="department")
    unique = list(dict.fromkeys(ex_dept_ids))
    found = r.tx.depts.find_by_ex_ids(tenant_id, unique)
    fresh = r.depts(tenant_id, [d.id for d in found.values()])
    return [fresh[d.id] for x in unique if (d := found.get(x)) is not None and d.id in fresh]


def leaders(r: Reader, *, tenant_id: str, dept_ids: Iterable[int]) -> dict[int, list[tuple[str, int]]]:
    """``{dept id: [(user id, order), ...]}``: each department's leaders, by order."""
    return r.tx.users.dept_leaders(tenant_id, dept_ids)


def children_page(
    r: Reader,
    *,
    tenant_id: str,
    dept_id: int,
    recursive: bool,
    size: int,
    after: Position | None,
    with_total: bool = False,
) -> Page[Department]:
    """One page of a department's children (by order, then id).

    ``recursive``: of every department below it, by id.
    """
    get(r, tenant_id=tenant_id, dept_id=dept_id)
    keys: list[Position]
    if recursive:
        start = expect(after, (int,))
        ids = r.tx.depts.descendant_page_ids(
            tenant_id, dept_id, after=start[0] if start else None, limit=size + 1
        )
        keys = [(i,) for i in ids]
    else:
        start = expect(after, (int, int))
        pairs = r.tx.depts.child_page_ids(
            tenant_id, dept_id, after=(start[0], start[1]) if start else None, limit=size + 1
        )
        ids = [p[1] for p in pairs]
        keys = [tuple(p) for p in pairs]
    more = len(ids) > size
    found = r.depts(tenant_id, ids[:size])
    total = r.tx.depts.count_children(tenant_id, dept_id, recursive=recursive) if with_total else None
    return Page([found[i] for i in ids[:size] if i in found], keys[size - 1] if more else None, total)


@dataclass(frozen=True, slots=True)
class Member:
    """A user's membership of the department a member list was asked for."""

    user: User
    dept_id: int
    is_leader: bool
    order: int


def members_page(
    r: Reader,
    *,
    tenant_id: str,
    dept_id: int,
    recursive: bool,
    statuses: Collection[UserStatus],
    size: int,
    after: Position | None,
    with_total: bool = False,
) -> Page[Member]:
    """One page of a department's members (recursive: of it and every department below), by user id.

    A user who belongs to several departments of the subtree is listed once,
    with their membership of ``dept_id`` if they have one, else of the
    lowest-numbered department of the subtree they belong to.
    """
    get(r, tenant_id=tenant_id, dept_id=dept_id)
    start = expect(after, (str,))
    wanted = [s.value for s in statuses]
    ids = r.tx.users.member_page_ids(
        tenant_id,
        dept_id,
        recursive=recursive,
        statuses=wanted,
        after=start[0] if start else None,
        limit=size + 1,
    )
    more = len(ids) > size
    ids = ids[:size]
    found = r.users(tenant_id, ids)
    subtree: set[int] | None = None
    if recursive:
        subtree = r.tx.depts.subtree_id_set(tenant_id, dept_id)
    items: list[Member] = []
    for uid in ids:
        u = found.get(uid)
        if u is None:
            continue
        m = _membership_in(u, dept_id, subtree)
        if m is not None:
            items.append(Member(user=u, dept_id=m.dept_id, is_leader=m.is_leader, order=m.order))
    total = (
        r.tx.users.count_members(tenant_id, dept_id, recursive=recursive, statuses=wanted)
        if with_total
        else None
    )
    return Page(items, (ids[-1],) if more and ids else None, total)


def subtree_ids(r: Reader, *, tenant_id: str, dept_id: int) -> set[int]:
    """The ids of ``dept_id`` and of every department below it."""
    return set(r.tx.depts.subtree_id_set(tenant_id, dept_id))


def _membership_in(u: User, dept_id: int, subtree: set[int] | None) -> Membership | None:
    direct = next((m for m in u.memberships if m.dept_id == dept_id), None)
    if direct is not None or subtree is None:
        return direct
    inside = sorted((m for m in u.memberships if m.dept_id in subtree), key=lambda m: m.dept_id)
    return inside[0] if inside else None


def members_batch_read(
    r: Reader, *, tenant_id: str, dept_id: int, user_ids: Sequence[str], statuses: Collection[UserStatus]
) -> list[Member]:
    """The listed users who are members of ``dept_id`` with a status in ``statuses`` (in order, once each)."""
    get(r, tenant_id=tenant_id, dept_id=dept_id)
    validate.count(user_ids, field="user_ids", limit=limits.DEPT_BATCH_READ_MAX, what="user")
    unique = list(dict.fromkeys(user_ids))
    found = r.users(tenant_id, unique)
    out: list[Member] = []
    for uid in unique:
        u = found.get(uid)
        if u is None or u.status not in statuses:
            continue
        m = _membership_in(u, dept_id, None)
        if m is not None:
            out.append(Member(user=u, dept_id=dept_id, is_leader=m.is_leader, order=m.order))
    return out


# -- writes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leader:
    user_id: str
    order: int


def set_leaders_in(
    tx: WriteTx,
    d: Directory,
    *,
    tenant_id: str,
    dept_id: int,
    leaders: Sequence[Leader],
    field: str = "leaders",
) -> bool:
    """Make ``leaders`` the department's leaders, in a transaction the caller holds; whether they changed.

    A leader who is not yet a member becomes one. A leader's ``order`` is their
    order within the department (the value ``users/batch_update_order`` sets).
    Former leaders stay members without the leader flag.
    """
    validate.count(leaders, field=field, limit=limits.DEPT_LEADERS_MAX, what="leader", required=False)
    wanted: dict[str, int] = {}
    for i, leader in enumerate(leaders):
        p = f"{field}[{i}]"
        if not leader.user_id:
            raise MissingField(f"{p}.user_id is required", field=f"{p}.user_id")
        if leader.user_id in wanted:
            raise InvalidValue(f"{p}.user_id: user {leader.user_id!r} is listed twice", field=f"{p}.user_id")
        wanted[leader.user_id] = validate.order(leader.order, field=f"{p}.order")
    former_pairs = tx.users.dept_leaders(tenant_id, [dept_id]).get(dept_id, [])
    former = [uid for uid, _ in former_pairs]
    found = tx.users.get_users(tenant_id, [*wanted, *former])
    for i, leader in enumerate(leaders):
        if leader.user_id not in found:
            p = f"{field}[{i}].user_id"
            raise BrokenReference(f"{p}: user {leader.user_id!r} does not exist", field=p, entity=Entity.USER)
    now = d.clock.now_int()
    for uid in dict.fromkeys([*wanted, *former]):
        u = found[uid]
        ms = [m for m in u.memberships if m.dept_id != dept_id]
        mine = next((m for m in u.memberships if m.dept_id == dept_id), None)
        if uid in wanted:
            if mine is None and len(u.memberships) >= limits.USER_DEPTS_MAX:
                i = list(wanted).index(uid)
                raise RuleViolation(
                    f"{field}[{i}].user_id: user {uid!r} already belongs to {limits.USER_DEPTS_MAX} "
                    "departments, the limit",
                    field=f"{field}[{i}].user_id",
                )
            ms.append(Membership(dept_id=dept_id, is_leader=True, order=wanted[uid]))
        elif mine is not None:
            ms.append(replace(mine, is_leader=False))
        if mine is not None and mine == ms[-1]:
            continue
        user = replace(u, memberships=tuple(ms), mtime=now)
        tx.users.replace_memberships(user)
        tx.users.update_user(user)
        tx.changed(tenant_id, "user", uid)
        recording.user_updated(tx, tenant_id, u, user)
    return sorted(former_pairs) != sorted(wanted.items())


@dataclass(frozen=True, slots=True)
class DeptChanges:
    """What to change in a department; a field left at None stays as it is."""

    name: str | None = None
    parent_id: int | None = None
    order: int | None = None
    #: ``""`` clears the ex_dept_id.
    ex_dept_id: str | None = None
    leaders: tuple[Leader, ...] | None = None


def update(d: Directory, *, tenant_id: str, dept_id: int, changes: DeptChanges) -> Department:
    """Rename, move, reorder a department or change its ex_dept_id and leaders (all or nothing).

    A move under the department itself or one of its descendants is refused,
    as is one that would make the tree deeper than ``limits.DEPT_DEPTH_MAX``.
    A rename or move rewrites the ``abs_path`` of the whole subtree.
    """
    with d.writer() as tx:
        current = _lock_and_get(tx, tenant_id, dept_id)
        name = clean_name(changes.name) if changes.name is not None else current.name
        parent_id = current.parent_id
        if changes.parent_id is not None and changes.parent_id != current.parent_id:
            if current.parent_id is None:
                raise RuleViolation("parent_id: the root department cannot be moved", field="parent_id")
            parent_id = changes.parent_id
        parent = None
        if parent_id is not None:
            parent = tx.depts.get_depts(tenant_id, [parent_id]).get(parent_id)
            if parent is None:
                raise NotFound(
                    f"parent_id: department {parent_id} does not exist",
                    field="parent_id",
                    entity=Entity.DEPARTMENT,
                )
        subtree = tx.depts.descendants(tenant_id, dept_id)
        if parent_id != current.parent_id and parent is not None:
            if parent.id == dept_id or any(x.id == parent.id for x in subtree):
                raise RuleViolation(
                    f"parent_id: department {parent.id} is department {dept_id} or lies below it; "
                    "a department cannot move under itself or its own descendant",
                    field="parent_id",
                )
            depth_below = max((x.abs_path.count("/") for x in subtree), default=current.abs_path.count("/"))
            depth_below -= current.abs_path.count("/")
            if parent.abs_path.count("/") + 1 + depth_below > limits.DEPT_DEPTH_MAX:
                raise RuleViolation(
                    f"parent_id: the move would make the tree deeper than {limits.DEPT_DEPTH_MAX} levels",
                    field="parent_id",
                )
        if (name != current.name or parent_id != current.parent_id) and parent is not None:
            _check_name_free(tx, tenant_id, parent.id, name, field="name", renamed=dept_id)
        ex_id = current.ex_dept_id
        if changes.ex_dept_id is not None:
            ex_id = validate.text(changes.ex_dept_id, field="ex_dept_id", max_len=128)
            if ex_id is not None and ex_id != current.ex_dept_id:
                taken = tx.depts.find_by_ex_ids(tenant_id, [ex_id]).get(ex_id)
                if taken is not None:
                    raise _conflict("ex_dept_id", f"{ex_id!r} is already used by department {taken.id}")
        order = current.order
        if changes.order is not None:
            order = validate.order(changes.order, field="order")
        abs_path = f"{parent.abs_path}/{name}" if parent is not None else f"/{name}"
        updated = replace(
            current, name=name, parent_id=parent_id, order=order, ex_dept_id=ex_id, abs_path=abs_path
        )
        tx.depts.update_dept(updated)
        tx.changed(tenant_id, "dept", dept_id)
        former = [uid for uid, _ in tx.users.dept_leaders(tenant_id, [dept_id]).get(dept_id, [])]
        if abs_path != current.abs_path:
            old_prefix = current.abs_path + "/"
            for x in subtree:
                moved = replace(x, abs_path=abs_path + "/" + x.abs_path[len(old_prefix) :])
                tx.depts.update_dept(moved)
                tx.changed(tenant_id, "dept", x.id)
        led = changes.leaders is not None and set_leaders_in(
            tx, d, tenant_id=tenant_id, dept_id=dept_id, leaders=changes.leaders
        )
        recording.dept_updated(tx, tenant_id, current, updated, former, leaders_changed=led)
        return updated


def delete(d: Directory, *, tenant_id: str, dept_id: int) -> None:
    """Delete an empty department (no members, no children); relation_depts values drop it."""
    with d.writer() as tx:
        current = _lock_and_get(tx, tenant_id, dept_id)
        if current.parent_id is None:
            raise RuleViolation("dept_id: the root department cannot be deleted", field="dept_id")
        children = tx.depts.count_children(tenant_id, dept_id, recursive=False)
        members = tx.depts.count_members(tenant_id, dept_id)
        if children or members:
            raise RuleViolation(
                f"dept_id: department {dept_id} is not empty ({children} child department(s), "
                f"{members} member(s)); move or delete them first",
                field="dept_id",
            )
        relation_attrs = [
            a.id for a in tx.attrs.list_definitions(tenant_id) if a.value_type is ValueType.RELATION_DEPTS
        ]
        holders = tx.attrs.remove_dept_from_values(tenant_id, relation_attrs, dept_id)
        for uid in holders:
            tx.changed(tenant_id, "attrvals", uid)
        recording.attribute_values(tx, tenant_id, {uid: relation_attrs for uid in holders})
        tx.depts.delete_dept(tenant_id, dept_id)
        tx.changed(tenant_id, "dept", dept_id)
        recording.dept_deleted(tx, tenant_id, current, [])  # an empty department has no leaders
