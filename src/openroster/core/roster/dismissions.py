"""Dismissions (离职): a person leaves the company, now or after a notice period.

:func:`start` opens a pending dismission: the person's employment status (the roster's
``sys01-employeeStatus``) becomes ``leaving`` (5) and the record keeps the status held before;
:func:`revoke` takes it back; :func:`update_pending` edits it. :func:`terminate` lets a person go at
once: their account becomes ``dimission`` (out of the contacts, in the dismission list), the record
is ``done`` and the leave log gets a ``leave`` row; :func:`update_done` edits that record later.
Each is one write transaction, recorded like any user and roster write (the change records the
events channels read). The reasons named must be in the company's catalogue (:func:`reasons`; a
company without one has the platform's default list, :data:`DEFAULT_REASONS`).

Refusals name the caller's fields (:class:`Names`): a value that is wrong is ``InvalidValue`` /
``NotFound``; a person in the wrong state for the step is ``RuleViolation``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from openroster.core.directory import Directory, Reader, in_own_writer
from openroster.core.people import batch_writes
from openroster.core.roster import profile as roster_profile
from openroster.core.roster import writes as roster_writes
from openroster.model.dismissions import (
    DeptWhenLeaving,
    Dismission,
    DismissionReason,
    DismissionState,
    LeaveEntry,
    LeaveReason,
    ReasonKind,
    leave_entry,
)
from openroster.model.entities import Role, User, UserStatus
from openroster.model.errors import Entity, InvalidValue, NotFound, RuleViolation
from openroster.store import WriteTx

_STATUS = roster_profile.CORE_TO_ROSTER["employment_status"]
LEAVING = "leaving"
#: The employment status of a pre-hire in a record's ``pre_status`` (they have none of their own).
PRE_ENTRY = "pre_entry"
#: The most reasons of each kind one record names.
REASONS_MAX = 20
#: The longest memo kept.
MEMO_MAX = 2000


def _voluntary(i: int, name: str) -> DismissionReason:
    return DismissionReason(str(i), ReasonKind.VOLUNTARY, name, i)


def _passive(i: int, name: str) -> DismissionReason:
    return DismissionReason(str(i), ReasonKind.PASSIVE, name, i)


#: The platform's default reasons (inferred from its admin console), for a company without a
#: catalogue of its own. Ids are strings, as ``GetAllDismissionReasons`` answers them.
DEFAULT_REASONS: tuple[DismissionReason, ...] = (
    _voluntary(1, "家庭原因"),
    _voluntary(2, "个人原因"),
    _voluntary(3, "发展原因"),
    _voluntary(4, "合同到期不续签"),
    _voluntary(5, "协议解除"),
    _voluntary(6, "其他"),
    _passive(7, "无法胜任工作"),
    _passive(8, "经济性裁员"),
    _passive(9, "严重违法违纪"),
    _passive(10, "其他"),
)


@dataclass(frozen=True, slots=True)
class Names:
    """How the caller spells the fields, for the refusals to name them."""

    user_id: str = "user_id"
    last_work_day: str = "last_work_day"
    voluntary: str = "voluntary"
    passive: str = "passive"
    memo: str = "memo"
    operator_id: str = "operator_id"
    handover_user_id: str = "handover_user_id"


@dataclass(frozen=True, slots=True)
class Details:
    """What a dismission says: the last day of work (Unix ms), the reasons, a memo. ``None``: keep
    what the record has (on an edit), or none."""

    last_work_day: int
    voluntary: Sequence[str] | None = None
    passive: Sequence[str] | None = None
    memo: str | None = None


def reasons(r: Reader, *, tenant_id: str) -> list[DismissionReason]:
    """The company's dismission reasons, by kind and order (the default list when it has none)."""
    return r.tx.dismissions.list_reasons(tenant_id) or list(DEFAULT_REASONS)


def records(r: Reader, *, tenant_id: str, user_ids: Iterable[str]) -> dict[str, Dismission]:
    """The dismission record of each person among ``user_ids`` who has one."""
    return r.tx.dismissions.get_dismissions(tenant_id, user_ids)


def done_page(r: Reader, *, tenant_id: str, offset: int, size: int) -> tuple[list[Dismission], bool]:
    """One page of the records of people who left (by the record's last change); whether more follow."""
    page = r.tx.dismissions.done_page(tenant_id, offset=offset, limit=size + 1)
    return page[:size], len(page) > size


def leave_log(
    r: Reader, *, tenant_id: str, start: int, end: int, offset: int, size: int
) -> tuple[list[LeaveEntry], bool]:
    """One page of the leave log between ``start`` (included) and ``end`` (excluded), Unix ms, in
    time order; whether more follow."""
    page = r.tx.dismissions.leave_page(tenant_id, start=start, end=end, offset=offset, limit=size + 1)
    return page[:size], len(page) > size


