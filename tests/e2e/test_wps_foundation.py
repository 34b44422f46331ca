"""The WPS foundation end to end: tokens, signatures, prefixes, users/batch_read, creates, attributes.

Every test talks over HTTP to a real ``openroster serve`` process (the worker's shared one). A token
that outlives its process is test_multiprocess.py's; writes that survive kill -9 are
reliability/test_crash_safety.py's.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
import pytest
from wps_foundation_support import (
    APPS,
    SCHEME,
    World,
    assert_error,
    build_world,
    call,
    client,
    directory_rows,
    envelope,
    raw,
    signed_headers,
    token,
)

import wps_signer
from conftest import LiveServer, ServerProcess

pytestmark = pytest.mark.e2e

BATCH_READ = "/v7/users/batch_read"
ALL_STATUSES = ["active", "notactive", "disabled", "dimission"]
PREFIXES = ("", "/openapi", "/graph")


def _serve(live: LiveServer, **kw: Any) -> tuple[ServerProcess, World]:
    world = build_world(live.directory, **kw)
    return live.server, world


def _items(resp: httpx.Response) -> list[dict[str, Any]]:
    reply = envelope(resp)
    assert (resp.status_code, reply["code"]) == (200, 0), reply
    assert set(reply["data"]) == {"items"}
    return list(reply["data"]["items"])


def _ids(resp: httpx.Response) -> list[str]:
    return [u["id"] for u in _items(resp)]


# -- the token endpoint ------------------------------------------------------------------


TOKEN_ERRORS: list[tuple[str, dict[str, Any], int, tuple[str, ...]]] = [
    (
        "no grant_type",
        {"data": {"client_id": "acme-kso", "client_secret": "acme-kso-secret"}},
        40000001,
        ("grant_type",),
    ),
    (
        "password grant",
        {"data": {"grant_type": "password", "client_id": "acme-kso", "client_secret": "acme-kso-secret"}},
        40000006,
        ("grant_type", "client_credentials"),
    ),
    (
        "no client_id",
        {"data": {"grant_type": "client_credentials", "client_secret": "x"}},
        40000001,
        ("client_id",),
    ),
    (
        "no client_secret",
        {"data": {"grant_type": "client_credentials", "client_id": "acme-kso"}},
        40000001,
        ("client_secret",),
    ),
    (
        "wrong secret",
        {
            "data": {
                "grant_type": "client_credentials",
                "client_id": "acme-kso",
                "client_secret": "acme-kso-secreT",
            }
        },
        40100009,
        ("invalid_client", "client_secret"),
    ),
    (
        "unknown client",
        {
            "data": {
                "grant_type": "client_credentials",
                "client_id": "nobody",
                "client_secret": "acme-kso-secret",
            }
        },
        40100009,
        ("invalid_client", "client_id"),
    ),
    (
        "JSON body",
        {
            "json": {
                "grant_type": "client_credentials",
                "client_id": "acme-kso",
                "client_secret": "acme-kso-secret",
            }
        },
        40000001,
        ("application/x-www-form-urlencoded",),
    ),
    (
        "a scope the app lacks",
        {
            "data": {
                "grant_type": "client_credentials",
                "client_id": "acme-plain",
                "client_secret": "acme-plain-secret",
                "scope": "kso.contact.read kso.user_email.read",
            }
        },
        40000005,
        ("invalid_scope", "kso.user_email.read"),
    ),
    (
        "a field twice",
        {
            "content": b"grant_type=client_credentials&client_id=a&client_id=b&client_secret=x",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        40000001,
        ("client_id",),
    ),
    (
        "malformed Basic credentials",
        {"data": {"grant_type": "client_credentials"}, "headers": {"Authorization": "Basic !!!"}},
        40000001,
        ("Basic",),
    ),
]


def test_token_endpoint(live: LiveServer) -> None:
    server, _ = _serve(live, bulk=0)
    form = {"grant_type": "client_credentials", "client_id": "acme-kso", "client_secret": "acme-kso-secret"}
    for path in ("/oauth2/token", "/openapi/oauth2/token", "/graph/oauth2/token"):
        resp = httpx.post(server.base_url + path, data=form)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "application/json"
        assert resp.headers["cache-control"] == "no-store"
        reply = resp.json()
        # exactly the platform's reply: no envelope, nothing more
        assert set(reply) == {"access_token", "expires_in", "token_type"}
        assert (reply["expires_in"], reply["token_type"]) == (7200, "bearer")
        assert isinstance(reply["access_token"], str) and len(reply["access_token"]) >= 32
        assert "acme-kso-secret" not in resp.text
    # a token per request, each valid
    tokens = {token(server, "acme-open") for _ in range(3)}
    assert len(tokens) == 3
    for t in tokens:
        assert _ids(
            call(
                server, "acme-open", "POST", BATCH_READ, {"user_ids": ["u1"], "status": ["active"]}, bearer=t
            )
        ) == ["u1"]
    # HTTP Basic credentials, and a scope the app holds
    basic = base64.b64encode(b"acme-kso:acme-kso-secret").decode()
    resp = httpx.post(
        server.base_url + "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "kso.contact.read"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert resp.status_code == 200 and resp.json()["token_type"] == "bearer"

    before = directory_rows(live.directory)
    assert_error(httpx.get(server.base_url + "/oauth2/token"), 40500001, "GET")
    _unknown_routes_and_methods(server)
    assert directory_rows(live.directory) == before


@pytest.mark.parametrize(
    ("kwargs", "code", "words"), [pytest.param(*case[1:], id=case[0]) for case in TOKEN_ERRORS]
)
def test_the_token_endpoint_refuses(
    live: LiveServer, kwargs: dict[str, Any], code: int, words: tuple[str, ...]
) -> None:
    server, _ = _serve(live, bulk=0)
    before = directory_rows(live.directory)
    resp = httpx.post(server.base_url + "/oauth2/token", **kwargs)
    reply = resp.json()
    assert set(reply) == {"code", "msg"}, reply  # the platform's error shape
    assert (resp.status_code, reply["code"]) == (code // 100000, code), reply
    for w in words:
        assert w in reply["msg"], reply
    assert directory_rows(live.directory) == before


# -- users/batch_read -------------------------------------------------------------------------


def test_batch_read_users(live: LiveServer) -> None:
    server, world = _serve(live)
    _reply_is_the_platforms(server, world)
    _status_order_tenant_and_size(server, world)
    _field_scopes(server)


def _reply_is_the_platforms(server: ServerProcess, world: World) -> None:
    resp = call(
        server, "acme-kso", "POST", BATCH_READ, {"user_ids": ["u1"], "status": ["active"], "with_dept": True}
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    reply = envelope(resp)
    assert (reply["code"], reply["msg"]) == (0, "")
    assert reply["data"] == {
        "items": [
            {
                "id": "u1",
                "user_name": "王芳",
                "avatar": "https://avatars.acme.test/u1.png",
                "city": "北京",
                "country": "中国",
                "ctime": 1700000000,
                "def_dept_id": str(world.eng),
                "employee_id": "E0001",
                "employer": "Acme 科技",
                "employment_status": "regular",
                "employment_type": "permanent",
                "ex_user_id": "hr-0001",
                "leader_id": "",
                "login_name": "wangfang",
                "role": "admin",
                "status": "active",
                "telephone": "010-88880001",
                "title": "研发总监",
                "work_place": "北京",
                "email": "wang.fang@acme.test",
                "phone": "13800000001",
                "gender": "female",
                "depts": [
                    {"abs_path": "/Acme 科技/研发部", "id": str(world.eng), "name": "研发部"},
                    {"abs_path": "/Acme 科技/销售部", "id": str(world.sales), "name": "销售部"},
                ],
            }
        ]
    }
    # with_dept false (and absent): no depts key at all
    for body in (
        {"user_ids": ["u2"], "status": ["active"], "with_dept": False},
        {"user_ids": ["u2"], "status": ["active"]},
    ):
        [u2] = _items(call(server, "acme-kso", "POST", BATCH_READ, body))
        assert "depts" not in u2
        assert (u2["leader_id"], u2["def_dept_id"], u2["gender"], u2["email"]) == (
            "u1",
            str(world.backend),
            "male",
            "",
        )
    [u2] = _items(
        call(
            server,
            "acme-kso",
            "POST",
            BATCH_READ,
            {"user_ids": ["u2"], "status": ["active"], "with_dept": True},
        )
    )
    assert u2["depts"] == [
        {"abs_path": "/Acme 科技/研发部/后端组", "id": str(world.backend), "name": "后端组"}
    ]


def _status_order_tenant_and_size(server: ServerProcess, world: World) -> None:
    everyone = ["u1", "u2", "u3", "u4", "u5"]

    def read(ids: list[str], status: list[str], cid: str = "acme-kso") -> list[str]:
        return _ids(call(server, cid, "POST", BATCH_READ, {"user_ids": ids, "status": status}))

    # the status filter is applied
    assert read(everyone, ["active"]) == ["u1", "u2"]
    assert read(everyone, ["notactive"]) == ["u3"]
    assert read(everyone, ["disabled", "dimission"]) == ["u4", "u5"]
    assert read(everyone, ALL_STATUSES) == everyone
    # the order of the request, each user once; unknown and foreign ids are simply absent
    assert read(["u2", "nobody", "g1", "u1", "u2", ""], ["active"]) == ["u2", "u1"]
    assert read([], ["active"]) == []
    assert read(["g1"], ALL_STATUSES, cid="globex-kso") == ["g1"]
    assert read(["u1", "g1"], ALL_STATUSES, cid="globex-kso") == ["g1"]
    # 100 ids in one call, all returned
    hundred = world.bulk[:100]
    assert read(hundred, ["active"]) == hundred
    # a readwrite app reads too
    assert read(["u1"], ["active"], cid="acme-rw") == ["u1"]


def _field_scopes(server: ServerProcess) -> None:
    body = {"user_ids": ["u1"], "status": ["active"]}
    expect = {
        "acme-plain": set(),
        "acme-email": {"email"},
        "acme-phone": {"phone"},
        "acme-gender": {"gender"},
        "acme-open": {"email", "phone", "gender"},
        "acme-kso": {"email", "phone", "gender"},
    }
    for cid, fields in expect.items():
        [u1] = _items(call(server, cid, "POST", BATCH_READ, body))
        assert {"email", "phone", "gender"} & set(u1) == fields, cid
        assert {"id", "user_name", "employee_id", "login_name", "status"} <= set(u1), cid
        if "email" in fields:
            assert u1["email"] == "wang.fang@acme.test"
        if "phone" in fields:
            assert u1["phone"] == "13800000001"
        if "gender" in fields:
            assert u1["gender"] == "female"
    # an app without a contacts scope may not read people
    msg = assert_error(call(server, "acme-attrs", "POST", BATCH_READ, body), 40300001, "kso.contact.read")
    assert "wang.fang" not in msg


# -- signatures and prefixes ---------------------------------------------------------------


def test_signatures_and_gateway_prefixes(live: LiveServer) -> None:
    server, _ = _serve(live, bulk=0)
    for cid in ("acme-kso", "acme-wps4", "acme-gm", "acme-open"):
        _every_prefix(server, cid)
    _date_spellings(server)


def _every_prefix(server: ServerProcess, cid: str) -> None:
    for prefix in PREFIXES:
        with client(server, cid, prefix=prefix) as c:
            data = c.request("POST", BATCH_READ, json={"user_ids": ["u1", "u3"], "status": ["active"]})
            assert [u["id"] for u in data["items"]] == ["u1"], prefix
            defs = c.request("GET", "/v7/companies/user_custom_attrs/batch_read")
            assert [a["id"] for a in defs["items"]] == ["desk", "level", "home", "mentor", "partners"]
    if APPS[cid][0] == "none":
        return
    body = orjson.dumps({"user_ids": ["u1"], "status": ["active"]})
    t = token(server, cid)
    for prefix in ("/openapi", "/graph"):
        # the gateway prefix is never signed: a client that signs it is refused
        headers = {"Authorization": f"Bearer {t}", "Content-Type": "application/json"}
        headers |= signed_headers(cid, "POST", prefix + BATCH_READ, body)
        assert_error(raw(server, "POST", prefix + BATCH_READ, body, headers), 40100001, "sign check fail")
    # the content type is signed exactly as sent, parameters included
    for ctype in ("application/json; charset=utf-8", "application/json;charset=UTF-8"):
        headers = {"Authorization": f"Bearer {t}", "Content-Type": ctype}
        assert _ids(
            raw(
                server,
                "POST",
                BATCH_READ,
                body,
                headers | signed_headers(cid, "POST", BATCH_READ, body, content_type=ctype),
            )
        ) == ["u1"]
        assert_error(
            raw(server, "POST", BATCH_READ, body, headers | signed_headers(cid, "POST", BATCH_READ, body)),
            40100001,
            "sign check fail",
        )
    # WPS-4 and WPS-4-GM leave the body out of the signature unless it is JSON or a form, so such a body
    # is refused rather than trusted under a signature that does not cover it; KSO-1 signs every body
    other = orjson.dumps({"user_ids": ["u2"], "status": ["active"]})
    plain = {"Authorization": f"Bearer {t}", "Content-Type": "text/plain"}
    signed_other = plain | signed_headers(cid, "POST", BATCH_READ, other, content_type="text/plain")
    if APPS[cid][0] == "kso1":
        assert_error(raw(server, "POST", BATCH_READ, body, signed_other), 40100001, "sign check fail")
    else:
        assert_error(raw(server, "POST", BATCH_READ, body, signed_other), 41500001, "text/plain")
    # a query string is part of what is signed, exactly as sent
    query = BATCH_READ + "?b=2&a=%E4%B8%AD"
    headers = {"Authorization": f"Bearer {t}", "Content-Type": "application/json"}
    assert _ids(
        raw(server, "POST", "/graph" + query, body, headers | signed_headers(cid, "POST", query, body))
    ) == ["u1"]


def _date_spellings(server: ServerProcess) -> None:
    """Seed 000 writes 'Wed,23 Jan 2013 06:43:08 GMT' (no space); numeric zones and full weekdays work too."""
    body = orjson.dumps({"user_ids": ["u1"], "status": ["active"]})
    now = datetime.now(UTC).replace(microsecond=0)
    beijing = now.astimezone(timezone(timedelta(hours=8)))
    spellings = [
        wps_signer.format_date(now).replace(", ", ","),
        beijing.strftime("%a, %d %b %Y %H:%M:%S +0800"),
        now.strftime("%A, %d %b %Y %H:%M:%S GMT"),
    ]
    for cid in ("acme-kso", "acme-wps4", "acme-gm"):
        t = token(server, cid)
        name = SCHEME[APPS[cid][0]]
        for date in spellings:
            sig = wps_signer.signature(
                name, f"{cid}-secret", "POST", BATCH_READ, "application/json", date, body
            )
            headers = {
                "Authorization": f"Bearer {t}",
                "Content-Type": "application/json",
                wps_signer.HEADERS[name].date: date,
                wps_signer.HEADERS[name].authorization: wps_signer.authorization(name, cid, sig),
            }
            assert _ids(raw(server, "POST", BATCH_READ, body, headers)) == ["u1"], (cid, date)


# -- creating users and departments ------------------------------------------------------------


def test_create_department_and_user(live: LiveServer) -> None:
    server, world = _serve(live, bulk=0)
    with client(server, "acme-kso", prefix="/openapi") as c:
        dept = c.request(
            "POST",
            "/v7/depts/create",
            json={"name": "平台组", "parent_id": str(world.eng), "ex_dept_id": "x-9"},
        )
        assert set(dept) >= {"id", "name", "parent_id", "abs_path", "ex_dept_id", "order", "ctime"}
        assert (dept["name"], dept["parent_id"], dept["abs_path"], dept["ex_dept_id"]) == (
            "平台组",
            str(world.eng),
            "/Acme 科技/研发部/平台组",
            "x-9",
        )
        user = c.request(
            "POST",
            "/v7/users/create",
            json={
                "user_name": "赵磊",
                "dept_ids": [dept["id"], str(world.sales)],
                "def_dept_id": dept["id"],
                "email": "Zhao.Lei@Acme.test",
                "phone": "13900000009",
                "gender": "male",
                "employee_id": "E0100",
                "leader_id": "u1",
                "title": "工程师",
            },
        )
        assert user["id"] and user["user_name"] == "赵磊"
        assert (user["email"], user["def_dept_id"], user["leader_id"], user["status"]) == (
            "zhao.lei@acme.test",
            dept["id"],
            "u1",
            "active",
        )
        assert [d["id"] for d in user["depts"]] == [dept["id"], str(world.sales)]
        # read back through batch_read, with departments
        [again] = c.request(
            "POST", BATCH_READ, json={"user_ids": [user["id"]], "status": ["active"], "with_dept": True}
        )["items"]
        assert again == user
    # a unique value already taken, a department of another tenant: refused, nothing written
    before = directory_rows(live.directory)
    taken = call(
        server,
        "acme-kso",
        "POST",
        "/v7/users/create",
        {"user_name": "X", "dept_ids": ["1"], "email": "zhao.lei@acme.test"},
    )
    assert_error(taken, 40900001, "email")
    foreign = call(
        server,
        "acme-kso",
        "POST",
        "/v7/users/create",
        {"user_name": "X", "dept_ids": [str(world.foreign_dept)]},
    )
    assert_error(foreign, 40000009, "dept_ids", str(world.foreign_dept))
    no_parent = call(
        server, "acme-kso", "POST", "/v7/depts/create", {"name": "Z", "parent_id": str(world.foreign_dept)}
    )
    assert_error(no_parent, 40400003, "parent_id")
    read_only = call(server, "acme-plain", "POST", "/v7/depts/create", {"name": "Z", "parent_id": "1"})
    assert_error(read_only, 40300001, "kso.contact.readwrite")
    assert directory_rows(live.directory) == before


# -- custom attributes -------------------------------------------------------------------------------


def test_custom_attributes(live: LiveServer) -> None:
    server, world = _serve(live, bulk=0)
    with client(server, "acme-wps4", prefix="/graph") as c:
        defs = c.request("GET", "/v7/companies/user_custom_attrs/batch_read")
        assert defs["items"][1] == {
            "id": "level",
            "name": "职级",
            "value_type": "option",
            "options": [{"key": "P5", "name": "P5 高级"}, {"key": "P6", "name": "P6 资深"}],
        }
        assert [(a["id"], a["value_type"], a["options"]) for a in defs["items"] if a["id"] != "level"] == [
            ("desk", "text", []),
            ("home", "url", []),
            ("mentor", "relation_user", []),
            ("partners", "relation_depts", []),
        ]
        made = c.request(
            "POST",
            "/v7/companies/user_custom_attrs/batch_create",
            json={
                "items": [
                    {
                        "name": "鞋码",
                        "value_type": "option",
                        "options": [{"key": "42", "name": "42 码"}, {"name": "43 码"}],
                    }
                ]
            },
        )["items"]
        assert made[0]["name"] == "鞋码" and made[0]["options"][0] == {"key": "42", "name": "42 码"}
        assert made[0]["options"][1]["key"]
        listed = c.request("GET", "/v7/companies/user_custom_attrs/batch_read")["items"]
        assert listed[-1] == made[0]

        reply = c.request(
            "POST",
            "/v7/users/custom_attrs/batch_update",
            json={
                "users": [
                    {
                        "user_id": "u2",
                        "custom_attrs": [
                            {"attr_id": "desk", "text": "6F-020"},
                            {"attr_id": "level", "option": "P5"},
                            {
                                "attr_id": "home",
                                "url": {"title": "主页", "link": "https://wiki.acme.test/u2"},
                            },
                            {"attr_id": "mentor", "relation_user": "u1"},
                            {"attr_id": "partners", "relation_depts": [str(world.sales), world.eng]},
                            {"attr_id": made[0]["id"], "option": "42"},
                        ],
                    },
                    {"user_id": "u1", "custom_attrs": [{"attr_id": "desk", "text": ""}]},
                ]
            },
        )
        assert [u["user_id"] for u in reply["users"]] == ["u2", "u1"]
        u2 = {a["attr_id"]: a for a in reply["users"][0]["custom_attrs"]}
        assert (u2["desk"]["attr_name"], u2["desk"]["attr_value_type"], u2["desk"]["text"]) == (
            "工位",
            "text",
            "6F-020",
        )
        assert set(u2["desk"]) >= {
            "attr_id",
            "attr_name",
            "attr_value_type",
            "option",
            "relation_depts",
            "relation_user",
            "text",
            "url",
        }
        assert u2["level"]["option"] == "P5"
        assert u2["home"]["url"] == {"title": "主页", "link": "https://wiki.acme.test/u2"}
        assert u2["mentor"]["relation_user"] == "u1"
        assert u2["partners"]["relation_depts"] == [str(world.sales), str(world.eng)]
        assert u2[made[0]["id"]]["option"] == "42"
        assert reply["users"][1]["custom_attrs"] == []  # an empty text clears the value

        read = c.request(
            "POST", "/v7/users/custom_attrs/batch_read", json={"user_ids": ["u2", "nobody", "g1", "u1"]}
        )
        assert [u["user_id"] for u in read["users"]] == ["u2", "u1"]
        assert read["users"][0]["custom_attrs"] == reply["users"][0]["custom_attrs"]
    # another tenant sees none of it
    with client(server, "globex-kso") as g:
        assert [a["id"] for a in g.request("GET", "/v7/companies/user_custom_attrs/batch_read")["items"]] == [
            "secret"
        ]
        assert (
            g.request("POST", "/v7/users/custom_attrs/batch_read", json={"user_ids": ["u2"]})["users"] == []
        )


def _unknown_routes_and_methods(server: ServerProcess) -> None:
    assert_error(raw(server, "POST", "/v7/no/such/endpoint"), 40400001, "/v7/no/such/endpoint")
    assert_error(raw(server, "DELETE", "/oauth2/token"), 40500001, "DELETE")
