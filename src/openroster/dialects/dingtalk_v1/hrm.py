"""The ``hrm_1_0`` calls (智能人事): the roster, its field list and the people who left.

Each reads the same records as its ``/topapi/smartwork/hrm`` twin (``dialects/dingtalk/roster.py``),
spelled in camelCase (docs/dingtalk-v1.md maps one to the other).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, TypeGuard

from pydantic import BaseModel, ConfigDict, Field

from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import employees as roster_employees
from openroster.core.roster import processes
from openroster.core.roster import writes as roster_writes
from openroster.core.roster.catalogue import FieldType
from openroster.core.roster.profile import EmployeeList
from openroster.core.runtime.limits import OFFSET_MAX
from openroster.dialects.dingtalk import render
from openroster.dialects.dingtalk.endpoint import HRM_READ, Call
from openroster.dialects.dingtalk.roster import roster_items
from openroster.dialects.dingtalk_v1 import HRM_PREENTRY, HRM_PROCESS
from openroster.dialects.dingtalk_v1.endpoint import route
from openroster.dialects.dingtalk_v1.errors import V1Error
from openroster.dialects.pieces import Pieces
from openroster.model.entities import App

_HRM = "/v1.0/hrm"
#: The field types ``RosterMetaAvailableFieldList`` names (a date with a long form is a date there).
FIELD_TYPES = {**render.FIELD_TYPES, FieldType.DATE_WITH_LONG: "DDDateField"}


#: The instants a date in Unix milliseconds may name: the years 1900 to 9999.
MS_MIN = -2_208_988_800_000
MS_MAX = 253_402_300_799_000


#: AddHrmPreentry's names of a roster write's parts (``groups[0].sections[0].empFieldVOList[1]``).
_CAMEL_NAMES = roster_writes.Names("groupId", "sections", "oldIndex", "empFieldVOList", "fieldCode")


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RosterByFieldBody(_Body):
    appAgentId: int = Field(description="The app's AgentId.")
    userIdList: list[str] = Field(max_length=roster_catalogue.LIST_USERS_MAX, description="1..100 userIds.")
    fieldFilterList: list[str] | None = Field(
        default=None, max_length=roster_catalogue.LIST_FIELDS_MAX, description="Field codes; all when absent."
    )
    text2SelectConvert: bool | None = Field(default=None, description="Accepted; values are option keys.")


class RosterByField(NamedTuple):
    """A GetEmployeeRosterByField body of the usual shape, read without the model
    (:func:`read_roster_query`)."""

    appAgentId: int
    userIdList: list[str]
    fieldFilterList: list[str] | None


def _strings(value: Any, most: int) -> TypeGuard[list[str]]:
    """Whether ``value`` is a list of at most ``most`` strings, as ``list[str]`` takes it as it is
    (their types looked at in C: a Python loop over 100 ids costs more than the set of one type)."""
    if type(value) is not list or len(value) > most:
        return False
    return not value or set(map(type, value)) == {str}


def read_roster_query(data: Any) -> RosterByField | None:
    """GetEmployeeRosterByField's body as :class:`RosterByFieldBody` reads it (unknown keys
    ignored), without the model: its parse of 100 ids is most of the body's cost. None for any
    other shape (a field missing, of another type, too long, a value the model converts): the
    model reads that body and answers its own error naming the field."""
    if type(data) is not dict:
        return None
    agent, ids = data.get("appAgentId"), data.get("userIdList")
    codes, convert = data.get("fieldFilterList"), data.get("text2SelectConvert")
    if type(agent) is not int or not _strings(ids, roster_catalogue.LIST_USERS_MAX):
        return None
    if codes is not None and not _strings(codes, roster_catalogue.LIST_FIELDS_MAX):
        return None
    if convert is not None and type(convert) is not bool:
        return None
    return RosterByField(agent, ids, codes)


class AgentQuery(_Body):
    appAgentId: int = Field(description="The app's AgentId.")


class DismissionPageQuery(_Body):
    nextToken: int = Field(
        default=0, ge=0, le=OFFSET_MAX, description="Where the page starts (0: the first)."
    )
    maxResults: int = Field(default=30, ge=1, le=roster_catalogue.PAGE_SIZE_MAX, description="1..50.")


class EmpField(_Body):
    fieldCode: str
    value: str | None = None


class Section(_Body):
    oldIndex: int | None = None
    empFieldVOList: list[EmpField] = Field(default_factory=list)


class Group(_Body):
    groupId: str
    sections: list[Section] = Field(default_factory=list)


class PreentryBody(_Body):
    name: str = Field(description="The person's name.")
    mobile: str = Field(description="The person's mobile number (unique in the company).")
    preEntryTime: int | None = Field(default=None, ge=MS_MIN, le=MS_MAX, description="The join day, Unix ms.")
    agentId: int | None = None
    needSendPreEntryMsg: bool | None = None
    groups: list[Group] = Field(default_factory=list, description="Roster fields, as in v2/update.")


class RegularBody(_Body):
    userId: str = Field(description="The person on probation.")
    regularDate: int = Field(ge=MS_MIN, le=MS_MAX, description="The day they become regular, Unix ms.")
    operationId: str = Field(description="The userId of the person who approves it.")
    remark: str | None = None


def _check_agent(app: App, agent_id: int, code: str, field: str) -> None:
    if app.agentid != agent_id:
        raise V1Error(code, f"{field}: {agent_id} is not the AgentId of this app")


@route(
    "POST",
    f"{_HRM}/rosters/lists/query",
    permission=HRM_READ,
    body=RosterByFieldBody,
    fast=read_roster_query,
    reply_names_secrets=False,  # its members are the roster's own names, a refusal's code and message
)
def roster_by_field(call: Call, body: RosterByFieldBody | RosterByField) -> Pieces:
    """GetEmployeeRosterByField: roster fields of up to 100 employees (every field unless filtered)."""
    _check_agent(call.app, body.appAgentId, "invalidParameter", "appAgentId")
    if not body.userIdList:
        raise V1Error("invalidParameter", "userIdList must name at least one userId")
    codes = tuple(body.fieldFilterList) if body.fieldFilterList else None
    items = roster_items(call, body.userIdList, codes, field="userIdList", spelling=render.CAMEL)
    return items.within(b'{"result":', b"}")  # sent as they are (dialects/pieces.py)


@route("GET", f"{_HRM}/rosters/meta/authorities/fields", permission=HRM_READ, body=AgentQuery)
def available_fields(call: Call, body: AgentQuery) -> dict[str, Any]:
    """RosterMetaAvailableFieldList: every roster field the app may read, flat, with select options."""
    _check_agent(call.app, body.appAgentId, "invalidAgentId", "appAgentId")
    cat = roster_catalogue.catalogue(call.reader, tenant_id=call.tenant_id)
    out: list[dict[str, object]] = []
    for g in cat.groups:
        for f in g.fields:
            meta: dict[str, object] = {
                "fieldCode": f.code,
                "fieldName": f.name,
                "fieldType": FIELD_TYPES[f.field_type],
            }
            if f.options:
                meta["optionText"] = render.option_text(f)
            out.append(meta)
    return {"result": out}


@route("GET", f"{_HRM}/employees/dismissions", permission=HRM_READ, body=DismissionPageQuery)
def dismission_ids(call: Call, body: DismissionPageQuery) -> dict[str, Any]:
    """QueryDismissionStaffIdList: one page of the userIds of the people who left."""
    page = roster_employees.list_employees(
        call.reader,
        tenant_id=call.tenant_id,
        kind=EmployeeList.DIMISSION,
        offset=body.nextToken,
        size=body.maxResults,
    )
    out: dict[str, Any] = {"userIdList": page.user_ids, "hasMore": page.next_offset is not None}
    if page.next_offset is not None:
        out["nextToken"] = page.next_offset
    return out


def _china_time(ms: int, form: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Unix milliseconds as the platform's wall-clock time in China (``yyyy-MM-dd HH:mm:ss``)."""
    return datetime.fromtimestamp(ms / 1000, render.CHINA).strftime(form)


