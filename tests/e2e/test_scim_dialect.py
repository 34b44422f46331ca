"""The SCIM dialect among the others: apps made through the control plane, the journal, fault
rules, the clock, and one person read and written across SCIM, WPS and DingTalk."""

from __future__ import annotations

import httpx
import pytest
from dingtalk_support import AGENTID, APPKEY, APPSECRET, USER_GET, Wire, wire
from wps_contacts_support import TENANT, client, setup_tenant

from conftest import LiveServer
from openroster.core.tenancy import apps

pytestmark = pytest.mark.e2e

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_JSON = "application/scim+json"


def _scim(live: LiveServer, secret: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": SCIM_JSON}
    return httpx.Client(base_url=live.base_url + "/scim/v2", headers=headers)


def test_control_plane_app_journal_faults_and_clock(live: LiveServer) -> None:
    live.control.create_tenant(TENANT)
    made = live.control.add_app(TENANT, client_id="cp-scim", scopes=["scim"])
    assert made["platform"] == "scim"
    live.control.set_clock("2030-01-02T03:04:05Z")
    with _scim(live, made["client_secret"]) as scim:
        r = scim.post("/Users", json={"schemas": [USER], "userName": "ann@acme.test"})
        assert r.status_code == 201
        assert r.json()["meta"]["created"] == "2030-01-02T03:04:05Z"
        (entry,) = live.control.journal(dialect="scim", method="POST")
        assert (entry["path"], entry["status"], entry["app"], entry["tenant"]) == (
            "/scim/v2/Users",
            201,
            "cp-scim",
            TENANT,
        )
        live.control.add_fault(
            "error", match={"dialect": "scim", "path": "/scim/v2/Users"}, code=503, times=1
        )
        r = scim.get("/Users")
        assert r.status_code == 503 and r.headers["content-type"].startswith(SCIM_JSON)
        assert r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert r.json()["status"] == "503"
        assert scim.get("/Users").status_code == 200
        # an unknown path under /scim/v2 answers in SCIM's error body
        r = scim.get("/Nope")
        assert r.status_code == 404 and r.json()["status"] == "404"


def test_one_person_across_scim_wps_and_dingtalk(live: LiveServer) -> None:
    d = live.directory
    setup_tenant(d)
    apps.create(d, tenant_id=TENANT, client_id="acme-scim", secret="acme-scim-secret", scopes=("scim",))
    apps.create(
        d,
        tenant_id=TENANT,
        client_id=APPKEY,
        secret=APPSECRET,
        agentid=AGENTID,
        scopes=("qyapi_get_member",),
    )
    body = {
        "schemas": [USER],
        "userName": "ann@acme.test",
        "displayName": "Ann",
        "title": "Engineer",
        "externalId": "hr-1",
        "phoneNumbers": [{"value": "13800000001", "type": "mobile"}],
    }
    with _scim(live, "acme-scim-secret") as scim, client(live.server) as wps:
        made = scim.post("/Users", json=body).json()
        (seen,) = wps.batch_read_users([made["id"]], status=["active"])
        assert (seen.user_name, seen.email, seen.title, seen.phone) == (
            "Ann",
            "ann@acme.test",
            "Engineer",
            "13800000001",
        )
        dt: Wire
        with wire(live.server.base_url) as dt:
            got = dt.post(USER_GET, {"userid": made["id"]})
        assert (got["result"]["name"], got["result"]["title"], got["result"]["mobile"]) == (
            "Ann",
            "Engineer",
            "13800000001",
        )
        # a person made through WPS shows up in SCIM
        bob = wps.create_user(user_name="Bob", dept_ids=["1"], email="bob@acme.test")
        page = scim.get("/Users", params={"filter": 'userName eq "bob@acme.test"'}).json()
        assert [u["id"] for u in page["Resources"]] == [bob.id]
