"""The pytest plugin's ``openroster_events`` as a user's test would use it: a receiver of the
test tenant's change events, on a free port, subscribed through the control plane.

Change records are written in this process through a write transaction on the plugin server's
store (``live`` on SQLite is that server), as a write through either dialect records them."""

from __future__ import annotations

import pytest

from conftest import LiveServer
from openroster.client import WpsClient
from openroster.model.changes import ChangeRecord, EntityKind, Operation
from openroster.testing.events import OpenrosterEvents
from openroster.testing.plugin import OpenrosterTenant
from openroster.testing.stream import StreamListener

pytestmark = pytest.mark.e2e


def record(live: LiveServer, tenant: str, kind: EntityKind, op: Operation, entity_id: str) -> None:
    with live.directory.writer() as tx:
        tx.record(
            ChangeRecord(tenant, kind, op, entity_id, ("name",), None if op is Operation.CREATE else {})
        )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # live on SQLite is the plugin's server
def test_both_platforms_events_reach_the_fixture_decrypted(
    live: LiveServer, openroster_tenant: OpenrosterTenant, openroster_events: OpenrosterEvents
) -> None:
    record(live, openroster_tenant.id, EntityKind.USER, Operation.CREATE, "u1")
    [wps] = openroster_events.wait_for("kso.user", "create")
    assert [u["user_id"] for u in wps["users"]] == ["u1"]
    [dingtalk] = openroster_events.wait_for("user_add_org")
    assert dingtalk["EventType"] == "user_add_org" and dingtalk["userId"] == ["u1"]
    assert dingtalk["eventId"] == dingtalk["BizId"]
    record(live, openroster_tenant.id, EntityKind.DEPARTMENT, Operation.UPDATE, "7")
    [dept] = openroster_events.wait_for("kso.dept", operation="update")
    assert [d["dept_id"] for d in dept["depts"]] == ["7"]
    assert openroster_events.wait_for("org_dept_modify")[0]["deptId"] == [7]
    assert {(e.kind, e.topic) for e in openroster_events.events} == {
        ("wps", "kso.user"),
        ("wps", "kso.dept"),
        ("dingtalk", "user_add_org"),
        ("dingtalk", "org_dept_modify"),
    }


def test_the_fixture_subscribes_for_the_test_tenant_and_says_what_it_did_not_get(
    openroster_tenant: OpenrosterTenant, openroster_events: OpenrosterEvents
) -> None:
    subs = openroster_tenant.control.subscriptions(openroster_tenant.id)
    assert {(s["kind"], s["app"], s["status"]) for s in subs} == {
        ("wps", openroster_tenant.wps.client_id, "active"),
        ("dingtalk", openroster_tenant.dingtalk.appkey, "active"),
    }
    assert {s["id"] for s in subs} == set(openroster_events.subscriptions.values())
    assert all(s["url"].startswith(openroster_events.url) for s in subs)
    with pytest.raises(AssertionError, match=r"no kso\.user delete event"):
        openroster_events.wait_for("kso.user", "delete", timeout=0.1)


def test_a_write_through_the_sdk_is_announced_on_both_platforms(
    wps_client: WpsClient, openroster_events: OpenrosterEvents
) -> None:
    user = wps_client.create_user(user_name="Ann", dept_ids=["1"])
    [event] = openroster_events.wait_for("kso.user", "create")
    assert [u["user_id"] for u in event["users"]] == [user.id]
    assert openroster_events.wait_for("user_add_org")[0]["userId"] == [user.id]


@pytest.mark.slow  # the SDK's own process
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # live on SQLite is the plugin's server
def test_the_stream_fixture_is_the_sdk_connected_as_the_tenants_dingtalk_app(
    live: LiveServer, openroster_tenant: OpenrosterTenant, openroster_stream: StreamListener
) -> None:
    (sub,) = openroster_tenant.control.subscriptions(openroster_tenant.id)
    assert (sub["kind"], sub["app"]) == ("dingtalk_stream", openroster_tenant.dingtalk.appkey)
    record(live, openroster_tenant.id, EntityKind.USER, Operation.CREATE, "u1")
    (event,) = openroster_stream.wait_for("user_add_org")
    assert event["data"]["userId"] == ["u1"]
    assert event["eventUnifiedAppId"] == openroster_tenant.dingtalk.appkey
    with pytest.raises(AssertionError, match="fewer than 1 org_dept_create"):
        openroster_stream.wait_for("org_dept_create", timeout=0.1)
