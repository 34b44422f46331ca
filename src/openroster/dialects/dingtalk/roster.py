"""The HR roster (智能人事 花名册) endpoints: ``/topapi/smartwork/hrm/...``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import employees as roster_employees
from openroster.core.roster import writes as roster_writes
from openroster.core.roster.profile import EmployeeList
from openroster.dialects.dingtalk import render
from openroster.dialects.dingtalk.endpoint import HRM_READ, HRM_WRITE, Call, Handler, TopLevel, route
from openroster.dialects.dingtalk.errors import Code
from openroster.dialects.dingtalk.schemas import (
    AddPreEntryBody,
    AgentBody,
    QueryOnJobBody,
    QueryPageBody,
    RosterListBody,
    RosterUpdateBody,
)
from openroster.dialects.pieces import Pieces
from openroster.model.errors import InvalidValue, MissingField, TooMany

_HRM = "/topapi/smartwork/hrm"


def _employees_route(
    path: str, *, permission: str, body: type[BaseModel], writes: bool = False
) -> Callable[[Handler], Handler]:
    """A roster call about named employees: it needs the app's agentid, answers ``success``, and
    refuses an unknown userid as an invalid one."""
    return route(
        f"{_HRM}/{path}",
        permission=permission,
        body=body,
        agentid=True,
        success=True,
        user_not_found=Code.INVALID_USERID,
        writes=writes,
    )


@_employees_route("employee/v2/update", permission=HRM_WRITE, body=RosterUpdateBody, writes=True)
def update_employee(call: Call, body: RosterUpdateBody) -> bool:
    """Update some of one employee's roster (all or nothing)."""
    p = body.param
    userid = p.userid or p.user_id or body.userid or body.user_id
    if not userid:
        raise MissingField("param.userid is required", field="param.userid")
    groups = [
        roster_writes.GroupWrite(
            group_id=g.group_id,
            sections=tuple(
                roster_writes.SectionWrite(
                    fields=tuple(roster_writes.FieldWrite(f.field_code, f.value or "") for f in s.section),
                    old_index=s.old_index,
                )
                for s in g.sections
            ),
        )
        for g in p.groups
    ]
    roster_writes.update(
        call.directory,
        tenant_id=call.tenant_id,
        user_id=userid,
        groups=groups,
        prefix="param.",
        user_field="userid",
    )
    return True


@_employees_route("employee/v2/list", permission=HRM_READ, body=RosterListBody)
def list_employees(call: Call, body: RosterListBody) -> Pieces:
    """Roster fields of up to 100 employees; all fields unless ``field_filter_list`` names some."""
    if not body.userid_list:
        raise MissingField("userid_list must name at least one userid", field="userid_list")
    codes = tuple(body.field_filter_list) if body.field_filter_list else None
    if codes is not None and len(codes) > roster_catalogue.LIST_FIELDS_MAX:
        raise TooMany(
            f"field_filter_list has {len(codes)} codes; the limit is {roster_catalogue.LIST_FIELDS_MAX}",
            field="field_filter_list",
            limit=roster_catalogue.LIST_FIELDS_MAX,
        )
    return roster_items(call, body.userid_list, codes, field="userid_list")


def roster_items(
    call: Call,
    user_ids: Sequence[str],
    codes: tuple[str, ...] | None,
    *,
    field: str,
    spelling: render.Spelling = render.SNAKE,
) -> Pieces:
    """The roster items of ``user_ids`` (unknown ids left out; ``field`` names the list in refusals):
    ``v2/list``'s ``result``, or, in :data:`render.CAMEL`, GetEmployeeRosterByField's, in pieces
    (see :func:`render.roster_list`)."""
    return render.roster_list(
        call.reader,
        user_ids,
        tenant_id=call.tenant_id,
        corp_id=call.corp_id,
        codes=codes,
        field=field,
        spelling=spelling,
    )


@route(f"{_HRM}/roster/meta/get", permission=HRM_READ, body=AgentBody, agentid=True, success=True)
def roster_meta(call: Call, body: AgentBody) -> list[dict[str, object]]:
    """The roster's groups and fields, with select options (``option_text``)."""
    return render.roster_meta(roster_catalogue.catalogue(call.reader, tenant_id=call.tenant_id))


