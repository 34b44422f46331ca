"""Limits: body size, batch sizes, string lengths, numbers, nesting depth, query parameters, NUL characters.

Every limit is answered in the dialect's envelope with a message that names
the field and the limit; nothing is written; the server neither fails nor
swells. Each module runs one server per backend (``reliability/servers.py``);
what only concerns the HTTP layer runs on SQLite only.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): PostgreSQL holds no NUL character, and its
text columns refuse what is longer than their length where SQLite stores it; a limit that slipped
would show there.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from openroster.config import Settings
from openroster.server.app import open_directory
from reliability.documented_limits import (
    ATTR_TEXT_MAX,
    BODY_MAX_BYTES,
    DINGTALK_BATCHES,
    HEAD_MAX_BYTES,
    NAME_MAX,
    QUERY_PARAMS_MAX,
    ROSTER_LIST,
    ROSTER_UPDATE,
    WPS_BATCHES,
)
from reliability.replies import check_reply, raw_reply
from reliability.servers import ADMIN_TOKEN, WorldServer, backend_params, world_server
from security.world import company_rows

pytestmark = [pytest.mark.slow, pytest.mark.both_stores]

MiB = 1024 * 1024


@pytest.fixture(scope="module", params=backend_params())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldServer]:
    with world_server(request, tmp_path_factory, str(request.param)) as w:
        yield w


class Wire:
    """Raw calls as the world's acme apps; every reply is checked against ``reliability.replies``."""

    def __init__(self, w: WorldServer) -> None:
        self.w = w
        self.http = httpx.Client(base_url=w.base_url, timeout=60)

    def wps(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None, **kw: Any
    ) -> dict[str, Any]:
        content = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
        headers = {"Authorization": f"Bearer {self.w.wps_token}", "Content-Type": "application/json"}
        resp = self.http.request(method, path, content=content, headers=headers, **kw)
        return {"status": resp.status_code, **check_reply(path, resp.status_code, resp.headers, resp.content)}

    def ding(self, path: str, body: Any = None, *, raw: bytes | None = None) -> dict[str, Any]:
        content = raw if raw is not None else orjson.dumps(body)
        resp = self.http.post(
            path,
            params={"access_token": self.w.dingtalk_token},
            content=content,
            headers={"Content-Type": "application/json"},
        )
        return check_reply(path, resp.status_code, resp.headers, resp.content)


@pytest.fixture
def wire(world: WorldServer) -> Iterator[Wire]:
    w = Wire(world)
    yield w
    w.http.close()


def _unchanged(world: WorldServer) -> dict[str, Any]:
    d = open_directory(Settings(data_dir=world.data_dir, database_url=world.database_url))
    try:
        return {t: company_rows(d, t) for t in (world.acme.id, world.globex.id)}
    finally:
        d.store.dispose()


# -- batch sizes ------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(
    "batch", [pytest.param(k, id=f"POST /v7/{k} at most {v[2]}") for k, v in WPS_BATCHES.items()]
)
def test_every_wps_batch_refuses_one_item_past_its_limit(world: WorldServer, wire: Wire, batch: str) -> None:
    path, body, limit = WPS_BATCHES[batch]
    eng = world.acme.depts["eng"]
    before = _unchanged(world)
    reply = wire.wps("POST", path.replace("{eng}", str(eng)), body(limit + 1, eng))
    assert reply["code"] == 40000004, reply
    assert str(limit) in reply["msg"] and str(limit + 1) in reply["msg"], reply["msg"]
    assert _unchanged(world) == before


@pytest.mark.e2e
@pytest.mark.parametrize(
    "batch", [pytest.param(k, id=f"{k} at most {v[2]}") for k, v in DINGTALK_BATCHES.items()]
)
def test_every_dingtalk_batch_refuses_one_item_past_its_limit(
    world: WorldServer, wire: Wire, batch: str
) -> None:
    path, body, limit = DINGTALK_BATCHES[batch]
    before = _unchanged(world)
    reply = wire.ding(path, body(world.acme.agentid))
    assert reply["errcode"] == 400002, reply
    assert str(limit) in reply["errmsg"], reply["errmsg"]
    assert _unchanged(world) == before


# -- string lengths and numbers ---------------------------------------------------------------------


