"""The SDK's retry, token and error rules, against scripted replies (no network).

The end-to-end tests (tests/e2e/test_sdk_*.py) check the same behaviour against a
running server; these pin down the edge cases a server cannot easily be made to
produce on demand (a 500 on a create, a connection reset, a Retry-After date).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import orjson
import pytest

from openroster.client import (
    AsyncWpsClient,
    AuthenticationError,
    ConflictError,
    DingTalkClient,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
    ServerError,
    ThrottledError,
    TransportError,
    WpsClient,
)
from openroster.client.retry import parse_retry_after

Reply = httpx.Response | Exception
TOKEN = {"access_token": "tok-1", "expires_in": 7200, "token_type": "bearer"}
OK = {"code": 0, "msg": "", "data": {"items": []}}


class Script:
    """A transport that answers API calls from a list and counts token requests."""

    def __init__(self, *replies: Reply, tokens: list[str] | None = None) -> None:
        self.replies = list(replies)
        self.tokens = list(tokens or ["tok-1", "tok-2", "tok-3"])
        self.token_requests = 0
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path in ("/oauth2/token", "/gettoken"):
            self.token_requests += 1
            value = self.tokens[min(self.token_requests, len(self.tokens)) - 1]
            body = {"access_token": value, "expires_in": 7200}
            if request.url.path == "/gettoken":
                body |= {"errcode": 0, "errmsg": "ok"}
            return httpx.Response(200, json=body)
        self.calls.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def wps(script: Script, **kw: Any) -> WpsClient:
    http = httpx.Client(base_url="http://wps.test", transport=httpx.MockTransport(script))
    return WpsClient(client_id="AK1", client_secret="secret-1", http=http, **kw)


def dingtalk(script: Script, **kw: Any) -> DingTalkClient:
    http = httpx.Client(base_url="http://dt.test", transport=httpx.MockTransport(script))
    return DingTalkClient(appkey="ding1", appsecret="secret-1", agentid=7, http=http, **kw)


def wps_reply(
    status: int, code: int, msg: str = "x", headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg, "data": None}, headers=headers)


def dt_reply(errcode: int, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"errcode": errcode, "errmsg": "x", **extra})


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's waits instead of sleeping."""
    waited: list[float] = []
    monkeypatch.setattr("openroster.client.transport.time.sleep", waited.append)
    return waited


def test_throttled_call_waits_retry_after_then_succeeds(sleeps: list[float]) -> None:
    script = Script(wps_reply(429, 42900001, headers={"Retry-After": "2"}), httpx.Response(200, json=OK))
    with wps(script) as c:
        assert c.list_custom_attr_definitions() == []
    assert len(sleeps) == 1 and 2.0 <= sleeps[0] <= 3.0
    assert len(script.calls) == 2


def test_throttle_code_without_http_429_is_retried(sleeps: list[float]) -> None:
    script = Script(wps_reply(200, 42900007), httpx.Response(200, json=OK))
    with wps(script) as c:
        c.list_custom_attr_definitions()
    assert len(script.calls) == 2 and len(sleeps) == 1


@pytest.mark.parametrize("errcode", [90002, 90005, 90018, -1])
def test_dingtalk_throttle_codes_are_retried(sleeps: list[float], errcode: int) -> None:
    script = Script(dt_reply(errcode), dt_reply(0, result={"userid_list": ["u1"]}))
    with dingtalk(script) as c:
        assert c.list_user_ids(1) == ["u1"]
    assert len(script.calls) == 2


def test_retry_budget_is_bounded(sleeps: list[float]) -> None:
    script = Script(*[wps_reply(429, 42900001) for _ in range(10)])
    with (
        wps(script, retry=RetryPolicy(max_retries=3, backoff=0.1)) as c,
        pytest.raises(ThrottledError) as err,
    ):
        c.list_custom_attr_definitions()
    assert len(script.calls) == 4 and len(sleeps) == 3
    assert all(0 <= s <= 0.1 * 2**i for i, s in enumerate(sleeps))
    assert err.value.code == 42900001 and err.value.http_status == 429


