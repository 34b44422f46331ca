"""The WPS success envelope on the wire, once per endpoint family.

The other WPS end-to-end files read replies through the SDK, which takes ``data``
out of a reply without looking at the HTTP status or the content type. Here plain
httpx sends each call (signed KSO-1 by the tests' own signer, tests/wps_signer.py)
and the reply is checked as a client of the real platform would see it: HTTP 200,
``application/json``, exactly ``code``, ``msg`` and ``data``, code 0.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from wps_contacts_support import APP, APP_SECRET, TENANT, person, setup_tenant, small_tree

import wps_signer
from conftest import LiveServer
from openroster.core.custom import attributes
from openroster.core.people import users

pytestmark = pytest.mark.e2e

#: family -> (method, path with query, body, what ``data`` holds). ``{eng}``: the Eng department.
CALLS: dict[str, tuple[str, str, Any, str]] = {
    "users: GET /v7/users/{user_id}": ("GET", "/v7/users/alice", None, "user"),
    "users: POST /v7/users/batch_read": (
        "POST",
        "/v7/users/batch_read",
        {"user_ids": ["alice"], "status": ["active"]},
        "items",
    ),
    "users: POST /v7/users/{user_id}/update": ("POST", "/v7/users/alice/update", {"title": "CTO"}, "null"),
    "depts: GET /v7/depts/root": ("GET", "/v7/depts/root", None, "dept"),
    "depts: GET /v7/depts/{dept_id}/children": ("GET", "/v7/depts/1/children?page_size=5", None, "items"),
    "depts: POST /v7/depts/create": ("POST", "/v7/depts/create", {"name": "New", "parent_id": "1"}, "dept"),
    "contacts: GET /v7/depts/{dept_id}/members": ("GET", "/v7/depts/{eng}/members", None, "items"),
    "contacts: POST /v7/users/by_emails": (
        "POST",
        "/v7/users/by_emails",
        {"emails": ["alice@acme.test"], "status": ["active"]},
        "items",
    ),
    "attr defs: GET /v7/companies/user_custom_attrs/batch_read": (
        "GET",
        "/v7/companies/user_custom_attrs/batch_read",
        None,
        "items",
    ),
    "custom attrs: POST /v7/users/custom_attrs/batch_read": (
        "POST",
        "/v7/users/custom_attrs/batch_read",
        {"user_ids": ["alice"]},
        "users",
    ),
}


def _token(base_url: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": APP, "client_secret": APP_SECRET}
    resp = httpx.post(base_url + "/oauth2/token", data=form)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    return str(resp.json()["access_token"])


@pytest.mark.parametrize("family", list(CALLS))
def test_the_success_envelope(live: LiveServer, family: str) -> None:
    setup_tenant(live.directory)
    org = small_tree(live.directory)
    users.create(live.directory, tenant_id=TENANT, item=person("alice", org.eng, email="alice@acme.test"))
    attributes.create_definitions(
        live.directory,
        tenant_id=TENANT,
        items=[attributes.NewDefinition(id="desk", name="Desk", value_type="text")],
    )
    method, target, payload, holds = CALLS[family]
    target = target.replace("{eng}", str(org.eng))
    body = orjson.dumps(payload) if payload is not None else b""
    ctype = "application/json" if body else ""
    headers = {"Authorization": f"Bearer {_token(live.base_url)}"}
    if ctype:
        headers["Content-Type"] = ctype
    headers |= wps_signer.sign_headers(wps_signer.KSO1, APP, APP_SECRET, method, target, ctype, body)
    resp = httpx.request(method, live.base_url + target, content=body, headers=headers)

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json", resp.headers
    reply = orjson.loads(resp.content)
    assert list(reply) == ["code", "msg", "data"], reply
    assert reply["code"] == 0 and isinstance(reply["msg"], str), reply
    data = reply["data"]
    if holds == "null":
        assert data is None, reply
    elif holds in ("user", "dept"):
        assert isinstance(data, dict) and isinstance(data["id"], str), reply
    else:
        assert isinstance(data[holds], list) and data[holds], reply