# -- the steps -----------------------------------------------------------------------------------


def _person(tx: WriteTx, tenant_id: str, user_id: str, field: str) -> User:
    person = tx.users.get_users(tenant_id, [user_id]).get(user_id)
    if person is None:
        raise NotFound(f"{field}: user {user_id!r} does not exist", field=field, entity=Entity.USER)
    return person


def _checked_reasons(tx: WriteTx, tenant_id: str, details: Details, names: Names) -> None:
    known = {(x.kind, x.id) for x in tx.dismissions.list_reasons(tenant_id) or DEFAULT_REASONS}
    for kind, given, field in (
        (ReasonKind.VOLUNTARY, details.voluntary, names.voluntary),
        (ReasonKind.PASSIVE, details.passive, names.passive),
    ):
        if given is None:
            continue
        if len(given) > REASONS_MAX:
            raise InvalidValue(f"{field}: at most {REASONS_MAX} reasons", field=field)
        for i, rid in enumerate(given):
            if (kind, rid) not in known:
                at = f"{field}[{i}]"
                raise InvalidValue(f"{at}: {rid!r} is not a {kind.value} dismission reason", field=at)
    if details.memo is not None and len(details.memo) > MEMO_MAX:
        raise InvalidValue(f"{names.memo}: longer than {MEMO_MAX} characters", field=names.memo)


def _set_employment_status(
    tx: WriteTx, d: Directory, tenant_id: str, user_id: str, status: str | None
) -> None:
    value = roster_profile.to_roster(roster_profile.EMPLOYMENT_STATUS, status)
    row = roster_writes.SectionWrite((roster_writes.FieldWrite(_STATUS, value),), old_index=0)
    roster_writes.update_in(
        tx, d, tenant_id=tenant_id, user_id=user_id, groups=[roster_writes.GroupWrite("sys01", (row,))]
    )


def _new_record(
    tx: WriteTx, d: Directory, person: User, details: Details, state: DismissionState
) -> Dismission:
    """A record of ``person`` as they are now (departments, main department, status before)."""
    depts = tx.depts.get_depts(person.tenant_id, list(person.dept_ids))
    main = depts.get(person.def_dept_id) if person.def_dept_id is not None else None
    pre = PRE_ENTRY if person.status is UserStatus.NOTACTIVE else person.employment_status
    now = d.now_ms()
    return Dismission(
        user_id=person.id,
        state=state,
        last_work_day=details.last_work_day,
        memo=details.memo or "",
        voluntary=tuple(details.voluntary or ()),
        passive=tuple(details.passive or ()),
        pre_status=pre,
        handover_user_id=None,
        depts=tuple(DeptWhenLeaving(x, depts[x].abs_path) for x in person.dept_ids if x in depts),
        main_dept_id=main.id if main is not None else None,
        main_dept_name=main.name if main is not None else None,
        ctime=now,
        mtime=now,
    )


def _edited(record: Dismission, details: Details, now: int) -> Dismission:
    return replace(
        record,
        last_work_day=details.last_work_day,
        memo=record.memo if details.memo is None else details.memo,
        voluntary=record.voluntary if details.voluntary is None else tuple(details.voluntary),
        passive=record.passive if details.passive is None else tuple(details.passive),
        mtime=now,
    )


def start_in(
    tx: WriteTx, d: Directory, *, tenant_id: str, user_id: str, details: Details, names: Names = Names()
) -> Dismission:
    """Open a pending dismission: the person (on the job, not already leaving) becomes ``leaving``."""
    person = _person(tx, tenant_id, user_id, names.user_id)
    if person.status not in (UserStatus.ACTIVE, UserStatus.DISABLED) or person.employment_status == LEAVING:
        state = LEAVING if person.employment_status == LEAVING else person.status.value
        raise RuleViolation(
            f"{names.user_id}: {user_id!r} is not on the job normally ({state})", field=names.user_id
        )
    _checked_reasons(tx, tenant_id, details, names)
    record = _new_record(tx, d, person, details, DismissionState.PENDING)
    tx.dismissions.put_dismission(tenant_id, record)
    _set_employment_status(tx, d, tenant_id, user_id, LEAVING)
    return record


def _pending(tx: WriteTx, tenant_id: str, user_id: str, names: Names) -> Dismission:
    _person(tx, tenant_id, user_id, names.user_id)
    record = tx.dismissions.get_dismissions(tenant_id, [user_id]).get(user_id)
    if record is None or record.state is not DismissionState.PENDING:
        raise RuleViolation(f"{names.user_id}: {user_id!r} has no pending dismission", field=names.user_id)
    return record


