"""How a DingTalk endpoint runs: body limit, access token, permission, parsing, agentid, envelope.

Handlers are plain functions ``(call, body) -> result`` registered with
:func:`route`; the result becomes the reply's ``result`` (a JSON-able value
or pre-rendered bytes), or, given as :class:`TopLevel`, fields of the reply
itself. Every reply is HTTP 200 with ``errcode`` / ``errmsg`` and a
``request_id``; roster (smartwork) replies also carry ``success``.

Bodies are JSON, or ``application/x-www-form-urlencoded`` whose object-valued
fields are JSON strings (the platform's curl examples send that). The token
is the ``access_token`` query parameter (a form body's ``access_token`` field
is read too, as the platform does); a token in a header is not looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from openroster.core.directory import Directory, Reader
from openroster.dialects import arrival, nul
from openroster.dialects.body import read_limited_body
from openroster.dialects.dingtalk import tokens as dingtalk_tokens
from openroster.dialects.dingtalk.errors import (
    Code,
    DingTalkError,
    from_core,
    invalid_method,
    new_request_id,
)
from openroster.dialects.openapi import body_schema
from openroster.model.entities import App
from openroster.model.errors import CoreError, ScopeMissing

#: Read the HR roster (v2/list, metadata, employee lists).
HRM_READ = "qyapi_hrm_read_user"
#: Write the HR roster (v2/update, addpreentry).
HRM_WRITE = "qyapi_hrm_manager"
#: Read members (v2/user/get, user/listid).
MEMBER_READ = "qyapi_get_member"
#: Read departments (v2/department/get, v2/department/listsub).
DEPT_READ = "qyapi_get_department_list"
#: Every permission an app may hold for this dialect.
PERMISSIONS: tuple[str, ...] = (HRM_READ, HRM_WRITE, MEMBER_READ, DEPT_READ)

TOPAPI = "/topapi/"
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"


@dataclass(slots=True)
class Call:
    """What a handler gets: the app, its grant, its tenant and an open read transaction."""

    directory: Directory
    reader: Reader
    app: App
    grant: dingtalk_tokens.TokenGrant
    request: Request

    @property
    def tenant_id(self) -> str:
        return self.app.tenant_id

    @property
    def corp_id(self) -> str:
        return self.grant.corp_id


@dataclass(frozen=True, slots=True)
class TopLevel:
    """A handler result whose fields go into the reply itself rather than into ``result``."""

    fields: Mapping[str, Any]


Handler = Callable[[Call, Any], Any]


@dataclass(frozen=True, slots=True)
class Route:
    path: str
    handler: Handler
    permission: str
    body: type[BaseModel]
    agentid: bool
    success: bool
    user_not_found: Code
    summary: str


ROUTES: list[Route] = []


def route(
    path: str,
    *,
    permission: str,
    body: type[BaseModel],
    agentid: bool = False,
    success: bool = False,
    user_not_found: Code = Code.USER_NOT_FOUND,
) -> Callable[[Handler], Handler]:
    """Register a ``POST`` handler. ``agentid``: the body must name the app's AgentId."""

    def register(fn: Handler) -> Handler:
        summary = (fn.__doc__ or "").strip().split("\n")[0]
        ROUTES.append(Route(path, fn, permission, body, agentid, success, user_not_found, summary))
        return fn

    return register


def known_path(path: str) -> bool:
    return any(r.path == path for r in ROUTES)


# -- request parsing ----------------------------------------------------------------------------


async def read_body(request: Request) -> bytes:
    return await read_limited_body(request, lambda msg: DingTalkError(Code.INVALID_PARAMETER, msg))


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower() == _FORM


def form_fields(body: bytes) -> dict[str, Any]:
    """A form body's fields; values that hold a JSON object or array are decoded."""
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise DingTalkError(Code.INVALID_PARAMETER, "the form body cannot be parsed") from None
    out: dict[str, Any] = {}
    for key, values in parsed.items():
        value = values[-1]
        if value[:1] in ("{", "["):
            try:
                out[key] = orjson.loads(value)
                continue
            except orjson.JSONDecodeError:
                raise DingTalkError(Code.INVALID_PARAMETER, f"{key}: not valid JSON") from None
        out[key] = value
    return out


