"""Core's change records: what a service write tells the event engine (docs/events.md).

Every service write that changes an entity records one :class:`ChangeRecord` per entity in the
same transaction (``WriteTx.record``); an entity written back as it was records nothing. The
neutral ``before`` of a user and of a department are made here, once, for every service.

openroster has no alias name: a user's ``before`` leaves ``alias_name`` out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields as dataclass_fields

from openroster.model.changes import ChangeRecord, EntityKind, Operation
from openroster.model.entities import Department, User
from openroster.store import WriteTx

#: The user fields compared for a user update (the memberships are a membership record's).
_USER_FIELDS = tuple(
    f.name
    for f in dataclass_fields(User)
    if f.name not in {"tenant_id", "id", "mtime", "memberships", "memo", "serial"}
)
#: The user fields whose new value a record carries (``after``): they decide DingTalk's event
#: (a dismissal is ``user_leave_org``, an activation ``user_active_org``, an admin role
#: ``org_admin_add`` / ``org_admin_remove``).
_USER_AFTER = ("status", "role")
#: The department fields compared for a department update (``abs_path`` follows name and parent).
_DEPT_FIELDS = ("name", "parent_id", "order", "ex_dept_id")


def user_before(u: User) -> dict[str, object]:
    """A user's state as a record's ``before`` holds it (the renderers' ``src``), plus its status."""
    return {
        "user_name": u.user_name,
        "dept_ids": list(u.dept_ids),
        "role": u.role.value,
        "email": u.email,
        "phone": u.phone,
        "avatar": u.avatar,
        "status": u.status.value,
    }


def dept_before(dept: Department, leader_ids: Sequence[str]) -> dict[str, object]:
    """A department's state as a record's ``before`` holds it."""
    return {"name": dept.name, "parent_id": dept.parent_id, "leader_ids": list(leader_ids)}


def user_fields_changed(before: User, after: User) -> tuple[str, ...]:
    """The user fields (not the memberships) whose values differ."""
    return tuple(n for n in _USER_FIELDS if getattr(before, n) != getattr(after, n))


def membership_fields_changed(before: User, after: User) -> tuple[str, ...]:
    """What changed in a user's memberships: ``dept_ids``, ``leader_of``, ``order``."""
    if before.memberships == after.memberships:
        return ()
    out: list[str] = []
    if before.dept_ids != after.dept_ids:
        out.append("dept_ids")
    leads = [tuple(m.dept_id for m in u.memberships if m.is_leader) for u in (before, after)]
    if leads[0] != leads[1]:
        out.append("leader_of")
    orders = [{m.dept_id: m.order for m in u.memberships} for u in (before, after)]
    if any(orders[0].get(k) != v for k, v in orders[1].items() if k in orders[0]):
        out.append("order")
    return tuple(out) or ("dept_ids",)


def _record(
    tx: WriteTx,
    tenant_id: str,
    kind: EntityKind,
    op: Operation,
    entity_id: str | int,
    fields: Sequence[str] = (),
    before: Mapping[str, object] | None = None,
    after: Mapping[str, object] | None = None,
) -> None:
    # Made with the job's actor already (``tx.record`` would copy the record to add it).
    tx.record(ChangeRecord(tenant_id, kind, op, str(entity_id), tuple(fields), before, tx.actor, after))


def users_created(tx: WriteTx, tenant_id: str, user_ids: Iterable[str]) -> None:
    """One create per new user (nothing at all in a quiet transaction: seeds, demo data)."""
    if not tx.quiet:
        for uid in user_ids:
            tx.record(ChangeRecord(tenant_id, EntityKind.USER, Operation.CREATE, uid))


def user_deleted(tx: WriteTx, tenant_id: str, last: User) -> None:
    _record(tx, tenant_id, EntityKind.USER, Operation.DELETE, last.id, (), user_before(last))


def user_updated(tx: WriteTx, tenant_id: str, before: User, after: User) -> None:
    """A user update for the changed fields, and a membership record if the memberships changed;
    nothing when nothing changed."""
    changed = user_fields_changed(before, after)
    if changed:
        now = user_before(after)
        new = {n: now[n] for n in _USER_AFTER if n in changed} or None
        _record(tx, tenant_id, EntityKind.USER, Operation.UPDATE, after.id, changed, user_before(before), new)
    moved = membership_fields_changed(before, after)
    if moved:
        _record(tx, tenant_id, EntityKind.MEMBERSHIP, Operation.UPDATE, after.id, moved, user_before(before))


def depts_created(tx: WriteTx, tenant_id: str, created: Iterable[Department]) -> None:
    for dept in created:
        _record(tx, tenant_id, EntityKind.DEPARTMENT, Operation.CREATE, dept.id)


def dept_updated(
    tx: WriteTx,
    tenant_id: str,
    before: Department,
    after: Department,
    leader_ids: Sequence[str],
    *,
    leaders_changed: bool = False,
) -> None:
    """A department update for the changed fields (nothing when none changed); ``leader_ids`` are
    the leaders before the change."""
    changed = tuple(n for n in _DEPT_FIELDS if getattr(before, n) != getattr(after, n))
    changed += ("leader_ids",) if leaders_changed else ()
    if changed:
        before_state = dept_before(before, leader_ids)
        _record(tx, tenant_id, EntityKind.DEPARTMENT, Operation.UPDATE, after.id, changed, before_state)


def dept_deleted(tx: WriteTx, tenant_id: str, last: Department, leader_ids: Sequence[str]) -> None:
    _record(
        tx, tenant_id, EntityKind.DEPARTMENT, Operation.DELETE, last.id, (), dept_before(last, leader_ids)
    )


def attribute_definitions(tx: WriteTx, tenant_id: str, op: Operation, attr_ids: Iterable[str]) -> None:
    for attr_id in attr_ids:
        _record(tx, tenant_id, EntityKind.ATTRIBUTE_DEFINITION, op, attr_id)


def attribute_values(tx: WriteTx, tenant_id: str, changed: Mapping[str, Sequence[str]]) -> None:
    """One record per user whose values changed: ``{user id: the attribute ids changed}``."""
    for uid, attr_ids in changed.items():
        if attr_ids:
            _record(tx, tenant_id, EntityKind.ATTRIBUTE_VALUE, Operation.UPDATE, uid, sorted(set(attr_ids)))


def app_scopes_changed(tx: WriteTx, tenant_id: str, client_id: str, before: Iterable[str]) -> None:
    """An app's scopes changed (WPS's ``kso.contact.permission_setting``); ``before`` the old ones."""
    _record(
        tx,
        tenant_id,
        EntityKind.APP_SCOPES,
        Operation.UPDATE,
        client_id,
        ("scopes",),
        {"scopes": sorted(before)},
    )


def roster_changed(tx: WriteTx, tenant_id: str, user_id: str, field_codes: Sequence[str]) -> None:
    _record(tx, tenant_id, EntityKind.ROSTER_RECORD, Operation.UPDATE, user_id, field_codes)
