"""The request journal: ring buffer, lazy redaction, platform codes, filters, and the middleware."""

from __future__ import annotations

import asyncio
import base64
import gc
from collections.abc import Sequence
from typing import Any

import httpx
import orjson
import pytest

from openroster.config import Settings
from openroster.control.calls import RawCall, dialect_of, is_platform, reply_names_secrets
from openroster.control.journal import (
    REDACTED,
    REPLY_HEAD_BYTES,
    Entry,
    Filters,
    Journal,
    journal_code,
    path_matches,
    platform_code,
    recorded_headers,
    redacted_pieces,
    select,
)
from openroster.core.directory import Directory
from openroster.dialects.dingtalk_v1 import auth
from openroster.model.errors import InvalidValue
from openroster.server.app import create_app


def _entry(
    seq: int,
    *,
    path: str = "/v7/users/batch_read",
    method: str = "POST",
    query: bytes = b"",
    headers: Sequence[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    reply: bytes = b'{"code":0,"msg":"","data":{}}',
    status: int = 200,
    time: float = 1_700_000_000.0,
) -> Entry:
    return Entry(
        seq=seq,
        time=time,
        method=method,
        path=path,
        query=query,
        headers=headers or [],
        body=body,
        body_size=len(body),
        status=status,
        reply_head=reply,
        latency=0.0015,
        request_id=f"rid{seq}",
        fault=None,
    )


def _nobody(_call: RawCall) -> str | None:
    return None


def _record(journal: Journal, path: str = "/v7/users/x") -> None:
    scope = {"method": "GET", "path": path, "query_string": b"", "headers": []}
    journal.record(scope, 1_700_000_000.0, 1.0, [], 0, 200, b'{"code":0}', "rid", None, 1.002)


def test_the_buffer_keeps_the_newest_entries() -> None:
    journal = Journal(3)
    for i in range(1, 6):
        _record(journal, f"/v7/users/u{i}")
        assert len(journal) == min(i, 3)
    assert [(e.seq, e.path) for e in journal.entries()] == [
        (3, "/v7/users/u3"),
        (4, "/v7/users/u4"),
        (5, "/v7/users/u5"),
    ]
    assert journal.entries()[0] is journal.entries()[0]  # made once, so its view is worked out once
    assert journal.entries()[0].latency == pytest.approx(0.002)
    assert journal.dropped == 2
    assert journal.remove(lambda e: e.path != "/v7/users/u4") == 1
    assert [e.seq for e in journal.entries()] == [3, 5]
    assert journal.clear() == 2 and len(journal) == 0 and journal.dropped == 0
    _record(journal)
    assert [e.seq for e in journal.entries()] == [6]  # ids never repeat


def test_a_size_of_zero_turns_recording_off() -> None:
    assert not Journal(0).enabled and Journal(1).enabled


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (b'{"code":0,"msg":"","data":{"code":5}}', 0),
        (b'{"data":{"code":5,"x":"\\"code\\":7"},"code":40400002}', 40400002),
        (b'{"errcode":90018,"errmsg":"x"}', 90018),
        (b'{"errmsg":"ok","result":[{"errcode":1}],"errcode":0}', 0),
        (b'{"code" : -1}', -1),
        (b'{"access_token":"abc","expires_in":7200}', None),
        (b"503 Service Unavailable", None),
        (b"", None),
        (b'{"code":0,"data":[' + b"1," * 3000, 0),  # a reply cut off after its head
        (b'{"code":"invalidParameter","message":"x","requestid":"A"}', "invalidParameter"),  # /v1.0
        (b'{"data":{"code":"inner"},"code" : "Forbidden.AccessDenied"}', "Forbidden.AccessDenied"),
        (b'{"code":"","message":"x"}', None),
    ],
)
def test_the_platform_code_is_the_top_level_code_or_errcode(reply: bytes, code: int | str | None) -> None:
    assert platform_code(reply) == code


