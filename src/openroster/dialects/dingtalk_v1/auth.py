"""The ``/v1.0`` credential calls: the tokens (``POST /v1.0/oauth2/accessToken`` and
``POST /v1.0/oauth2/{corpId}/token``) and Stream mode's ``POST /v1.0/gateway/connections/open``.

Both hand out the app's one DingTalk token, from the same store as ``GET /gettoken``
(``dialects/dingtalk/tokens.py``): asked inside a window, any of the three returns the same token
and extends it, and the token works on ``/topapi`` and ``/v1.0`` alike. Rotating the secret revokes
it for both. Like ``gettoken`` they are served outside the pipeline (no token to check yet); the
journal, fault rules and the clock apply as to every call.

``connections/open`` checks the same credentials (``clientId``, ``clientSecret``) under the same
budgets of failed attempts and answers ``{endpoint, ticket}``: the WebSocket URL of this server
(``ws://HOST:PORT/connect``, ``wss://`` under TLS) and a ticket that opens one connection within
:data:`TICKET_TTL_MS` on the directory's clock. The ticket is stored (``store/stream.py``), so any
server process may take the WebSocket (``events/stream_socket.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from openroster.core.directory import Directory
from openroster.core.tenancy import apps
from openroster.dialects.base import credential_write
from openroster.dialects.dingtalk import tokens as dingtalk_tokens
from openroster.dialects.dingtalk_v1.errors import (
    INVALID_CLIENT,
    INVALID_PARAMETER,
    MISSING_BODY,
    V1Error,
    from_core,
    new_request_id,
)
from openroster.model.entities import Platform
from openroster.model.errors import AuthError, CoreError

ACCESS_TOKEN_PATH = "/v1.0/oauth2/accessToken"  # noqa: S105  (a path, not a secret)
CORP_TOKEN_PATH = "/v1.0/oauth2/{corpId}/token"  # noqa: S105  (a path, not a secret)
OPEN_CONNECTION_PATH = "/v1.0/gateway/connections/open"
#: Where the WebSocket of Stream mode is served (outside ``/v1.0/``, as the platform's own).
CONNECT_PATH = "/connect"
#: How long a Stream ticket may be used (the platform's 90 s), on the directory's clock.
TICKET_TTL_MS = 90_000
_JSON = "application/json"
#: The body member that names the app, at the calls made before the app has a token.
_APP_MEMBER = {ACCESS_TOKEN_PATH: "appKey", OPEN_CONNECTION_PATH: "clientId"}
_CORP_TOKEN_HEAD, _, _CORP_TOKEN_TAIL = CORP_TOKEN_PATH.partition("{corpId}")


def app_named(path: str, body: bytes) -> str | None:
    """At a token call or Stream's ``connections/open``: the app its body names (``""``: none, or
    not a JSON object); elsewhere ``None`` (the token header names the app)."""
    member = _APP_MEMBER.get(path)
    if member is None and path.startswith(_CORP_TOKEN_HEAD) and path.endswith(_CORP_TOKEN_TAIL):
        member = "client_id"
    if member is None:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    value = data.get(member) if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


async def _json_body(request: Request) -> dict[str, Any]:
    """The JSON object the call needs; a missing, form-encoded or non-object body is ``Missingbody``."""
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not body.strip() or kind == "application/x-www-form-urlencoded":
        raise V1Error(MISSING_BODY)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise V1Error(MISSING_BODY, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise V1Error(MISSING_BODY, "the body must be a JSON object")
    return data


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None or value == "":
        raise V1Error(INVALID_PARAMETER, f"{name} is required")
    if not isinstance(value, str):
        raise V1Error(INVALID_PARAMETER, f"{name} must be a string")
    return value


async def _issue(
    request: Request, client_id: str, secret: str, *, corp_id: str | None = None
) -> tuple[str, int]:
    d: Directory = request.app.state.directory

    def check() -> tuple[str, int]:
        if corp_id is not None:
            with d.reader() as r:
                app = r.app(client_id)
                tenant = r.tx.tenants.get_tenant(app.tenant_id) if app is not None else None
            if tenant is None or (tenant.dingtalk_corp_id or "") != corp_id:
                raise V1Error(INVALID_CLIENT, f"the app is not of corp {corp_id!r}")
        return dingtalk_tokens.issue(d, appkey=client_id, appsecret=secret)

    try:
        return await credential_write(request, check, client_id=client_id)
    except CoreError as exc:
        raise from_core(exc) from None


async def _answer(make: Callable[[], Any]) -> Response:
    try:
        reply = await make()
    except V1Error as exc:
        return exc.response(new_request_id())
    return Response(orjson.dumps(reply), media_type=_JSON)


async def access_token(request: Request) -> Response:
    """``{appKey, appSecret}`` -> ``{accessToken, expireIn}``: the app's token, shared with ``gettoken``."""

    async def make() -> dict[str, Any]:
        data = await _json_body(request)
        token, expires_in = await _issue(request, _text(data, "appKey"), _text(data, "appSecret"))
        return {"accessToken": token, "expireIn": expires_in}

    return await _answer(make)


