"""``/v1.0`` rate limits end to end: 20 calls/s per app and API by default, answered with 403
``Forbidden.AccessDenied.QpsLimitForAppkeyAndApi`` (the protocol file), configurable per call."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from dingtalk_support import TENANT
from dingtalk_v1_support import TOKEN_HEADER, access_token, error_of, tenant_with_token

from conftest import LiveServer, ServerProcess
from openroster.core.directory import Directory
from openroster.core.tenancy import apps

pytestmark = pytest.mark.e2e

REASONS = "/v1.0/hrm/dismission/reasons"
DISMISSIONS = "/v1.0/hrm/employees/dismissions"
THROTTLED = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"


def _calls_until_throttled(
    http: httpx.Client, token: str, path: str, *, limit: int = 300
) -> tuple[int, float, httpx.Response]:
    started = time.monotonic()
    for passed in range(limit):
        reply = http.get(path, headers={TOKEN_HEADER: token})
        if reply.status_code != 200:
            return passed, time.monotonic() - started, reply
    raise AssertionError(f"{limit} calls to {path} were never throttled")


def test_each_call_allows_twenty_per_second_per_app(live: LiveServer) -> None:
    tenant_with_token(live.base_url, live.directory)
    fresh = "acme-throttled"  # an app of its own: a budget no other test has spent
    apps.create(
        live.directory,
        tenant_id=TENANT,
        client_id=fresh,
        secret="s3cret-s3cret",
        agentid=7,
        scopes=("Hrm.Process.ReadWrite", "qyapi_hrm_read_user"),
    )
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        token = access_token(http, appkey=fresh, appsecret="s3cret-s3cret")
        other = access_token(http)
        passed, seconds, refusal = _calls_until_throttled(http, token, REASONS)
        body = error_of(refusal, 403, THROTTLED)
        assert f"GET {REASONS} allows 20 calls per second per app" in body["message"]
        assert 20 <= passed <= 20 + 20 * seconds + 1, (passed, seconds)
        # Another call of the same app, and the same call of another app, are not affected.
        assert http.get(DISMISSIONS, headers={TOKEN_HEADER: token}).status_code == 200
        assert http.get(REASONS, headers={TOKEN_HEADER: other}).status_code == 200
        # A second later on the server's clock the budget is back.
        live.control.advance_clock(1)
        assert http.get(REASONS, headers={TOKEN_HEADER: token}).status_code == 200


@pytest.mark.slow
def test_configured_rates(directory: Directory, server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(
        "--dingtalk-v1-rate-limit", f"GET {REASONS}=2/60s", "--dingtalk-v1-rate-limit", "*=off"
    )
    token = tenant_with_token(server.base_url, directory)
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for _ in range(30):  # the default is switched off
            assert http.get(DISMISSIONS, headers={TOKEN_HEADER: token}).status_code == 200
        for _ in range(2):
            assert http.get(REASONS, headers={TOKEN_HEADER: token}).status_code == 200
        error_of(http.get(REASONS, headers={TOKEN_HEADER: token}), 403, THROTTLED)


def test_a_rate_for_an_unknown_call_is_refused_at_start() -> None:
    from openroster.dialects.dingtalk_v1.dialect import validate_rates

    validate_rates(f"GET {REASONS}=5,*=off")
    with pytest.raises(ValueError, match=r"no such /v1\.0 call"):
        validate_rates("GET /v1.0/hrm/nothing=5")
    with pytest.raises(ValueError, match=r"/v1\.0 paths start with /v1\.0/"):
        validate_rates("GET /v7/users=5")