def test_tokens_signatures_and_secrets_are_redacted_everywhere() -> None:
    token = "tok-abcdefghijklmnop"
    secret = "sec-qrstuvwxyz012345"
    sig = "a" * 64
    basic = base64.b64encode(f"my-app:{secret}".encode()).decode()
    e = _entry(
        1,
        query=f"access_token={token}&appsecret={secret}&page_token=p1&x=1".encode(),
        headers=[
            (b"authorization", f"Bearer {token}".encode()),
            (b"x-kso-authorization", f"KSO-1 my-app:{sig}".encode()),
            (b"wps-docs-authorization", f"WPS-4 my-app:{sig}".encode()),
            (b"x-acs-dingtalk-access-token", token.encode()),
            (b"cookie", b"session=zzzzzzzzzz"),
            (b"content-type", b"application/json"),
        ],
        body=orjson.dumps({"appSecret": secret, "nested": [{"client_secret": secret}], "note": f"t={token}"}),
    )
    view = e.view(_nobody)
    text = orjson.dumps(view).decode()
    for leaked in (token, secret, sig, "zzzzzzzzzz"):
        assert leaked not in text
    assert view["headers"]["authorization"] == f"Bearer {REDACTED}"
    assert view["headers"]["x-kso-authorization"] == f"KSO-1 my-app:{REDACTED}"
    assert view["headers"]["content-type"] == "application/json"
    assert view["query"] == {"access_token": REDACTED, "appsecret": REDACTED, "page_token": "p1", "x": "1"}
    assert view["body"] == {
        "appSecret": REDACTED,
        "nested": [{"client_secret": REDACTED}],
        "note": f"t={REDACTED}",
    }
    basic_view = _entry(
        2,
        path="/oauth2/token",
        headers=[(b"authorization", f"Basic {basic}".encode())],
        body=f"grant_type=client_credentials&note={secret}".encode(),
    ).view(_nobody)
    assert basic_view["headers"]["authorization"] == f"Basic {REDACTED}"
    assert secret not in orjson.dumps(basic_view).decode()


def test_what_leaves_the_process_holds_no_secret_and_reads_the_same() -> None:
    token, secret, short = "tok-abcdefghijklmnop", "sec-qrstuvwxyz012345", "abc"
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"x-acs-dingtalk-access-token", token.encode()),
        (b"content-type", b"application/x-www-form-urlencoded"),
    ]
    query = f"access_token={short}&appkey=k1&x=%E4%B8%AD".encode()
    body = f"client_secret={secret}&grant_type=client_credentials&note=t%3D{token}".encode()
    reply = f'{{"errcode":0,"access_token":"{token}","expires_in":7200}}'.encode()
    cut = f'{{"code":0,"accessToken":"{token[:9]}'.encode()  # a reply's first bytes, cut in a value
    q, h, b, r = redacted_pieces(query, headers, body, reply)
    stored = q + b"".join(k + v for k, v in h) + b + r
    for leaked in (token, secret, "access_token=abc"):
        assert leaked.encode() not in stored
    assert redacted_pieces(b"", [], b"", cut)[3] == b'{"code":0,"accessToken":"[redacted]"'
    kept = _entry(1, query=q, headers=h, body=b).view(_nobody)
    before = _entry(1, query=query, headers=headers, body=body).view(_nobody)
    assert {**kept, "body_size": None} == {**before, "body_size": None}  # sizes: of what is kept
    assert kept["query"] == {"access_token": REDACTED, "appkey": "k1", "x": "中"}
    assert platform_code(r) == 0


@pytest.mark.parametrize(
    "name",
    [
        "ACCESS_TOKEN",  # case
        "app-Se_cret",  # the ``_`` and ``-`` a name is read without
        "\\u0074oken",  # a JSON escape spelling a letter
        "TO\u212aEN",  # KELVIN SIGN, which lowercases to an ASCII k
    ],
)
def test_what_leaves_the_process_holds_no_secret_however_its_name_is_spelled(name: str) -> None:
    secret = "sec-qrstuvwxyz012345"
    body = f'{{"users":[{{"name":"\u738b","{name}":"{secret}"}}],"note":"plain"}}'.encode()
    _, _, stored, _ = redacted_pieces(b"", [(b"content-type", b"application/json")], body, b"")
    assert secret.encode() not in stored and b"plain" in stored


