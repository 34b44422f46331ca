"""The control plane end to end: a real server, the SDK, and the pytest plugin's own fixtures."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from plugin_support import unsigned_wps

from conftest import LiveServer, start_server
from openroster.client import DingTalkClient, RetryPolicy, WpsClient
from openroster.client.errors import ApiError, AuthenticationError
from openroster.testing import ControlClient, ControlError, ServerProcess
from openroster.testing.plugin import OpenrosterJournal, OpenrosterServer, OpenrosterTenant

pytestmark = pytest.mark.e2e

SEED_TENANT: dict[str, Any] = {
    "name": "Seeded Co",
    "departments": ["Engineering/Platform", "Sales"],
    "users": [
        {"id": "u-ann", "user_name": "Ann", "email": "ann@seeded.test", "depts": ["Engineering/Platform"]},
        {"id": "u-bob", "user_name": "Bob", "depts": ["Sales"]},
    ],
}


def _admin_paths() -> list[tuple[str, str]]:
    return [
        ("GET", "/version"),
        ("POST", "/reset"),
        ("POST", "/tenants"),
        ("GET", "/tenants"),
        ("GET", "/tenants/x"),
        ("DELETE", "/tenants/x"),
        ("POST", "/tenants/x/apps"),
        ("POST", "/tenants/x/reset"),
        ("GET", "/tenants/x/snapshot"),
        ("PUT", "/tenants/x/snapshot"),
        ("GET", "/snapshot"),
        ("PUT", "/snapshot"),
        ("GET", "/journal"),
        ("DELETE", "/journal"),
        ("POST", "/faults"),
        ("GET", "/faults"),
        ("DELETE", "/faults"),
        ("DELETE", "/faults/f1"),
        ("GET", "/clock"),
        ("PUT", "/clock"),
    ]


@pytest.fixture
def own_server(live: LiveServer) -> tuple[ServerProcess, ControlClient]:
    """The worker's shared server, empty and the test's alone, for calls that change everything
    (a global reset, a whole-store import). Emptied first: the plugin's tests leave their journal."""
    live.empty()
    return live.server, live.control


# -- auth, health, version, docs ---------------------------------------------------------------


def test_health_is_open(openroster_server: OpenrosterServer) -> None:
    health = httpx.get(openroster_server.base_url + "/_openroster/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("method", "path"), [pytest.param(m, p, id=f"{m} /_openroster{p}") for m, p in _admin_paths()]
)
def test_every_other_call_needs_the_admin_token(
    openroster_server: OpenrosterServer, method: str, path: str
) -> None:
    base = openroster_server.base_url + "/_openroster"
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": "Basic eDp5"}):
        resp = httpx.request(method, base + path, headers=headers)
        assert resp.status_code == 401, headers
        assert resp.json()["error"]["code"] == "unauthorized"
        assert resp.headers["www-authenticate"] == "Bearer"


def test_version(openroster_server: OpenrosterServer) -> None:
    v = openroster_server.control.version()
    assert v["snapshot_format"] == 1 and v["journal_size"] == 10_000
    assert v["journal_entries"] == openroster_server.control.journal_count()
    assert v["version"] and isinstance(v["pid"], int)


def test_the_control_plane_has_its_own_openapi_document_and_docs(openroster_server: OpenrosterServer) -> None:
    base = openroster_server.base_url
    own = httpx.get(base + "/_openroster/openapi.json").json()
    assert own["info"]["title"] == "openroster control plane"
    assert own["servers"] == [{"url": "/_openroster"}]
    assert {"/tenants", "/tenants/{tenant_id}/reset", "/snapshot", "/journal", "/faults", "/clock"} <= set(
        own["paths"]
    )
    assert not any(p.startswith("/v7") for p in own["paths"])
    assert "HTTPBearer" in own["components"]["securitySchemes"]
    platform = httpx.get(base + "/openapi.json").json()
    assert not any("_openroster" in p for p in platform["paths"])
    docs = httpx.get(base + "/_openroster/docs")
    assert docs.status_code == 200 and "/_openroster/openapi.json" in docs.text