def test_total_wait_is_bounded(sleeps: list[float]) -> None:
    script = Script(*[wps_reply(429, 42900001, headers={"Retry-After": "4"}) for _ in range(10)])
    policy = RetryPolicy(max_retries=10, max_wait=10.0)
    with wps(script, retry=policy) as c, pytest.raises(ThrottledError):
        c.list_custom_attr_definitions()
    assert len(sleeps) == 2 and sum(sleeps) <= 10.0


def test_retry_after_longer_than_max_backoff_is_not_waited_for(sleeps: list[float]) -> None:
    script = Script(wps_reply(429, 42900001, headers={"Retry-After": "3600"}))
    with wps(script) as c, pytest.raises(ThrottledError) as err:
        c.list_custom_attr_definitions()
    assert sleeps == [] and err.value.retry_after == 3600


def test_server_error_is_retried_for_reads_only(sleeps: list[float]) -> None:
    script = Script(wps_reply(500, 50000001), httpx.Response(200, json=OK))
    with wps(script) as c:
        c.batch_read_users(["u1"])
    assert len(script.calls) == 2
    created = Script(wps_reply(500, 50000001))
    with wps(created) as c, pytest.raises(ServerError):
        c.create_user(user_name="A", dept_ids=["1"])
    assert len(created.calls) == 1


def test_503_is_retried_even_for_a_create(sleeps: list[float]) -> None:
    user = {"code": 0, "msg": "", "data": {"id": "u9", "user_name": "A"}}
    script = Script(wps_reply(503, 50300001), httpx.Response(200, json=user))
    with wps(script) as c:
        assert c.create_user(user_name="A", dept_ids=[1]).id == "u9"
    assert len(script.calls) == 2


def test_connection_errors(sleeps: list[float]) -> None:
    script = Script(
        httpx.ConnectError("refused"), httpx.Response(200, json={"code": 0, "data": {"id": "u1"}})
    )
    with wps(script) as c:
        assert c.create_user(user_name="A", dept_ids=["1"]).id == "u1"  # never arrived: safe to resend
    broken = Script(httpx.ReadError("reset"))
    with wps(broken) as c, pytest.raises(TransportError):
        c.create_user(user_name="A", dept_ids=["1"])  # may have arrived: not resent
    assert len(broken.calls) == 1
    reads = Script(
        httpx.ReadError("reset"), httpx.RemoteProtocolError("closed"), httpx.Response(200, json=OK)
    )
    with wps(reads) as c:
        c.batch_read_users(["u1"])
    assert len(reads.calls) == 3


def test_invalid_token_is_refreshed_once() -> None:
    script = Script(wps_reply(401, 40100003), httpx.Response(200, json=OK))
    with wps(script) as c:
        c.list_custom_attr_definitions()
        assert c.token_fetches == 2
    assert script.calls[0].headers["authorization"] == "Bearer tok-1"
    assert script.calls[1].headers["authorization"] == "Bearer tok-2"
    again = Script(wps_reply(401, 40100004), wps_reply(401, 40100004))
    with wps(again) as c, pytest.raises(AuthenticationError):
        c.list_custom_attr_definitions()
    assert again.token_requests == 2 and len(again.calls) == 2


def test_signature_errors_do_not_refresh_the_token() -> None:
    script = Script(wps_reply(401, 40100001, "sign check fail: authorization mismatch"))
    with wps(script) as c, pytest.raises(AuthenticationError) as err:
        c.list_custom_attr_definitions()
    assert script.token_requests == 1 and err.value.code == 40100001


def test_dingtalk_topapi_invalid_token_is_refreshed() -> None:
    bad = dt_reply(88, sub_code="40014", sub_msg="不合法的access_token", request_id="r1")
    script = Script(bad, dt_reply(0, result={"userid_list": []}))
    with dingtalk(script) as c:
        assert c.list_user_ids(1) == []
    assert script.token_requests == 2
    assert script.calls[1].url.params["access_token"] == "tok-2"