def test_a_header_list_sent_again_is_redacted_alike_and_loses_a_secret_its_call_adds() -> None:
    token, secret = "tok-abcdefghijklmnop", "sec-qrstuvwxyz012345"
    headers = ((b"x-acs-dingtalk-access-token", token.encode()), (b"x-note", f"s={secret}".encode()))
    plain = (b"", ((headers[0][0], REDACTED.encode()), headers[1]), b'{"a":1}', b'{"code":0}')
    for _ in range(2):  # the second time from what the first worked out
        assert redacted_pieces(b"", headers, b'{"a":1}', f'{{"code":0,"t":"{token}"}}'.encode()) == (
            *plain[:3],
            f'{{"code":0,"t":"{REDACTED}"}}'.encode(),
        )
    # A secret of the call's own (a body member under a secret's name) goes from the same headers too.
    _, h, b, _ = redacted_pieces(b"", headers, f'{{"appSecret":"{secret}"}}'.encode(), b"")
    assert secret.encode() not in b"".join(v for _, v in h) + b and b"s=" + REDACTED.encode() in h[1][1]
    assert redacted_pieces(b"", headers, b'{"a":1}', b'{"code":0}') == plain


def test_a_body_naming_no_secret_leaves_the_process_as_it_came() -> None:
    attrs = [{"attr_id": "desk", "text": "\u738b"}]
    body = orjson.dumps({"users": [{"user_id": "u1", "custom_attrs": attrs}]})
    headers = [(b"content-type", b"application/json")]
    assert redacted_pieces(b"", headers, body, b'{"code":0,"data":{}}')[2:] == (body, b'{"code":0,"data":{}}')


def test_form_bodies_are_shown_as_fields_and_text_as_text() -> None:
    form = _entry(
        1,
        path="/oauth2/token",
        headers=[(b"content-type", b"application/x-www-form-urlencoded")],
        body=b"grant_type=client_credentials&client_id=a&client_secret=b-secret",
    ).view(_nobody)
    assert form["body"] == {"grant_type": "client_credentials", "client_id": "a", "client_secret": REDACTED}
    text = _entry(2, headers=[(b"content-type", b"text/plain")], body=b"hello \xff").view(_nobody)
    assert text["body"] == "hello \ufffd"
    assert text["time"] == "2023-11-14T22:13:20.000Z" and text["latency_ms"] == 1.5


def test_a_cut_body_says_so() -> None:
    e = _entry(1, body=b'{"a":1')
    e.body_size = 100
    view = e.view(_nobody)
    assert view["body_truncated"] is True and view["body"] == '{"a":1'


def test_the_reply_is_shown_from_its_first_bytes_with_its_secrets_redacted() -> None:
    token = "tok-abcdefghijklmnop"
    whole = _entry(1, path="/gettoken", reply=orjson.dumps({"errcode": 0, "access_token": token})).view(
        _nobody
    )
    assert whole["reply"] == {"errcode": 0, "access_token": REDACTED} and whole["reply_truncated"] is False
    cut_reply = b'{"code":0,"data":{"name":"\xe7\x8e\x8b","refresh_token":"' + token.encode()
    cut_reply += b" " * (REPLY_HEAD_BYTES - len(cut_reply))
    cut = _entry(2, path="/oauth2/token", reply=cut_reply[:REPLY_HEAD_BYTES]).view(_nobody)
    assert cut["reply_truncated"] is True and token not in orjson.dumps(cut).decode()
    assert cut["reply"].startswith('{"code":0,"data":{"name":"\u738b","refresh_token":"[redacted]"')
    # A token the reply holds is removed from the rest of the entry too, and the other way round.
    echoed = _entry(3, body=orjson.dumps({"note": token}), reply=orjson.dumps({"accessToken": token}))
    assert token not in orjson.dumps(echoed.view(_nobody)).decode()
    assert _entry(4, reply=b"").view(_nobody)["reply"] is None