@pytest.mark.slow
def test_serve_generates_and_prints_an_admin_token_when_none_is_given(tmp_path: Path) -> None:
    proc = start_server(tmp_path / "data")
    try:
        found = re.search(r"admin token: (\S+)", proc.log.read_text())
        assert found, proc.log.read_text()
        with ControlClient(proc.base_url, found.group(1)) as control:
            assert control.version()["snapshot_format"] == 1
        with ControlClient(proc.base_url, "guess") as control, pytest.raises(ControlError) as err:
            control.version()
        assert err.value.status == 401
    finally:
        proc.stop()


# -- tenants --------------------------------------------------------------------------------------


def test_tenants_create_list_get_add_app_delete(openroster_server: OpenrosterServer) -> None:
    control = openroster_server.control
    created = control.create_tenant(
        "ctl-tenants",
        name="Control Co",
        apps=[{"client_id": "ctl-tenants-app", "signing": "none", "scopes": ["kso.contact.read"]}],
    )
    try:
        assert created["tenant"]["id"] == "ctl-tenants" and created["tenant"]["has_seed"] is False
        cred = created["apps"][0]
        assert cred["client_id"] == "ctl-tenants-app" and len(cred["client_secret"]) >= 16
        with WpsClient(
            openroster_server.base_url,
            client_id=cred["client_id"],
            client_secret=cred["client_secret"],
            signing=None,
        ) as client:
            assert client.get_root_dept().name == "Control Co"
        assert "ctl-tenants" in [t["id"] for t in control.tenants()]
        one = control.tenant("ctl-tenants")
        assert [a["client_id"] for a in one["apps"]] == ["ctl-tenants-app"]
        assert "client_secret" not in orjson.dumps(one).decode()
        extra = control.add_app("ctl-tenants", signing="wps4", scopes=["kso.contact.read"], agentid=7)
        assert extra["signing"] == "wps4" and extra["agentid"] == 7 and extra["client_secret"]
        with pytest.raises(ControlError) as dup:
            control.create_tenant("ctl-tenants")
        assert dup.value.status == 409
        with pytest.raises(ControlError) as bad:
            control.create_tenant("ctl-bad", apps=[{"signing": "rsa"}])
        assert bad.value.status == 400 and "signing" in bad.value.message
        assert "ctl-bad" not in [t["id"] for t in control.tenants()]  # nothing was created
    finally:
        control.delete_tenant("ctl-tenants")
    with pytest.raises(ControlError) as gone:
        control.tenant("ctl-tenants")
    assert gone.value.status == 404 and gone.value.code == "not_found"
    with pytest.raises(ControlError) as again:
        control.delete_tenant("ctl-tenants")
    assert again.value.status == 404


def test_a_generated_tenant_id_and_the_seeds_apps(openroster_server: OpenrosterServer) -> None:
    control = openroster_server.control
    created = control.create_tenant(
        seed={"apps": [{"client_id": "gen-seed-app", "signing": "none"}]},
        apps=[{"client_id": "gen-body-app"}],
    )
    control.delete_tenant(created["tenant"]["id"])
    assert created["tenant"]["id"].startswith("t-")
    # The reply has every app the call created, the seed's first, with the secrets generated for them.
    assert [a["client_id"] for a in created["apps"]] == ["gen-seed-app", "gen-body-app"]
    assert all(len(a["client_secret"]) >= 16 for a in created["apps"])


def test_reset_to_empty_and_to_seed(openroster_server: OpenrosterServer) -> None:
    control = openroster_server.control
    created = control.create_tenant(
        "ctl-seeded",
        seed=SEED_TENANT,
        apps=[{"client_id": "ctl-seeded-app", "signing": "none", "scopes": ["kso.contact.readwrite"]}],
    )
    cred = created["apps"][0]
    client = WpsClient(
        openroster_server.base_url,
        client_id=cred["client_id"],
        client_secret=cred["client_secret"],
        signing=None,
    )
    try:
        assert created["tenant"]["name"] == "Seeded Co" and created["tenant"]["has_seed"]
        assert [u.id for u in client.batch_read_users(["u-ann", "u-bob"])] == ["u-ann", "u-bob"]
        client.create_user(user_name="Carol", dept_ids=["1"])
        assert control.reset_tenant("ctl-seeded", to="seed") == {"tenant": "ctl-seeded", "to": "seed"}
        assert sorted(u.id for u in client.iter_users()) == ["u-ann", "u-bob"]
        control.reset_tenant("ctl-seeded")
        assert list(client.iter_users()) == []  # the same token still works: apps survive resets
        assert client.get_root_dept().name == "Seeded Co"
    finally:
        client.close()
        control.delete_tenant("ctl-seeded")