@pytest.mark.e2e
def test_strings_past_their_limit_are_refused_naming_field_and_limit(world: WorldServer, wire: Wire) -> None:
    eng = world.acme.depts["eng"]
    long = "长" * (NAME_MAX + 1)
    invalid, mismatch = 40000002, 40000008
    cases = [
        ("/v7/users/create", {"user_name": long, "dept_ids": [eng]}, invalid, "user_name", NAME_MAX),
        ("/v7/depts/create", {"name": long, "parent_id": 1}, invalid, "name", NAME_MAX),
        ("/v7/users/shared-1/update", {"title": "x" * 5000}, invalid, "title", None),
        (
            "/v7/users/custom_attrs/batch_update",
            {"users": [{"user_id": "shared-1", "custom_attrs": [{"attr_id": "level", "text": "x" * 1001}]}]},
            mismatch,
            "users[0].custom_attrs[0].text",
            ATTR_TEXT_MAX,
        ),
        ("/v7/users/shared-1/update", {"email": "a" * 300 + "@x.test"}, invalid, "email", None),
    ]
    before = _unchanged(world)
    for path, body, code, field, limit in cases:
        reply = wire.wps("POST", path, body)
        assert reply["code"] == code, (path, reply)
        assert field in reply["msg"], (path, reply["msg"])
        if limit is not None:
            assert str(limit) in reply["msg"], (path, reply["msg"])
    reply = wire.ding(
        ROSTER_UPDATE,
        {
            "agentid": world.acme.agentid,
            "param": {
                "userid": "shared-1",
                "groups": [
                    {
                        "group_id": "sys02",
                        "sections": [{"section": [{"field_code": "sys02-certAddress", "value": "x" * 501}]}],
                    }
                ],
            },
        },
    )
    where = "param.groups[0].sections[0].section[0].value"
    assert reply["errcode"] == 400002 and where in reply["errmsg"] and "500" in reply["errmsg"], reply
    assert _unchanged(world) == before


@pytest.mark.e2e
def test_a_huge_value_in_a_lookup_is_answered_without_echoing_it_whole(wire: Wire) -> None:
    """A 900 KB email in a lookup finds nothing; the reply is not a 900 KB echo."""
    resp = wire.http.post(
        "/v7/users/by_emails",
        content=orjson.dumps({"emails": ["x" * 900_000 + "@x.test"]}),
        headers={"Authorization": f"Bearer {wire.w.wps_token}", "Content-Type": "application/json"},
    )
    check_reply("/v7/users/by_emails", resp.status_code, resp.headers, resp.content)
    assert len(resp.content) < 10_000, len(resp.content)


@pytest.mark.e2e
def test_numbers_beyond_64_bits_are_refused_not_overflowed(world: WorldServer, wire: Wire) -> None:
    """JSON allows any integer; a store column holds 64 bits. Both dialects refuse what does not fit."""
    big = 10**30
    eng = world.acme.depts["eng"]
    raw = lambda body: orjson.dumps(body).replace(b"424242", str(big).encode())  # noqa: E731
    wps_cases = [
        ("/v7/depts/batch_read", {"dept_ids": [424242]}, "dept_ids[0]"),
        ("/v7/depts/create", {"name": "n", "parent_id": 424242}, "parent_id"),
        ("/v7/depts/create", {"name": "n", "parent_id": 1, "order": 424242}, "order"),
        (f"/v7/depts/{eng}/update", {"order": 424242}, "order"),
        (
            "/v7/users/batch_update_order",
            {"user_order_list": [{"user_id": "shared-1", "dept_id": eng, "order": 424242}]},
            "order",
        ),
        ("/v7/users/create", {"user_name": "n", "dept_ids": [424242]}, "dept_ids[0]"),
        (
            "/v7/users/batch_update_dept",
            {"items": [{"user_id": "shared-1", "dept_ids": [424242]}]},
            "dept_ids[0]",
        ),
    ]
    before = _unchanged(world)
    for path, body, field in wps_cases:
        reply = wire.wps("POST", path, raw=raw(body))
        assert reply["code"] == 40000002 and field in reply["msg"], (path, reply)
    # DingTalk takes numbers as JSON numbers or strings of digits; 2^63 is one past the largest.
    for spelled in (b'"%d"' % 2**63, b"%d" % 2**63, b"%d" % big):
        for path, body in (
            ("/topapi/v2/department/get", b'{"dept_id": N}'),
            ("/topapi/user/listid", b'{"dept_id": N}'),
            ("/topapi/smartwork/hrm/employee/querydimission", b'{"offset": N, "size": 10}'),
        ):
            reply = wire.ding(path, raw=body.replace(b"N", spelled))
            assert reply["errcode"] == 400002, (path, spelled, reply)
    assert _unchanged(world) == before


