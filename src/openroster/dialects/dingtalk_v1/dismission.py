"""The ``/v1.0`` dismission calls (离职): the reason catalogue, a pending dismission (start, edit,
revoke), a termination and its later edit, the records, and the contacts' leave log.

Each is one call into ``core/roster/dismissions.py``; the records read as ``employee/listdimission``
reads them (``dialects/dingtalk/dismission.py``). A person in the wrong state for a step is the
call's ``businessError`` (401 on the pending-dismission calls, 400 on the termination calls, as the
protocol file lists them); HrmProcessTerminationAndHandover answers an unknown ``userId`` with
``empNotExists``; every other refusal is ``invalidParameter`` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openroster.core.roster import dismissions as roster_dismissions
from openroster.core.runtime.limits import OFFSET_MAX
from openroster.dialects.dingtalk import dismission as dingtalk_dismission
from openroster.dialects.dingtalk.endpoint import HRM_READ, Call
from openroster.dialects.dingtalk_v1 import CONTACT_READ, HRM_PROCESS
from openroster.dialects.dingtalk_v1.endpoint import Envelope, route
from openroster.dialects.dingtalk_v1.errors import INVALID_PARAMETER, V1Error
from openroster.dialects.dingtalk_v1.hrm import MS_MAX, MS_MIN
from openroster.model.dismissions import ReasonKind
from openroster.model.errors import CoreError, NotFound, RuleViolation

_HRM = "/v1.0/hrm"
BUSINESS_ERROR = "businessError"
EMP_NOT_EXISTS = "empNotExists"
#: The longest range of ListEmpLeaveRecords, and how far back it reaches without ``endTime``.
LEAVE_RANGE = timedelta(days=365)
#: ListEmpLeaveRecords's and GetDismissionRecord's largest page.
PAGE_MAX = 50
_ISO = "%Y-%m-%dT%H:%M:%SZ"

#: How the calls name core's fields in their refusals.
_NAMES = roster_dismissions.Names(
    user_id="userId",
    last_work_day="lastWorkDate",
    voluntary="terminationReasonVoluntary",
    passive="terminationReasonPassive",
    memo="dismissionMemo",
    operator_id="optUserId",
    handover_user_id="handoverUserId",
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


_Day = Field(ge=MS_MIN, le=MS_MAX, description="The last day of work, Unix ms.")


class UserBody(_Body):
    userId: str = Field(description="The person.")


class Reasons(_Body):
    terminationReasonVoluntary: list[str] | None = Field(default=None, description="Voluntary reason ids.")
    terminationReasonPassive: list[str] | None = Field(default=None, description="Passive reason ids.")


class StartBody(UserBody, Reasons):
    lastWorkDate: int = _Day
    remark: str | None = Field(default=None, description="Kept as the record's memo.")
    partner: bool | None = None
    toHireBlackList: bool | None = None
    toHireDismissionTalent: bool | None = None
    toHrmBlackList: bool | None = None


class UpdatePendingBody(UserBody, Reasons):
    lastWorkDate: int = _Day
    dismissionMemo: str | None = None
    partner: bool | None = None


class TerminateBody(UserBody, Reasons):
    optUserId: str = Field(description="The operator: another employee.")
    lastWorkDate: int = _Day
    dismissionMemo: str = Field(description="Why, in words.")
    dismissionReason: int | None = None
    permissionHandoverUserId: str | None = None
    directSubordinatesHandoverUserId: str | None = None
    aflowHandOverUserId: str | None = None
    docNoteHandoverUserId: str | None = None
    dingPanHandoverUserId: str | None = None


class UpdateDoneBody(UserBody):
    lastWorkDate: int = _Day
    dismissionMemo: str = Field(description="Why, in words.")


class InfoQuery(_Body):
    userIdList: list[str] = Field(description="1..50 userIds, as one JSON array.")


class RecordPageQuery(_Body):
    nextToken: int = Field(
        default=0, ge=0, le=OFFSET_MAX, description="Where the page starts (0: the first)."
    )
    size: int = Field(default=PAGE_MAX, ge=1, le=PAGE_MAX, description="1..50.")


class LeaveQuery(_Body):
    startTime: str = Field(description="ISO 8601, YYYY-MM-DDTHH:mm:ssZ.")
    endTime: str | None = Field(default=None, description="ISO 8601; absent: now.")
    nextToken: str | None = Field(default=None, description='Where the page starts ("0": the first).')
    maxResults: int = Field(ge=1, le=PAGE_MAX, description="1..50.")


@contextmanager
def _refusals(*, business_status: int, missing_person: str = INVALID_PARAMETER) -> Iterator[None]:
    """Core's refusals as the call's codes (see the module doc)."""
    try:
        yield
    except RuleViolation as exc:
        raise V1Error(BUSINESS_ERROR, exc.message, status=business_status, text="业务错误") from None
    except NotFound as exc:
        if exc.field == _NAMES.user_id and missing_person != INVALID_PARAMETER:
            raise V1Error(missing_person, exc.message, text="员工不存在") from None
        raise


def _details(body: Reasons, day: int, memo: str | None) -> roster_dismissions.Details:
    return roster_dismissions.Details(
        day, body.terminationReasonVoluntary, body.terminationReasonPassive, memo
    )


@route("GET", f"{_HRM}/dismission/reasons", permission=HRM_PROCESS, body=None)
def dismission_reasons(call: Call, _body: None) -> Envelope:
    """GetAllDismissionReasons: the company's voluntary and passive dismission reasons."""
    found = roster_dismissions.reasons(call.reader, tenant_id=call.tenant_id)
    lists: dict[str, list[dict[str, str]]] = {"voluntaryList": [], "passiveList": []}
    for x in found:
        key = "voluntaryList" if x.kind is ReasonKind.VOLUNTARY else "passiveList"
        lists[key].append({"id": x.id, "name": x.name})
    return Envelope(lists)


