"""``GET /gettoken``: an app's access token, as the platform hands it out."""

from __future__ import annotations

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from openroster.core.directory import Directory
from openroster.dialects.base import credential_write
from openroster.dialects.dingtalk import tokens as dingtalk_tokens
from openroster.dialects.dingtalk.errors import Code, DingTalkError, from_core
from openroster.model.errors import CoreError


async def gettoken(request: Request) -> Response:
    """Exchange ``appkey`` / ``appsecret`` (query parameters) for an access token.

    Asked again inside the token's 7200 s window it returns the same token
    and extends the window. Parameters sent in a body instead of the query
    are ``40035``, as on the platform.
    """
    d: Directory = request.app.state.directory
    q = request.query_params
    appkey = q.get("appkey") or q.get("corpid") or ""
    appsecret = q.get("appsecret") or q.get("corpsecret") or ""
    try:
        if not appkey:
            raise DingTalkError(Code.MISSING_PARAMETER, errmsg="缺少参数 corpid or appkey")
        if not appsecret:
            raise DingTalkError(Code.MISSING_PARAMETER, errmsg="缺少参数 corpsecret or appsecret")
        try:
            token, expires_in = await credential_write(
                request,
                lambda: dingtalk_tokens.issue(d, appkey=appkey, appsecret=appsecret),
                client_id=appkey,
            )
        except CoreError as exc:
            raise from_core(exc) from None
    except DingTalkError as exc:
        return exc.response(None)
    return Response(
        orjson.dumps({"errcode": 0, "access_token": token, "errmsg": "ok", "expires_in": expires_in}),
        media_type="application/json",
    )


def mount(api: FastAPI) -> None:
    api.add_api_route(
        "/gettoken",
        gettoken,
        methods=["GET"],
        tags=["dingtalk"],
        summary="Exchange appkey / appsecret for an access token",
        name="dingtalk/gettoken",
        openapi_extra={
            "parameters": [
                {"name": "appkey", "in": "query", "required": True, "schema": {"type": "string"}},
                {"name": "appsecret", "in": "query", "required": True, "schema": {"type": "string"}},
            ]
        },
    )
