"""The roster's employee lists (on the job, pre-entry, dismission) and adding pre-hires."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openroster.core.directory import Directory, Reader
from openroster.core.people import users
from openroster.core.roster import profile as roster_profile
from openroster.core.roster.catalogue import (
    PAGE_SIZE_MAX,
)
from openroster.core.roster.writes import is_date, located
from openroster.model.entities import (
    User,
)
from openroster.model.errors import CoreError, InvalidValue, MissingField
from openroster.store import roster as roster_rows


@dataclass(frozen=True, slots=True)
class EmployeePage:
    user_ids: list[str]
    #: The offset of the next page; ``None`` on the last page.
    next_offset: int | None


def list_employees(
    r: Reader,
    *,
    tenant_id: str,
    kind: roster_profile.EmployeeList,
    employment_statuses: Sequence[str] | None = None,
    offset: int,
    size: int,
) -> EmployeePage:
    """One page of the on-job, pre-entry or dismission list, in user id order.

    ``employment_statuses`` (on-job only) are ``sys01-employeeStatus`` option
    values (``"2"`` probation, ``"3"`` regular, ``"5"`` leaving, ``"-1"`` none).
    """
    if offset < 0:
        raise InvalidValue("offset must be zero or positive", field="offset")
    if size < 1 or size > PAGE_SIZE_MAX:
        raise InvalidValue(f"size must be between 1 and {PAGE_SIZE_MAX}", field="size")
    wanted: list[str | None] | None = None
    if employment_statuses is not None:
        wanted = []
        for i, code in enumerate(employment_statuses):
            try:
                wanted.append(roster_profile.to_core(roster_profile.EMPLOYMENT_STATUS, code))
            except KeyError:
                allowed = ", ".join(c.value for c in roster_profile.EMPLOYMENT_STATUS)
                raise InvalidValue(
                    f"status_list[{i}]: {code!r} is not an employee status ({allowed})", field="status_list"
                ) from None
    ids = roster_rows.page_user_ids(
        r.conn,
        tenant_id,
        statuses=[s.value for s in roster_profile.LIST_STATUSES[kind]],
        employment_statuses=wanted,
        offset=offset,
        limit=size + 1,
    )
    more = len(ids) > size
    return EmployeePage(ids[:size], offset + size if more else None)


@dataclass(frozen=True, slots=True)
class PreEntry:
    """A person to be hired."""

    name: str
    mobile: str
    pre_entry_date: str | None = None
    dept_ids: tuple[int, ...] = ()
    main_dept_id: int | None = None
    position: str | None = None
    work_place: str | None = None
    job_number: str | None = None
    employee_type: str | None = None


#: PreEntry attribute -> the user field it sets.
_USER_FIELDS = {
    "name": "user_name",
    "mobile": "phone",
    "dept_ids": "dept_ids",
    "main_dept_id": "def_dept_id",
    "position": "title",
    "work_place": "work_place",
    "job_number": "employee_id",
}


def add_pre_entry(
    d: Directory, *, tenant_id: str, item: PreEntry, prefix: str = "", names: Mapping[str, str] | None = None
) -> User:
    """Create a pre-hire: a user in the pre-entry list (account status ``notactive``).

    Errors name ``item``'s attributes after ``prefix``, each by its name in
    ``names`` (the caller's spelling; by default the attribute's own name).
    """

    def name(attr: str) -> str:
        return names.get(attr, attr) if names is not None else attr

    if not item.mobile.strip():
        raise MissingField(f"{prefix}{name('mobile')} is required", field=f"{prefix}{name('mobile')}")
    employment_type = None
    if item.employee_type not in (None, ""):
        try:
            employment_type = roster_profile.to_core(roster_profile.EMPLOYMENT_TYPE, str(item.employee_type))
        except KeyError:
            where = f"{prefix}{name('employee_type')}"
            raise InvalidValue(
                f"{where}: {item.employee_type!r} is not an employee type "
                f"({', '.join(c.value for c in roster_profile.EMPLOYMENT_TYPE)})",
                field=where,
            ) from None
    joined = (item.pre_entry_date or "").strip()[:10]
    if joined and (not is_date(joined)):
        where = f"{prefix}{name('pre_entry_date')}"
        raise InvalidValue(
            f"{where}: {item.pre_entry_date!r} is not a date (yyyy-MM-dd [HH:mm:ss])",
            field=where,
        )
    dept_ids = item.dept_ids or (item.main_dept_id or 1,)
    main = item.main_dept_id if item.main_dept_id in dept_ids else dept_ids[0]
    new = users.NewUser(
        user_name=item.name,
        dept_ids=dept_ids,
        def_dept_id=main,
        phone=item.mobile,
        title=item.position,
        work_place=item.work_place,
        employee_id=item.job_number,
        employment_type=employment_type,
        status="notactive",
    )
    paths = {
        core: (f"{prefix}{name(attr)}", name(attr).rsplit(".", 1)[-1]) for attr, core in _USER_FIELDS.items()
    }
    with d.writer() as tx:
        try:
            created = users.create_in(tx, d, tenant_id=tenant_id, items=[new], field_prefix="")[0]
        except CoreError as exc:
            raise located(exc, paths) from None
        if joined:
            roster_rows.put_values(
                tx.conn,
                tenant_id,
                [(created.id, roster_rows.StoredValue("sys00", 0, "sys00-confirmJoinTime", joined))],
            )
    return created