@route("POST", f"{_HRM}/pendingDismission/start", permission=HRM_PROCESS, body=StartBody, writes=True)
def start_dismission(call: Call, body: StartBody) -> Envelope:
    """EmpStartDismission: the person is leaving (employment status 5) until terminated or revoked."""
    details = _details(body, body.lastWorkDate, body.remark)
    return _pending_step(call, roster_dismissions.start, body.userId, details, replace(_NAMES, memo="remark"))


def _pending_step(
    call: Call, step: Any, user_id: str, details: roster_dismissions.Details, names: roster_dismissions.Names
) -> Envelope:
    """Start or edit a pending dismission: ``step`` is core's function."""
    with _refusals(business_status=401):
        step(call.directory, tenant_id=call.tenant_id, user_id=user_id, details=details, names=names)
    return Envelope(True)


@route("POST", f"{_HRM}/pendingDismission/revoke", permission=HRM_PROCESS, body=UserBody, writes=True)
def revoke_dismission(call: Call, body: UserBody) -> Envelope:
    """RevokeTermination: a pending dismission is taken back (the status before returns)."""
    with _refusals(business_status=401):
        roster_dismissions.revoke(call.directory, tenant_id=call.tenant_id, user_id=body.userId, names=_NAMES)
    return Envelope(True)


@route("PUT", f"{_HRM}/pendingDismission/infos", permission=HRM_PROCESS, body=UpdatePendingBody, writes=True)
def update_pending(call: Call, body: UpdatePendingBody) -> Envelope:
    """UpdateEmpDismissionInfo: edit a pending dismission."""
    details = _details(body, body.lastWorkDate, body.dismissionMemo)
    return _pending_step(call, roster_dismissions.update_pending, body.userId, details, _NAMES)


@route(
    "POST", f"{_HRM}/processes/terminateAndHandOver", permission=HRM_PROCESS, body=TerminateBody, writes=True
)
def terminate(call: Call, body: TerminateBody) -> dict[str, Any]:
    """HrmProcessTerminationAndHandover: the person leaves at once and is out of the contacts."""
    handovers = (
        ("permissionHandoverUserId", body.permissionHandoverUserId),
        ("directSubordinatesHandoverUserId", body.directSubordinatesHandoverUserId),
        ("aflowHandOverUserId", body.aflowHandOverUserId),
        ("docNoteHandoverUserId", body.docNoteHandoverUserId),
        ("dingPanHandoverUserId", body.dingPanHandoverUserId),
    )
    given = [(name, uid) for name, uid in handovers if uid]
    handover = given[0] if given else None
    names = replace(_NAMES, handover_user_id=handover[0]) if handover else _NAMES
    with _refusals(business_status=400, missing_person=EMP_NOT_EXISTS):
        roster_dismissions.terminate(
            call.directory,
            tenant_id=call.tenant_id,
            user_id=body.userId,
            operator_id=body.optUserId,
            handover_user_id=handover[1] if handover else None,
            details=_details(body, body.lastWorkDate, body.dismissionMemo),
            names=names,
        )
    return {"result": True}