def test_filters() -> None:
    made = [
        _entry(1, path="/oauth2/token", reply=b'{"access_token":"x"}'),
        _entry(2, path="/v7/users/batch_read", time=1_700_000_010.0),
        _entry(3, path="/openapi/v7/users/u1", method="GET", reply=b'{"code":40400002}', status=404),
        _entry(4, path="/topapi/v2/user/get", reply=b'{"errcode":0}', time=1_700_000_020.0),
    ]
    entries = Journal(10)
    for e in made:
        entries.record(
            {"method": e.method, "path": e.path, "query_string": e.query, "headers": e.headers},
            e.time,
            0.0,
            [e.body],
            e.body_size,
            e.status,
            e.reply_head,
            e.request_id,
            None,
            e.latency,
        )
    app_of_path = {
        "/oauth2/token": "wps-app",
        "/v7/users/batch_read": "wps-app",
        "/openapi/v7/users/u1": "wps-app",
        "/topapi/v2/user/get": "ding-app",
    }
    tenants = {"wps-app": "acme", "ding-app": "other"}

    def pick(newest: int | None = None, **kw: Any) -> list[int]:
        found = select(
            entries,
            Filters(**kw),
            identify=lambda call: app_of_path[call.path],
            tenant_of=lambda cid: tenants.get(cid or ""),
            newest=newest,
        )
        return [e.seq for e, _tenant in found]

    assert pick() == [1, 2, 3, 4]
    assert pick(tenant="acme") == [1, 2, 3]
    assert pick(app="ding-app") == [4]
    assert pick(path="/v7/users/*") == [2, 3]
    assert pick(path="/v7/users/u1") == [3]
    assert pick(code=40400002) == [3]
    assert pick(status=404) == [3]
    assert pick(dialect="dingtalk") == [4]
    assert pick(method="get") == [3]
    assert pick(since=1_700_000_010.0) == [2, 4]
    assert pick(after=2) == [3, 4]
    assert pick(newest=1) == [4]
    assert pick(newest=2, tenant="acme") == [2, 3]
    assert pick(newest=5, after=2) == [3, 4]


def test_path_patterns() -> None:
    assert path_matches("/v7/users/*", "/graph/v7/users/a/b")
    assert path_matches("/openapi/v7/users/*", "/v7/users/x")
    assert path_matches("/topapi/*", "/topapi/v2/user/get")
    assert not path_matches("/v7/users/*", "/v7/depts/1")
    assert path_matches("/v7/depts/root", "/openapi/v7/depts/root")
    assert not path_matches("/v7/depts", "/v7/depts/root")


