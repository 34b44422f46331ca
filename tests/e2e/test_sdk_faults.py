"""The SDK against the control plane's faults and clock: retries honour Retry-After, tokens refresh."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sdk_support import Sandbox, Tenant, open_sandbox

from openroster.client import (
    DingTalkClient,
    RetryPolicy,
    ServerError,
    ThrottledError,
    TransportError,
    WpsClient,
)

pytestmark = pytest.mark.e2e
ADMIN = "sdk-faults-admin-token"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from open_sandbox(tmp_path_factory.mktemp("faults"), "--admin-token", ADMIN)


@pytest.fixture
def org(sandbox: Sandbox) -> Iterator[Tenant]:
    yield sandbox.tenant()
    control(sandbox, "DELETE", "/faults")
    control(sandbox, "PUT", "/clock", json={"real_time": True})


def control(sandbox: Sandbox, method: str, path: str, **kw: Any) -> Any:
    resp = httpx.request(
        method, f"{sandbox.base_url}/_openroster{path}", headers={"Authorization": f"Bearer {ADMIN}"}, **kw
    )
    resp.raise_for_status()
    return resp.json() if resp.content else None


def fault(sandbox: Sandbox, **rule: Any) -> str:
    return str(control(sandbox, "POST", "/faults", json=rule)["id"])


def hits(sandbox: Sandbox, rule_id: str) -> int:
    return int(next(r for r in control(sandbox, "GET", "/faults") if r["id"] == rule_id)["hits"])


def wps(sandbox: Sandbox, org: Tenant, signing: str | None = None, **kw: Any) -> WpsClient:
    creds = org.wps[signing]
    return WpsClient(
        sandbox.base_url, client_id=creds.client_id, client_secret=creds.secret, signing=signing, **kw
    )


def test_throttled_reads_wait_for_retry_after(sandbox: Sandbox, org: Tenant) -> None:
    rule = fault(
        sandbox,
        match={"path": "/v7/users/batch_read", "tenant": org.id},
        action="error",
        code=42900001,
        retry_after=1,
        times=2,
    )
    with wps(sandbox, org, "kso1") as c:
        started = time.monotonic()
        assert c.batch_read_users(["nobody"]) == []
        waited = time.monotonic() - started
    assert hits(sandbox, rule) == 2 and waited >= 2.0


def test_dingtalk_throttling_codes_are_retried(sandbox: Sandbox, org: Tenant) -> None:
    creds = org.dingtalk
    assert creds is not None
    rule = fault(
        sandbox, match={"dialect": "dingtalk", "app": creds.client_id}, action="error", code=90018, times=2
    )
    policy = RetryPolicy(backoff=0.05)
    with DingTalkClient(
        sandbox.base_url, appkey=creds.client_id, appsecret=creds.secret, agentid=creds.agentid, retry=policy
    ) as dt:
        assert dt.list_sub_depts() == []
    assert hits(sandbox, rule) == 2


def test_gateway_errors_and_dropped_connections(sandbox: Sandbox, org: Tenant) -> None:
    policy = RetryPolicy(backoff=0.05)
    gateway = fault(sandbox, match={"tenant": org.id, "method": "GET"}, action="http", status=503, times=1)
    with wps(sandbox, org, None, retry=policy) as c:
        assert c.get_root_dept().id == "1"
        assert hits(sandbox, gateway) == 1
        dropped = fault(
            sandbox, match={"tenant": org.id, "path": "/v7/depts/1/children"}, action="close", times=1
        )
        assert c.list_dept_children("1").items == []  # a read: sent again
        assert hits(sandbox, dropped) == 1
        fault(sandbox, match={"tenant": org.id, "path": "/v7/depts/create"}, action="close", times=1)
        with pytest.raises(TransportError):
            c.create_dept(name="x", parent_id="1")  # a create that may have happened: not sent again
        fault(
            sandbox, match={"tenant": org.id, "path": "/v7/depts/create"}, action="http", status=500, times=1
        )
        with pytest.raises(ServerError):
            c.create_dept(name="y", parent_id="1")


def test_retry_budget_gives_up(sandbox: Sandbox, org: Tenant) -> None:
    fault(sandbox, match={"tenant": org.id}, action="error", code=42900001, retry_after=1)
    with wps(sandbox, org, None, retry=RetryPolicy(max_retries=5, max_wait=1.5)) as c:
        started = time.monotonic()
        with pytest.raises(ThrottledError) as err:
            c.get_root_dept()
        assert time.monotonic() - started < 5
    assert err.value.retry_after == 1 and err.value.code == 42900001


def test_expired_tokens_are_refreshed(sandbox: Sandbox, org: Tenant) -> None:
    """Two hours on, every token has expired: the client fetches a new one once and goes on."""
    creds = org.dingtalk
    assert creds is not None
    with (
        wps(sandbox, org, None) as c,
        DingTalkClient(sandbox.base_url, appkey=creds.client_id, appsecret=creds.secret) as dt,
    ):
        c.get_root_dept()
        dt.list_sub_depts()
        control(sandbox, "PUT", "/clock", json={"advance": 7201})
        assert c.get_root_dept().id == "1" and c.token_fetches == 2
        assert dt.list_sub_depts() == [] and dt.token_fetches == 2
