"""DingTalk tokens, permissions, agentid and the envelope's error paths, end to end."""

from __future__ import annotations

import orjson
import pytest
from dingtalk_support import (
    AGENTID,
    APPKEY,
    APPSECRET,
    DEPT_GET,
    GROUPLIST,
    LIST,
    META,
    ONJOB,
    UPDATE,
    USER_GET,
    USER_LISTID,
    refused,
    setup_tenant,
    wire,
)

from conftest import LiveServer
from openroster.core.tenancy import apps
from openroster.dialects.dingtalk import tokens as dingtalk_tokens

pytestmark = pytest.mark.e2e


def test_gettoken(live: LiveServer) -> None:
    setup_tenant(live.directory)
    server = live.server
    with wire(server.base_url) as w:
        first = w.gettoken()
        assert list(first) == ["errcode", "access_token", "errmsg", "expires_in"]
        assert (first["errcode"], first["errmsg"], first["expires_in"]) == (0, "ok", 7200)
        assert len(first["access_token"]) == 32
        assert w.gettoken()["access_token"] == first["access_token"]  # same token inside the window
        assert w.gettoken(appkey=APPKEY, appsecret="wrong") == {
            "errcode": 40096,
            "errmsg": "不合法的appKey或appSecret",
        }
        assert w.gettoken(appkey="nobody", appsecret="x") == {
            "errcode": 40096,
            "errmsg": "不合法的appKey或appSecret",
        }
        assert w.gettoken(appsecret=APPSECRET) == {"errcode": 40035, "errmsg": "缺少参数 corpid or appkey"}
        assert w.gettoken(appkey=APPKEY)["errcode"] == 40035
        # Parameters in a form body instead of the query, as the platform's own curl example has it.
        got = w.http.request(
            "GET",
            "/gettoken",
            content=f"appkey={APPKEY}&appsecret={APPSECRET}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
        ).json()
        assert got == {"errcode": 40035, "errmsg": "缺少参数 corpid or appkey"}
        got = w.http.post("/gettoken", params={"appkey": APPKEY, "appsecret": APPSECRET}).json()
        assert got["errcode"] == 43001


@pytest.mark.slow  # a second process
def test_tokens_are_shared_by_server_processes(live: LiveServer) -> None:
    directory = live.directory
    setup_tenant(directory)
    one, two = live.server, live.twin()
    with wire(one.base_url) as a, wire(two.base_url) as b:
        token = a.gettoken()["access_token"]
        assert b.post(ONJOB, {"status_list": "3", "offset": 0, "size": 5}, token=token)["errcode"] == 0
        assert b.gettoken()["access_token"] == token  # the other process hands out the same token
        # Rotating the secret revokes it in every process, at once.
        apps.rotate_secret(directory, client_id=APPKEY, secret="a-brand-new-secret")
        for w in (a, b):
            refused(w.post(ONJOB, {"status_list": "3", "offset": 0, "size": 5}, token=token), 88)
        assert a.gettoken(appkey=APPKEY, appsecret="a-brand-new-secret")["access_token"] != token


def test_token_errors_and_envelope(live: LiveServer) -> None:
    setup_tenant(live.directory)
    server = live.server
    with wire(server.base_url) as w:
        bad = w.post(USER_GET, {"userid": "alice"}, token="not-a-token")
        assert bad == {
            "errcode": 88,
            "sub_code": "40014",
            "sub_msg": "不合法的access_token",
            "errmsg": "ding talk error[subcode=40014,submsg=不合法的access_token]",
            "request_id": bad["request_id"],
        }
        missing = w.http.post(USER_GET, json={"userid": "alice"}).json()
        refused(missing, 41001, "缺少access_token参数")
        header_only = w.http.post(
            USER_GET, json={"userid": "alice"}, headers={"x-acs-dingtalk-access-token": w.token}
        )
        refused(header_only.json(), 41001)
        # Unknown topapi methods: errcode 22 in the platform's words, before the token is looked at.
        unknown = w.post("/topapi/v2/user/notexist", {}, token="test")
        assert unknown == {
            "errcode": 22,
            "sub_msg": "不合法ApiName，ApiName = dingtalk.oapi.v2.user.notexist",
            "errmsg": "Invalid method[submsg=不合法ApiName，ApiName = dingtalk.oapi.v2.user.notexist]",
            "request_id": unknown["request_id"],
        }
        refused(
            orjson.loads(w.http.get("/topapi/smartwork/hrm/nothing").content),
            22,
            "dingtalk.oapi.smartwork.hrm.nothing",
        )
        wrong_method = w.http.get(USER_GET, params={"access_token": w.token})
        assert wrong_method.status_code == 200
        refused(wrong_method.json(), 43002, "需要POST请求")
        # Bodies: not JSON, too large.
        refused(w.post(USER_GET, raw=b"userid=alice"), 400002, "not valid JSON")
        big = b'{"userid":"' + b"x" * (1024 * 1024 + 10) + b'"}'
        refused(w.post(USER_GET, raw=big), 400002, "larger than")
        # Outside /topapi the server's other dialects answer as before.
        assert w.http.get("/v7/nothing").json()["code"] == 40400001