def test_what_is_a_platform_call() -> None:
    for path in (
        "/v7/users/x",
        "/openapi/v7/x",
        "/oauth2/token",
        "/gettoken",
        "/topapi/v2/user/get",
        "/nope",
    ):
        assert is_platform(path)
    for path in ("/_openroster/journal", "/_openroster/health", "/docs", "/openapi.json", "/_bench/bare"):
        assert not is_platform(path)
    assert [dialect_of(p) for p in ("/graph/v7/x", "/oauth2/token", "/gettoken", "/user/get", "/nope")] == [
        "wps",
        "wps",
        "dingtalk",
        "dingtalk",
        "other",
    ]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_middleware_records_platform_calls_only(directory: Directory) -> None:
    app = create_app(Settings(admin_token="unit-admin", journal_size=100), directory=directory)
    admin = {"Authorization": "Bearer unit-admin"}

    async def scenario() -> tuple[httpx.Response, dict[str, Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            missing = await client.post("/v7/users/batch_read", content=b'{"user_ids":["a"]}')
            await client.get("/_openroster/health")
            await client.get("/openapi.json")
            page = (await client.get("/_openroster/journal", headers=admin)).json()
        return missing, page

    missing, page = asyncio.run(scenario())
    assert missing.status_code == 401 and len(missing.headers["x-request-id"]) == 13
    [entry] = page["entries"]
    assert entry["path"] == "/v7/users/batch_read" and entry["body"] == {"user_ids": ["a"]}
    assert entry["status"] == 401 and entry["code"] == 40100002
    assert entry["request_id"] == missing.headers["x-request-id"]
    assert entry["tenant"] is None and entry["app"] is None


@pytest.mark.parametrize(
    ("given", "code"),
    [(None, None), ("60121", 60121), ("-1", -1), ("invalidParameter", "invalidParameter"), ("9x", "9x")],
)
def test_a_code_filter_is_a_number_when_it_is_digits_else_a_string(given: str | None, code: object) -> None:
    assert journal_code(given) == code


@pytest.mark.parametrize("given", ["99999999999", " "])
def test_a_code_filter_out_of_range_or_empty_is_refused(given: str) -> None:
    with pytest.raises(InvalidValue, match="code"):
        journal_code(given)


#: A hundred userIds (1.5 KB): a body long enough for the journal to look at its member names only.
_IDS = b",".join(b'"u%013d"' % i for i in range(100))


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        # No name that could be secret: kept byte for byte (a GetEmployeeRosterByField's body).
        (b'{"appAgentId":1000001,"userIdList":["u1","u2"]}', True),
        (b'{"appSecret":"sec-qrstuvwxyz012345","x":1}', False),
        # The name only spelled by an escape: still found, by parsing.
        (b'{"app\\u0053ecret":"sec-qrstuvwxyz012345","x":1}', False),
        # Past 1 KB, only the names before a ":" are looked at: secret words among the values
        # change nothing; a name after white space, cut short, or past the 16 names looked at one
        # by one is still found.
        (b'{"appAgentId":1,"userIdList":["token","app_secret:x","password",' + _IDS + b"]}", True),
        (b'{"x":[' + _IDS + b'], "appSecret" \t: "sec-qrstuvwxyz012345"}', False),
        (b'{"x":[' + _IDS + b'],"appSecret":"sec-qrstuvwxyz012345', False),
        (
            b"{"
            + b",".join(b'"k%d":[%s]' % (i, _IDS) for i in range(20))
            + b',"appSecret":"sec-qrstuvwxyz012345"}',
            False,
        ),
    ],
)
def test_a_json_body_is_redacted_by_its_member_names(body: bytes, kept: bool) -> None:
    _, _, stored, _ = redacted_pieces(b"", [(b"content-type", b"application/json")], body, b"")
    assert (stored == body) is kept
    assert b"sec-qrstuvwxyz012345" not in stored


def test_a_secret_name_among_a_long_bodys_names_is_never_missed_as_the_names_repeat() -> None:
    """Past 1 KB only a body's member names are looked at, and the verdict on the same names is
    kept (a client sends them call after call): by the names themselves, so a body that adds a
    secret's name, or spells one in another case, is judged on its own."""
    headers = [(b"content-type", b"application/json")]
    plain = b'{"appAgentId":1,"userIdList":[' + _IDS + b"]}"
    others = [
        b'{"appAgentId":1,"userIdList":[' + _IDS + b'],"app_secret":"sec-qrstuvwxyz012345"}',
        b'{"appAgentId":1,"userIdList":[' + _IDS + b'],"APP-SECRET":"sec-qrstuvwxyz012345"}',
        b'{"appAgentId":1,"userIdList":[' + _IDS + b'],"appSecret":"sec-qrstuvwxyz012345"}',
    ]
    assert len(plain) > 1024
    for _ in range(3):
        assert redacted_pieces(b"", headers, plain, b"")[2] == plain
        for body in others:
            assert b"sec-qrstuvwxyz012345" not in redacted_pieces(b"", headers, body, b"")[2]