def revoke_in(tx: WriteTx, d: Directory, *, tenant_id: str, user_id: str, names: Names = Names()) -> None:
    """Take back a pending dismission: the person has the employment status they held before."""
    record = _pending(tx, tenant_id, user_id, names)
    tx.dismissions.delete_dismission(tenant_id, user_id)
    before = None if record.pre_status == PRE_ENTRY else record.pre_status
    _set_employment_status(tx, d, tenant_id, user_id, before)


def update_pending_in(
    tx: WriteTx, d: Directory, *, tenant_id: str, user_id: str, details: Details, names: Names = Names()
) -> Dismission:
    """Edit a pending dismission (the fields given)."""
    return _edit(tx, d, tenant_id, _pending(tx, tenant_id, user_id, names), details, names)


def _edit(
    tx: WriteTx, d: Directory, tenant_id: str, record: Dismission, details: Details, names: Names
) -> Dismission:
    _checked_reasons(tx, tenant_id, details, names)
    edited = _edited(record, details, d.now_ms())
    tx.dismissions.put_dismission(tenant_id, edited)
    tx.changed(tenant_id, "user", record.user_id)
    return edited


def terminate_in(
    tx: WriteTx,
    d: Directory,
    *,
    tenant_id: str,
    user_id: str,
    operator_id: str,
    details: Details,
    handover_user_id: str | None = None,
    names: Names = Names(),
) -> Dismission:
    """Let a person go at once: account ``dimission``, the record ``done``, a ``leave`` row in the
    leave log. The operator is another person of the company; the main admin cannot be let go."""
    person = _person(tx, tenant_id, user_id, names.user_id)
    if person.status not in (UserStatus.ACTIVE, UserStatus.DISABLED):
        raise RuleViolation(
            f"{names.user_id}: {user_id!r} is not on the job ({person.status.value})", field=names.user_id
        )
    if person.role is Role.SUPER_ADMIN:
        raise RuleViolation(f"{names.user_id}: {user_id!r} is the main administrator", field=names.user_id)
    if operator_id == user_id:
        raise InvalidValue(
            f"{names.operator_id}: the operator cannot be the person leaving", field=names.operator_id
        )
    _person(tx, tenant_id, operator_id, names.operator_id)
    if handover_user_id is not None:
        if handover_user_id == user_id:
            at = names.handover_user_id
            raise InvalidValue(f"{at}: the handover cannot go to the person leaving", field=at)
        _person(tx, tenant_id, handover_user_id, names.handover_user_id)
    _checked_reasons(tx, tenant_id, details, names)
    pending = tx.dismissions.get_dismissions(tenant_id, [user_id]).get(user_id)
    now = d.now_ms()
    if pending is not None and pending.state is DismissionState.PENDING:
        record = replace(_edited(pending, details, now), state=DismissionState.DONE)
    else:
        record = _new_record(tx, d, person, details, DismissionState.DONE)
    record = replace(record, handover_user_id=handover_user_id)
    tx.dismissions.put_dismission(tenant_id, record)
    batch_writes.set_status_in(
        tx, d, tenant_id=tenant_id, user_ids=[user_id], status=UserStatus.DIMISSION, field=names.user_id
    )
    tx.dismissions.append_leave(tenant_id, leave_entry(person, LeaveReason.LEAVE, now))
    return record


def update_done_in(
    tx: WriteTx, d: Directory, *, tenant_id: str, user_id: str, details: Details, names: Names = Names()
) -> Dismission:
    """Edit the record of someone who left (the last day, the memo, the reasons given)."""
    _person(tx, tenant_id, user_id, names.user_id)
    record = tx.dismissions.get_dismissions(tenant_id, [user_id]).get(user_id)
    if record is None or record.state is not DismissionState.DONE:
        raise RuleViolation(f"{names.user_id}: {user_id!r} has not left the company", field=names.user_id)
    return _edit(tx, d, tenant_id, record, details, names)


def seed_reasons_in(
    tx: WriteTx, *, tenant_id: str, catalogue: Sequence[DismissionReason] = DEFAULT_REASONS
) -> bool:
    """Give a company its own catalogue (``catalogue``) unless it has one. Whether it was written."""
    if tx.dismissions.list_reasons(tenant_id):
        return False
    tx.dismissions.insert_reasons(tenant_id, catalogue)
    return True


start = in_own_writer(start_in)
revoke = in_own_writer(revoke_in)
update_pending = in_own_writer(update_pending_in)
terminate = in_own_writer(terminate_in)
update_done = in_own_writer(update_done_in)
