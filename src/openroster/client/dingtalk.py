"""The DingTalk server API client (oapi / topapi): the HR roster and contacts.

::

    from openroster.client import DingTalkClient

    with DingTalkClient(appkey="ding...", appsecret="...", agentid=1000001) as dt:
        for userid in dt.iter_onjob_employees(status_list=["2", "3"]):
            roster = dt.list_employee_rosters([userid])[0]
            print(userid, roster.value("sys00-name"))

The access token travels as the ``access_token`` query parameter; the roster
calls that need the app's ``agentid`` get it from the client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import orjson
from pydantic import BaseModel

from openroster.client import errors, transport
from openroster.client.dingtalk_models import (
    DingTalkDept,
    DingTalkUser,
    EmployeeRoster,
    PreEntry,
    RosterFieldGroup,
    RosterGroup,
    RosterGroupMeta,
    RosterUpdate,
)
from openroster.client.models import list_of, request
from openroster.client.retry import RetryPolicy
from openroster.client.transport import H, Op, Page, endpoint, pages

DEFAULT_BASE_URL = "https://oapi.dingtalk.com"

#: Codes that say the access token is invalid, expired or missing: worth one refresh.
TOKEN_CODES = frozenset({40014, 42001, 41001, 40001})
_CLASSES: dict[int, type[errors.ApiError]] = {
    **dict.fromkeys((90002, 90005, 90018, -1), errors.ThrottledError),
    **dict.fromkeys((*TOKEN_CODES, 40096, 40089), errors.AuthenticationError),
    **dict.fromkeys((60011, 60020, 400020), errors.PermissionDeniedError),
    **dict.fromkeys((22, 33012, 60003, 60121, 60123), errors.NotFoundError),
    **dict.fromkeys((40000, 40035, 400002, 41011, 52019, 70003), errors.InvalidRequestError),
}

M = TypeVar("M", bound=BaseModel)


class DingTalkDialect:
    """DingTalk wire rules: ``?access_token=``, JSON bodies, ``errcode`` / ``errmsg``."""

    def __init__(self, *, appkey: str, appsecret: str, agentid: int | str | None) -> None:
        self.appkey = appkey
        self._secret = appsecret
        self.agentid = int(agentid) if isinstance(agentid, str) and agentid.isdigit() else agentid

    def token_op(self) -> Op[transport.Token]:
        params = (("appkey", self.appkey), ("appsecret", self._secret))
        return Op("GET", "/gettoken", transport.Token.from_reply, params=params, auth=False)

    def build(self, op: Op[Any], token: str | None) -> transport.Wire:
        params = list(op.params)
        if token is not None:
            params.append(("access_token", token))
        body = op.content or b""
        headers: dict[str, str] = {}
        if op.json is not None or op.agentid:
            data = dict(op.json or {}) if op.agentid else op.json
            if op.agentid:
                if self.agentid is None:
                    raise ValueError(f"{op.path} needs the app's agentid: pass agentid= to the client")
                data.setdefault("agentid", self.agentid)
            body = orjson.dumps(data)
        if body:
            headers["Content-Type"] = op.content_type or "application/json"
        headers.update(op.headers)
        query = urlencode(params)
        return transport.Wire(op.method, op.path + (f"?{query}" if query else ""), headers, body)

    def payload(self, op: Op[Any], resp: httpx.Response) -> Any:
        reply = transport.json_object(resp, "errcode", "errmsg")
        if resp.status_code < 400 and reply.get("errcode", 0) == 0:
            return reply
        raise dingtalk_error(resp, reply)

    def token_rejected(self, exc: errors.ApiError) -> bool:
        return (
            isinstance(exc, errors.AuthenticationError)
            and _effective_code(exc.code, exc.sub_code) in TOKEN_CODES
        )


def _effective_code(errcode: int, sub_code: str | None) -> int:
    """topapi wraps some errors as ``errcode 88`` with the real code in ``sub_code``."""
    if errcode == 88 and sub_code and sub_code.lstrip("-").isdigit():
        return int(sub_code)
    return errcode


def dingtalk_error(resp: httpx.Response, reply: Mapping[str, Any]) -> errors.ApiError:
    """The exception for a DingTalk reply with a non-zero ``errcode`` (or an HTTP error)."""
    code = transport.reply_code(reply, "errcode")
    sub = reply.get("sub_code")
    sub_code = str(sub) if sub not in (None, "") else None
    cls = errors.error_class(
        (resp.status_code,), _CLASSES.get(_effective_code(code, sub_code), errors.ApiError)
    )
    message = str(reply.get("sub_msg") or reply.get("errmsg") or "")
    return transport.api_error(cls, code, message, resp, reply, platform="dingtalk", sub_code=sub_code)


def _result(reply: dict[str, Any]) -> Any:
    return reply.get("result")


_rosters = list_of(EmployeeRoster, "result")
_group_metas = list_of(RosterGroupMeta, "result")
_field_groups = list_of(RosterFieldGroup, "result")
_depts = list_of(DingTalkDept, "result")


def _one(cls: type[M]) -> Any:
    def parse(reply: dict[str, Any]) -> M:
        return cls.model_validate(reply.get("result") or {})

    return parse


def _cursor_page(reply: dict[str, Any]) -> Page[str]:
    result = reply.get("result") or {}
    nxt = result.get("next_cursor")
    return Page([str(u) for u in result.get("data_list") or []], nxt if nxt not in ("", None) else None)


def _new_userid(reply: dict[str, Any]) -> str:
    """``addpreentry`` answers ``{"userid": ...}`` (some versions put it in ``result``)."""
    return str(reply.get("userid") or reply.get("result") or "")


def _bool_result(reply: dict[str, Any]) -> bool:
    return bool(reply.get("result", reply.get("success", True)))


# -- roster -----------------------------------------------------------------------------


def update_employee_roster(
    userid: str | RosterUpdate, groups: Sequence[RosterGroup | Mapping[str, Any]] = ()
) -> Op[bool]:
    """``POST /topapi/smartwork/hrm/employee/v2/update``: edit rows (``old_index``) or add rows.

    Give the user id and the groups, or a whole :class:`RosterUpdate`.
    """
    if isinstance(userid, RosterUpdate):
        param = userid
    else:
        param = RosterUpdate(
            userid=userid,
            groups=[request(RosterGroup, g) for g in groups],
        )
    body = {"param": param.body()}
    return Op(
        "POST",
        "/topapi/smartwork/hrm/employee/v2/update",
        _bool_result,
        json=body,
        agentid=True,
        idempotent=False,
    )


def list_employee_rosters(
    userids: Sequence[str], *, field_codes: Sequence[str] = ()
) -> Op[list[EmployeeRoster]]:
    """``POST /topapi/smartwork/hrm/employee/v2/list``: up to 100 employees' roster fields (all, or these)."""
    body: dict[str, Any] = {"userid_list": ",".join(userids)}
    if field_codes:
        body["field_filter_list"] = ",".join(field_codes)
    return Op("POST", "/topapi/smartwork/hrm/employee/v2/list", _rosters, json=body, agentid=True)