async def corp_token(request: Request) -> Response:
    """``{client_id, client_secret, grant_type: client_credentials}`` -> ``{access_token, expires_in}``."""

    async def make() -> dict[str, Any]:
        data = await _json_body(request)
        if data.get("grant_type") != "client_credentials":
            raise V1Error(INVALID_PARAMETER, "grant_type must be client_credentials")
        corp_id = str(request.path_params["corpId"])
        token, expires_in = await _issue(
            request, _text(data, "client_id"), _text(data, "client_secret"), corp_id=corp_id
        )
        return {"access_token": token, "expires_in": expires_in}

    return await _answer(make)


def _subscriptions(data: dict[str, Any]) -> list[dict[str, str]]:
    """``subscriptions``: a list of ``{type, topic}`` strings (absent: none)."""
    value = data.get("subscriptions", [])
    if not isinstance(value, list):
        raise V1Error(INVALID_PARAMETER, "subscriptions must be a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("type", "topic")):
            raise V1Error(INVALID_PARAMETER, f"subscriptions[{i}] needs the strings type and topic")
    return [{"type": item["type"], "topic": item["topic"]} for item in value]


async def open_connection(request: Request) -> Response:
    """``{clientId, clientSecret, subscriptions, ua, localIp}`` -> ``{endpoint, ticket}``."""

    async def make() -> dict[str, Any]:
        data = await _json_body(request)
        client_id, secret = _text(data, "clientId"), _text(data, "clientSecret")
        topics = _subscriptions(data)
        d: Directory = request.app.state.directory

        def check() -> Any:
            try:
                return apps.credentials_app(d, client_id, secret, platform=Platform.DINGTALK)
            except AuthError:
                raise AuthError("clientId or clientSecret is wrong", reason="invalid_client") from None

        def open_ticket() -> str:
            app = check()
            ticket = str(uuid.uuid4())
            with d.writer() as tx:
                tx.stream.insert_ticket(
                    ticket, tenant=app.tenant_id, app=app.client_id, topics=topics,
                    expires_at=d.now_ms() + TICKET_TTL_MS,
                )  # fmt: skip
            return ticket

        try:
            ticket = await credential_write(request, open_ticket, client_id=client_id)
        except CoreError as exc:
            raise from_core(exc) from None
        scheme = "wss" if request.url.scheme == "https" else "ws"
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        return {"endpoint": f"{scheme}://{host}{CONNECT_PATH}", "ticket": ticket}

    return await _answer(make)


def mount(api: FastAPI) -> None:
    for path, endpoint, summary in (
        (ACCESS_TOKEN_PATH, access_token, "Exchange appKey / appSecret for the app's access token"),
        (CORP_TOKEN_PATH, corp_token, "Exchange client_id / client_secret for the app's access token"),
        (OPEN_CONNECTION_PATH, open_connection, "Open a Stream mode connection: its endpoint and ticket"),
    ):
        api.add_api_route(
            path,
            endpoint,
            methods=["POST"],
            tags=["dingtalk_v1"],
            summary=summary,
            name=f"dingtalk_v1{path}",
            openapi_extra={
                "requestBody": {"required": True, "content": {_JSON: {"schema": {"type": "object"}}}}
            },
        )