def test_reset_to_seed_needs_a_seed_and_a_tenant(openroster_tenant: OpenrosterTenant) -> None:
    with pytest.raises(ControlError) as err:
        openroster_tenant.reset(to="seed")
    assert err.value.status == 409 and "not created from a seed" in err.value.message
    with pytest.raises(ControlError) as missing:
        openroster_tenant.control.reset_tenant("no-such-tenant")
    assert missing.value.status == 404
    with pytest.raises(ControlError) as bad:
        openroster_tenant.control.reset_tenant(openroster_tenant.id, to="yesterday")
    assert bad.value.status == 400 and bad.value.field == "to"


def test_resetting_everything(own_server: tuple[ServerProcess, ControlClient]) -> None:
    proc, control = own_server
    a = control.create_tenant(
        "all-a", seed=SEED_TENANT, apps=[{"signing": "none", "scopes": ["kso.contact.read"]}]
    )
    control.create_tenant("all-b")
    cred = a["apps"][0]
    with WpsClient(
        proc.base_url, client_id=cred["client_id"], client_secret=cred["client_secret"], signing=None
    ) as c:
        c.get_root_dept()
    control.add_fault("latency", latency_ms=1)
    control.advance_clock(3600)
    done = control.reset_everything(to="seed")
    assert (
        done["tenants"] == ["all-a", "all-b"] and done["faults_cleared"] == 1 and done["journal_cleared"] == 2
    )
    assert control.faults() == [] and control.journal() == []
    assert abs(control.clock()["offset_seconds"]) < 1e-6
    assert sorted(
        u["id"] for u in orjson.loads(control.export_snapshot("all-a"))["tenants"][0]["tables"]["users"]
    ) == [
        "u-ann",
        "u-bob",
    ]


# -- snapshots ---------------------------------------------------------------------------------------


@pytest.mark.openroster_seed("control_seed.yaml")
def test_snapshot_round_trip_is_byte_identical(
    openroster_tenant: OpenrosterTenant, wps_client: WpsClient
) -> None:
    first = openroster_tenant.snapshot()
    doc = orjson.loads(first)
    assert doc["format"] == "openroster.snapshot" and doc["version"] == 1 and doc["secrets"] is False
    assert {u["id"] for u in doc["tenants"][0]["tables"]["users"]} == {"u-1", "u-2"}
    assert openroster_tenant.wps.client_secret.encode() not in first
    wps_client.create_user(user_name="Later", dept_ids=["1"])
    result = openroster_tenant.restore(first)
    assert result == {"tenants": [openroster_tenant.id], "deleted": [], "new_secrets": []}
    assert openroster_tenant.snapshot() == first
    assert sorted(u.id for u in wps_client.iter_users()) == ["u-1", "u-2"]  # same credentials work
    with_secrets = openroster_tenant.snapshot(secrets=True)
    assert openroster_tenant.wps.client_secret.encode() in with_secrets


def test_a_snapshot_of_a_newer_version_is_refused(openroster_tenant: OpenrosterTenant) -> None:
    doc = orjson.loads(openroster_tenant.snapshot())
    doc["version"] = 99
    with pytest.raises(ControlError) as err:
        openroster_tenant.restore(doc)
    assert err.value.status == 400 and err.value.code == "unsupported_snapshot_version"
    assert "format version 99" in err.value.message and "newer" in err.value.message
    with pytest.raises(ControlError) as wrong:
        openroster_tenant.control.import_snapshot(doc, "someone-else")
    assert wrong.value.status == 400