def test_a_reply_is_searched_for_secret_names_unless_its_route_says_it_names_none() -> None:
    """GetEmployeeRosterByField's route says its replies name no secret, so their first bytes are
    not searched; every token call's reply still is, and loses its token."""
    token = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    headers = [(b"content-type", b"application/json")]
    replies = {
        auth.ACCESS_TOKEN_PATH: f'{{"accessToken":"{token}","expireIn":7200}}',
        "/v1.0/oauth2/dingcorp/token": f'{{"access_token":"{token}","expires_in":7200}}',
        auth.OPEN_CONNECTION_PATH: f'{{"endpoint":"ws://h/connect","ticket":"{token}"}}',
        "/gettoken": f'{{"errcode":0,"access_token":"{token}","expires_in":7200}}',
        "/oauth2/token": f'{{"access_token":"{token}","token_type":"bearer"',  # cut short
    }
    for path, reply in replies.items():
        assert reply_names_secrets("POST", path) and reply_names_secrets("GET", path), path
        _, _, _, head = redacted_pieces(
            b"", headers, b"", reply.encode(), reply_names=reply_names_secrets("POST", path)
        )
        assert token.encode() not in head and REDACTED.encode() in head, path
    roster = "/v1.0/hrm/rosters/lists/query"
    assert not reply_names_secrets("POST", roster)
    # Another method on that path, or the path spelled otherwise, is another route: searched.
    assert reply_names_secrets("GET", roster) and reply_names_secrets("POST", "/openapi" + roster)
    assert reply_names_secrets("POST", roster + "/")
    # Its reply is kept as it is, even where it would read as a secret's member ...
    odd = b'{"result":[{"corpId":"ding1","userId":"u1","token":"x"}]}'
    assert redacted_pieces(b"", headers, b"", odd, reply_names=False)[3] == odd
    # ... but a secret the call carries is still taken out of it wherever it appears.
    sent = [*headers, (b"x-acs-dingtalk-access-token", token.encode())]
    echoed = f'{{"result":[{{"userId":"{token}"}}]}}'.encode()
    assert token.encode() not in redacted_pieces(b"", sent, b"", echoed, reply_names=False)[3]


def test_a_recorded_call_leaves_the_collectors_care_at_its_first_young_pass(directory: Directory) -> None:
    """An entry the collector kept tracking would reach its older generations and be walked by each
    of their passes, thousands of them while the buffer is full: a recorded call, with all it
    holds, is untracked once a young pass has seen it (no tuple inside it waits for a later one)."""
    app = create_app(Settings(admin_token="unit-admin", journal_size=100), directory=directory)

    async def call() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.post(
                "/v7/users/batch_read?x=1",
                content=b'{"user_ids":["a"]}',
                headers={"Authorization": "Bearer abc", "X-Trace": "t1"},
            )

    asyncio.run(call())
    [raw] = app.state.control.journal.local.recorded()
    gc.collect(0)
    assert not gc.is_tracked(raw)
    assert [x for x in raw if gc.is_tracked(x)] == []
    assert (b"x-trace", b"t1") in recorded_headers(raw)
    [entry] = app.state.control.journal.local.entries()
    assert entry.path == "/v7/users/batch_read" and entry.query == b"x=1" and entry.status == 401
    assert dict(entry.headers)[b"authorization"] == b"Bearer abc" and entry.body == b'{"user_ids":["a"]}'


def test_calls_are_taken_from_the_buffer_oldest_first_a_slice_at_a_time() -> None:
    journal = Journal(10)
    for i in range(1, 6):
        _record(journal, f"/v7/users/u{i}")
    first, dropped = journal.take(2)
    assert [raw[3] for raw in first] == ["/v7/users/u1", "/v7/users/u2"] and dropped == 0
    rest, _ = journal.take(10)
    assert [raw[3] for raw in rest] == ["/v7/users/u3", "/v7/users/u4", "/v7/users/u5"]
    assert len(journal) == 0 and journal.take() == ([], 0)
