"""Helpers for the DingTalk ``/v1.0`` tests: the official SDK's clients pointed at a server, and a raw
wire client written from the protocol file (the header, the error envelope)."""

from __future__ import annotations

from typing import Any

import httpx
from dingtalk_support import ALL_PERMISSIONS, APPKEY, APPSECRET, setup_tenant

from openroster.core.directory import Directory
from openroster.testing.dingtalk_v1 import sdk_client

TOKEN_HEADER = "x-acs-dingtalk-access-token"
ACCESS_TOKEN = "/v1.0/oauth2/accessToken"
ROSTER_QUERY = "/v1.0/hrm/rosters/lists/query"
ROSTER_FIELDS = "/v1.0/hrm/rosters/meta/authorities/fields"
DISMISSIONS = "/v1.0/hrm/employees/dismissions"
#: The v1.0 permissions beside the /topapi ones (the protocol file's call list).
V1_PERMISSIONS = (
    "Hrm.Process.ReadWrite",
    "Pro.HrmPreentry.ReadWrite",
    "qyapi_addresslist_search",
    "Contact.Common.Read",
)

#: An official SDK client pointed at the server by its configuration alone.
sdk = sdk_client


def access_token(http: httpx.Client, *, appkey: str = APPKEY, appsecret: str = APPSECRET) -> str:
    got = http.post(ACCESS_TOKEN, json={"appKey": appkey, "appSecret": appsecret})
    assert got.status_code == 200, got.text
    return str(got.json()["accessToken"])


def error_of(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error envelope the protocol file describes: the status, then ``{code, message, requestid}``."""
    assert reply.status_code == status, (reply.status_code, reply.text)
    assert reply.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = reply.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["requestid"], str) and body["requestid"]
    assert set(body) <= {"code", "message", "requestid", "accessdenieddetail"}
    return body


def tenant_with_token(base_url: str, directory: Directory) -> str:
    """Tenant ``acme`` (``dingtalk_support.setup_tenant``) whose app holds the permissions of both
    generations; the app's access token."""
    setup_tenant(directory, permissions=(*ALL_PERMISSIONS, *V1_PERMISSIONS))
    with httpx.Client(base_url=base_url, timeout=30) as http:
        return access_token(http)
