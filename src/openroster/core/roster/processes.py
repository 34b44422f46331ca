"""HR processes on a person's employment: regularization (转正).

A person on probation becomes a regular employee on a day: their employment status (the roster's
``sys01-employeeStatus``) becomes ``regular`` and the roster's regularization date
(``sys01-regularTime``) that day, in one write, recorded like any roster write. The operator must
be another person of the tenant.
"""

from __future__ import annotations

from openroster.core.directory import Directory, in_own_writer
from openroster.core.roster import profile as roster_profile
from openroster.core.roster import writes as roster_writes
from openroster.model.errors import Entity, InvalidValue, NotFound
from openroster.store import WriteTx

#: The roster field of the regularization date.
REGULAR_DATE = "sys01-regularTime"
_STATUS = roster_profile.CORE_TO_ROSTER["employment_status"]
_PROBATIONARY = "probationary"
_REGULAR = "regular"


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
    found = tx.users.get_users(tenant_id, [user_id, operator_id])
    person = found.get(user_id)
    if person is None:
        raise NotFound(f"{who}: user {user_id!r} does not exist", field=who, entity=Entity.USER)
    if operator_id not in found:
        raise NotFound(f"{by}: user {operator_id!r} does not exist", field=by, entity=Entity.USER)
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
