"""Every bad input of issue 2 §5, over HTTP against a real server.

Each refusal is checked for its exact code and HTTP status, for a message that
names the field (or header) at fault, and for changing nothing: the directory's
tables are compared before and after, and the values are read back over HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from wps_foundation_support import (
    assert_error,
    build_world,
    call,
    directory_rows,
    envelope,
    raw,
    signed_headers,
    token,
)

from conftest import LiveServer, ServerProcess
from openroster.core.directory import Directory
from openroster.core.runtime.secrets import MasterKey, TokenMinter
from openroster.core.tenancy import apps

pytestmark = pytest.mark.e2e

BATCH_READ = "/v7/users/batch_read"
UPDATE = "/v7/users/custom_attrs/batch_update"
READ_VALUES = "/v7/users/custom_attrs/batch_read"

INVALID_REQUEST = 40000001
INVALID_VALUE = 40000002
MISSING_FIELD = 40000003
TOO_MANY = 40000004
UNKNOWN_ATTRIBUTE = 40000007
VALUE_MISMATCH = 40000008
BROKEN_REFERENCE = 40000009
SIGNATURE_MISMATCH = 40100001
TOKEN_MISSING = 40100002
TOKEN_INVALID = 40100003
TOKEN_EXPIRED = 40100004
SIGNATURE_MISSING = 40100005
DATE_INVALID = 40100006
DATE_EXPIRED = 40100007
SCHEME_WRONG = 40100008
USER_NOT_FOUND = 40400002
CONFLICT = 40900001
BODY_TOO_LARGE = 41300001


@dataclass
class Case:
    name: str
    code: int
    words: tuple[str, ...]
    path: str = UPDATE
    payload: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _good_user(text: str = "6F-001") -> dict[str, Any]:
    """A valid first item: a batch that fails later must not keep it."""
    return {"user_id": "u2", "custom_attrs": [{"attr_id": "desk", "text": text}]}


def _update(*attrs: dict[str, Any], user: str = "u1") -> dict[str, Any]:
    return {"users": [_good_user(), {"user_id": user, "custom_attrs": list(attrs)}]}


def _values(server: ServerProcess) -> Any:
    resp = call(server, "acme-kso", "POST", READ_VALUES, {"user_ids": ["u1", "u2", "u3"]})
    return envelope(resp)["data"]


def _people(server: ServerProcess) -> Any:
    everyone = {
        "user_ids": ["u1", "u2", "u3", "u4", "u5"],
        "status": ["active", "notactive", "disabled", "dimission"],
    }
    return envelope(call(server, "acme-kso", "POST", BATCH_READ, {**everyone, "with_dept": True}))["data"]


def _check_all(
    subtests: pytest.Subtests,
    directory: Directory,
    server: ServerProcess,
    cases: list[Case],
    send: Callable[[Case], httpx.Response],
) -> None:
    """Each case is refused as documented and, all together, they change nothing."""
    rows, values, people = directory_rows(directory), _values(server), _people(server)
    for case in cases:
        with subtests.test(msg=case.name):
            msg = assert_error(send(case), case.code, *case.words)
            assert not any(f"{cid}-secret" in msg for cid in ("acme-kso", "acme-wps4", "acme-open")), msg
    assert directory_rows(directory) == rows
    assert _values(server) == values
    assert _people(server) == people


# -- bodies ---------------------------------------------------------------------------------------


BODY_CASES = [
    # users/batch_read (seed 001)
    Case("batch_read: malformed JSON", INVALID_REQUEST, ("JSON",), BATCH_READ, body=b'{"user_ids": ["u1"'),
    Case("batch_read: not an object", INVALID_REQUEST, ("JSON object",), BATCH_READ, body=b'["u1"]'),
    Case("batch_read: empty body", INVALID_REQUEST, ("empty",), BATCH_READ, body=b""),
    Case(
        "batch_read: user_ids a string",
        INVALID_VALUE,
        ("user_ids",),
        BATCH_READ,
        {"user_ids": "u1", "status": ["active"]},
    ),
    Case(
        "batch_read: an id a number",
        INVALID_VALUE,
        ("user_ids[1]",),
        BATCH_READ,
        {"user_ids": ["u1", 2], "status": ["active"]},
    ),
    Case(
        "batch_read: with_dept a string",
        INVALID_VALUE,
        ("with_dept",),
        BATCH_READ,
        {"user_ids": ["u1"], "status": ["active"], "with_dept": "yes"},
    ),
    Case(
        "batch_read: status a string",
        INVALID_VALUE,
        ("status",),
        BATCH_READ,
        {"user_ids": ["u1"], "status": "active"},
    ),
    Case(
        "batch_read: missing status",
        MISSING_FIELD,
        ("status",),
        BATCH_READ,
        {"user_ids": ["u1"], "with_dept": True},
    ),
    Case(
        "batch_read: empty status", MISSING_FIELD, ("status",), BATCH_READ, {"user_ids": ["u1"], "status": []}
    ),
    Case(
        "batch_read: seed 001 verbatim (status placeholder)",
        INVALID_VALUE,
        ("status[0]", "'string'", "active"),
        BATCH_READ,
        body=b'{\n"status": ["string"],\n"user_ids": ["string"],\n"with_dept": false\n}',
    ),
    Case("batch_read: missing user_ids", MISSING_FIELD, ("user_ids",), BATCH_READ, {"status": ["active"]}),
    Case(
        "batch_read: 101 ids",
        TOO_MANY,
        ("user_ids", "101", "100"),
        BATCH_READ,
        {"user_ids": [f"b{i:03d}" for i in range(101)], "status": ["active"]},
    ),
    Case(
        "batch_read: over 1 MiB",
        BODY_TOO_LARGE,
        ("1048576",),
        BATCH_READ,
        body=b'{"user_ids": ["' + b"x" * (1 << 20) + b'"]}',
    ),
    # users/custom_attrs/batch_update (seed 000)
    Case("update: malformed JSON", INVALID_REQUEST, ("JSON",), body=b'{"users": [{"user_id": "u1",}]}'),
    Case("update: no users", MISSING_FIELD, ("users",), payload={"items": []}),
    Case("update: empty users", MISSING_FIELD, ("users",), payload={"users": []}),
    Case(
        "update: text a number",
        INVALID_VALUE,
        ("users[1].custom_attrs[0].text",),
        payload=_update({"attr_id": "desk", "text": 7}),
    ),
    Case(
        "update: url a string",
        INVALID_VALUE,
        ("users[1].custom_attrs[0].url",),
        payload=_update({"attr_id": "home", "url": "https://x"}),
    ),
    Case(
        "update: no user_id",
        MISSING_FIELD,
        ("users[1].user_id",),
        payload={"users": [_good_user(), {"custom_attrs": []}]},
    ),
    Case(
        "update: unknown attr_id",
        UNKNOWN_ATTRIBUTE,
        ("users[1].custom_attrs[0].attr_id", "'nope'"),
        payload=_update({"attr_id": "nope", "text": "x"}),
    ),
    Case(
        "update: another tenant's attr_id",
        UNKNOWN_ATTRIBUTE,
        ("users[1].custom_attrs[0].attr_id",),
        payload=_update({"attr_id": "secret", "text": "x"}),
    ),
    Case(
        "update: option not in the options",
        VALUE_MISMATCH,
        ("users[1].custom_attrs[1].option", "'P9'", "'P5'", "'P6'"),
        payload=_update({"attr_id": "desk", "text": "x"}, {"attr_id": "level", "option": "P9"}),
    ),
    Case(
        "update: option by name, not key",
        VALUE_MISMATCH,
        ("users[1].custom_attrs[0].option",),
        payload=_update({"attr_id": "level", "option": "P5 高级"}),
    ),
    Case(
        "update: option missing",
        MISSING_FIELD,
        ("users[1].custom_attrs[0].option",),
        payload=_update({"attr_id": "level", "text": "P5"}),
    ),
    Case(
        "update: relation to another tenant's user",
        BROKEN_REFERENCE,
        ("users[1].custom_attrs[0].relation_user", "'g1'"),
        payload=_update({"attr_id": "mentor", "relation_user": "g1"}),
    ),
    Case(
        "update: relation to nobody",
        BROKEN_REFERENCE,
        ("users[1].custom_attrs[0].relation_user",),
        payload=_update({"attr_id": "mentor", "relation_user": "ghost"}),
    ),
    Case(
        "update: relation to another tenant's department",
        BROKEN_REFERENCE,
        ("users[1].custom_attrs[0].relation_depts[1]",),
        payload=None,
    ),
    Case(
        "update: department id not a number",
        INVALID_VALUE,
        ("users[1].custom_attrs[0].relation_depts[0]",),
        payload=_update({"attr_id": "partners", "relation_depts": ["研发部"]}),
    ),
    Case(
        "update: url without http",
        VALUE_MISMATCH,
        ("users[1].custom_attrs[0].url.link",),
        payload=_update({"attr_id": "home", "url": {"title": "t", "link": "wiki/u1"}}),
    ),
    Case(
        "update: text over 1000",
        VALUE_MISMATCH,
        ("users[1].custom_attrs[0].text", "1000"),
        payload=_update({"attr_id": "desk", "text": "x" * 1001}),
    ),
    Case(
        "update: user of another tenant",
        USER_NOT_FOUND,
        ("users[1].user_id", "'g1'"),
        payload=_update({"attr_id": "desk", "text": "x"}, user="g1"),
    ),
    Case(
        "update: same user twice",
        INVALID_VALUE,
        ("users[1].user_id",),
        payload={"users": [_good_user(), _good_user("7F")]},
    ),
    Case(
        "update: 101 users", TOO_MANY, ("users", "100"), payload={"users": [_good_user() for _ in range(101)]}
    ),
    # users/custom_attrs/batch_read, definitions, users/create
    Case(
        "read values: 51 ids",
        TOO_MANY,
        ("user_ids", "50"),
        READ_VALUES,
        {"user_ids": [f"b{i:03d}" for i in range(51)]},
    ),
    Case("read values: ids a string", INVALID_VALUE, ("user_ids",), READ_VALUES, {"user_ids": "u1"}),
    Case(
        "define: unknown value type",
        INVALID_VALUE,
        ("items[1].value_type", "number"),
        "/v7/companies/user_custom_attrs/batch_create",
        {"items": [{"name": "ok", "value_type": "text"}, {"name": "n", "value_type": "number"}]},
    ),
    Case(
        "define: option without options",
        MISSING_FIELD,
        ("items[0].options",),
        "/v7/companies/user_custom_attrs/batch_create",
        {"items": [{"name": "n", "value_type": "option"}]},
    ),
    Case("create user: no user_name", MISSING_FIELD, ("user_name",), "/v7/users/create", {"dept_ids": ["1"]}),
    Case(
        "create user: unknown gender",
        INVALID_VALUE,
        ("gender", "robot"),
        "/v7/users/create",
        {"user_name": "X", "dept_ids": ["1"], "gender": "robot"},
    ),
    Case(
        "create user: email taken",
        CONFLICT,
        ("email", "u1"),
        "/v7/users/create",
        {"user_name": "X", "dept_ids": ["1"], "email": "WANG.FANG@acme.test"},
    ),
    Case(
        "create user: no departments",
        MISSING_FIELD,
        ("dept_ids",),
        "/v7/users/create",
        {"user_name": "X", "dept_ids": []},
    ),
    Case("create dept: no name", MISSING_FIELD, ("name",), "/v7/depts/create", {"parent_id": "1"}),
    Case(
        "create dept: parent_id a list",
        INVALID_VALUE,
        ("parent_id",),
        "/v7/depts/create",
        {"name": "X", "parent_id": ["1"]},
    ),
]


def test_bad_bodies(subtests: pytest.Subtests, live: LiveServer) -> None:
    world = build_world(live.directory)
    server = live.server
    for case in BODY_CASES:
        if case.name == "update: relation to another tenant's department":
            case.payload = _update(
                {"attr_id": "partners", "relation_depts": [str(world.eng), str(world.foreign_dept)]}
            )
    bearer = token(server, "acme-kso")

    def send(case: Case) -> httpx.Response:
        return call(server, "acme-kso", "POST", case.path, case.payload, body=case.body, bearer=bearer)

    _check_all(subtests, live.directory, server, BODY_CASES, send)


# -- credentials --------------------------------------------------------------------------------------


def test_bad_tokens(subtests: pytest.Subtests, live: LiveServer) -> None:
    build_world(live.directory, bulk=0)
    server = live.server
    write = orjson.dumps(
        {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "desk", "text": "HACKED"}]}]}
    )
    json_type = {"Content-Type": "application/json"}
    minter = TokenMinter(MasterKey.load(server.data_dir / "master.key").derive("wps-access-token"), prefix="")
    now = int(time.time())
    good = token(server, "acme-open")
    body, _, mac = good.rpartition(".")
    forged_mac = f"{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    foreign_key = TokenMinter(MasterKey.generate().derive("wps-access-token"), prefix="")

    # a token minted with the server's key and a future expiry works: the crafted ones below are real
    fresh = minter.mint(client_id="acme-open", secret_version=1, expires_at=now + 60)
    ok = raw(
        server,
        "POST",
        BATCH_READ,
        b'{"user_ids":["u1"],"status":["active"]}',
        json_type | {"Authorization": f"Bearer {fresh}"},
    )
    assert envelope(ok)["code"] == 0, ok.text

    cases = [
        Case("no Authorization header", TOKEN_MISSING, ("Authorization",), headers={}),
        Case("Basic instead of Bearer", TOKEN_MISSING, ("Bearer",), headers={"Authorization": "Basic YTpi"}),
        Case("Bearer without a token", TOKEN_MISSING, ("Bearer",), headers={"Authorization": "Bearer"}),
        Case(
            "a token the server never issued",
            TOKEN_INVALID,
            ("access_token",),
            headers={"Authorization": "Bearer abc.def"},
        ),
        Case(
            "a token with a changed MAC",
            TOKEN_INVALID,
            ("access_token",),
            headers={"Authorization": f"Bearer {forged_mac}"},
        ),
        Case(
            "a token of another server",
            TOKEN_INVALID,
            ("access_token",),
            headers={
                "Authorization": "Bearer "
                + foreign_key.mint(client_id="acme-open", secret_version=1, expires_at=now + 600)
            },
        ),
        Case(
            "an expired token",
            TOKEN_EXPIRED,
            ("access_token", "expired"),
            headers={
                "Authorization": "Bearer "
                + minter.mint(client_id="acme-open", secret_version=1, expires_at=now - 1)
            },
        ),
        Case(
            "a token of an app that does not exist",
            TOKEN_INVALID,
            ("access_token",),
            headers={
                "Authorization": "Bearer "
                + minter.mint(client_id="ghost", secret_version=1, expires_at=now + 600)
            },
        ),
    ]

    def send(case: Case) -> httpx.Response:
        return raw(server, "POST", UPDATE, write, json_type | case.headers)

    _check_all(subtests, live.directory, server, cases, send)

    # rotating the app's secret (while the server runs) revokes the tokens issued before
    apps.rotate_secret(live.directory, client_id="acme-open", secret="acme-open-secret-2")
    rows = directory_rows(live.directory)
    assert_error(
        send(Case("revoked", 0, (), headers={"Authorization": f"Bearer {good}"})), TOKEN_INVALID, "revoked"
    )
    assert directory_rows(live.directory) == rows


def _kso(cid: str, body: bytes, *, uri: str = UPDATE, **kw: Any) -> dict[str, str]:
    return signed_headers(cid, "POST", uri, body, **kw)


def test_bad_signatures(subtests: pytest.Subtests, live: LiveServer) -> None:
    """Dates, headers and authorization values that are malformed, on a write that must not happen.

    Tampering (body, path, query, content type, method, key), the 15-minute window and the wrong
    scheme are security/test_auth.py's, for every scheme.
    """
    build_world(live.directory, bulk=0)
    server = live.server
    write = orjson.dumps(
        {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "desk", "text": "HACKED"}]}]}
    )
    base = {"Content-Type": "application/json"}
    kso = base | {"Authorization": f"Bearer {token(server, 'acme-kso')}"}
    wps4 = base | {"Authorization": f"Bearer {token(server, 'acme-wps4')}"}

    def with_value(headers: dict[str, str], name: str, value: str) -> dict[str, str]:
        return headers | {name: value}

    good_kso = _kso("acme-kso", write)
    good_wps4 = _kso("acme-wps4", write)
    cases = [
        Case(
            "KSO-1: query left out",
            SIGNATURE_MISMATCH,
            ("X-Kso-Authorization",),
            headers=kso | _kso("acme-kso", write, uri=UPDATE + "?a=1"),
        ),
        Case(
            "KSO-1: date 2013 (seed 000's example)",
            DATE_EXPIRED,
            ("X-Kso-Date",),
            headers=with_value(kso | good_kso, "X-Kso-Date", "Wed,23 Jan 2013 06:43:08 GMT"),
        ),
        Case(
            "KSO-1: malformed date",
            DATE_INVALID,
            ("X-Kso-Date", "RFC 1123"),
            headers=with_value(kso | good_kso, "X-Kso-Date", "2026-01-01T00:00:00Z"),
        ),
        Case(
            "KSO-1: no date",
            SIGNATURE_MISSING,
            ("X-Kso-Date",),
            headers=kso | {"X-Kso-Authorization": good_kso["X-Kso-Authorization"]},
        ),
        Case(
            "KSO-1: malformed authorization",
            SIGNATURE_MISMATCH,
            ("X-Kso-Authorization", "KSO-1 {accessKey}:{signature}"),
            headers=with_value(kso | good_kso, "X-Kso-Authorization", "KSO-1 acme-kso"),
        ),
        Case(
            "KSO-1 app, WPS-4 in its header",
            SCHEME_WRONG,
            ("X-Kso-Authorization", "KSO-1", "WPS-4"),
            headers=with_value(
                kso | good_kso,
                "X-Kso-Authorization",
                good_kso["X-Kso-Authorization"].replace("KSO-1", "WPS-4", 1),
            ),
        ),
        Case(
            "WPS-4: malformed date",
            DATE_INVALID,
            ("Wps-Docs-Date",),
            headers=with_value(wps4 | good_wps4, "Wps-Docs-Date", "tomorrow"),
        ),
    ]

    def send(case: Case) -> httpx.Response:
        return raw(server, "POST", case.path, case.body or write, case.headers)

    _check_all(subtests, live.directory, server, cases, send)
