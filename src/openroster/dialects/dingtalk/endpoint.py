"""The DingTalk routes and what their handlers get and return.

Handlers are plain functions ``(call, body) -> result`` registered with
:func:`route`; the result becomes the reply's ``result`` (a JSON-able value
or pre-rendered bytes), or, given as :class:`TopLevel`, fields of the reply
itself. Every reply is HTTP 200 with ``errcode`` / ``errmsg`` and a
``request_id``; roster (smartwork) replies also carry ``success``.

Bodies are JSON, or ``application/x-www-form-urlencoded`` whose object-valued
fields are JSON strings (the platform's curl examples send that). The token
is the ``access_token`` query parameter (a form body's ``access_token`` field
is read too, as the platform does); a token in a header is not looked at.
How a request reaches a handler is the DingTalk dialect's (``dialect.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs

import orjson
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from openroster.dialects import ambiguity, base
from openroster.dialects.dingtalk import tokens as dingtalk_tokens
from openroster.dialects.dingtalk.errors import Code, DingTalkError
from openroster.dialects.pieces import Pieces, PiecesResponse
from openroster.dialects.validation import first_error, message
from openroster.model.entities import App
from openroster.model.errors import ScopeMissing

if TYPE_CHECKING:
    from openroster.core.directory import Reader

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


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the app and the grant its access token stands for."""

    app: App
    grant: dingtalk_tokens.TokenGrant


@dataclass(frozen=True, slots=True)
class OnePermissionRoute(base.Route):
    """A route of either DingTalk dialect: it needs exactly one permission."""

    @property
    def permission(self) -> str:
        return self.permissions[0]


R = TypeVar("R", bound=OnePermissionRoute)


class TokenDialect(base.Dialect[Caller, R]):
    """What both DingTalk dialects (``/topapi`` and ``/v1.0``) do with a caller: the same access
    tokens (``tokens.py``) name the app, and a route's one permission must be among its scopes.
    A refused token or a missing scope is a core error; each dialect's ``error_reply`` words it."""

    def authenticate(self, x: base.Exchange[R], credentials: str, reader: Reader) -> Caller:
        app, grant = dingtalk_tokens.authenticate(reader, credentials)
        return Caller(app, grant)

    def actor(self, principal: Caller) -> str:
        return principal.app.client_id

    def authorize(self, x: base.Exchange[R], principal: Caller) -> None:
        wanted = x.route.permission
        if wanted not in principal.app.scopes:
            raise ScopeMissing(f"the app lacks {wanted}", scope=wanted)


class Call(base.Call[Caller]):
    """What a handler gets: the app, its grant, its tenant and an open read transaction."""

    __slots__ = ()

    @property
    def app(self) -> App:
        return self.principal.app

    @property
    def grant(self) -> dingtalk_tokens.TokenGrant:
        return self.principal.grant

    @property
    def tenant_id(self) -> str:
        return self.principal.app.tenant_id

    @property
    def corp_id(self) -> str:
        return self.principal.grant.corp_id


@dataclass(frozen=True, slots=True)
class TopLevel:
    """A handler result whose fields go into the reply itself rather than into ``result``."""

    fields: Mapping[str, Any]


Handler = Callable[[Call, Any], Any]


@dataclass(frozen=True, slots=True)
class Route(OnePermissionRoute):
    """A ``/topapi`` route: ``POST``, one permission; the fields below are the steps' per-route choices."""

    #: The body must name the app's AgentId.
    agentid: bool = False
    #: The reply carries ``success: true`` (roster replies).
    success: bool = False
    #: The code for "no such user" (``60121``, or ``33012`` where the platform says that).
    user_not_found: Code = Code.USER_NOT_FOUND


ROUTES: list[Route] = []


def route(
    path: str,
    *,
    permission: str,
    body: type[BaseModel],
    agentid: bool = False,
    success: bool = False,
    user_not_found: Code = Code.USER_NOT_FOUND,
    writes: bool = False,
) -> Callable[[Handler], Handler]:
    """Register a ``POST`` handler. ``agentid``: the body must name the app's AgentId; ``writes``:
    the handler writes (it runs on the store's writers)."""

    def register(fn: Handler) -> Handler:
        summary = (fn.__doc__ or "").strip().split("\n")[0]
        ROUTES.append(
            Route(
                "POST",
                path,
                fn,
                (permission,),
                body,
                summary,
                writes=writes,
                agentid=agentid,
                success=success,
                user_not_found=user_not_found,
            )
        )
        return fn

    return register