@pytest.mark.e2e
def test_digits_that_are_not_ascii_are_not_numbers(world: WorldServer, wire: Wire) -> None:
    """'²' is a digit to str.isdigit and not to int(): every place that reads a number refuses it."""
    reply = wire.wps("GET", "/v7/users", params={"page_size": "²"})
    assert reply["code"] == 40000002 and "page_size" in reply["msg"], reply
    for body in (
        {"users": [{"user_id": "shared-1", "custom_attrs": [{"attr_id": "level", "relation_depts": ["²"]}]}]},
        {"dept_ids": ["²"]},
    ):
        path = "/v7/users/custom_attrs/batch_update" if "users" in body else "/v7/depts/batch_read"
        assert wire.wps("POST", path, body)["status"] == 400, path
    # docs/dingtalk.md: sys00-mainDept is read-only (400002); a sys00-mainDeptId that is not one of
    # the person's departments changes nothing (errcode 0), and '²' is none of them.
    before = _unchanged(world)
    for field, errcode in (("sys00-mainDeptId", 0), ("sys00-mainDept", 400002)):
        section = {"section": [{"field_code": field, "value": "²"}]}
        reply = wire.ding(
            ROSTER_UPDATE,
            {
                "agentid": world.acme.agentid,
                "param": {"userid": "shared-1", "groups": [{"group_id": "sys00", "sections": [section]}]},
            },
        )
        assert reply["errcode"] == errcode, (field, reply)
    assert _unchanged(world) == before
    assert wire.ding("/topapi/v2/department/get", {"dept_id": "²"})["errcode"] == 400002


# -- NUL characters (PostgreSQL cannot hold them) ---------------------------------------------------


@pytest.mark.e2e
def test_a_nul_character_anywhere_is_refused_alike_on_both_backends(world: WorldServer, wire: Wire) -> None:
    for path, body, where in [
        ("/v7/users/by_emails", {"emails": ["a\x00@x.test"]}, "emails[0]"),
        ("/v7/users/batch_read", {"user_ids": ["shared-1", "x\x00"], "status": ["active"]}, "user_ids[1]"),
        ("/v7/depts/by_ex_dept_ids", {"ex_dept_ids": ["\x00"]}, "ex_dept_ids[0]"),
        ("/v7/users/create", {"user_name": "n\x00", "dept_ids": [1]}, "user_name"),
    ]:
        reply = wire.wps("POST", path, body)
        assert reply["code"] == 40000002 and where in reply["msg"] and "NUL" in reply["msg"], (path, reply)
    reply = wire.wps("GET", "/v7/users/a%00b")
    assert reply["code"] == 40000002 and "user_id" in reply["msg"], reply
    reply = wire.wps("GET", "/v7/users", params={"page_token": "\x00"})
    assert reply["code"] == 40000002 and "page_token" in reply["msg"], reply
    for path, body, where in [
        ("/topapi/v2/user/get", {"userid": "a\x00"}, "userid"),
        (ROSTER_LIST, {"agentid": world.acme.agentid, "userid_list": ["a\x00"]}, "userid_list[0]"),
    ]:
        reply = wire.ding(path, body)
        assert reply["errcode"] == 400002 and where in reply["errmsg"], (path, reply)
    # Credentials with a NUL are simply wrong credentials.
    resp = wire.http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "s" * 8},
    )
    assert check_reply("/oauth2/token", resp.status_code, resp.headers, resp.content)["code"] == 40100009
    resp = wire.http.get("/gettoken", params={"appkey": "a\x00", "appsecret": "s"})
    assert check_reply("/gettoken", resp.status_code, resp.headers, resp.content)["errcode"] == 40096
    resp = wire.http.post(
        "/topapi/v2/user/get", params={"access_token": "a\x00"}, json={"userid": "shared-1"}
    )
    assert check_reply("/topapi/v2/user/get", resp.status_code, resp.headers, resp.content)["errcode"] == 88


