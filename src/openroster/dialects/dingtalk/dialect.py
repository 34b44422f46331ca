"""The DingTalk dialect: how a ``/topapi`` call runs through the pipeline, and the server's answers on
DingTalk paths.

The caller's access token is the ``access_token`` query parameter (or a form
body's field); a route needs one permission and may need the body to name the
app's AgentId; bodies are JSON or a form with JSON-valued fields
(``endpoint.py``). Every reply is HTTP 200 with ``errcode`` / ``errmsg`` and,
on ``/topapi``, a ``request_id`` (``errors.py``).
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from openroster.core.directory import Directory
from openroster.dialects import nul
from openroster.dialects.base import Exchange, FaultReply, InjectedError, Refusal
from openroster.dialects.dingtalk import auth, contacts, dismission, roster  # noqa: F401  (they register routes)
from openroster.dialects.dingtalk import tokens as dingtalk_tokens
from openroster.dialects.dingtalk.endpoint import (
    ROUTES,
    TOPAPI,
    Call,
    Caller,
    Route,
    TokenDialect,
    check_agentid,
    form_fields,
    json_fields,
    known_path,
    reply,
    validate,
)
from openroster.dialects.dingtalk.errors import (
    FAULT_DEFAULT_TEXT,
    FAULT_TEXT,
    Code,
    DingTalkError,
    from_core,
    invalid_method,
    new_request_id,
)
from openroster.dialects.openapi import body_schema
from openroster.dialects.raw import RawRequest, form_or_query, is_form
from openroster.model.errors import CoreError

_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower() == _FORM


class DingTalkDialect(TokenDialect[Route]):
    name = "dingtalk"
    #: Every path of the platform's server API, journaled as DingTalk (most have no route here);
    #: ``/v1.0/`` is the new generation's own dialect (``dialects/dingtalk_v1``).
    platform_prefixes = (
        "/gettoken",
        TOPAPI,
        "/user/",
        "/department/",
        "/v2.0/",
        "/sns/",
        "/auth/",
        "/attendance/",
        "/message/",
        "/chat/",
        "/media/",
        "/process/",
        "/robot/",
        "/service/",
    )
    owned_prefixes = (TOPAPI,)
    owned_paths = frozenset({"/gettoken"})
    call_type = Call
    routes = ROUTES
    error_types = (DingTalkError, CoreError)

    def caller_id(self, d: Directory, call: RawRequest) -> str | None:
        """gettoken's appkey, or the app the access token (query or form) was issued to."""
        query = form_or_query(call.query)
        if call.path == "/gettoken":
            return query.get("appkey") or query.get("corpid") or None
        token = query.get("access_token")
        if not token and is_form(call.headers):
            token = form_or_query(call.body).get("access_token")
        return dingtalk_tokens.caller_of(d, token)

    # -- mounting -------------------------------------------------------------------------------

    def mount_own(self, api: FastAPI) -> None:
        auth.mount(api)

    def openapi(self, route: Route) -> dict[str, Any] | None:
        schema = body_schema(route.body) if route.body is not None else {}
        return {
            "requestBody": {"required": True, "content": {_JSON: {"schema": schema}}},
            "parameters": [
                {"name": "access_token", "in": "query", "required": True, "schema": {"type": "string"}}
            ],
        }

    # -- the pipeline's steps -------------------------------------------------------------------

    def request_id(self) -> str | None:
        return new_request_id()

    def too_large(self, message: str) -> Exception:
        return DingTalkError(Code.INVALID_PARAMETER, message)

    def credentials(self, x: Exchange[Route]) -> str:
        """The access token: the query parameter, else a form body's field (decoded once, kept)."""
        request = x.request
        form = x.fields = form_fields(x.body) if _is_form(request) else None
        sent = request.query_params.getlist("access_token")
        if form is not None and "access_token" in form:
            sent.append(str(form["access_token"]))
        if len(sent) > 1:  # which one would be the caller's? Ambiguous: refuse, as for a form field.
            raise DingTalkError(
                Code.INVALID_PARAMETER,
                "access_token: given more than once in the query or form; send it once",
            )
        token = sent[0] if sent else ""
        if not token.strip():
            raise DingTalkError(Code.MISSING_TOKEN, "access_token is required in the query string")
        return token

    def parse(self, x: Exchange[Route], principal: Caller) -> Any:
        fields = x.fields if x.fields is not None else json_fields(x.body)
        where = nul.in_params(x.request.query_params.multi_items()) or (
            nul.where(fields) if nul.may_hold(x.body) else None
        )
        if where is not None:
            raise DingTalkError(Code.INVALID_PARAMETER, nul.message(where))
        parsed = validate(x.route.body, fields) if x.route.body is not None else None
        if x.route.agentid:
            check_agentid(principal.app, getattr(parsed, "agentid", None), x.body)
        return parsed

    def render(self, x: Exchange[Route], result: Any) -> Response:
        return reply(result, success=x.route.success, request_id=cast(str, x.request_id))

    def error_reply(self, x: Exchange[Route], exc: Exception) -> Response:
        if isinstance(exc, CoreError):
            return from_core(exc, user_not_found=x.route.user_not_found).response(x.request_id)
        return cast(DingTalkError, exc).response(x.request_id)

    # -- the server's answers on DingTalk paths -------------------------------------------------

    def refusal(self, path: str, status: int, message: str) -> Refusal:
        # DingTalk answers every call HTTP 200, the error in errcode.
        request_id = new_request_id() if path.startswith(TOPAPI) else None
        return Refusal(200, orjson.dumps(DingTalkError(Code.INVALID_PARAMETER, message).payload(request_id)))

    def fault_reply(self, path: str, fault: InjectedError, request_id: str) -> FaultReply:
        error = DingTalkError(
            fault.code, errmsg=fault.message or FAULT_TEXT.get(fault.code, FAULT_DEFAULT_TEXT)
        )
        body = orjson.dumps(error.payload(request_id if path.startswith(TOPAPI) else None))
        return FaultReply(fault.status or 200, body, retry_after=fault.retry_after)

    def http_error(self, request: Request, status: int, message: str) -> Response:
        path = request.url.path
        if status not in (404, 405):  # a malformed request: as refused at the door
            refused = self.refusal(path, 400, message)
            return Response(refused.body, status_code=refused.status, media_type=refused.media_type)
        if path.startswith(TOPAPI):
            if known_path(path):
                return DingTalkError(Code.NEED_POST, f"{request.method} {path}").response(new_request_id())
            return invalid_method(path).response(new_request_id())
        if status == 405:
            return DingTalkError(Code.NEED_GET, f"{request.method} {path}").response(None)
        return DingTalkError(Code.NOT_FOUND).response(None)

    def internal_error(self, request: Request) -> Response:
        return DingTalkError(Code.SYSTEM_BUSY).response(new_request_id())


DINGTALK = DingTalkDialect()