@route("POST", f"{_HRM}/preentries", permission=HRM_PREENTRY, body=PreentryBody, writes=True)
def add_preentry(call: Call, body: PreentryBody) -> dict[str, Any]:
    """AddHrmPreentry: add a person waiting to join, with roster fields; answers their id."""
    when = _china_time(body.preEntryTime) if body.preEntryTime is not None else None
    item = roster_employees.PreEntry(name=body.name, mobile=body.mobile, pre_entry_date=when)
    created = roster_employees.add_pre_entry(
        call.directory, tenant_id=call.tenant_id, item=item, names={"pre_entry_date": "preEntryTime"}
    )
    if body.groups:
        groups = [
            roster_writes.GroupWrite(
                group_id=g.groupId,
                sections=tuple(
                    roster_writes.SectionWrite(
                        fields=tuple(
                            roster_writes.FieldWrite(f.fieldCode, f.value or "") for f in s.empFieldVOList
                        ),
                        old_index=s.oldIndex,
                    )
                    for s in g.sections
                ),
            )
            for g in body.groups
        ]
        roster_writes.update(
            call.directory, tenant_id=call.tenant_id, user_id=created.id, groups=groups, names=_CAMEL_NAMES
        )
    return {"tmpUserId": created.id}


@route("POST", f"{_HRM}/processes/regulars/become", permission=HRM_PROCESS, body=RegularBody, writes=True)
def become_regular(call: Call, body: RegularBody) -> dict[str, Any]:
    """HrmProcessRegular: a person on probation becomes a regular employee on a day."""
    processes.regularize(
        call.directory,
        tenant_id=call.tenant_id,
        user_id=body.userId,
        day=_china_time(body.regularDate, "%Y-%m-%d"),
        operator_id=body.operationId,
        fields=("userId", "regularDate", "operationId"),
    )
    return {"result": True}