def test_permissions(live: LiveServer) -> None:
    setup_tenant(live.directory, permissions=("qyapi_get_member",))
    server = live.server
    with wire(server.base_url) as w:
        assert w.ok(USER_GET, {"userid": "alice"})["result"]["userid"] == "alice"
        assert w.ok(USER_LISTID, {"dept_id": 1})["result"] == {"userid_list": []}
        for path, body, needed in [
            (LIST, {"agentid": AGENTID, "userid_list": ["alice"]}, "qyapi_hrm_read_user"),
            (META, {"agentid": AGENTID}, "qyapi_hrm_read_user"),
            (ONJOB, {"status_list": "3", "offset": 0, "size": 5}, "qyapi_hrm_read_user"),
            (UPDATE, {"agentid": AGENTID, "param": {"userid": "alice", "groups": []}}, "qyapi_hrm_manager"),
            (DEPT_GET, {"dept_id": 1}, "qyapi_get_department_list"),
        ]:
            reply = w.post(path, body)
            refused(reply, 60011, needed)


def test_agentid(live: LiveServer) -> None:
    setup_tenant(live.directory)
    apps.create(
        live.directory,
        tenant_id="acme",
        client_id="no-agent",
        secret="no-agent-secret",
        scopes=["qyapi_hrm_read_user"],
    )
    server = live.server
    with wire(server.base_url) as w:
        assert w.ok(GROUPLIST, {"agentid": AGENTID})["success"] is True
        assert w.ok(GROUPLIST, {"agentid": str(AGENTID)})["success"] is True
        refused(w.post(GROUPLIST, {}), 41011, "agentid")
        refused(w.post(GROUPLIST, {"agentid": ""}), 41011)
        refused(w.post(GROUPLIST, {"agentid": "abc"}), 52019, "'abc'")
        refused(w.post(GROUPLIST, {"agentid": True}), 52019)
        refused(w.post(GROUPLIST, {"agentid": -5}), 52019)
        refused(w.post(GROUPLIST, {"agentid": AGENTID + 1}), 70003, str(AGENTID + 1))
    with wire(server.base_url, appkey="no-agent", appsecret="no-agent-secret") as w:
        refused(w.post(GROUPLIST, {"agentid": AGENTID}), 70003)


def test_expiry_and_extension(live: LiveServer) -> None:
    """The server's clock (control plane) moves; the token's window follows gettoken, then expires."""
    setup_tenant(live.directory)
    onjob = {"status_list": "3", "offset": 0, "size": 5}
    with wire(live.base_url) as w:
        token = w.gettoken()["access_token"]
        live.control.advance_clock(7000)
        assert w.gettoken()["access_token"] == token  # asked again inside the window: same token, extended
        live.control.advance_clock(7000)  # 14000 s after it was first issued, 7000 s after the extension
        assert w.post(ONJOB, onjob, token=token)["errcode"] == 0
        live.control.advance_clock(201)
        refused(w.post(ONJOB, onjob, token=token), 42001, "access_token超时")
        fresh = w.gettoken()["access_token"]
        assert fresh != token and w.post(ONJOB, onjob, token=fresh)["errcode"] == 0
        refused(w.post(ONJOB, onjob, token=token), 42001)  # the old one stays expired
    # The stored expiry is what another process (this one, on the same store) reads.
    server_now = live.control.clock()["timestamp"]
    with live.directory.reader() as r:
        _app, grant = dingtalk_tokens.authenticate(r, fresh)
    assert server_now < grant.expires_at <= server_now + 7200
