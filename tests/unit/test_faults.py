"""Fault rules: matching, firing (probability, remaining count), replies per dialect, the middleware."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import orjson
import pytest

from openroster.config import Settings
from openroster.control.calls import RawCall
from openroster.control.faults import FaultBook
from openroster.control.middleware import InjectedDisconnect
from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.server.app import create_app


def _call(path: str = "/v7/users/batch_read", *, method: str = "POST", body: bytes = b"") -> RawCall:
    return RawCall(method, path, b"", [], body)


def _fire(book: FaultBook, call: RawCall, *, app: str | None = None, tenant: str | None = None) -> str | None:
    candidates = book.candidates(call.method, call.path, call.dialect)
    rule = book.fire(candidates, call, app_of=lambda _c: app, tenant_of=lambda _a: tenant)
    return rule.id if rule is not None else None


def test_rules_match_on_every_criterion() -> None:
    book = FaultBook()
    book.add(action="close", dialect="dingtalk")
    book.add(action="close", method="get", path="/v7/depts/*")
    book.add(action="close", app="app-1")
    book.add(action="close", tenant="acme")
    book.add(action="close", body="needle")
    assert _fire(book, _call("/topapi/v2/user/get")) == "f1"
    assert _fire(book, _call("/openapi/v7/depts/1", method="GET")) == "f2"
    assert _fire(book, _call("/v7/depts/1", method="POST")) is None
    assert _fire(book, _call(), app="app-1") == "f3"
    assert _fire(book, _call(), app="app-2", tenant="acme") == "f4"
    assert _fire(book, _call(body=b'{"x":"a needle"}'), app="app-2", tenant="other") == "f5"
    assert _fire(book, _call(body=b"{}"), app="app-2", tenant="other") is None


def test_the_remaining_count_and_hits() -> None:
    book = FaultBook()
    rule = book.add(action="error", code=90018, remaining=2)
    assert [_fire(book, _call()) for _ in range(3)] == ["f1", "f1", None]
    assert rule.remaining == 0 and rule.hits == 2
    assert rule.describe()["remaining"] == 0


def test_probability() -> None:
    book = FaultBook(rng=random.Random(7))
    rule = book.add(action="error", code=90018, probability=0.25)
    fired = [_fire(book, _call()) is not None for _ in range(400)]
    assert 60 < sum(fired) < 140 and rule.hits == sum(fired)


def test_the_first_rule_that_fires_wins_and_rules_can_go() -> None:
    book = FaultBook()
    book.add(action="close", path="/v7/*")
    book.add(action="http", status=503)
    assert _fire(book, _call()) == "f1"
    assert book.remove("f1") and not book.remove("f1")
    assert _fire(book, _call()) == "f2"
    assert book.clear() == 1 and book.rules == []


def _reply(path: str, **spec: Any) -> tuple[int, dict[str, str], bytes]:
    rule = FaultBook().add(**spec)
    status, headers, body = rule.reply(_call(path), "rid123")
    return status, {k.decode(): v.decode() for k, v in headers}, body


def test_error_replies_speak_the_dialect() -> None:
    status, headers, body = _reply("/v7/users/batch_read", action="error", code=42900001)
    assert status == 429 and headers["retry-after"] == "1" and headers["x-openroster-fault"] == "f1"
    assert orjson.loads(body) == {
        "code": 42900001,
        "msg": "too many requests: the rate limit is exceeded; retry later",
        "data": None,
    }
    status, headers, body = _reply("/topapi/v2/user/get", action="error", code=90018)
    assert status == 200 and "retry-after" not in headers
    assert orjson.loads(body) == {
        "errcode": 90018,
        "errmsg": "当前应用调用该接口的频率超过上限，请稍后再试",
        "request_id": "rid123",
    }
    status, _, body = _reply("/gettoken", action="error", code=-1, message="busy", retry_after=3)
    assert status == 200 and orjson.loads(body) == {"errcode": -1, "errmsg": "busy"}
    status, _, body = _reply("/v7/users/x", action="error", code=40400002, status=200)
    assert status == 200 and orjson.loads(body)["code"] == 40400002
    status, _, body = _reply("/v7/users/x", action="error", code=12)
    assert status == 200


def test_http_replies_are_bare() -> None:
    status, headers, body = _reply("/v7/users/x", action="http", status=503, retry_after=2)
    assert status == 503 and body == b"503 Service Unavailable" and headers["retry-after"] == "2"
    assert headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_middleware_acts_and_replays_the_body(directory: Directory) -> None:
    app = create_app(Settings(admin_token="unit-admin"), directory=directory)
    plane = app.state.control
    body = b'{"user_ids":["a"],"status":["active"]}'

    async def scenario() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            out: dict[str, Any] = {}
            plane.faults.add(action="error", body="needle", code=40000002)
            out["untouched"] = await client.post("/v7/users/batch_read", content=body)
            token = (
                await client.post(
                    "/oauth2/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": "f-app",
                        "client_secret": "f-app-secret",
                    },
                )
            ).json()["access_token"]
            out["authorized"] = await client.post(
                "/v7/users/batch_read",
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            out["faulted"] = await client.post("/v7/users/batch_read", content=b'{"needle":1}')
            plane.faults.clear()
            plane.faults.add(action="latency", latency_ms=200, remaining=1)
            out["slow"] = await client.post("/v7/users/batch_read", content=body)
            plane.faults.add(action="close", remaining=1)
            try:
                await client.post("/v7/users/batch_read", content=body)
            except InjectedDisconnect as exc:
                out["closed"] = exc
            out["journal"] = (
                await client.get("/_openroster/journal", headers={"Authorization": "Bearer unit-admin"})
            ).json()["entries"]
        return out

    tenants.create(directory, tenant_id="f-tenant", name="F")
    apps.create(
        directory,
        tenant_id="f-tenant",
        client_id="f-app",
        secret="f-app-secret",
        signing="none",
        scopes=["kso.contact.read"],
    )
    out = asyncio.run(scenario())
    assert out["authorized"].json() == {"code": 0, "msg": "", "data": {"items": []}}
    # The app got the body a rule had to read first: it answers about the body's content.
    assert out["untouched"].json()["code"] == 40100002  # no token: the dialect's own error
    assert out["faulted"].status_code == 400 and out["faulted"].json()["code"] == 40000002
    assert out["slow"].json()["code"] == 40100002  # delayed (the journal's latency below), then answered
    assert "connection closed" in str(out["closed"])
    journal = out["journal"]
    assert [e["status"] for e in journal] == [401, 200, 200, 400, 401, 0]
    assert [e["fault"] is not None for e in journal] == [False, False, False, True, True, True]
    assert journal[0]["body"] == orjson.loads(body) and journal[4]["latency_ms"] >= 200
    assert journal[2]["tenant"] == "f-tenant" and journal[2]["app"] == "f-app"
