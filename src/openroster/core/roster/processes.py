"""HR processes on a person's employment: regularization (转正) and transfer (调岗).

A person on probation becomes a regular employee on a day: their employment status (the roster's
``sys01-employeeStatus``) becomes ``regular`` and the roster's regularization date
(``sys01-regularTime``) that day, in one write, recorded like any roster write. The operator must
be another person of the tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openroster.core.directory import Directory, in_own_writer
from openroster.core.people import batch_writes, users
from openroster.core.roster import profile as roster_profile
from openroster.core.roster import writes as roster_writes
from openroster.model.entities import User, UserStatus
from openroster.model.errors import CoreError, Entity, InvalidValue, NotFound
from openroster.store import WriteTx

#: The roster field of the regularization date.
REGULAR_DATE = "sys01-regularTime"
_STATUS = roster_profile.CORE_TO_ROSTER["employment_status"]
_PROBATIONARY = "probationary"
_REGULAR = "regular"


def _person_and_operator(
    tx: WriteTx, tenant_id: str, user_id: str, operator_id: str, who: str, by: str
) -> User:
    """The person (locked for the write), once the operator is known to exist too."""
    found = tx.users.get_users(tenant_id, [user_id, operator_id])
    person = found.get(user_id)
    if person is None:
        raise NotFound(f"{who}: user {user_id!r} does not exist", field=who, entity=Entity.USER)
    if operator_id not in found:
        raise NotFound(f"{by}: user {operator_id!r} does not exist", field=by, entity=Entity.USER)
    return person


def regularize_in(
    tx: WriteTx,
    d: Directory,
    *,
    tenant_id: str,
    user_id: str,
    day: str,
    operator_id: str,
    fields: tuple[str, str, str] = ("user_id", "day", "operator_id"),
) -> None:
    """Make a person on probation a regular employee on ``day`` (``yyyy-MM-dd``). ``fields`` name
    the person, the day and the operator in the caller's refusals."""
    who, when, by = fields
    person = _person_and_operator(tx, tenant_id, user_id, operator_id, who, by)
    if person.employment_status != _PROBATIONARY:
        status = person.employment_status or "none"
        raise InvalidValue(f"{who}: {user_id!r} is not on probation (employment status {status})", field=who)
    if not roster_writes.is_date(day):
        raise InvalidValue(f"{when}: {day!r} is not a date", field=when)
    regular = roster_profile.to_roster(roster_profile.EMPLOYMENT_STATUS, _REGULAR)
    row = roster_writes.SectionWrite(
        (roster_writes.FieldWrite(_STATUS, regular), roster_writes.FieldWrite(REGULAR_DATE, day)), old_index=0
    )
    roster_writes.update_in(
        tx, d, tenant_id=tenant_id, user_id=user_id, groups=[roster_writes.GroupWrite("sys01", (row,))]
    )


regularize = in_own_writer(regularize_in)

#: The roster field of the position level (a text).
POSITION_LEVEL = "sys01-positionLevel"


@dataclass(frozen=True, slots=True)
class Transfer:
    """Where a person goes: departments (and the main one), title, position level; ``None`` keeps
    what they have. ``fields`` name them in the caller's refusals: person, operator, departments,
    main department, title, position level."""

    dept_ids: Sequence[int] | None = None
    main_dept_id: int | None = None
    title: str | None = None
    position_level: str | None = None
    fields: tuple[str, str, str, str, str, str] = (
        "user_id",
        "operator_id",
        "dept_ids",
        "main_dept_id",
        "title",
        "position_level",
    )


def transfer_in(
    tx: WriteTx, d: Directory, *, tenant_id: str, user_id: str, operator_id: str, to: Transfer
) -> None:
    """Move a person on the job to other departments, title or position level, in one write."""
    who, by, depts_field, main_field, title_field, level_field = to.fields
    person = _person_and_operator(tx, tenant_id, user_id, operator_id, who, by)
    if person.status not in (UserStatus.ACTIVE, UserStatus.DISABLED):
        raise InvalidValue(f"{who}: {user_id!r} is not on the job ({person.status.value})", field=who)
    if to.dept_ids is not None or to.main_dept_id is not None:
        dept_ids = tuple(dict.fromkeys(to.dept_ids if to.dept_ids is not None else person.dept_ids))
        if not dept_ids:
            raise InvalidValue(f"{depts_field}: at least one department", field=depts_field)
        known = tx.depts.get_depts(tenant_id, set(dept_ids))
        for i, dept_id in enumerate(dept_ids):
            if dept_id not in known:
                at = f"{depts_field}[{i}]"
                raise NotFound(
                    f"{at}: department {dept_id} does not exist", field=at, entity=Entity.DEPARTMENT
                )
        if to.main_dept_id is not None and to.main_dept_id not in dept_ids:
            raise InvalidValue(
                f"{main_field}: {to.main_dept_id} is not one of the departments", field=main_field
            )
        item = batch_writes.DeptAssignment(user_id, dept_ids, to.main_dept_id)
        batch_writes.update_depts_in(tx, d, tenant_id=tenant_id, items=[item])
    if to.title is not None:
        try:
            users.update_in(tx, d, tenant_id=tenant_id, user_id=user_id, changes={"title": to.title})
        except CoreError as exc:
            raise InvalidValue(exc.message.replace("title", title_field, 1), field=title_field) from None
    if to.position_level is not None:
        row = roster_writes.SectionWrite(
            (roster_writes.FieldWrite(POSITION_LEVEL, to.position_level),), old_index=0
        )
        try:
            roster_writes.update_in(
                tx,
                d,
                tenant_id=tenant_id,
                user_id=user_id,
                groups=[roster_writes.GroupWrite("sys01", (row,))],
            )
        except CoreError as exc:
            raise InvalidValue(f"{level_field}: {exc.message}", field=level_field) from None


transfer = in_own_writer(transfer_in)
