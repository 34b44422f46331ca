"""Failed credentials are throttled at both token endpoints and at the SCIM bearer (docs/security.md,
"Credential throttling"; docs/scim.md).

Per client id and per source address, only failures count; once a budget is spent every attempt
under it is refused before its secret is checked (a right secret too): WPS ``POST /oauth2/token``
answers HTTP 429, ``42900001`` and ``Retry-After``; DingTalk ``GET /gettoken`` errcode ``90018``.
The budgets refill over their window on the server's clock, which the control plane moves.

Each test runs a server of its own with small budgets (the shared servers have large ones: every
test calls from 127.0.0.1), on both backends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from openroster.testing import ControlClient
from openroster.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN = "throttle-admin-token"
#: The budgets of the servers here: failures per client id, per address, in this many seconds.
PER_CLIENT, PER_ADDRESS, WINDOW = 3, 8, 60
#: The defaults docs/configuration.md documents.
DEFAULT_PER_CLIENT, DEFAULT_PER_ADDRESS = 10, 50

WPS_APPS = ("thr-wps-a", "thr-wps-b")
SCIM_APPS = ("thr-scim-a", "thr-scim-b")
DING_APPS = {"thr-ding-a": 7001, "thr-ding-b": 7002}


def secret(cid: str) -> str:
    return f"{cid}-secret"


@dataclass
class Throttled:
    http: httpx.Client
    control: ControlClient

    def wps(self, cid: str, sec: str) -> httpx.Response:
        form = {"grant_type": "client_credentials", "client_id": cid, "client_secret": sec}
        return self.http.post("/oauth2/token", data=form)

    def ding(self, cid: str, sec: str) -> httpx.Response:
        return self.http.get("/gettoken", params={"appkey": cid, "appsecret": sec})

    def scim(self, bearer: str) -> httpx.Response:
        return self.http.get("/scim/v2/Users", headers={"Authorization": f"Bearer {bearer}"})


def scim_outcome(resp: httpx.Response) -> str:
    """docs/scim.md: the list (200), a wrong bearer (401), throttled (429 with Retry-After), each in a
    SCIM body."""
    status = {200: "token", 401: "wrong", 429: "blocked"}[resp.status_code]
    if status != "token":
        assert resp.json()["status"] == str(resp.status_code), resp.text
    if status == "blocked":
        assert resp.headers.get("Retry-After", "").isdigit(), resp.headers
    return status


def wps_outcome(resp: httpx.Response) -> str:
    """docs/wps.md: a token (200), ``40100009`` invalid_client (401), ``42900001`` throttled (429,
    with a Retry-After of whole seconds)."""
    body = resp.json()
    if resp.status_code == 200 and body.get("access_token"):
        return "token"
    if (resp.status_code, body.get("code")) == (401, 40100009):
        return "wrong"
    if (resp.status_code, body.get("code")) == (429, 42900001):
        retry = resp.headers.get("Retry-After", "")
        assert retry.isdigit() and 1 <= int(retry) <= WINDOW, resp.headers
        return "blocked"
    raise AssertionError(f"unexpected reply {resp.status_code} {resp.text}")


def ding_outcome(resp: httpx.Response) -> str:
    """docs/dingtalk.md: errcode 0 with a token, ``40096`` wrong appkey/appsecret, ``90018`` throttled;
    HTTP 200 always."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    code = body["errcode"]
    if code == 0 and body.get("access_token"):
        return "token"
    if code == 40096:
        return "wrong"
    if code == 90018:
        assert body["errmsg"].startswith("当前应用调用该接口的频率超过上限"), body
        return "blocked"
    raise AssertionError(f"unexpected reply {body}")


def start(factory: Callable[..., ServerProcess], *budget: str) -> Iterator[Throttled]:
    server = factory("--admin-token", ADMIN, *budget)
    with (
        httpx.Client(base_url=server.base_url, timeout=30) as http,
        ControlClient(server.base_url, ADMIN) as c,
    ):
        apps: list[dict[str, object]] = [
            {
                "client_id": cid,
                "client_secret": secret(cid),
                "signing": "none",
                "scopes": ["kso.contact.read"],
            }
            for cid in WPS_APPS
        ]
        apps += [
            {
                "client_id": cid,
                "client_secret": secret(cid),
                "agentid": agentid,
                "scopes": ["qyapi_get_member"],
            }
            for cid, agentid in DING_APPS.items()
        ]
        apps += [{"client_id": cid, "client_secret": secret(cid), "scopes": ["scim"]} for cid in SCIM_APPS]
        c.create_tenant("thr", apps=apps)
        yield Throttled(http, c)


