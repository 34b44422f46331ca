"""The company the console tests look at, made through the control plane, and independent WPS and
DingTalk clients.

The clients are written from the protocol notes (WPS: a bearer token from ``POST /oauth2/token``,
replies in ``{code, msg, data}``; DingTalk ``/v1.0``: a token from ``POST /v1.0/oauth2/accessToken``
in the ``x-acs-dingtalk-access-token`` header), not from the server's own client, so a test reading
back what the console saved checks the console against the API as a client sees it.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from conftest import LiveServer

TENANT = "acme"
READER = "console-reader"
READER_SECRET = "console-reader-secret"
XSS_NAME = "<img src=x onerror=alert(1)>"
#: The DingTalk app :func:`add_dingtalk_app` adds (its appkey, secret and agent id).
APPKEY, APPSECRET, AGENTID = "acme-ding", "acme-ding-secret", 1000001


def person(uid: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"id": uid, "user_name": name, **fields}


PEOPLE: list[dict[str, Any]] = [
    person(
        "ada",
        "Ada Lovelace",
        email="ada@acme.test",
        phone="13800000001",
        employee_id="E001",
        title="Engineer",
        depts=["研发部/平台组"],
    ),
    person("alan", "Alan Turing", email="alan@acme.test", employee_id="E002", depts=["研发部"]),
    person("grace", "Grace Hopper", email="grace@acme.test", status="disabled", depts=["销售部"]),
    person(
        "wang", "王小明", email="wang@acme.test", phone="13800000004", employee_id="E004", depts=["销售部"]
    ),
    person("xss", XSS_NAME, title=XSS_NAME, depts=["销售部"]),
]


def make_company(live: LiveServer, *, extra_people: int = 0) -> None:
    """Tenant ``acme`` with :data:`PEOPLE` (and ``extra_people`` more, all named "Member ..."), and an
    unsigned app that may read every field."""
    people = PEOPLE + [person(f"m{i:03d}", f"Member {i:03d}") for i in range(extra_people)]
    live.control.create_tenant(
        TENANT,
        name="Acme 科技",
        seed={"departments": ["研发部/平台组", "销售部"], "users": people},
        apps=[
            {
                "client_id": READER,
                "client_secret": READER_SECRET,
                "signing": "none",
                "scopes": [
                    "kso.contact.read",
                    "kso.user_email.read",
                    "kso.user_phone.read",
                    "kso.user_gender.read",
                    "kso.user_custom_attr.readwrite",
                ],
            }
        ],
    )


def wps_call(base_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The WPS API's whole reply to the reader app's call (a bearer token from ``POST /oauth2/token``)."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        token = http.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": READER, "client_secret": READER_SECRET},
        ).json()["access_token"]
        reply: dict[str, Any] = http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        ).json()
    return reply


def wps_reply(base_url: str, user_id: str) -> dict[str, Any]:
    """The WPS API's whole reply to ``GET /v7/users/{id}``."""
    return wps_call(base_url, "GET", f"/v7/users/{user_id}")


def wps_dept(base_url: str, dept_id: str) -> dict[str, Any]:
    """One department as the WPS API gives it (``POST /v7/depts/batch_read``)."""
    reply = wps_call(base_url, "POST", "/v7/depts/batch_read", {"dept_ids": [dept_id]})
    assert reply["code"] == 0, reply
    [dept] = reply["data"]["items"]
    found: dict[str, Any] = dept
    return found


def wps_user(base_url: str, user_id: str) -> dict[str, Any]:
    """One user as the WPS API gives it to an app."""
    reply = wps_reply(base_url, user_id)
    assert reply["code"] == 0, reply
    data: dict[str, Any] = reply["data"]
    return data


def signed_in_http(live: LiveServer) -> tuple[httpx.Client, str]:
    """An HTTP client with a console session, and the session's CSRF token (read from a page)."""
    return signed_in(live.base_url, live.admin_token)


def signed_in(base_url: str, admin_token: str) -> tuple[httpx.Client, str]:
    """:func:`signed_in_http` for any server: its URL and admin token."""
    http = httpx.Client(base_url=base_url, timeout=30)
    form = http.get("/console/login").text
    sign_in_csrf = re.search(r'name="csrf" value="([^"]*)"', form)
    assert sign_in_csrf
    signed = http.post("/console/login", data={"csrf": sign_in_csrf[1], "token": admin_token})
    assert signed.status_code == 303
    home = http.get("/console/").text
    csrf = re.search(r'name="csrf" value="([^"]*)"', home)
    assert csrf
    return http, csrf[1]


def add_dingtalk_app(live: LiveServer) -> None:
    """A DingTalk app of ``acme`` that may read and change the roster."""
    live.control.add_app(
        TENANT,
        client_id=APPKEY,
        client_secret=APPSECRET,
        platform="dingtalk",
        signing="none",
        agentid=AGENTID,
        scopes=["qyapi_hrm_manager", "qyapi_hrm_read_user"],
    )


def v1_call(base_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """A DingTalk ``/v1.0`` call of :func:`add_dingtalk_app`'s app (the token in its header)."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        token = http.post("/v1.0/oauth2/accessToken", json={"appKey": APPKEY, "appSecret": APPSECRET})
        return http.request(
            method, path, json=body, headers={"x-acs-dingtalk-access-token": token.json()["accessToken"]}
        )


def topapi(live: LiveServer, path: str, body: dict[str, Any]) -> Any:
    """A DingTalk roster call as the protocol notes give it (the token in the query); its ``result``."""
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        token = http.get("/gettoken", params={"appkey": APPKEY, "appsecret": APPSECRET}).json()
        reply = http.post(
            path, params={"access_token": token["access_token"]}, json={"agentid": AGENTID, **body}
        ).json()
    assert reply["errcode"] == 0, reply
    return reply.get("result")