@route(
    "PUT",
    f"{_HRM}/processes/employees/terminations",
    permission=HRM_PROCESS,
    body=UpdateDoneBody,
    writes=True,
)
def update_termination(call: Call, body: UpdateDoneBody) -> dict[str, Any]:
    """HrmProcessUpdateTerminationInfo: edit the last day and memo of someone who left."""
    with _refusals(business_status=400):
        roster_dismissions.update_done(
            call.directory,
            tenant_id=call.tenant_id,
            user_id=body.userId,
            details=roster_dismissions.Details(body.lastWorkDate, memo=body.dismissionMemo),
            names=_NAMES,
        )
    return {"result": True}


@route("GET", f"{_HRM}/employees/dimissionInfos", permission=HRM_READ, body=InfoQuery)
def dismission_infos(call: Call, body: InfoQuery) -> dict[str, Any]:
    """QueryHrmEmployeeDismissionInfo: the dismission records of up to 50 people."""
    try:
        result = dingtalk_dismission.infos(
            call, body.userIdList, dingtalk_dismission.CAMEL, field="userIdList"
        )
    except CoreError as exc:
        raise V1Error(INVALID_PARAMETER, exc.message, text="员工id列表大小不在[1,50]范围") from None
    return {"result": result}


@route("GET", f"{_HRM}/dismission/record/get", permission=HRM_READ, body=RecordPageQuery)
def dismission_records(call: Call, body: RecordPageQuery) -> Envelope:
    """GetDismissionRecord: one page of the people who left and their last day of work."""
    page, more = roster_dismissions.done_page(
        call.reader, tenant_id=call.tenant_id, offset=body.nextToken, size=body.size
    )
    result: dict[str, Any] = {
        "list": [{"staffId": x.user_id, "lastWorkDay": x.last_work_day} for x in page],
        "hasMore": more,
    }
    if more:
        result["nextCursor"] = body.nextToken + len(page)
    return Envelope(result, request_id=False)


def _instant(value: str, field: str) -> datetime:
    try:
        return datetime.strptime(value, _ISO).replace(tzinfo=UTC)
    except ValueError:
        raise V1Error(INVALID_PARAMETER, f"{field}: {value!r} is not YYYY-MM-DDTHH:mm:ssZ") from None


@route("GET", "/v1.0/contact/empLeaveRecords", permission=CONTACT_READ, body=LeaveQuery)
def leave_records(call: Call, body: LeaveQuery) -> dict[str, Any]:
    """ListEmpLeaveRecords: who left the company in a time range (at most 365 days), and why."""
    now = datetime.fromtimestamp(call.directory.clock.now(), UTC)
    start = _instant(body.startTime, "startTime")
    end = _instant(body.endTime, "endTime") if body.endTime is not None else now
    if end < start:
        raise V1Error(INVALID_PARAMETER, "endTime: before startTime")
    if end - start > LEAVE_RANGE:
        where = "endTime" if body.endTime is not None else "startTime"
        raise V1Error(INVALID_PARAMETER, f"{where}: the range is longer than 365 days")
    token = body.nextToken or "0"
    if not token.isdigit() or int(token) > OFFSET_MAX:
        raise V1Error(INVALID_PARAMETER, f"nextToken: {token!r} is not a page token")
    offset = int(token)
    rows, more = roster_dismissions.leave_log(
        call.reader,
        tenant_id=call.tenant_id,
        start=int(start.timestamp() * 1000),
        end=int(end.timestamp() * 1000) + 1,
        offset=offset,
        size=body.maxResults,
    )
    records = [
        {
            "userId": x.user_id,
            "name": x.name,
            "stateCode": "86",
            "mobile": x.mobile or "",
            "leaveTime": datetime.fromtimestamp(x.time / 1000, UTC).strftime(_ISO),
            "leaveReason": x.reason.value,
        }
        for x in rows
    ]
    out: dict[str, Any] = {"records": records}
    if more:
        out["nextToken"] = str(offset + body.maxResults)
    return out