def test_token_is_refreshed_before_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("openroster.client.transport.time.monotonic", lambda: now[0])
    script = Script(*[httpx.Response(200, json=OK) for _ in range(3)])
    with wps(script) as c:
        c.list_custom_attr_definitions()
        now[0] += 7200 - 301  # still more than the 300 s margin left
        c.list_custom_attr_definitions()
        assert c.token_fetches == 1
        now[0] += 2  # inside the margin: fetch a new one before calling
        c.list_custom_attr_definitions()
        assert c.token_fetches == 2
    assert [r.headers["authorization"] for r in script.calls] == [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-2",
    ]


def test_concurrent_async_calls_share_one_token_fetch() -> None:
    script = Script(*[httpx.Response(200, json=OK) for _ in range(20)])

    async def run() -> None:
        http = httpx.AsyncClient(base_url="http://wps.test", transport=httpx.MockTransport(script))
        async with AsyncWpsClient(client_id="AK1", client_secret="s", http=http) as c:
            await asyncio.gather(*[c.list_custom_attr_definitions() for _ in range(20)])
        await http.aclose()

    asyncio.run(run())
    assert script.token_requests == 1 and len(script.calls) == 20


@pytest.mark.parametrize(
    ("reply", "cls"),
    [
        (wps_reply(400, 40000002), InvalidRequestError),
        (wps_reply(403, 40300001), PermissionDeniedError),
        (wps_reply(404, 40400002), NotFoundError),
        (wps_reply(409, 40900001), ConflictError),
        (httpx.Response(502, text="<html>bad gateway</html>"), ServerError),
    ],
)
def test_wps_error_classes(reply: httpx.Response, cls: type[Exception], sleeps: list[float]) -> None:
    with wps(Script(reply), retry=RetryPolicy(max_retries=0)) as c, pytest.raises(cls):
        c.create_user(user_name="A", dept_ids=["1"])


def test_dingtalk_error_carries_code_message_and_request_id() -> None:
    script = Script(dt_reply(60011, errmsg="no permission", request_id="req-42"))
    with dingtalk(script) as c, pytest.raises(PermissionDeniedError) as err:
        c.get_roster_meta()
    e = err.value
    assert (e.platform, e.code, e.request_id) == ("dingtalk", 60011, "req-42")
    assert "req-42" in str(e) and e.reply["errcode"] == 60011


def test_dingtalk_body_gets_agentid_and_token_in_query() -> None:
    script = Script(dt_reply(0, result=[]))
    with dingtalk(script) as c:
        c.list_employee_rosters(["u1", "u2"], field_codes=["sys00-name"])
    sent = script.calls[0]
    assert sent.url.params["access_token"] == "tok-1"
    assert orjson.loads(sent.content) == {
        "userid_list": "u1,u2",
        "field_filter_list": "sys00-name",
        "agentid": 7,
    }


def test_roster_update_keeps_old_index_zero() -> None:
    script = Script(dt_reply(0, result=True))
    groups = [
        {
            "group_id": "sys03",
            "sections": [{"old_index": 0, "section": [{"field_code": "sys03-major", "value": "CS"}]}],
        },
        {
            "group_id": "sys06",
            "sections": [{"section": [{"field_code": "sys06-urgentContactsName", "value": "A"}]}],
        },
    ]
    with dingtalk(script) as c:
        assert c.update_employee_roster("u1", groups) is True
    sections = [g["sections"][0] for g in orjson.loads(script.calls[0].content)["param"]["groups"]]
    assert sections[0]["old_index"] == 0 and "old_index" not in sections[1]


def test_retry_after_as_http_date() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_policy_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=5.0)
    for attempt in range(6):
        draws = [policy.backoff_delay(attempt) for _ in range(200)]
        assert all(0 <= d <= min(5.0, 2**attempt) for d in draws)
        assert max(draws) > min(5.0, 2**attempt) / 2  # jitter spreads over the whole window
