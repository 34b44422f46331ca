"""The SDK against the control plane's faults and clock: what it retries, what it gives up on, tokens.

The retry policy's arithmetic (waits, jitter, budgets) is unit-tested in
tests/unit/test_client_retry.py with recorded sleeps; here the same SDK talks to
a real server whose fault rules produce the failures, and the server's journal
shows what the SDK actually sent.
"""

from __future__ import annotations

import pytest
from plugin_support import FAST_RETRY, unsigned_wps

from openroster.client import RetryPolicy
from openroster.client.errors import ApiError, ServerError, ThrottledError, TransportError
from openroster.testing.plugin import OpenrosterJournal, OpenrosterTenant

pytestmark = pytest.mark.e2e

NO_RETRY = RetryPolicy(max_retries=0)


def test_a_throttling_fault_makes_the_wps_sdk_retry_and_succeed(
    openroster_tenant: OpenrosterTenant, openroster_journal: OpenrosterJournal
) -> None:
    rule = openroster_tenant.add_fault(
        "error",
        match={"dialect": "wps", "path": "/v7/users/batch_read"},
        code=42900001,
        retry_after=0,
        times=2,
    )
    assert rule["remaining"] == 2 and rule["match"]["tenant"] == openroster_tenant.id
    with openroster_tenant.wps_client(retry=FAST_RETRY) as client:
        assert client.batch_read_users(["nobody"]) == []
    after = openroster_tenant.fault(rule["id"])
    assert after["hits"] == 2 and after["remaining"] == 0
    calls = openroster_journal.entries(path="/v7/users/batch_read")
    assert [(e["status"], e["code"], e["fault"]) for e in calls] == [
        (429, 42900001, rule["id"]),
        (429, 42900001, rule["id"]),
        (200, 0, None),
    ]


def test_the_sdk_reads_retry_after_and_gives_up_when_it_would_overrun_its_budget(
    openroster_tenant: OpenrosterTenant,
) -> None:
    rule = openroster_tenant.add_fault("error", code=42900001, retry_after=1)
    with openroster_tenant.wps_client(retry=NO_RETRY) as once, pytest.raises(ThrottledError) as first:
        once.get_root_dept()
    assert (first.value.code, first.value.retry_after) == (42900001, 1)
    assert openroster_tenant.fault(rule["id"])["hits"] == 1
    # A budget of 1.5 s holds one wait of Retry-After: 1 s, not two; five retries are never reached.
    budget = RetryPolicy(max_retries=5, max_wait=1.5)
    with openroster_tenant.wps_client(retry=budget) as client, pytest.raises(ThrottledError) as err:
        client.get_root_dept()
    assert (err.value.code, err.value.retry_after) == (42900001, 1)
    assert openroster_tenant.fault(rule["id"])["hits"] == 1 + 2


def test_a_dingtalk_throttling_fault_makes_the_sdk_retry_and_succeed(
    openroster_tenant: OpenrosterTenant, openroster_journal: OpenrosterJournal
) -> None:
    openroster_tenant.add_fault(
        "error", match={"dialect": "dingtalk", "path": "/topapi/*"}, code=90018, times=1
    )
    with openroster_tenant.dingtalk_client(retry=FAST_RETRY) as client:
        assert client.get_dept(1).dept_id == 1
    calls = openroster_journal.entries(path="/topapi/v2/department/get")
    assert [(e["status"], e["code"]) for e in calls] == [(200, 90018), (200, 0)]
    raw = openroster_tenant.add_fault(
        "error", match={"dialect": "dingtalk", "path": "/topapi/*"}, code=90018, times=1
    )
    with openroster_tenant.dingtalk_client(retry=NO_RETRY) as client, pytest.raises(ApiError) as e:
        client.get_dept(1)
    assert e.value.code == 90018 and e.value.reply["errmsg"] and e.value.reply["request_id"]
    assert openroster_tenant.fault(raw["id"])["hits"] == 1


def test_gateway_errors_latency_and_closed_connections(
    openroster_tenant: OpenrosterTenant, openroster_journal: OpenrosterJournal
) -> None:
    """Reads are sent again after a 503 or a dropped connection; a create that may have happened is not."""
    with unsigned_wps(openroster_tenant) as client:
        client.get_root_dept()  # token fetched before the faults
        openroster_tenant.add_fault("http", match={"path": "/v7/depts/root"}, status=503, times=1)
        assert client.get_root_dept().id == "1"
        openroster_tenant.add_fault("close", match={"path": "/v7/depts/root"}, times=1)
        assert client.get_root_dept().id == "1"
        slow = openroster_tenant.add_fault(
            "latency", match={"path": "/v7/depts/root"}, latency_ms=300, times=1
        )
        assert client.get_root_dept().id == "1"
        calls = openroster_journal.entries(path="/v7/depts/root")
        assert [e["status"] for e in calls] == [200, 503, 200, 0, 200, 200]
        assert calls[3]["fault"] is not None
        assert calls[5]["fault"] == slow["id"] and calls[5]["latency_ms"] >= 300

        dropped = openroster_tenant.add_fault("close", match={"path": "/v7/depts/create"}, times=1)
        with pytest.raises(TransportError):
            client.create_dept(name="x", parent_id="1")
        failed = openroster_tenant.add_fault("http", match={"path": "/v7/depts/create"}, status=500, times=1)
        with pytest.raises(ServerError):
            client.create_dept(name="y", parent_id="1")
        assert openroster_tenant.fault(dropped["id"])["hits"] == 1
        assert openroster_tenant.fault(failed["id"])["hits"] == 1
        assert [e["status"] for e in openroster_journal.entries(path="/v7/depts/create")] == [0, 500]
    # A client that never retries sees exactly what the rule does.
    openroster_tenant.add_fault("close", match={"app": openroster_tenant.wps.client_id}, times=1)
    with openroster_tenant.wps_client(retry=NO_RETRY) as raw, pytest.raises(TransportError):
        raw.get_root_dept()


def test_a_clock_advance_expires_the_token_and_the_sdk_fetches_a_new_one(
    openroster_tenant: OpenrosterTenant, openroster_journal: OpenrosterJournal
) -> None:
    with unsigned_wps(openroster_tenant) as wps, openroster_tenant.dingtalk_client() as ding:
        wps.get_root_dept()
        ding.get_dept(1)
        assert wps.token_fetches == 1 and ding.token_fetches == 1
        openroster_tenant.advance_clock(7201)
        assert wps.get_root_dept().id == "1"
        assert ding.get_dept(1).dept_id == 1
        assert wps.token_fetches == 2 and ding.token_fetches == 2
    codes = [(e["path"], e["code"]) for e in openroster_journal.entries()]
    assert ("/v7/depts/root", 40100004) in codes  # WPS: the token expired, then refreshed
    assert ("/topapi/v2/department/get", 42001) in codes  # DingTalk: access_token超时
