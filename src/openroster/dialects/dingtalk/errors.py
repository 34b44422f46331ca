"""DingTalk error codes and the ``{errcode, errmsg}`` envelope.

Every reply is HTTP 200; ``errcode`` says what happened. The texts are the
platform's (Chinese), followed by openroster's detail naming the field or
item at fault (``无效的参数: param.groups[0].group_id: ...``). docs/dingtalk.md
lists the table.
"""

from __future__ import annotations

from enum import IntEnum

import orjson
from starlette.responses import Response

from openroster.dialects.ids import base36_ids
from openroster.model import errors as core


class Code(IntEnum):
    OK = 0
    SYSTEM_BUSY = -1
    INVALID_METHOD = 22
    TOP_ERROR = 88  # topapi's wrapper around a sub_code (an invalid access_token)
    NOT_FOUND = 404  # a path that is no API (outside /topapi)
    INVALID_USERID = 33012
    INVALID_TOKEN = 40014
    MISSING_PARAMETER = 40035
    INVALID_APP_CREDENTIALS = 40096
    MISSING_TOKEN = 41001
    MISSING_AGENTID = 41011
    TOKEN_EXPIRED = 42001
    NEED_GET = 43001
    NEED_POST = 43002
    INVALID_AGENTID = 52019
    DEPT_NOT_FOUND = 60003
    NO_PERMISSION = 60011
    MOBILE_TAKEN = 60104
    USER_NOT_FOUND = 60121
    AGENTID_NOT_FOUND = 70003
    APP_THROTTLED = 90018
    INVALID_PARAMETER = 400002


#: The platform's text for each code.
TEXT: dict[int, str] = {
    Code.OK: "ok",
    Code.SYSTEM_BUSY: "系统繁忙",
    Code.INVALID_METHOD: "Invalid method",
    Code.TOP_ERROR: "ding talk error",
    Code.NOT_FOUND: "请求的URI地址不存在",
    Code.INVALID_USERID: "无效的USERID",
    Code.INVALID_TOKEN: "不合法的access_token",
    Code.MISSING_PARAMETER: "缺少参数",
    Code.INVALID_APP_CREDENTIALS: "不合法的appKey或appSecret",
    Code.MISSING_TOKEN: "缺少access_token参数",
    Code.MISSING_AGENTID: "缺少agentid参数",
    Code.TOKEN_EXPIRED: "access_token超时",
    Code.NEED_GET: "需要GET请求",
    Code.NEED_POST: "需要POST请求",
    Code.INVALID_AGENTID: "不合法的agentid",
    Code.DEPT_NOT_FOUND: "部门不存在",
    Code.NO_PERMISSION: "应用尚未开通所需的权限",
    Code.MOBILE_TAKEN: "手机号码在公司中已注册",
    Code.USER_NOT_FOUND: "找不到该用户",
    Code.AGENTID_NOT_FOUND: "agentid不存在",
    Code.APP_THROTTLED: "当前应用调用该接口的频率超过上限，请稍后再试",
    Code.INVALID_PARAMETER: "无效的参数",
}
#: The platform's text of the codes an injected fault (``control/faults.py``) typically imitates.
FAULT_TEXT: dict[int, str] = {
    Code.SYSTEM_BUSY: TEXT[Code.SYSTEM_BUSY],
    90002: "服务器繁忙，接口调用超过限制",
    90005: "企业调用接口过于频繁，请稍后再试",
    Code.APP_THROTTLED: TEXT[Code.APP_THROTTLED],
}
#: The text of any other code a fault imitates.
FAULT_DEFAULT_TEXT = "系统错误"

#: A request id in the platform's shape (13 lowercase letters and digits): ``new_request_id()``.
new_request_id = base36_ids()