def test_whole_store_snapshot(own_server: tuple[ServerProcess, ControlClient]) -> None:
    _proc, control = own_server
    control.create_tenant(
        "snap-a", seed=SEED_TENANT, apps=[{"client_id": "snap-a-app", "client_secret": "s3cret-a-1"}]
    )
    control.create_tenant("snap-b")
    everything = control.export_snapshot()
    assert b"s3cret-a-1" not in everything
    assert b"s3cret-a-1" in control.export_snapshot(secrets=True)
    control.create_tenant("snap-c")
    result = control.import_snapshot(everything)
    assert result["tenants"] == ["snap-a", "snap-b"] and result["deleted"] == ["snap-c"]
    assert control.export_snapshot() == everything
    doc = orjson.loads(everything)
    doc["tenants"][0]["tables"]["apps"][0]["client_id"] = "snap-a-new"
    fresh = control.import_snapshot(doc)["new_secrets"]
    assert [s["client_id"] for s in fresh] == ["snap-a-new"] and len(fresh[0]["client_secret"]) >= 16


# -- journal -------------------------------------------------------------------------------------------


def test_the_journal_records_every_platform_call(
    openroster_tenant: OpenrosterTenant,
    wps_client: WpsClient,
    dingtalk_client: DingTalkClient,
    openroster_journal: OpenrosterJournal,
) -> None:
    wps_client.create_user(user_name="Dana", dept_ids=["1"], email="dana@example.test")
    wps_client.batch_read_users(["nobody"])
    with pytest.raises(ApiError):
        wps_client.get_user("nobody")
    dingtalk_client.list_sub_depts(1)
    entries = openroster_journal.entries()
    assert [(e["method"], e["path"]) for e in entries] == [
        ("POST", "/oauth2/token"),
        ("POST", "/v7/users/create"),
        ("POST", "/v7/users/batch_read"),
        ("GET", "/v7/users/nobody"),
        ("GET", "/gettoken"),
        ("POST", "/topapi/v2/department/listsub"),
    ]
    for e in entries:
        assert e["tenant"] == openroster_tenant.id
        assert re.fullmatch(r"[0-9a-f]{13}", e["request_id"])
        assert e["latency_ms"] > 0
    assert [e["status"] for e in entries] == [200, 200, 200, 404, 200, 200]
    assert [e["dialect"] for e in entries] == ["wps"] * 4 + ["dingtalk"] * 2
    assert [e["app"] for e in entries] == [openroster_tenant.wps.client_id] * 4 + [
        openroster_tenant.dingtalk.appkey
    ] * 2
    assert entries[1]["body"] == {"user_name": "Dana", "dept_ids": ["1"], "email": "dana@example.test"}
    assert [e["code"] for e in entries] == [None, 0, 0, 40400002, 0, 0]
    assert entries[3]["status"] == 404
    assert entries[5]["query"]["access_token"] == "[redacted]"

    # Filters: path (exact and glob), code, app, since, count, limit.
    assert openroster_journal.paths(path="/v7/users/*") == [
        "/v7/users/create",
        "/v7/users/batch_read",
        "/v7/users/nobody",
    ]
    assert openroster_journal.paths(path="/openapi/v7/users/create") == ["/v7/users/create"]
    assert openroster_journal.paths(code=40400002) == ["/v7/users/nobody"]
    assert openroster_journal.count(app=openroster_tenant.dingtalk.appkey) == 2
    assert openroster_journal.count(dialect="dingtalk", method="GET") == 1
    assert openroster_journal.count(since=entries[4]["time"]) == 2
    assert openroster_journal.count(since=entries[4]["timestamp"]) == 2
    assert openroster_journal.last()["path"] == "/topapi/v2/department/listsub"  # type: ignore[index]
    assert len(openroster_journal) == 6
    control = openroster_tenant.control
    assert control.journal_count(tenant=openroster_tenant.id, status=404) == 1
    with pytest.raises(ControlError) as bad:
        control.journal(since="last tuesday")
    assert bad.value.status == 400 and bad.value.field == "since"

    # Clearing: the fixture's view, then the server's entries of this tenant only.
    openroster_journal.clear()
    assert openroster_journal.entries() == []
    assert control.clear_journal(tenant=openroster_tenant.id) == 6
    assert control.journal(tenant=openroster_tenant.id) == []