@pytest.fixture
def small(server_factory: Callable[..., ServerProcess]) -> Iterator[Throttled]:
    """A server whose budgets are 3 failures per client id and 8 per address per 60 s."""
    yield from start(
        server_factory,
        "--credential-failures-per-client",
        str(PER_CLIENT),
        "--credential-failures-per-address",
        str(PER_ADDRESS),
        "--credential-failures-window",
        str(WINDOW),
    )


@pytest.fixture
def defaults(server_factory: Callable[..., ServerProcess]) -> Iterator[Throttled]:
    """A server with the documented default budgets."""
    yield from start(server_factory)


@pytest.mark.parametrize("platform", ["wps", "dingtalk"])
def test_a_guessed_client_id_is_blocked_even_for_its_right_secret_until_the_window_passes(
    small: Throttled, platform: str
) -> None:
    if platform == "wps":
        ask, outcome, (target, other) = small.wps, wps_outcome, WPS_APPS
    else:
        ask, outcome, (target, other) = small.ding, ding_outcome, tuple(DING_APPS)
    # A client that holds its secret is never slowed: its successes spend nothing.
    assert [outcome(ask(target, secret(target))) for _ in range(PER_CLIENT * 4)] == ["token"] * PER_CLIENT * 4
    guesses = [outcome(ask(target, f"guess-{i}-secret")) for i in range(PER_CLIENT + 2)]
    assert guesses == ["wrong"] * PER_CLIENT + ["blocked"] * 2
    # Refused before the secret is checked: a right guess made now fails too.
    assert outcome(ask(target, secret(target))) == "blocked"
    # The budget is the client id's: another app of the same platform, from the same address, works.
    assert outcome(ask(other, secret(other))) == "token"
    small.control.advance_clock(WINDOW)
    assert outcome(ask(target, secret(target))) == "token"
    assert outcome(ask(target, "one-more-guess")) == "wrong"


def test_the_address_budget_spans_client_ids_and_both_endpoints(small: Throttled) -> None:
    """Failures for many (unknown) client ids, at either endpoint or as SCIM bearers, spend the
    address's one budget; then every attempt from the address is refused, right secrets included."""
    assert scim_outcome(small.scim(secret(SCIM_APPS[0]))) == "token"
    assert scim_outcome(small.scim("wrong-bearer")) == "wrong"
    outcomes = ["wrong"]
    for i in range(1, PER_ADDRESS):
        cid = f"nobody-{i}"
        resp = small.wps(cid, secret(cid)) if i % 2 else small.ding(cid, secret(cid))
        outcomes.append(wps_outcome(resp) if i % 2 else ding_outcome(resp))
    assert outcomes == ["wrong"] * PER_ADDRESS
    assert wps_outcome(small.wps("nobody-new", "nobody-new-secret")) == "blocked"
    # A SCIM bearer this server has not seen is looked for under the same budget: refused, right or
    # wrong; one it has seen is its app's secret, checked against that app alone, and still works.
    assert scim_outcome(small.scim("a-guessed-bearer")) == "blocked"
    assert scim_outcome(small.scim(secret(SCIM_APPS[1]))) == "blocked"
    assert scim_outcome(small.scim(secret(SCIM_APPS[0]))) == "token"
    assert wps_outcome(small.wps(WPS_APPS[0], secret(WPS_APPS[0]))) == "blocked"
    ding = next(iter(DING_APPS))
    assert ding_outcome(small.ding(ding, secret(ding))) == "blocked"
    small.control.advance_clock(WINDOW)
    assert wps_outcome(small.wps(WPS_APPS[0], secret(WPS_APPS[0]))) == "token"
    assert ding_outcome(small.ding(ding, secret(ding))) == "token"
    assert scim_outcome(small.scim(secret(SCIM_APPS[1]))) == "token"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_default_budget_is_ten_failures_per_client_id(defaults: Throttled) -> None:
    cid = WPS_APPS[0]
    guesses = [wps_outcome(defaults.wps(cid, f"guess-{i}-secret")) for i in range(DEFAULT_PER_CLIENT + 1)]
    assert guesses == ["wrong"] * DEFAULT_PER_CLIENT + ["blocked"]
    # Ten failures are well under the address's default budget of 50: another client id is let in.
    assert wps_outcome(defaults.wps(WPS_APPS[1], secret(WPS_APPS[1]))) == "token"