class DingTalkError(Exception):
    """An error reply. ``detail`` follows the platform's text in ``errmsg``; a code of the
    platform's that openroster does not raise itself (an injected fault's) comes with ``errmsg``."""

    def __init__(self, code: int, detail: str = "", *, errmsg: str | None = None) -> None:
        super().__init__(detail or TEXT.get(code) or errmsg or "")
        self.code = code
        self.detail = detail
        self._errmsg = errmsg
        self.sub_code: str | None = None
        self.sub_msg: str | None = None

    @property
    def errmsg(self) -> str:
        if self._errmsg is not None:
            return self._errmsg
        text = TEXT[self.code]
        return f"{text}: {self.detail}" if self.detail else text

    def payload(self, request_id: str | None) -> dict[str, object]:
        body: dict[str, object] = {"errcode": int(self.code)}
        if self.sub_code is not None:
            body["sub_code"] = self.sub_code
        if self.sub_msg is not None:
            body["sub_msg"] = self.sub_msg
        body["errmsg"] = self.errmsg
        if request_id is not None:
            body["request_id"] = request_id
        return body

    def response(self, request_id: str | None) -> Response:
        return Response(orjson.dumps(self.payload(request_id)), media_type="application/json")


def top_error(sub: Code, sub_msg: str | None = None) -> DingTalkError:
    """topapi's ``errcode 88`` wrapper: ``ding talk error[subcode=40014,submsg=不合法的access_token]``."""
    msg = sub_msg or TEXT[sub]
    exc = DingTalkError(Code.TOP_ERROR, errmsg=f"ding talk error[subcode={int(sub)},submsg={msg}]")
    exc.sub_code = str(int(sub))
    exc.sub_msg = msg
    return exc


def invalid_method(path: str) -> DingTalkError:
    """``errcode 22`` for a topapi path that names no API, as the platform spells it."""
    api_name = "dingtalk.oapi." + ".".join(p for p in path.removeprefix("/topapi/").split("/") if p)
    sub_msg = f"不合法ApiName，ApiName = {api_name}"
    exc = DingTalkError(Code.INVALID_METHOD, errmsg=f"Invalid method[submsg={sub_msg}]")
    exc.sub_msg = sub_msg
    return exc


def from_core(exc: core.CoreError, *, user_not_found: Code = Code.USER_NOT_FOUND) -> DingTalkError:
    """The DingTalk error for a core error, by its kind and what it is about; the message names the field."""
    if isinstance(exc, core.AuthError):
        if exc.reason == "expired_token":
            return DingTalkError(Code.TOKEN_EXPIRED)
        if exc.reason == "invalid_client":
            return DingTalkError(Code.INVALID_APP_CREDENTIALS)
        return top_error(Code.INVALID_TOKEN)
    if isinstance(exc, core.Throttled):
        return DingTalkError(Code.APP_THROTTLED, exc.message)
    if isinstance(exc, core.Busy):
        return DingTalkError(Code.SYSTEM_BUSY, exc.message)
    if isinstance(exc, core.ScopeMissing):
        return DingTalkError(Code.NO_PERMISSION, errmsg=f"{TEXT[Code.NO_PERMISSION]}：[{exc.scope}]")
    kind, entity = exc.kind, exc.entity
    if kind is core.ErrorKind.MISSING_FIELD:
        return DingTalkError(Code.MISSING_PARAMETER, exc.message)
    if kind is core.ErrorKind.NOT_FOUND:
        if entity is core.Entity.USER:
            return DingTalkError(user_not_found, exc.message)
        if entity is core.Entity.DEPARTMENT:
            return DingTalkError(Code.DEPT_NOT_FOUND, exc.message)
        return DingTalkError(Code.INVALID_PARAMETER, exc.message)
    if kind is core.ErrorKind.BROKEN_REFERENCE and entity is core.Entity.DEPARTMENT:
        return DingTalkError(Code.DEPT_NOT_FOUND, exc.message)
    if kind is core.ErrorKind.CONFLICT and exc.item_field == _MOBILE:
        return DingTalkError(Code.MOBILE_TAKEN, exc.message)
    return DingTalkError(Code.INVALID_PARAMETER, exc.message)


#: The user field DingTalk calls ``mobile``.
_MOBILE = (core.Entity.USER, "phone")
