"""Real writes through each dialect and the importer reach subscribers as each platform's events.

A running server (``live``) delivers in the background to receivers written from the protocol
file (tests/event_receivers.py), which check the signatures and decrypt on their own. The
subscriptions are made on the server's store in-process (``openroster.events.subscriptions``).

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): the server's engine claims deliveries and
locks a subscription's row for its fan-out with ``FOR UPDATE SKIP LOCKED`` there (store/outbox.py),
while it commits the writes that make the events; SQLite serializes both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from dingtalk_support import ADD_PREENTRY, AGENTID, APPKEY, APPSECRET, CORP_ID, UPDATE, Wire, wire
from wps_contacts_support import APP, APP_SECRET, READ_ONLY_APP, SCOPES, TENANT, client, setup_tenant

import event_receivers as ind
from conftest import LiveServer
from openroster.core.custom import attributes
from openroster.core.people import users
from openroster.core.sheets import imports as sheet_imports
from openroster.core.tenancy import apps
from openroster.events import subscriptions

pytestmark = [pytest.mark.e2e, pytest.mark.both_stores]

TOKEN, AES_KEY = "wiring-token", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
PERMISSIONS = ("qyapi_hrm_read_user", "qyapi_hrm_manager", "qyapi_get_member", "qyapi_get_department_list")
#: How long a test waits for the server's background engine.
WAIT = 15.0

Events = list[dict[str, Any]]


@dataclass
class Subscribers:
    wps: ind.ReceiverServer
    dingtalk: ind.ReceiverServer

    def wait(self, which: ind.ReceiverServer, predicate: Callable[[Events], bool]) -> Events:
        which.wait_for(predicate, timeout=WAIT)
        return which.events


@contextmanager
def subscribed(live: LiveServer) -> Iterator[Subscribers]:
    """Tenant acme with a WPS app and a DingTalk app, each subscribed to every event it has."""
    d = live.directory
    setup_tenant(d)
    apps.create(d, tenant_id=TENANT, client_id=APPKEY, secret=APPSECRET, agentid=AGENTID, scopes=PERMISSIONS)
    with (
        ind.serve(ind.WpsReceiver(APP, APP_SECRET)) as wps_server,
        ind.serve(ind.DingTalkReceiver(TOKEN, AES_KEY, APPKEY)) as dt_server,
    ):
        subscriptions.create(d, tenant_id=TENANT, kind="wps", app=APP, url=wps_server.url)
        subscriptions.create(
            d, tenant_id=TENANT, kind="dingtalk", app=APPKEY, url=dt_server.url, token=TOKEN, aes_key=AES_KEY
        )
        yield Subscribers(wps_server, dt_server)


def users_of(events: Events, topic: str, operation: str) -> list[str]:
    return [
        u["user_id"]
        for e in events
        if e["topic"] == topic and e["operation"] == operation
        for u in e["payload"].get("users", [])
    ]


def of_type(events: Events, event_type: str) -> list[dict[str, Any]]:
    return [e for e in events if e["EventType"] == event_type]


def test_a_wps_user_create_reaches_dingtalk_as_user_add_org(live: LiveServer) -> None:
    with subscribed(live) as subs, client(live.server) as wps:
        made = wps.create_user(user_name="Ann", dept_ids=["1"], email="ann@acme.test")
        got = subs.wait(subs.dingtalk, lambda es: bool(of_type(es, "user_add_org")))
        (event,) = of_type(got, "user_add_org")
        assert event["userId"] == [made.id] and event["CorpId"] == CORP_ID
        assert event["eventId"] == event["BizId"]
        wps_got = subs.wait(subs.wps, lambda es: bool(users_of(es, "kso.user", "create")))
        assert users_of(wps_got, "kso.user", "create") == [made.id]
        assert "src" not in wps_got[0]["payload"]["users"][0]  # no src on create


def test_a_dingtalk_roster_update_reaches_wps_and_dingtalk(live: LiveServer) -> None:
    with subscribed(live) as subs:
        users.create(
            live.directory, tenant_id=TENANT, item=users.NewUser(id="zhang", user_name="张三", dept_ids=(1,))
        )
        subs.wait(subs.wps, lambda es: bool(users_of(es, "kso.user", "create")))
        groups = [
            {
                "group_id": "sys00",
                "sections": [
                    {"old_index": 0, "section": [{"field_code": "sys00-position", "value": "产品经理"}]}
                ],
            }
        ]
        dt: Wire
        with wire(live.server.base_url) as dt:
            reply = dt.post(UPDATE, {"agentid": AGENTID, "param": {"userid": "zhang", "groups": groups}})
        assert reply["result"] is True
        wps_got = subs.wait(subs.wps, lambda es: bool(users_of(es, "kso.user", "update")))
        (update,) = [e for e in wps_got if e["operation"] == "update"]
        (item,) = update["payload"]["users"]
        assert item["user_id"] == "zhang" and item["src"]["user_name"] == "张三"
        dt_got = subs.wait(
            subs.dingtalk,
            lambda es: bool(of_type(es, "hrm_user_record_change") and of_type(es, "user_modify_org")),
        )
        (record,) = of_type(dt_got, "hrm_user_record_change")
        assert (record["actionType"], record["staffId"]) == ("userInfoChange", "zhang")
        assert of_type(dt_got, "user_modify_org")[0]["userId"] == ["zhang"]  # a contacts field changed


def test_department_create_rename_delete_on_both_channels(live: LiveServer) -> None:
    with subscribed(live) as subs, client(live.server) as wps:
        dept = wps.create_dept(name="Sales", parent_id="1")
        wps.update_dept(dept.id, name="Global Sales")
        wps.delete_dept(dept.id)
        got = subs.wait(subs.wps, lambda es: len(es) >= 3)
        assert [(e["topic"], e["operation"]) for e in got] == [
            ("kso.dept", "create"),
            ("kso.dept", "update"),
            ("kso.dept", "delete"),
        ]
        assert got[1]["payload"]["depts"] == [
            {
                "company_id": TENANT,
                "dept_id": dept.id,
                "src": {"leader_ids": [], "name": "Sales", "parent_id": "1"},
            }
        ]
        assert got[2]["payload"]["depts"][0]["src"]["name"] == "Global Sales"
        dt_got = subs.wait(subs.dingtalk, lambda es: len(es) >= 3)
        assert [(e["EventType"], e["deptId"]) for e in dt_got] == [
            (t, [int(dept.id)]) for t in ("org_dept_create", "org_dept_modify", "org_dept_remove")
        ]


def test_a_custom_attribute_batch_update(live: LiveServer) -> None:
    with subscribed(live) as subs, client(live.server) as wps:
        made = wps.create_user(user_name="Ann", dept_ids=["1"])
        attributes.create_definitions(
            live.directory,
            tenant_id=TENANT,
            items=[attributes.NewDefinition(id="desk", name="Desk", value_type="text")],
        )
        body = {"users": [{"user_id": made.id, "custom_attrs": [{"attr_id": "desk", "text": "7F"}]}]}
        wps.request("POST", "/v7/users/custom_attrs/batch_update", json=body)
        wps.request("POST", "/v7/users/custom_attrs/batch_update", json=body)  # the same value: no event
        got = subs.wait(subs.wps, lambda es: bool(users_of(es, "kso.user", "update")))
        dt_got = subs.wait(subs.dingtalk, lambda es: bool(of_type(es, "hrm_user_record_change")))
        assert users_of(got, "kso.user", "update") == [made.id]
        assert [e["staffId"] for e in of_type(dt_got, "hrm_user_record_change")] == [made.id]


def test_an_import_is_batched_and_an_unchanged_reimport_sends_nothing(live: LiveServer) -> None:
    n = 150
    rows = [[f"Person {i}", f"E{i:04d}", "Ops"] for i in range(n)]
    with subscribed(live) as subs:
        report = sheet_imports.import_sheet(
            live.directory, tenant_id=TENANT, headers=["姓名", "工号", "部门"], rows=rows
        )
        assert report.created == n
        got = subs.wait(
            subs.wps,
            lambda es: (
                len(users_of(es, "kso.user", "create")) >= n and any(e["topic"] == "kso.dept" for e in es)
            ),
        )
        creates = [e for e in got if e["topic"] == "kso.user"]
        assert sorted(len(e["payload"]["users"]) for e in creates) == [50, 100]
        (dept_event,) = [e for e in got if e["topic"] == "kso.dept"]
        assert (dept_event["operation"], len(dept_event["payload"]["depts"])) == ("create", 1)  # Ops
        dt_got = subs.wait(
            subs.dingtalk, lambda es: sum(len(e["userId"]) for e in of_type(es, "user_add_org")) >= n
        )
        assert sorted(len(e["userId"]) for e in of_type(dt_got, "user_add_org")) == [50, 100]
        seen = len(subs.wps.requests), len(subs.dingtalk.requests)
        again = sheet_imports.import_sheet(
            live.directory, tenant_id=TENANT, headers=["姓名", "工号", "部门"], rows=rows
        )
        assert again.unchanged == n
        marker = wps_marker(live)
        subs.wait(subs.wps, lambda es: marker in users_of(es, "kso.user", "create"))
        # The marker was written after the re-import: had the re-import sent anything, it came first.
        assert len(subs.wps.requests) == seen[0] + 1


def wps_marker(live: LiveServer) -> str:
    """Create one person (a write that does send), to show that nothing was pending before it."""
    users.create(
        live.directory, tenant_id=TENANT, item=users.NewUser(id="marker", user_name="M", dept_ids=(1,))
    )
    return "marker"


def test_an_app_scope_change_through_the_control_plane_reaches_wps(live: LiveServer) -> None:
    with subscribed(live) as subs:
        narrower = [s for s in SCOPES if s != "kso.user_phone.read"]
        assert live.control.set_scopes(TENANT, APP, narrower)["scopes"] == sorted(narrower)
        live.control.set_scopes(TENANT, APP, narrower)  # the same scopes again: no event
        live.control.set_scopes(TENANT, READ_ONLY_APP, ["kso.contact.read", "kso.user_email.read"])
        marker = wps_marker(live)
        # Events about different entities may arrive in any order (one pass sends its claims
        # together): wait for the marker and the scope event, then look at everything but the marker.
        got = subs.wait(
            subs.wps,
            lambda es: (
                marker in users_of(es, "kso.user", "create")
                and any(e["topic"] == "kso.contact.permission_setting" for e in es)
            ),
        )
        # One event, for the subscription's own app; another app's scopes are not its business.
        assert [(e["topic"], e["operation"], e["payload"]) for e in got if e["topic"] != "kso.user"] == [
            ("kso.contact.permission_setting", "update", {"company_id": TENANT})
        ]
        dt_got = subs.wait(subs.dingtalk, lambda es: bool(of_type(es, "user_add_org")))
        assert [e["EventType"] for e in dt_got] == ["user_add_org"]  # DingTalk has no such event


def about(events: Events, entity: str) -> Events:
    """The events naming one person (WPS ``users[].user_id``, DingTalk ``userId``), in arrival order:
    events about one entity arrive in commit order (other entities' may come between)."""
    return [
        e
        for e in events
        if entity in [u["user_id"] for u in e.get("payload", {}).get("users", [])]
        or entity in e.get("userId", [])
    ]


def test_a_persons_life_through_wps_on_both_channels(live: LiveServer) -> None:
    with subscribed(live) as subs, client(live.server) as wps:
        made = wps.create_user(user_name="Ann", dept_ids=["1"])
        sales = wps.create_dept(name="Sales", parent_id="1")
        wps.update_user(made.id, user_name="Anna")
        wps.batch_update_user_depts([{"user_id": made.id, "dept_ids": [sales.id]}])
        wps.batch_update_user_orders([{"user_id": made.id, "dept_id": sales.id, "order": 5}])
        wps.update_user(made.id, role="admin")
        wps.update_user(made.id, role="normal")
        wps.batch_disable_users([made.id])
        wps.delete_user(made.id)
        got = about(subs.wait(subs.wps, lambda es: len(about(es, made.id)) >= 8), made.id)
        assert [e["operation"] for e in got] == ["create", *["update"] * 6, "delete"]
        srcs = [e["payload"]["users"][0].get("src", {}) for e in got]
        assert [s.get("user_name") for s in srcs] == [None, "Ann", *["Anna"] * 6]
        assert [s.get("dept_ids") for s in srcs[2:4]] == [["1"], [sales.id]]  # the move's src: before it
        assert [s.get("role") for s in srcs[4:6]] == ["normal", "admin"]
        dt_got = about(subs.wait(subs.dingtalk, lambda es: len(about(es, made.id)) >= 8), made.id)
        assert [e["EventType"] for e in dt_got] == [
            "user_add_org",
            "user_modify_org",  # renamed
            "user_modify_org",  # moved
            "user_modify_org",  # reordered
            "org_admin_add",
            "org_admin_remove",
            "user_modify_org",  # disabled
            "user_leave_org",  # deleted
        ]
        assert {e["CorpId"] for e in dt_got} == {CORP_ID}


def test_a_dingtalk_pre_hire_activated_through_wps_and_dismissed_by_an_import(live: LiveServer) -> None:
    with subscribed(live) as subs, client(live.server) as wps:
        param = {
            "name": "新同事",
            "mobile": "13700000000",
            "pre_entry_time": "2030-03-01 09:00:00",
            "extend_info": orjson.dumps({"depts": "1", "position": "工程师"}).decode(),
        }
        dt: Wire
        with wire(live.server.base_url) as dt:
            new_id = str(dt.ok(ADD_PREENTRY, {"param": param})["userid"])
        wps.batch_enable_users([new_id])  # the pre-hire joins: notactive -> active
        wps.update_user(new_id, email="xin@acme.test")  # what the import finds the person by
        report = sheet_imports.import_sheet(
            live.directory,
            tenant_id=TENANT,
            headers=["姓名", "邮箱", "账号状态"],
            rows=[["新同事", "xin@acme.test", "离职"]],
        )
        assert report.updated == 1
        dt_got = about(subs.wait(subs.dingtalk, lambda es: len(about(es, new_id)) >= 4), new_id)
        assert [e["EventType"] for e in dt_got] == [
            "user_add_org",
            "user_active_org",
            "user_modify_org",  # the email
            "user_leave_org",  # dismissed
        ]
        got = about(subs.wait(subs.wps, lambda es: len(about(es, new_id)) >= 4), new_id)
        assert [(e["topic"], e["operation"]) for e in got] == [
            ("kso.user", "create"),
            *[("kso.user", "update")] * 3,  # dismissed: the person stays in the directory
        ]
        assert got[1]["payload"]["users"][0]["src"]["user_name"] == "新同事"


def test_an_import_that_changes_people_sends_updates_with_src(live: LiveServer) -> None:
    with subscribed(live) as subs:
        headers = ["姓名", "工号", "部门"]
        sheet_imports.import_sheet(
            live.directory, tenant_id=TENANT, headers=headers, rows=[["Bo", "E1", "Ops"]]
        )
        created = subs.wait(subs.wps, lambda es: bool(users_of(es, "kso.user", "create")))
        (uid,) = users_of(created, "kso.user", "create")
        report = sheet_imports.import_sheet(
            live.directory, tenant_id=TENANT, headers=headers, rows=[["Bob", "E1", "Ops"]]
        )
        assert report.updated == 1
        got = subs.wait(subs.wps, lambda es: bool(users_of(es, "kso.user", "update")))
        (update,) = [e for e in got if e["operation"] == "update"]
        assert update["payload"]["users"][0]["src"]["user_name"] == "Bo"
        dt_got = subs.wait(subs.dingtalk, lambda es: bool(of_type(es, "user_modify_org")))
        assert of_type(dt_got, "user_modify_org")[0]["userId"] == [uid]


def test_each_change_record_names_the_app_that_made_it(live: LiveServer) -> None:
    d = live.directory
    setup_tenant(d)
    apps.create(d, tenant_id=TENANT, client_id=APPKEY, secret=APPSECRET, agentid=AGENTID, scopes=PERMISSIONS)
    with ind.serve(ind.WpsReceiver(APP, APP_SECRET)) as receiver:
        sub = subscriptions.create(d, tenant_id=TENANT, kind="wps", app=APP, url=receiver.url)
        live.control.subscription_action(TENANT, sub.id, "pause")  # keeps the records for the feed
    start = live.control.changes(TENANT)["cursor"]
    with client(live.server) as wps:
        made = wps.create_user(user_name="Ann", dept_ids=["1"])
    position = {"field_code": "sys00-position", "value": "PM"}
    groups = [{"group_id": "sys00", "sections": [{"old_index": 0, "section": [position]}]}]
    with wire(live.server.base_url) as dt:
        reply = dt.post(UPDATE, {"agentid": AGENTID, "param": {"userid": made.id, "groups": groups}})
    assert reply["result"] is True
    users.update(d, tenant_id=TENANT, user_id=made.id, changes={"title": "CTO"})  # no app: in process
    apps.create(d, tenant_id=TENANT, client_id="acme-scim", secret="acme-scim-sec", scopes=("scim",))
    scim = {"Authorization": "Bearer acme-scim-sec", "Content-Type": "application/scim+json"}
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bo@acme.test"}
    assert httpx.post(live.base_url + "/scim/v2/Users", headers=scim, json=user).status_code == 201
    page = live.control.changes(TENANT, start)
    assert [(c["kind"], c["operation"], c["actor"]) for c in page["changes"] if c["kind"] == "user"] == [
        ("user", "create", APP),
        ("user", "update", APPKEY),
        ("user", "update", None),
        ("user", "create", "acme-scim"),
    ]


def test_scim_writes_reach_wps_and_dingtalk(live: LiveServer) -> None:
    with subscribed(live) as subs:
        apps.create(
            live.directory, tenant_id=TENANT, client_id="acme-scim", secret="acme-scim-sec", scopes=("scim",)
        )
        scim = {"Authorization": "Bearer acme-scim-sec", "Content-Type": "application/scim+json"}
        base = live.base_url + "/scim/v2/Users"
        user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann@acme.test"}
        made = httpx.post(base, headers=scim, json=user).json()
        patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "displayName", "value": "Ann Lee"}],
        }
        assert httpx.patch(f"{base}/{made['id']}", headers=scim, json=patch).status_code == 200
        assert httpx.delete(f"{base}/{made['id']}", headers=scim).status_code == 204
        wps_got = subs.wait(subs.wps, lambda es: bool(users_of(es, "kso.user", "delete")))
        assert [op for op in ("create", "update", "delete") if users_of(wps_got, "kso.user", op)] == [
            "create",
            "update",
            "delete",
        ]
        dt_got = subs.wait(
            subs.dingtalk, lambda es: bool(of_type(es, "user_add_org") and of_type(es, "user_leave_org"))
        )
        assert of_type(dt_got, "user_add_org")[0]["userId"] == [made["id"]]
        assert of_type(dt_got, "user_modify_org")[0]["userId"] == [made["id"]]