def test_the_journal_keeps_no_secret(
    openroster_tenant: OpenrosterTenant, wps_client: WpsClient, dingtalk_client: DingTalkClient
) -> None:
    """Tokens, signatures and app secrets never appear in a journal export, wherever they were sent."""
    base = openroster_tenant.server.base_url
    wps_client.batch_read_users(["x"])  # KSO-1 signed, bearer token; the token came from a form post
    dingtalk_client.get_dept(1)  # gettoken with appsecret in the query; access_token in the query
    wps, ding = openroster_tenant.wps, openroster_tenant.dingtalk
    basic = httpx.post(  # client credentials in a Basic header
        base + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(wps.client_id, wps.client_secret),
    )
    wps_token = basic.json()["access_token"]
    ding_token = dingtalk_client.token()
    httpx.post(  # access_token in a form body
        base + "/topapi/v2/department/get",
        data={"access_token": ding_token, "dept_id": "1"},
    )
    httpx.post(  # secrets in a JSON body (a DingTalk v1.0-style token request), echoed in a header
        base + "/v1.0/oauth2/accessToken",
        json={"appKey": ding.appkey, "appSecret": ding.appsecret},
        headers={"x-acs-dingtalk-access-token": ding_token, "Cookie": f"s={wps_token}"},
    )
    httpx.get(base + "/v7/users/x", params={"access_token": wps_token, "client_secret": wps.client_secret})

    export = httpx.get(
        base + "/_openroster/journal",
        params={"tenant": openroster_tenant.id},
        headers={"Authorization": f"Bearer {openroster_tenant.server.admin_token}"},
    ).text
    everything = httpx.get(
        base + "/_openroster/journal",
        headers={"Authorization": f"Bearer {openroster_tenant.server.admin_token}"},
    ).text
    entries = orjson.loads(export)["entries"]
    assert len(entries) >= 6
    for text in (export, everything):
        for secret in (wps.client_secret, ding.appsecret, wps_token, ding_token, wps_client.token()):
            assert secret not in text
        assert not re.search(r"[0-9a-f]{64}", text), "a signature leaked"
    signed = next(e for e in entries if e["path"] == "/v7/users/batch_read")
    assert signed["headers"]["x-kso-authorization"] == f"KSO-1 {wps.client_id}:[redacted]"
    assert signed["headers"]["authorization"] == "Bearer [redacted]"
    assert signed["reply"]["code"] == 0 and signed["reply_truncated"] is False  # the reply's body too
    token_replies = [e["reply"] for e in entries if e["path"] in ("/oauth2/token", "/gettoken")]
    assert token_replies and all(r["access_token"] == "[redacted]" for r in token_replies)
    v1 = next(e["reply"] for e in entries if e["path"] == "/v1.0/oauth2/accessToken")
    assert v1["accessToken"] == "[redacted]" and v1["expireIn"] > 0


@pytest.mark.slow
def test_the_journal_is_bounded_and_drops_the_oldest(tmp_path: Path) -> None:
    proc = start_server(tmp_path / "data", "--journal-size", "5", admin_token="tok-bounded")
    try:
        for i in range(8):
            httpx.get(f"{proc.base_url}/v7/users/u{i}")
        with ControlClient(proc.base_url, "tok-bounded") as control:
            page = control.call("GET", "/journal")
            assert [e["path"] for e in page["entries"]] == [f"/v7/users/u{i}" for i in range(3, 8)]
            assert page["dropped"] == 3
            assert control.clear_journal() == 5 and control.journal() == []
    finally:
        proc.stop()


@pytest.mark.slow
def test_the_journal_can_be_turned_off(tmp_path: Path) -> None:
    proc = start_server(tmp_path / "data", "--journal-size", "0", admin_token="tok-off")
    try:
        resp = httpx.get(f"{proc.base_url}/v7/users/u1")
        assert resp.headers["x-request-id"]
        with ControlClient(proc.base_url, "tok-off") as control:
            assert control.journal() == [] and control.version()["journal_size"] == 0
    finally:
        proc.stop()


