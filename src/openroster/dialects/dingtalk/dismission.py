"""A person's dismission record as DingTalk shows it (``employee/listdimission`` and its ``/v1.0``
twin QueryHrmEmployeeDismissionInfo), from core's record (``core/roster/dismissions.py``).

``status``: 1 leaving (pending), 2 left, 3 neither; ``preStatus``: 1 pre-hire, 2 probation, 3
regular (someone with no employment status counts as regular). A department's ``dept_path`` is its
path of names from the company, ``/``-separated. The old generation spells the keys in snake_case;
``deptList`` items are snake_case in both (the protocol file).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from openroster.core.roster import dismissions as roster_dismissions
from openroster.dialects.dingtalk.endpoint import HRM_READ, Call, route
from openroster.dialects.dingtalk.schemas import TextList
from openroster.model.dismissions import Dismission, DismissionState
from openroster.model.entities import User
from openroster.model.errors import InvalidValue

#: The most people one call asks about.
INFO_USERS_MAX = 50
#: ``status``: a pending dismission, someone who left, neither.
STATUS = {DismissionState.PENDING: 1, DismissionState.DONE: 2}
NO_DISMISSION = 3
#: ``preStatus`` of the employment status held before.
PRE_STATUS = {roster_dismissions.PRE_ENTRY: 1, "probationary": 2, "regular": 3}
_PRE_DEFAULT = 3


class InfoKeys(NamedTuple):
    """The keys of one item, per generation."""

    user_id: str
    last_work_day: str
    dept_list: str
    main_dept_id: str
    main_dept_name: str
    reason_memo: str
    pre_status: str
    handover_user_id: str
    voluntary: str
    passive: str


CAMEL = InfoKeys(
    "userId",
    "lastWorkDay",
    "deptList",
    "mainDeptId",
    "mainDeptName",
    "reasonMemo",
    "preStatus",
    "handoverUserId",
    "voluntaryReason",
    "passiveReason",
)
SNAKE = InfoKeys(
    "userid",
    "last_work_day",
    "dept_list",
    "main_dept_id",
    "main_dept_name",
    "reason_memo",
    "pre_status",
    "handover_userid",
    "voluntary_reason",
    "passive_reason",
)


def dept_path(abs_path: str) -> str:
    return abs_path.lstrip("/")


def info(user: User, record: Dismission | None, keys: InfoKeys) -> dict[str, Any]:
    """One person's item: their record's fields, or ``status`` 3 alone when they have none."""
    out: dict[str, Any] = {keys.user_id: user.id, "name": user.user_name}
    if record is None:
        out["status"] = NO_DISMISSION
        return out
    out.update(
        {
            keys.last_work_day: record.last_work_day,
            keys.dept_list: [{"dept_id": x.dept_id, "dept_path": dept_path(x.path)} for x in record.depts],
            keys.main_dept_id: record.main_dept_id,
            keys.main_dept_name: record.main_dept_name or "",
            keys.reason_memo: record.memo,
            keys.pre_status: PRE_STATUS.get(record.pre_status or "", _PRE_DEFAULT),
            keys.handover_user_id: record.handover_user_id or "",
            "status": STATUS[record.state],
            keys.voluntary: list(record.voluntary),
            keys.passive: list(record.passive),
        }
    )
    return out


def infos(call: Call, user_ids: Sequence[str], keys: InfoKeys, *, field: str) -> list[dict[str, Any]]:
    """The items of 1..50 people, in the order asked; unknown ids are left out."""
    if not 1 <= len(user_ids) <= INFO_USERS_MAX:
        raise InvalidValue(f"{field}: {len(user_ids)} ids, not 1..{INFO_USERS_MAX}", field=field)
    wanted = list(dict.fromkeys(user_ids))
    people = call.reader.users(call.tenant_id, wanted)
    records = roster_dismissions.records(call.reader, tenant_id=call.tenant_id, user_ids=list(people))
    return [info(people[uid], records.get(uid), keys) for uid in wanted if uid in people]


class ListDimissionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    userid_list: TextList = Field(description="1..50 userids (array or comma-separated).")


@route(
    "/topapi/smartwork/hrm/employee/listdimission", permission=HRM_READ, body=ListDimissionBody, success=True
)
def list_dimission(call: Call, body: ListDimissionBody) -> list[dict[str, Any]]:
    """The dismission records of up to 50 people (status 3 for someone without one)."""
    return infos(call, body.userid_list, SNAKE, field="userid_list")