def get_roster_meta() -> Op[list[RosterGroupMeta]]:
    """``POST /topapi/smartwork/hrm/roster/meta/get``: the roster's groups and fields, with options."""
    return Op("POST", "/topapi/smartwork/hrm/roster/meta/get", _group_metas, json={}, agentid=True)


def list_roster_field_groups() -> Op[list[RosterFieldGroup]]:
    """``POST /topapi/smartwork/hrm/employee/field/grouplist``: the field groups and their field types."""
    return Op(
        "POST",
        "/topapi/smartwork/hrm/employee/field/grouplist",
        _field_groups,
        json={},
        agentid=True,
    )


def query_onjob_employees(
    *, status_list: Sequence[str | int] = ("2", "3", "5", "-1"), offset: int = 0, size: int = 50
) -> Op[Page[str]]:
    """``POST /topapi/smartwork/hrm/employee/queryonjob``: a page of on-job user ids.

    Statuses: 2 probation, 3 regular, 5 leaving, -1 none.
    """
    body = {"status_list": ",".join(str(s) for s in status_list), "offset": offset, "size": size}
    return Op("POST", "/topapi/smartwork/hrm/employee/queryonjob", _cursor_page, json=body)


def query_preentry_employees(*, offset: int = 0, size: int = 50) -> Op[Page[str]]:
    """``POST /topapi/smartwork/hrm/employee/querypreentry``: a page of pre-hire user ids."""
    body = {"offset": offset, "size": size}
    return Op("POST", "/topapi/smartwork/hrm/employee/querypreentry", _cursor_page, json=body)