class TransferBody(_Body):
    userId: str = Field(description="The person on the job.")
    operateUserId: str | None = Field(default=None, description="The operator (another person).")
    deptIdsAfterTransfer: list[int] | None = Field(
        default=None, max_length=100, description="The departments."
    )
    mainDeptIdAfterTransfer: int | None = Field(default=None, description="One of the departments.")
    positionNameAfterTransfer: str | None = Field(default=None, description="The title.")
    positionLevelAfterTransfer: str | None = Field(default=None, description="The roster's position level.")
    positionIdAfterTransfer: str | None = None
    jobIdAfterTransfer: str | None = None
    rankIdAfterTransfer: str | None = None


_TRANSFER_FIELDS = (
    "userId",
    "operateUserId",
    "deptIdsAfterTransfer",
    "mainDeptIdAfterTransfer",
    "positionNameAfterTransfer",
    "positionLevelAfterTransfer",
)


@route("POST", f"{_HRM}/processes/transfer", permission=HRM_PROCESS, body=TransferBody, writes=True)
def transfer(call: Call, body: TransferBody) -> dict[str, Any]:
    """HrmProcessTransfer: a person moves to other departments, title or position level."""
    to = processes.Transfer(
        dept_ids=body.deptIdsAfterTransfer,
        main_dept_id=body.mainDeptIdAfterTransfer,
        title=body.positionNameAfterTransfer,
        position_level=body.positionLevelAfterTransfer,
        fields=_TRANSFER_FIELDS,
    )
    processes.transfer(
        call.directory,
        tenant_id=call.tenant_id,
        user_id=body.userId,
        operator_id=body.operateUserId or body.userId,
        to=to,
    )
    return {"result": True}
