"""WPS v7 throttling end to end: per app and endpoint, 429 + 42900001 + Retry-After, configurable."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
from wps_contacts_support import READ_ONLY_APP, client, setup_tenant

from conftest import LiveServer, ServerProcess
from openroster.client import WpsClient
from openroster.core.directory import Directory

pytestmark = pytest.mark.e2e

THROTTLED = 42900001


def _calls_until_throttled(c: WpsClient, path: str, *, limit: int = 300) -> tuple[int, float, httpx.Response]:
    """Call ``path`` until refused; return the calls that passed, the seconds taken and the refusal."""
    started = time.monotonic()
    for passed in range(limit):
        resp = c.send("GET", path)
        if resp.status_code != 200:
            return passed, time.monotonic() - started, resp
    raise AssertionError(
        f"{limit} calls to {path} in {time.monotonic() - started:.1f} s were never throttled"
    )


def _assert_throttled(resp: httpx.Response, endpoint: str) -> int:
    assert resp.status_code == 429
    body = orjson.loads(resp.content)
    assert body["code"] == THROTTLED
    assert endpoint in body["msg"] and "per app" in body["msg"]
    retry_after = int(resp.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


def test_depts_root_is_limited_to_ten_calls_per_second_per_app(live: LiveServer) -> None:
    setup_tenant(live.directory)
    server = live.server
    with client(server) as c, client(server, READ_ONLY_APP, signing=None) as other:
        c.token(), other.token()
        passed, seconds, refusal = _calls_until_throttled(c, "/v7/depts/root")
        _assert_throttled(refusal, "GET /v7/depts/root")
        # A burst of 10, then 10 more per second.
        assert 10 <= passed <= 10 + 10 * seconds + 1, (passed, seconds)
        # Other endpoints of the same app, and the same endpoint for another app, are not affected.
        assert c.send("GET", "/v7/depts/1").status_code == 200
        assert other.send("GET", "/v7/depts/root").status_code == 200


@pytest.mark.slow
def test_configured_rates(directory: Directory, server_factory: Callable[..., ServerProcess]) -> None:
    setup_tenant(directory)
    server = server_factory(
        "--rate-limit", "GET /v7/users/{user_id}/depts=2/6s", "--rate-limit", "GET /v7/depts/root=off"
    )
    with client(server) as c, client(server, prefix="/openapi") as c2, client(server, prefix="/graph") as c3:
        c.token(), c2.token(), c3.token()
        for _ in range(40):  # the default limit is switched off
            assert c.send("GET", "/v7/depts/root").status_code == 200
        path = "/v7/users/nobody/depts"
        assert c.send("GET", path).status_code == 404  # refused by the handler, but counted
        assert c2.send("GET", path).status_code == 404
        refusal = c3.send("GET", path)  # the three spellings of the path share one budget
        retry_after = _assert_throttled(refusal, "GET /v7/users/{user_id}/depts")
        assert retry_after <= 3  # 2 calls per 6 s: one call's worth of budget comes back within 3 s
        time.sleep(retry_after)
        assert c.send("GET", path).status_code == 404  # allowed again


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("GET /v7/nope=5", "no such WPS endpoint"),
        ("GET /v7/depts/root=fast", "N/Ss"),
        ("depts=5", "METHOD /path"),
    ],
)
@pytest.mark.slow  # a serve process per case
def test_a_bad_rate_stops_the_server_with_a_clear_message(tmp_path: Path, spec: str, message: str) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "openroster",
            "serve",
            "--data-dir",
            str(tmp_path / "d"),
            "--rate-limit",
            spec,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 2
    said = " ".join(out.stderr.split())  # the console may wrap long lines
    assert "--rate-limit" in said and message in said, out.stderr