def query_dimission_employees(*, offset: int = 0, size: int = 50) -> Op[Page[str]]:
    """``POST /topapi/smartwork/hrm/employee/querydimission``: a page of resigned user ids."""
    body = {"offset": offset, "size": size}
    return Op("POST", "/topapi/smartwork/hrm/employee/querydimission", _cursor_page, json=body)


def add_preentry_employee(person: PreEntry | None = None, /, **fields: Any) -> Op[str]:
    """``POST /topapi/smartwork/hrm/employee/addpreentry``: a pre-hire; returns the new user id."""
    param = request(PreEntry, person if person is not None else fields).body()
    return Op(
        "POST",
        "/topapi/smartwork/hrm/employee/addpreentry",
        _new_userid,
        json={"param": param},
        idempotent=False,
    )


# -- contacts ---------------------------------------------------------------------------


def get_user(userid: str, *, language: str | None = None) -> Op[DingTalkUser]:
    """``POST /topapi/v2/user/get``: one user's contact details."""
    body = {"userid": userid, **({"language": language} if language else {})}
    return Op("POST", "/topapi/v2/user/get", _one(DingTalkUser), json=body)


def list_user_ids(dept_id: int) -> Op[list[str]]:
    """``POST /topapi/user/listid``: the user ids of a department's direct members."""
    return Op(
        "POST",
        "/topapi/user/listid",
        lambda reply: [str(u) for u in (reply.get("result") or {}).get("userid_list") or []],
        json={"dept_id": dept_id},
    )


def list_sub_depts(dept_id: int = 1) -> Op[list[DingTalkDept]]:
    """``POST /topapi/v2/department/listsub``: a department's direct sub-departments."""
    return Op("POST", "/topapi/v2/department/listsub", _depts, json={"dept_id": dept_id})


def get_dept(dept_id: int) -> Op[DingTalkDept]:
    """``POST /topapi/v2/department/get``: one department."""
    return Op("POST", "/topapi/v2/department/get", _one(DingTalkDept), json={"dept_id": dept_id})


class DingTalkEndpoints(transport.Engine[H, Any]):
    """What :class:`DingTalkClient` and :class:`AsyncDingTalkClient` share: constructor, typed methods."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        appkey: str,
        appsecret: str,
        agentid: int | str | None = None,
        timeout: float = transport.DEFAULT_TIMEOUT,
        http: H | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.dialect = DingTalkDialect(appkey=appkey, appsecret=appsecret, agentid=agentid)
        self.appkey = appkey
        self.agentid = agentid
        super().__init__(self.dialect, base_url=base_url, timeout=timeout, http=http, retry=retry)

    update_employee_roster = endpoint(update_employee_roster)
    list_employee_rosters = endpoint(list_employee_rosters)
    get_roster_meta = endpoint(get_roster_meta)
    list_roster_field_groups = endpoint(list_roster_field_groups)
    iter_onjob_employees = pages(query_onjob_employees, cursor="offset")
    query_onjob_employees = endpoint(query_onjob_employees)
    iter_preentry_employees = pages(query_preentry_employees, cursor="offset")
    query_preentry_employees = endpoint(query_preentry_employees)
    iter_dimission_employees = pages(query_dimission_employees, cursor="offset")
    query_dimission_employees = endpoint(query_dimission_employees)
    add_preentry_employee = endpoint(add_preentry_employee)
    get_user = endpoint(get_user)
    list_user_ids = endpoint(list_user_ids)
    list_sub_depts = endpoint(list_sub_depts)
    get_dept = endpoint(get_dept)


class DingTalkClient(DingTalkEndpoints[httpx.Client], transport.SyncEngine):
    """Synchronous DingTalk client."""


class AsyncDingTalkClient(DingTalkEndpoints[httpx.AsyncClient], transport.AsyncEngine):
    """Asynchronous DingTalk client (the same methods as :class:`DingTalkClient`, awaited)."""
