"""Contacts (通讯录) endpoints: members and departments under ``/topapi``.

DingTalk contacts hold the people on the job: a pre-hire (WPS ``notactive``)
or someone who left (``dimission``) is not a member (``60121``); a disabled
account is a member with ``active: false``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from openroster.core.people import depts
from openroster.core.roster import records as roster_records
from openroster.core.roster.profile import LIST_STATUSES, EmployeeList
from openroster.core.runtime.limits import PAGE_SIZE_MAX
from openroster.core.runtime.paging import Page, Position
from openroster.dialects.dingtalk import render
from openroster.dialects.dingtalk.endpoint import DEPT_READ, MEMBER_READ, Call, route
from openroster.dialects.dingtalk.schemas import DeptIdBody, ListSubBody, UserGetBody
from openroster.dialects.mapping import in_contacts
from openroster.model.errors import Entity, NotFound

_ON_JOB = LIST_STATUSES[EmployeeList.ON_JOB]
T = TypeVar("T")


@route("/topapi/v2/user/get", permission=MEMBER_READ, body=UserGetBody)
def get_user(call: Call, body: UserGetBody) -> dict[str, object]:
    """One member's details."""
    records = roster_records.read_records(call.reader, tenant_id=call.tenant_id, user_ids=[body.userid])
    if not records or not in_contacts(records[0].user):
        raise NotFound(f"userid: no member {body.userid!r}", field="userid", entity=Entity.USER)
    rec = records[0]
    (values,) = roster_records.read_values(call.reader, tenant_id=call.tenant_id, records=records)
    leaders = depts.leaders(call.reader, tenant_id=call.tenant_id, dept_ids=rec.user.dept_ids)
    return render.contacts_user(
        rec, values, corp_id=call.corp_id, leaders={d: {uid for uid, _ in ls} for d, ls in leaders.items()}
    )


def _every(fetch: Callable[[Position | None], Page[T]]) -> Iterator[T]:
    """Every item of a keyset walk (these calls answer in one reply what the core pages)."""
    after: Position | None = None
    while True:
        page = fetch(after)
        yield from page.items
        if page.after is None:
            return
        after = page.after


@route("/topapi/user/listid", permission=MEMBER_READ, body=DeptIdBody)
def list_user_ids(call: Call, body: DeptIdBody) -> dict[str, object]:
    """The userids of a department's members (not of the departments below it)."""
    members = _every(
        lambda after: depts.members_page(
            call.reader,
            tenant_id=call.tenant_id,
            dept_id=body.dept_id,
            recursive=False,
            statuses=_ON_JOB,
            size=PAGE_SIZE_MAX,
            after=after,
        )
    )
    return {"userid_list": [m.user.id for m in members]}


@route("/topapi/v2/department/listsub", permission=DEPT_READ, body=ListSubBody)
def list_sub_depts(call: Call, body: ListSubBody) -> list[dict[str, Any]]:
    """A department's direct children (the root's when ``dept_id`` is left out)."""
    children = _every(
        lambda after: depts.children_page(
            call.reader,
            tenant_id=call.tenant_id,
            dept_id=body.dept_id,
            recursive=False,
            size=PAGE_SIZE_MAX,
            after=after,
        )
    )
    return [render.dept_summary(d) for d in children]


@route("/topapi/v2/department/get", permission=DEPT_READ, body=DeptIdBody)
def get_dept(call: Call, body: DeptIdBody) -> dict[str, object]:
    """One department's details, with its managers."""
    d = depts.get(call.reader, tenant_id=call.tenant_id, dept_id=body.dept_id)
    leaders = depts.leaders(call.reader, tenant_id=call.tenant_id, dept_ids=[d.id]).get(d.id, [])
    return render.dept_detail(d, leader_ids=[uid for uid, _ in leaders])
