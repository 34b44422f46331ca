"""The ``/v1.0`` token calls: ``POST /v1.0/oauth2/accessToken`` and ``POST /v1.0/oauth2/{corpId}/token``.

Both hand out the app's one DingTalk token, from the same store as ``GET /gettoken``
(``dialects/dingtalk/tokens.py``): asked inside a window, any of the three returns the same token
and extends it, and the token works on ``/topapi`` and ``/v1.0`` alike. Rotating the secret revokes
it for both. Like ``gettoken`` they are served outside the pipeline (no token to check yet); the
journal, fault rules and the clock apply as to every call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from openroster.core.directory import Directory
from openroster.dialects.base import credential_attempt
from openroster.dialects.dingtalk import tokens as dingtalk_tokens
from openroster.dialects.dingtalk_v1.errors import (
    INVALID_CLIENT,
    INVALID_PARAMETER,
    MISSING_BODY,
    V1Error,
    from_core,
    new_request_id,
)
from openroster.model.errors import CoreError

ACCESS_TOKEN_PATH = "/v1.0/oauth2/accessToken"  # noqa: S105  (a path, not a secret)
CORP_TOKEN_PATH = "/v1.0/oauth2/{corpId}/token"  # noqa: S105  (a path, not a secret)
_JSON = "application/json"


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


def _issue(request: Request, client_id: str, secret: str, *, corp_id: str | None = None) -> tuple[str, int]:
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
        return credential_attempt(request, check, client_id=client_id)
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
        token, expires_in = _issue(request, _text(data, "appKey"), _text(data, "appSecret"))
        return {"accessToken": token, "expireIn": expires_in}

    return await _answer(make)


async def corp_token(request: Request) -> Response:
    """``{client_id, client_secret, grant_type: client_credentials}`` -> ``{access_token, expires_in}``."""

    async def make() -> dict[str, Any]:
        data = await _json_body(request)
        if data.get("grant_type") != "client_credentials":
            raise V1Error(INVALID_PARAMETER, "grant_type must be client_credentials")
        corp_id = str(request.path_params["corpId"])
        token, expires_in = _issue(
            request, _text(data, "client_id"), _text(data, "client_secret"), corp_id=corp_id
        )
        return {"access_token": token, "expires_in": expires_in}

    return await _answer(make)


def mount(api: FastAPI) -> None:
    for path, endpoint, summary in (
        (ACCESS_TOKEN_PATH, access_token, "Exchange appKey / appSecret for the app's access token"),
        (CORP_TOKEN_PATH, corp_token, "Exchange client_id / client_secret for the app's access token"),
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