# -- body size, nesting, query parameters (the HTTP layer: SQLite only) -----------------------------

sqlite_only = pytest.mark.parametrize("world", ["sqlite"], indirect=True)


@pytest.mark.e2e
@sqlite_only
def test_a_body_past_1_mib_is_refused_declared_or_streamed(world: WorldServer, wire: Wire) -> None:
    head = b'{"user_ids":["shared-1"],"status":["active"]'
    pad = lambda size: head + b" " * (size - len(head) - 1) + b"}"  # noqa: E731
    exact = pad(BODY_MAX_BYTES)
    assert len(exact) == BODY_MAX_BYTES
    assert wire.wps("POST", "/v7/users/batch_read", raw=exact)["code"] == 0
    over = pad(BODY_MAX_BYTES + 1)
    for label, send in (("declared", over), ("chunked", iter([over[:600_000], over[600_000:]]))):
        resp = wire.http.post(
            "/v7/users/batch_read",
            content=send,
            headers={"Authorization": f"Bearer {world.wps_token}", "Content-Type": "application/json"},
        )
        reply = check_reply("/v7/users/batch_read", resp.status_code, resp.headers, resp.content)
        assert (resp.status_code, reply["code"]) == (413, 41300001), (label, reply)
        assert str(BODY_MAX_BYTES) in reply["msg"]
    # DingTalk answers every error with HTTP 200 and its errcode; WPS and the control plane with 413.
    for path, params, status in (
        (ROSTER_LIST, {"access_token": world.dingtalk_token}, 200),
        ("/oauth2/token", None, 413),
        ("/gettoken", None, 200),
        ("/_openroster/tenants", None, 413),
    ):
        resp = wire.http.post(
            path, params=params, content=b"x" * (2 * MiB), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert resp.status_code == status, (path, resp.status_code)
        if path.startswith("/_openroster"):
            assert resp.json()["error"]["code"] == "body_too_large"
        else:
            reply = check_reply(path, resp.status_code, resp.headers, resp.content)
            assert "1048576" in reply.get("msg", reply.get("errmsg", "")), reply


@pytest.mark.e2e
@sqlite_only
def test_a_huge_declared_body_is_refused_before_it_is_sent(world: WorldServer) -> None:
    """The client declares 100 MiB and sends a few bytes: the 413 comes at once, nothing more is read."""
    for path, query in (("/v7/users/batch_read", ""), (ROSTER_LIST, f"?access_token={world.dingtalk_token}")):
        host, port = world.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(
                f"POST {path}{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {world.wps_token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {100 * MiB}\r\n\r\n".encode()
            )
            s.sendall(b'{"user_ids"')
            reply = _read_reply(s)  # the reply comes although the body never will
        status, headers, body = raw_reply(reply)
        parsed = check_reply(path, status, headers, body)
        assert str(BODY_MAX_BYTES) in parsed.get("msg", parsed.get("errmsg", "")), parsed


def _read_reply(s: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


#: How employee/v2/list refuses each hostile body (docs/dingtalk.md, docs/security.md): nesting past
#: what the parser takes, and a number past a double, are bad parameters (400002); a well-formed body
#: without ``userid_list`` misses it (40035).
DINGTALK_REFUSAL = {
    "deep array": 400002,
    "deep object": 400002,
    "deep in a field": 400002,
    "wide array": 40035,
    "wide object": 40035,
    "long number": 400002,
}


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


@pytest.mark.e2e
@sqlite_only
def test_deep_nesting_and_huge_arrays_are_refused_without_swelling_the_server(
    world: WorldServer, wire: Wire
) -> None:
    depth = (BODY_MAX_BYTES - 16) // 2
    hostile = {
        "deep array": b"[" * depth + b"]" * depth,
        "deep object": b'{"a":' * (depth // 3) + b"1" + b"}" * (depth // 3),
        "deep in a field": b'{"user_ids":' + b"[" * (depth - 20) + b"]" * (depth - 20) + b"}",
        "wide array": b'{"user_ids":[' + b",".join([b'"x"'] * 250_000) + b'],"status":["active"]}',
        "wide object": b"{" + b",".join(b'"k%d":1' % i for i in range(90_000)) + b"}",
        "long number": b'{"dept_ids":[' + b"9" * 900_000 + b"]}",
    }
    pid = world.server.proc.pid
    _ = wire.wps("POST", "/v7/users/batch_read", {"user_ids": ["shared-1"], "status": ["active"]})
    base = _rss_kib(pid)
    for _round in range(3):
        for label, body in hostile.items():
            assert len(body) <= BODY_MAX_BYTES, label
            for path in ("/v7/users/batch_read", "/v7/depts/batch_read"):
                reply = wire.wps("POST", path, raw=body)
                assert reply["status"] == 400, (label, path, reply)
            reply = wire.ding(ROSTER_LIST, raw=body)
            assert reply["errcode"] == DINGTALK_REFUSAL[label], (label, reply)
            resp = wire.http.post(
                "/_openroster/tenants", content=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            )
            assert resp.status_code == 400, (label, resp.status_code, resp.text[:200])
    grown = _rss_kib(pid) - base
    assert grown < 64 * 1024, f"the server grew by {grown} KiB"


@pytest.mark.e2e
@sqlite_only
def test_more_than_100_query_parameters_are_refused(world: WorldServer, wire: Wire) -> None:
    # Distinct names the endpoints ignore: a parameter read twice would be refused as ambiguous.
    many = "&".join(f"x{i}=1" for i in range(QUERY_PARAMS_MAX))
    assert wire.wps("GET", f"/v7/users?{many}")["code"] == 0
    reply = wire.wps("GET", f"/v7/users?{many}&page_size=1")
    assert reply["code"] == 40000001 and str(QUERY_PARAMS_MAX) in reply["msg"], reply
    resp = wire.http.post(f"{ROSTER_LIST}?access_token={world.dingtalk_token}&{many}", json={})
    reply = check_reply(ROSTER_LIST, resp.status_code, resp.headers, resp.content)
    assert reply["errcode"] == 400002 and str(QUERY_PARAMS_MAX) in reply["errmsg"], reply


@pytest.mark.e2e
@sqlite_only
def test_a_head_past_64_kib_is_refused_431(world: WorldServer, wire: Wire) -> None:
    resp = wire.http.get(
        "/v7/users",
        headers={"Authorization": f"Bearer {world.wps_token}", "X-Padding": "p" * HEAD_MAX_BYTES},
    )
    reply = check_reply("/v7/users", resp.status_code, resp.headers, resp.content)
    assert (resp.status_code, reply["code"]) == (431, 43100001), reply
    host, port = world.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET /v7/users?" + b"q" * HEAD_MAX_BYTES + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _, body = _read_reply(s).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), head
    assert orjson.loads(body)["code"] == 43100001
    # One header that never ends is not kept in memory while it grows: cut off past 64 KiB.
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET /v7/users HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        try:
            for _ in range(64):  # up to 2 MiB; the server refuses after the first 64 KiB
                s.sendall(b"e" * 32768)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _headers, body = raw_reply(_read_reply(s))
    assert (status, orjson.loads(body)["code"]) == (431, 43100001)


@pytest.mark.e2e
@sqlite_only
def test_a_keep_alive_connection_is_not_held_to_64_kib_in_all(world: WorldServer) -> None:
    """The head limit is per request: many whole requests (each arriving in one read, with bodies) on
    one connection, well past 64 KiB together, and a body's end sent with the next request's head, are
    all answered; the head counter of one request never carries into the next."""
    body = orjson.dumps({"user_ids": ["shared-1"], "status": ["active"], "pad": "p" * 30_000})
    head = (
        b"POST /v7/users/batch_read HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + world.wps_token.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    host, port = world.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        for _ in range(12):  # 12 × 30 KiB: each a whole request in one write
            s.sendall(head + body)
            status, _headers, reply = raw_reply(_read_reply(s))
            assert (status, orjson.loads(reply)["code"]) == (200, 0)
        s.sendall(head + body[:-10])  # the next write carries this body's end and the next head
        for _ in range(4):
            s.sendall(body[-10:] + head + body[:-10])
            status, _headers, reply = raw_reply(_read_reply(s))
            assert (status, orjson.loads(reply)["code"]) == (200, 0)
