"""An app belongs to one platform (docs/security.md, "Apps belong to one platform").

A WPS app's credentials get no DingTalk token and a DingTalk app's no WPS token: the other
platform's token endpoint answers exactly as for an unknown app (WPS ``401 40100009``, DingTalk
``40096``). The control plane refuses an app whose scopes name both platforms (400, field
``scopes``), and apps stored before apps named their platform get it from their scopes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from conftest import Databases, LiveServer
from openroster.server.app import open_directory
from openroster.store import migrate
from openroster.testing import ControlClient, ControlError
from openroster.testing.server import ServerProcess

pytestmark = pytest.mark.e2e

TENANT = "plat"
WPS_APP = {"client_id": "plat-wps", "client_secret": "plat-wps-secret", "signing": "kso1"}
DING_APP = {"client_id": "plat-ding", "client_secret": "plat-ding-secret", "agentid": 8101}
UNKNOWN = {"client_id": "plat-nobody", "client_secret": "plat-nobody-secret"}


def wps_token(http: httpx.Client, cred: dict[str, object]) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": cred["client_id"],
        "client_secret": cred["client_secret"],
    }
    return http.post("/oauth2/token", data=form)


def ding_token(http: httpx.Client, cred: dict[str, object]) -> httpx.Response:
    return http.get("/gettoken", params={"appkey": cred["client_id"], "appsecret": cred["client_secret"]})


def unknown_wps(resp: httpx.Response) -> bool:
    """docs/wps.md: a wrong id or secret is HTTP 401, ``40100009 invalid_client``."""
    body = resp.json()
    return (resp.status_code, body["code"]) == (401, 40100009) and body["msg"].startswith("invalid_client")


def unknown_ding(resp: httpx.Response) -> bool:
    """docs/dingtalk.md: wrong appkey or appsecret is errcode ``40096``, ``不合法的appKey或appSecret``."""
    return resp.status_code == 200 and resp.json() == {
        "errcode": 40096,
        "errmsg": "不合法的appKey或appSecret",
    }


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.base_url, timeout=30) as client:
        yield client


def test_credentials_of_one_platform_are_unknown_at_the_others_token_endpoint(
    live: LiveServer, http: httpx.Client
) -> None:
    made = live.control.create_tenant(
        TENANT,
        apps=[
            {**WPS_APP, "scopes": ["kso.contact.read", "kso.user_email.read"]},
            {**DING_APP, "scopes": ["qyapi_get_member", "qyapi_hrm_read_user"]},
        ],
    )
    assert {a["client_id"]: a["platform"] for a in made["apps"]} == {
        "plat-wps": "wps",
        "plat-ding": "dingtalk",
    }
    # Each works at its own platform's endpoint ...
    assert wps_token(http, WPS_APP).status_code == 200
    assert ding_token(http, DING_APP).json()["errcode"] == 0
    # ... and is answered at the other's exactly as an app that does not exist.
    as_unknown_wps, as_unknown_ding = wps_token(http, UNKNOWN), ding_token(http, UNKNOWN)
    assert unknown_wps(as_unknown_wps) and unknown_ding(as_unknown_ding)
    crossed_wps, crossed_ding = wps_token(http, DING_APP), ding_token(http, WPS_APP)
    assert (crossed_wps.status_code, crossed_wps.content) == (
        as_unknown_wps.status_code,
        as_unknown_wps.content,
    )
    assert crossed_ding.content == as_unknown_ding.content


def test_the_platform_is_explicit_or_follows_the_scopes(live: LiveServer, http: httpx.Client) -> None:
    live.control.create_tenant(TENANT)
    plain = live.control.add_app(TENANT, client_id="plat-plain", client_secret="plat-plain-secret")
    agent = live.control.add_app(
        TENANT, client_id="plat-agent", client_secret="plat-agent-secret", agentid=8102
    )
    chosen = live.control.add_app(
        TENANT, client_id="plat-chosen", client_secret="plat-chosen-secret", platform="dingtalk"
    )
    assert [plain["platform"], agent["platform"], chosen["platform"]] == ["wps", "dingtalk", "dingtalk"]
    assert wps_token(http, plain).status_code == 200 and unknown_ding(ding_token(http, plain))
    assert ding_token(http, chosen).json()["errcode"] == 0 and unknown_wps(wps_token(http, chosen))
    listed = {a["client_id"]: a["platform"] for a in live.control.tenant(TENANT)["apps"]}
    assert listed == {"plat-plain": "wps", "plat-agent": "dingtalk", "plat-chosen": "dingtalk"}


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({"scopes": ["kso.contact.read", "qyapi_get_member"]}, id="scopes of both platforms"),
        pytest.param({"scopes": ["kso.contact.read"], "platform": "dingtalk"}, id="WPS scope, dingtalk app"),
        pytest.param({"scopes": ["qyapi_get_member"], "platform": "wps"}, id="DingTalk permission, wps app"),
    ],
)
def test_an_app_whose_scopes_name_another_platform_is_refused(
    live: LiveServer, spec: dict[str, object]
) -> None:
    """docs/emulator.md: 400 ``invalid`` naming the field; nothing is created."""
    live.control.create_tenant(TENANT)
    with pytest.raises(ControlError) as added:
        live.control.add_app(TENANT, client_id="plat-mixed", **spec)
    assert (added.value.status, added.value.code, added.value.field) == (400, "invalid", "scopes")
    with pytest.raises(ControlError) as created:
        live.control.create_tenant("plat-other", apps=[{"client_id": "plat-mixed-2", **spec}])
    assert created.value.status == 400 and str(created.value.field).endswith("scopes"), created.value
    assert [t["id"] for t in live.control.tenants()] == [TENANT]
    assert live.control.tenant(TENANT)["apps"] == []


#: Apps as a store from before apps named their platform holds them: client id -> (scopes, agentid).
OLD_APPS: dict[str, tuple[list[str], int | None]] = {
    "old-wps": (["kso.contact.read"], None),
    "old-wps-agent": (["kso.contact.read"], 9001),  # a WPS scope wins over an agentid
    "old-ding": (["qyapi_get_member"], 9002),
    "old-ding-noagent": (["qyapi_hrm_read_user"], None),
    "old-agent-only": ([], 9003),
    "old-bare": ([], None),
}
OLD_PLATFORMS = {
    "old-wps": "wps",
    "old-wps-agent": "wps",
    "old-ding": "dingtalk",
    "old-ding-noagent": "dingtalk",
    "old-agent-only": "dingtalk",
    "old-bare": "wps",
}


def _old_store(databases: Databases, data: Path) -> None:
    """A store at the schema before platforms (revision 0002) holding OLD_APPS."""
    if databases.cluster is not None:
        databases.created[data.resolve()] = databases.cluster.create_database(migrated=False)
    d = open_directory(databases.settings_for(data))
    try:
        migrate.upgrade(d.store, "0002")
        tenants = sa.table("tenants", *(sa.column(c) for c in ("id", "name", "next_dept_id", "ctime")))
        apps = sa.table(
            "apps",
            *(
                sa.column(c)
                for c in ("client_id", "tenant_id", "name", "secret_sealed", "secret_version", "scopes")
            ),
            *(sa.column(c) for c in ("signing", "agentid", "ctime")),
        )
        with d.store.engine.begin() as conn:
            conn.execute(sa.insert(tenants).values(id="old", name="Old Co", next_dept_id=2, ctime=1))
            for cid, (scopes, agentid) in OLD_APPS.items():
                row = {
                    "client_id": cid,
                    "tenant_id": "old",
                    "name": cid,
                    "secret_sealed": d.seal(f"{cid}-secret", cid),
                    "secret_version": 1,
                    "scopes": "[" + ",".join(f'"{s}"' for s in scopes) + "]",
                    "signing": "none",
                    "agentid": agentid,
                    "ctime": 1,
                }
                conn.execute(sa.insert(apps).values(**row))
    finally:
        d.store.dispose()


@pytest.mark.slow
def test_apps_stored_before_platforms_get_theirs_from_their_scopes(
    databases: Databases, server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data = tmp_path / "old-data"
    _old_store(databases, data)
    server = server_factory("--admin-token", "plat-admin", data_dir=data)  # migrates on start
    with (
        ControlClient(server.base_url, "plat-admin") as control,
        httpx.Client(base_url=server.base_url) as http,
    ):
        assert {a["client_id"]: a["platform"] for a in control.tenant("old")["apps"]} == OLD_PLATFORMS
        for cid, platform in OLD_PLATFORMS.items():
            cred = {"client_id": cid, "client_secret": f"{cid}-secret"}
            wps, ding = wps_token(http, cred), ding_token(http, cred)
            if platform == "wps":
                assert wps.status_code == 200 and unknown_ding(ding), (cid, ding.text)
            else:
                assert ding.json()["errcode"] == 0 and unknown_wps(wps), (cid, wps.text)