def json_fields(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DingTalkError(Code.INVALID_PARAMETER, f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DingTalkError(Code.INVALID_PARAMETER, "the request body must be a JSON object")
    return data


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "int", "list[str]", "function-before[_text(), str]") or "[" in str(part):
            continue  # names pydantic adds for union members and validators
        else:
            out += f".{part}" if out else str(part)
    return out


def validate(model: type[BaseModel], data: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = _loc(tuple(err["loc"]))
        if err["type"] == "missing":
            raise DingTalkError(Code.MISSING_PARAMETER, where, errmsg=f"缺少参数 {where}") from None
        raise DingTalkError(Code.INVALID_PARAMETER, f"{where}: {err['msg']}") from None


def check_agentid(app: App, raw: Any) -> None:
    """The body's agentid must be the app's (a number, or a string of digits)."""
    if raw is None or raw == "":
        raise DingTalkError(Code.MISSING_AGENTID, "agentid is required")
    number: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    elif isinstance(raw, str) and raw.strip().isdigit() and raw.strip().isascii():
        number = int(raw.strip())
    if number is None or number <= 0:
        raise DingTalkError(Code.INVALID_AGENTID, f"agentid: {raw!r} is not a positive number")
    if app.agentid != number:
        raise DingTalkError(Code.AGENTID_NOT_FOUND, f"agentid {number} is not the AgentId of this app")


# -- replies --------------------------------------------------------------------------------------


def reply(result: Any, *, success: bool, request_id: str) -> Response:
    parts = [b'{"errcode":0,"errmsg":"ok"']
    if isinstance(result, TopLevel):
        for key, value in result.fields.items():
            parts.append(b',"' + key.encode() + b'":' + orjson.dumps(value))
    else:
        parts.append(b',"result":')
        parts.append(result if isinstance(result, bytes) else orjson.dumps(result))
    if success:
        parts.append(b',"success":true')
    parts.append(b',"request_id":"' + request_id.encode() + b'"}')
    return Response(b"".join(parts), media_type=_JSON)


def _endpoint(r: Route) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        arrived = arrival.arrived(request.scope)  # reads see every write acknowledged before this
        d: Directory = request.app.state.directory
        request_id = new_request_id()
        try:
            body = await read_body(request)
            form = form_fields(body) if _is_form(request) else None
            token = request.query_params.get("access_token") or (
                str(form.get("access_token") or "") if form is not None else ""
            )
            if not token.strip():
                raise DingTalkError(Code.MISSING_TOKEN, "access_token is required in the query string")
            with d.reader(fresh_after=arrived) as reader:
                try:
                    app, grant = dingtalk_tokens.authenticate(reader, token)
                except CoreError as exc:
                    raise from_core(exc) from None
                if r.permission not in app.scopes:
                    raise from_core(ScopeMissing(f"the app lacks {r.permission}", scope=r.permission))
                fields = form if form is not None else json_fields(body)
                where = nul.in_params(request.query_params.multi_items()) or (
                    nul.where(fields) if nul.may_hold(body) else None
                )
                if where is not None:
                    raise DingTalkError(Code.INVALID_PARAMETER, nul.message(where))
                parsed = validate(r.body, fields)
                if r.agentid:
                    check_agentid(app, getattr(parsed, "agentid", None))
                result = r.handler(Call(d, reader, app, grant, request), parsed)
            return reply(result, success=r.success, request_id=request_id)
        except DingTalkError as exc:
            return exc.response(request_id)
        except CoreError as exc:
            return from_core(exc, user_not_found=r.user_not_found).response(request_id)

    endpoint.__name__ = r.handler.__name__
    return endpoint


# -- the server's catch-alls, for paths of this dialect ------------------------------------------


def owns(path: str) -> bool:
    """Whether ``path`` belongs to the DingTalk dialect (its errors answer in its envelope)."""
    return path.startswith(TOPAPI) or path == "/gettoken"


def http_error(request: Request, status: int) -> Response:
    """The reply to a 404 / 405 on a path of this dialect (see :func:`owns`)."""
    path = request.url.path
    if path.startswith(TOPAPI):
        if known_path(path):
            return DingTalkError(Code.NEED_POST, f"{request.method} {path}").response(new_request_id())
        return invalid_method(path).response(new_request_id())
    if status == 405:
        return DingTalkError(Code.NEED_GET, f"{request.method} {path}").response(None)
    return DingTalkError(Code.NOT_FOUND).response(None)


def internal_error() -> Response:
    return DingTalkError(Code.SYSTEM_BUSY).response(new_request_id())


def mount(api: FastAPI) -> None:
    for r in ROUTES:
        schema = body_schema(r.body)
        api.add_api_route(
            r.path,
            _endpoint(r),
            methods=["POST"],
            summary=r.summary,
            tags=["dingtalk"],
            name=f"dingtalk{r.path}",
            openapi_extra={
                "requestBody": {"required": True, "content": {_JSON: {"schema": schema}}},
                "parameters": [
                    {"name": "access_token", "in": "query", "required": True, "schema": {"type": "string"}}
                ],
            },
        )