def known_path(path: str) -> bool:
    return any(r.path == path for r in ROUTES)


# -- request parsing ----------------------------------------------------------------------------


def form_fields(body: bytes) -> dict[str, Any]:
    """A form body's fields; values that hold a JSON object or array are decoded."""
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise DingTalkError(Code.INVALID_PARAMETER, "the form body cannot be parsed") from None
    out: dict[str, Any] = {}
    for key, values in parsed.items():
        if len(values) > 1:
            raise DingTalkError(
                Code.INVALID_PARAMETER, f"{key}: given more than once in the form; send it once"
            )
        value = values[0]
        if value[:1] in ("{", "["):
            try:
                out[key] = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise DingTalkError(Code.INVALID_PARAMETER, f"{key}: not valid JSON") from None
            refuse_repeated_keys(value.encode(), out[key], within=key)
            continue
        out[key] = value
    return out


def refuse_repeated_keys(body: bytes, parsed: Any, *, within: str = "") -> None:
    """Refuse JSON ``body`` (``parsed`` by orjson) when an object in it gives a key twice."""
    try:
        repeated = ambiguity.repeated_key(body, parsed)
    except ambiguity.Unchecked as exc:
        raise DingTalkError(Code.INVALID_PARAMETER, f"{within}: {exc}" if within else str(exc)) from None
    if repeated is not None:
        raise DingTalkError(Code.INVALID_PARAMETER, repeated.message(within))


def json_fields(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DingTalkError(Code.INVALID_PARAMETER, f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DingTalkError(Code.INVALID_PARAMETER, "the request body must be a JSON object")
    refuse_repeated_keys(body, data)
    return data


def validate(model: type[BaseModel], data: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err, where = first_error(exc)
        if err["type"] == "missing":
            raise DingTalkError(Code.MISSING_PARAMETER, where, errmsg=f"缺少参数 {where}") from None
        raise DingTalkError(Code.INVALID_PARAMETER, message(err, where)) from None


def check_agentid(app: App, raw: Any, body: bytes = b"") -> None:
    """The body's agentid must be the app's (a number, or a string of digits)."""
    if raw is None or raw == "":
        raise DingTalkError(Code.MISSING_AGENTID, "agentid is required")
    number: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    elif isinstance(raw, str) and raw.strip().isdigit() and raw.strip().isascii():
        number = int(raw.strip())
    if number is None or number <= 0:
        raise DingTalkError(Code.INVALID_AGENTID, f"agentid: {_as_sent(raw, body)} is not a positive number")
    if app.agentid != number:
        raise DingTalkError(Code.AGENTID_NOT_FOUND, f"agentid {number} is not the AgentId of this app")


def _as_sent(value: Any, body: bytes) -> str:
    """``value`` of the top-level ``agentid`` as the client wrote it: a JSON number too large for
    64 bits reaches the handler as a float (``1e+26``), so its digits are read again from ``body``."""
    if isinstance(value, float) and body:
        try:
            literal = json.loads(body, parse_int=str, parse_float=str, parse_constant=str).get("agentid")
        except (ValueError, AttributeError):
            literal = None
        if isinstance(literal, str):
            return literal
    return repr(value)


# -- replies --------------------------------------------------------------------------------------


def reply(result: Any, *, success: bool, request_id: str) -> Response:
    head = b'{"errcode":0,"errmsg":"ok"'
    tail = (b',"success":true' if success else b"") + b',"request_id":"' + request_id.encode() + b'"}'
    if isinstance(result, Pieces):  # sent as they are (dialects/pieces.py)
        return PiecesResponse(result.within(head + b',"result":', tail), media_type=_JSON)
    parts = [head]
    if isinstance(result, TopLevel):
        for key, value in result.fields.items():
            parts.append(b',"' + key.encode() + b'":' + orjson.dumps(value))
    else:
        parts.append(b',"result":')
        parts.append(result if isinstance(result, bytes) else orjson.dumps(result))
    parts.append(tail)
    return Response(b"".join(parts), media_type=_JSON)