# -- faults ---------------------------------------------------------------------------------------------


def test_fault_rules_match_by_body_and_probability(openroster_tenant: OpenrosterTenant) -> None:
    with unsigned_wps(openroster_tenant) as client:
        client.get_root_dept()
        rule = openroster_tenant.add_fault(
            "error", match={"body": "u-special", "method": "post"}, code=40000002, message="injected"
        )
        assert client.batch_read_users(["u-other"]) == []
        with pytest.raises(ApiError) as err:
            client.batch_read_users(["u-special"])
        assert err.value.code == 40000002 and err.value.message == "injected" and err.value.http_status == 400
        openroster_tenant.control.delete_fault(rule["id"])
        half = openroster_tenant.add_fault(
            "error", match={"path": "/v7/users/batch_read"}, code=40000002, probability=0.5
        )
        outcomes = []
        with unsigned_wps(openroster_tenant) as raw:
            raw.retry = RetryPolicy(max_retries=0)
            for _ in range(40):
                try:
                    raw.batch_read_users(["u-1"])
                    outcomes.append(True)
                except ApiError:
                    outcomes.append(False)
        assert any(outcomes) and not all(outcomes)
        assert openroster_tenant.fault(half["id"])["hits"] == outcomes.count(False)


def test_fault_rules_list_delete_and_validate(openroster_server: OpenrosterServer) -> None:
    control = openroster_server.control
    rule = control.add_fault("error", match={"path": "/v7/never/*", "tenant": "nobody"}, code=50000001)
    try:
        assert rule in control.faults()
        with pytest.raises(ControlError) as bad:
            control.add_fault("error", match={"path": "/v7/x"})
        assert bad.value.status == 400 and "code is required" in bad.value.message
        with pytest.raises(ControlError) as bad_status:
            control.add_fault("http", status=99)
        assert bad_status.value.status == 400 and bad_status.value.field == "status"
        with pytest.raises(ControlError) as unknown:
            control.add_fault("explode")
        assert unknown.value.status == 400 and unknown.value.field == "action"
    finally:
        control.delete_fault(rule["id"])
    assert rule["id"] not in [f["id"] for f in control.faults()]
    with pytest.raises(ControlError) as missing:
        control.delete_fault(rule["id"])
    assert missing.value.status == 404


def test_deleting_every_fault_rule(own_server: tuple[ServerProcess, ControlClient]) -> None:
    _proc, control = own_server
    control.add_fault("latency", latency_ms=1)
    control.add_fault("latency", latency_ms=2)
    assert control.clear_faults() == 2 and control.faults() == []


# -- clock ----------------------------------------------------------------------------------------------


def test_the_clock_can_be_read_set_and_put_back(openroster_tenant: OpenrosterTenant) -> None:
    control = openroster_tenant.control
    now = control.clock()
    assert abs(now["timestamp"] - time.time()) < 5 and abs(now["offset_seconds"]) < 1e-6
    openroster_tenant.clock_moved = True
    moved = control.set_clock("2030-01-02T03:04:05Z")
    assert moved["now"].startswith("2030-01-02T03:04:0")
    assert control.advance_clock(60)["now"].startswith("2030-01-02T03:05:0")
    assert control.set_clock(1_900_000_000)["timestamp"] == pytest.approx(1_900_000_000, abs=2)
    # The signature window follows the clock: a KSO-1 client on real time is now refused.
    with (
        openroster_tenant.wps_client(retry=RetryPolicy(max_retries=0)) as signed,
        pytest.raises(AuthenticationError) as skew,
    ):
        signed.get_root_dept()
    assert skew.value.code == 40100007
    back = control.real_time()
    assert abs(back["offset_seconds"]) < 1e-6
    with pytest.raises(ControlError) as bad:
        control.call("PUT", "/clock", json={"advance": 1, "real_time": True})
    assert bad.value.status == 400
    with pytest.raises(ControlError) as bad_time:
        control.set_clock("soon")
    assert bad_time.value.status == 400 and bad_time.value.field == "set"