@route(f"{_HRM}/employee/field/grouplist", permission=HRM_READ, body=AgentBody, agentid=True, success=True)
def field_groups(call: Call, body: AgentBody) -> list[dict[str, object]]:
    """The roster's field groups and their fields' types."""
    return render.field_groups(roster_catalogue.catalogue(call.reader, tenant_id=call.tenant_id))


def _page(
    call: Call, kind: EmployeeList, offset: int, size: int, statuses: list[str] | None
) -> dict[str, Any]:
    page = roster_employees.list_employees(
        call.reader,
        tenant_id=call.tenant_id,
        kind=kind,
        employment_statuses=statuses,
        offset=offset,
        size=size,
    )
    out: dict[str, Any] = {"data_list": page.user_ids}
    if page.next_offset is not None:
        out["next_cursor"] = page.next_offset
    return out


@route(f"{_HRM}/employee/queryonjob", permission=HRM_READ, body=QueryOnJobBody, success=True)
def query_on_job(call: Call, body: QueryOnJobBody) -> dict[str, Any]:
    """Userids of the employees on the job with one of the statuses asked for."""
    if not body.status_list:
        raise MissingField("status_list must name at least one status", field="status_list")
    return _page(call, EmployeeList.ON_JOB, body.offset, body.size, body.status_list)


@route(f"{_HRM}/employee/querypreentry", permission=HRM_READ, body=QueryPageBody, success=True)
def query_pre_entry(call: Call, body: QueryPageBody) -> dict[str, Any]:
    """Userids of the people waiting to join."""
    return _page(call, EmployeeList.PRE_ENTRY, body.offset, body.size, None)


@route(f"{_HRM}/employee/querydimission", permission=HRM_READ, body=QueryPageBody, success=True)
def query_dimission(call: Call, body: QueryPageBody) -> dict[str, Any]:
    """Userids of the people who left."""
    return _page(call, EmployeeList.DIMISSION, body.offset, body.size, None)


#: ``PreEntry`` attribute -> its name in ``addpreentry``'s ``param`` (the others are spelled alike).
PRE_ENTRY_NAMES = {
    "pre_entry_date": "pre_entry_time",
    "dept_ids": "extend_info.depts",
    "main_dept_id": "extend_info.mainDeptId",
    "position": "extend_info.position",
    "work_place": "extend_info.workPlace",
    "job_number": "extend_info.jobNumber",
    "employee_type": "extend_info.employeeType",
}


@route(f"{_HRM}/employee/addpreentry", permission=HRM_WRITE, body=AddPreEntryBody, success=True, writes=True)
def add_pre_entry(call: Call, body: AddPreEntryBody) -> TopLevel:
    """Add a person waiting to join (by mobile; someone already in the company is refused)."""
    p = body.param
    ext = p.extend_info
    dept_ids: tuple[int, ...] = ()
    if ext is not None and ext.depts:
        try:
            dept_ids = tuple(dict.fromkeys(int(x) for x in ext.depts.split("|") if x.strip()))
        except ValueError:
            raise InvalidValue(
                f"param.extend_info.depts: {ext.depts!r} is not department ids separated by '|'",
                field="param.extend_info.depts",
            ) from None
    item = roster_employees.PreEntry(
        name=p.name,
        mobile=p.mobile,
        pre_entry_date=p.pre_entry_time,
        dept_ids=dept_ids,
        main_dept_id=ext.mainDeptId if ext is not None else None,
        position=ext.position if ext is not None else None,
        work_place=ext.workPlace if ext is not None else None,
        job_number=ext.jobNumber if ext is not None else None,
        employee_type=ext.employeeType if ext is not None else None,
    )
    created = roster_employees.add_pre_entry(
        call.directory, tenant_id=call.tenant_id, item=item, prefix="param.", names=PRE_ENTRY_NAMES
    )
    return TopLevel({"userid": created.id})
