"""Hostile credentials and malformed HTTP: property-based fuzzing of every header openroster parses.

Hypothesis draws ``Authorization`` values, KSO-1 / WPS-4 signature and date
headers and DingTalk ``access_token`` values: random text, near misses of the
real formats, and genuine values mutated by one edit. Every reply must be the
dialect's refusal (``reliability.replies``), never a success and never a 5xx.
It draws, by class, any ``Content-Length``, any ``Content-Type``, any value of
the WPS query numbers and flags, any once-only header sent twice and any JSON
body giving a key twice (or not): each write answers in the dialect's envelope
with the documented code, and changes the person exactly when it succeeds.
Requests that are not HTTP at all (a NUL in a header, a bad Content-Length,
both Content-Length and chunked, garbage) get a 400 in the envelope of the
path's dialect from the protocol guard, and the server lives on.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import wps_signer
from reliability import hostile_json
from reliability.fuzzing import EXAMPLES, fuzz_settings
from reliability.replies import check_reply, raw_reply
from reliability.servers import WorldServer, world_server
from security.world import secret_of

pytestmark = pytest.mark.slow

BATCH_READ = "/v7/users/batch_read"
USER_GET = "/topapi/v2/user/get"
BODY = orjson.dumps({"user_ids": ["shared-1"], "status": ["active"]})
#: Four times the OpenAPI fuzzing's examples: a header is cheap to send.
FUZZ = fuzz_settings(EXAMPLES * 4)

#: Header-safe text: visible ASCII, space, tab and Latin-1 (obs-text); no CR, LF or NUL.
_CHARS = st.characters(
    codec="latin-1", exclude_characters="\r\n\x00", exclude_categories=["Cc"]
) | st.sampled_from("\t")
header_text = st.text(_CHARS, min_size=1, max_size=300).map(str.strip).filter(bool)


def mutated(value: str) -> st.SearchStrategy[str]:
    """``value`` with one character replaced, inserted or removed, or cut short (never ``value`` itself)."""
    alphabet = "0123456789abcdefABCDEF-_.:=+/ ~"
    positions = st.integers(0, max(len(value) - 1, 0))
    return st.one_of(
        st.tuples(positions, st.sampled_from(alphabet)).map(
            lambda t: value[: t[0]] + t[1] + value[t[0] + 1 :]
        ),
        st.tuples(positions, st.sampled_from(alphabet)).map(lambda t: value[: t[0]] + t[1] + value[t[0] :]),
        positions.map(lambda i: value[:i] + value[i + 1 :]),
        positions.map(lambda i: value[:i]),
    ).filter(lambda v: v != value and v.strip() == v and v != "")


def _wps_token_code(authorization: str) -> int:
    """docs/wps.md: 40100002 without ``Bearer {access_token}`` (the scheme in any case, RFC 7235),
    else 40100003: the token is not genuine."""
    scheme, _, token = authorization.strip().partition(" ")
    return 40100003 if scheme.lower() == "bearer" and token.strip() else 40100002


def _dingtalk_token_code(access_token: str) -> int:
    """docs/dingtalk.md: 41001 for no token, 88 for a token this server did not issue; a NUL
    character anywhere is 400002 (docs/security.md)."""
    if "\x00" in access_token:
        return 400002
    return 88 if access_token else 41001


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldServer]:
    with world_server(request, tmp_path_factory, "sqlite") as w:
        yield w


@pytest.fixture(scope="module")
def http(world: WorldServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=world.base_url, timeout=30) as client:
        yield client


def _wps(http: httpx.Client, headers: dict[str, str]) -> dict[str, object]:
    sent = {k: v.encode("latin-1") for k, v in {"Content-Type": "application/json", **headers}.items()}
    resp = http.post(BATCH_READ, content=BODY, headers=sent)
    return check_reply(BATCH_READ, resp.status_code, resp.headers, resp.content)


@pytest.mark.e2e
def test_fuzzed_bearer_tokens_are_refused(world: WorldServer, http: httpx.Client) -> None:
    genuine = world.wps_token

    @FUZZ
    @given(
        value=st.one_of(
            header_text,
            header_text.map(lambda t: f"Bearer {t}"),
            mutated(genuine).map(lambda t: f"Bearer {t}"),
            mutated(f"Bearer {genuine}"),
            st.sampled_from(
                ["Basic", "Bearer", "bearer  x", "Token " + genuine, "Bearer " + genuine + "x" * 5000]
            ),
        )
    )
    def run(value: str) -> None:
        assume(value != f"Bearer {genuine}")
        reply = _wps(http, {"Authorization": value})
        assert reply["code"] == _wps_token_code(value), (value, reply)

    run()


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["kso", "wps4"])
def test_fuzzed_signature_and_date_headers_are_refused(
    world: WorldServer, http: httpx.Client, kind: str
) -> None:
    cid = world.acme.app(kind)
    token = http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret_of(cid)},
    ).json()["access_token"]
    scheme = {"kso": wps_signer.KSO1, "wps4": wps_signer.WPS4}[kind]
    names = wps_signer.HEADERS[scheme]
    date = wps_signer.format_date(datetime.now(UTC))
    sig = wps_signer.signature(scheme, secret_of(cid), "POST", BATCH_READ, "application/json", date, BODY)
    good_auth = wps_signer.authorization(scheme, cid, sig)
    dates = st.one_of(
        header_text,
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
            lambda d: wps_signer.format_date(d.replace(tzinfo=UTC))
        ),
        mutated(date),
    )
    auths = st.one_of(
        header_text,
        st.tuples(
            st.sampled_from([wps_signer.KSO1, wps_signer.WPS4, wps_signer.WPS4GM, "HMAC"]),
            header_text,
            st.text("0123456789abcdef", max_size=80),
        ).map(lambda t: f"{t[0]} {t[1]}:{t[2]}"),
        mutated(good_auth),
    )

    @FUZZ
    @given(date_value=st.one_of(st.just(date), dates), auth_value=st.one_of(st.just(good_auth), auths))
    def run(date_value: str, auth_value: str) -> None:
        assume((date_value, auth_value) != (date, good_auth))
        headers = {
            "Authorization": f"Bearer {token}",
            names.date: date_value,
            names.authorization: auth_value,
        }
        reply = _wps(http, headers)
        assert str(reply["code"]).startswith("401"), (date_value, auth_value, reply)

    run()


@pytest.mark.e2e
def test_fuzzed_dingtalk_access_tokens_are_refused(world: WorldServer, http: httpx.Client) -> None:
    genuine = world.dingtalk_token

    @FUZZ
    @given(value=st.one_of(st.text(min_size=1, max_size=300), mutated(genuine), st.just(genuine * 40)))
    def run(value: str) -> None:
        assume(value != genuine)
        resp = http.post(USER_GET, params={"access_token": value}, json={"userid": "shared-1"})
        reply = check_reply(USER_GET, resp.status_code, resp.headers, resp.content)
        assert reply["errcode"] == _dingtalk_token_code(value), (value, reply)

    run()


# -- every header and query number of its class, and any duplicate ----------------------------------

PERSON = "shared-1"
UPDATE = f"/v7/users/{PERSON}/update"
ROSTER_UPDATE = "/topapi/smartwork/hrm/employee/v2/update"
ROSTER_LIST = "/topapi/smartwork/hrm/employee/v2/list"
NATION = "sys02-nationType"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
#: The headers each dialect reads once at most (docs/wps.md and docs/dingtalk.md, "Ambiguous requests").
ONCE = {
    "wps": (
        "Authorization",
        "Content-Type",
        "X-Kso-Date",
        "X-Kso-Authorization",
        "Wps-Docs-Date",
        "Wps-Docs-Authorization",
    ),
    "dingtalk": ("Authorization", "Content-Type"),
}
#: Media types of every kind: JSON and forms in any case and with parameters, others, and junk.
content_types = st.one_of(
    header_text,
    st.tuples(
        st.sampled_from([JSON, FORM, "text/plain", "multipart/form-data", "application/xml", "*/*"]),
        st.sampled_from(["", "; charset=utf-8", "; charset=latin-1", ";", "; boundary=x", ";;q=0"]),
        st.booleans(),
    ).map(lambda t: (t[0].upper() if t[2] else t[0]) + t[1]),
)
_titles = iter(range(10**9))


def latin1(headers: list[tuple[str, str]]) -> list[tuple[str, bytes]]:
    """Headers as sent: obs-text (Latin-1) too, which httpx takes only as bytes."""
    return [(k, v.encode("latin-1")) for k, v in headers]


class Person:
    """shared-1 of acme, read and written over HTTP: a refused call must leave them as they were."""

    def __init__(self, world: WorldServer, http: httpx.Client) -> None:
        self.world, self.http = world, http

    def title(self) -> str:
        auth = {"Authorization": f"Bearer {self.world.wps_token}"}
        return str(self.http.get(f"/v7/users/{PERSON}", headers=auth).json()["data"]["title"])

    def nation(self) -> bytes:
        resp = self.http.post(
            ROSTER_LIST,
            params={"access_token": self.world.dingtalk_token},
            json={"agentid": self.world.acme.agentid, "userid_list": [PERSON], "field_filter_list": [NATION]},
        )
        return orjson.dumps(resp.json()["result"])

    def roster_body(self, value: str | None) -> bytes:
        section = [{"field_code": NATION, "value": value}]
        param = {"userid": PERSON, "groups": [{"group_id": "sys02", "sections": [{"section": section}]}]}
        return orjson.dumps({"agentid": self.world.acme.agentid, "param": param})

    def wps_write(self, send: Callable[[bytes], httpx.Response]) -> dict[str, Any]:
        """``send`` a new title; the reply follows the rules, and the title is the new one exactly
        when the call succeeded."""
        before, new = self.title(), f"title-{next(_titles)}"
        resp = send(orjson.dumps({"title": new}))
        reply = check_reply(UPDATE, resp.status_code, resp.headers, resp.content)
        assert self.title() == (new if reply["code"] == 0 else before), reply
        return reply

    def dingtalk_write(self, send: Callable[[bytes], httpx.Response]) -> dict[str, Any]:
        """``send`` a roster value onto a cleared field; it is there exactly when the call succeeded."""
        clear = self.http.post(
            ROSTER_UPDATE, params={"access_token": self.world.dingtalk_token}, content=self.roster_body(None)
        )
        assert clear.json()["errcode"] == 0, clear.text
        cleared = self.nation()
        resp = send(self.roster_body("1"))
        reply = check_reply(ROSTER_UPDATE, resp.status_code, resp.headers, resp.content)
        assert (self.nation() != cleared) == (reply["errcode"] == 0), reply
        return reply


@pytest.fixture(scope="module")
def person(world: WorldServer, http: httpx.Client) -> Person:
    return Person(world, http)


@pytest.mark.e2e
def test_any_header_sent_twice_is_refused_naming_it_and_changes_nothing(
    world: WorldServer, http: httpx.Client, person: Person
) -> None:
    @FUZZ
    @given(
        dialect=st.sampled_from(sorted(ONCE)),
        pick=st.integers(0, 5),
        spelling=st.sampled_from([str, str.lower, str.upper]),
        values=st.tuples(header_text, header_text),
    )
    def run(dialect: str, pick: int, spelling: Callable[[str], str], values: tuple[str, str]) -> None:
        name = ONCE[dialect][pick % len(ONCE[dialect])]
        doubled = [(spelling(name), values[0]), (name, values[1])]
        if dialect == "wps":
            base = [("Authorization", f"Bearer {world.wps_token}"), ("Content-Type", JSON)]
            headers = latin1([h for h in base if h[0] != name] + doubled)
            reply = person.wps_write(lambda body: http.post(UPDATE, content=body, headers=headers))
            assert (reply["code"], reply["msg"].split(":")[0]) == (40000001, name), reply
        else:
            headers = latin1([h for h in [("Content-Type", JSON)] if h[0] != name] + doubled)
            params = {"access_token": world.dingtalk_token}
            reply = person.dingtalk_write(
                lambda body: http.post(ROSTER_UPDATE, params=params, content=body, headers=headers)
            )
            assert (reply["errcode"], name in reply["errmsg"]) == (400002, True), reply

    run()


@pytest.mark.e2e
def test_any_content_type_is_served_or_refused_in_the_envelope(
    world: WorldServer, http: httpx.Client, person: Person
) -> None:
    @FUZZ
    @given(dialect=st.sampled_from(["wps", "dingtalk"]), ctype=content_types)
    def run(dialect: str, ctype: str) -> None:
        if dialect == "wps":
            headers = latin1([("Authorization", f"Bearer {world.wps_token}"), ("Content-Type", ctype)])
            person.wps_write(lambda body: http.post(UPDATE, content=body, headers=headers))
        else:
            params = {"access_token": world.dingtalk_token}
            only = latin1([("Content-Type", ctype)])
            person.dingtalk_write(
                lambda body: http.post(ROSTER_UPDATE, params=params, content=body, headers=only)
            )

    run()


def _raw_post(world: WorldServer, path: str, headers: list[tuple[str, str]], body: bytes) -> httpx.Response:
    """One request written on a socket as given (``Content-Length`` too), its reply as a response."""
    host, port = world.base_url.removeprefix("http://").split(":")
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    with socket.create_connection((host, int(port)), timeout=60) as s:
        s.sendall(head.encode("latin-1") + body)
        raw = b""
        while chunk := s.recv(65536):  # the first reply only: a body cut short leaves the rest of it
            raw += chunk  # on the connection, where it would wait for the head deadline
            if b"\r\n\r\n" in raw:
                status, reply_headers, reply_body = raw_reply(raw)
                if len(reply_body) >= int(reply_headers.get("content-length", 0)):
                    break
    status, reply_headers, reply_body = raw_reply(raw)
    length = int(reply_headers.get("content-length", len(reply_body)))
    return httpx.Response(status, headers=reply_headers, content=reply_body[:length])


@pytest.mark.e2e
def test_any_content_length_is_served_or_refused_in_the_envelope(
    world: WorldServer, http: httpx.Client, person: Person
) -> None:
    """A length that is no number, negative, past 64 bits, past the 1 MiB limit, shorter than the body
    or exactly it. (A length between the body's and the limit would have the server wait for the
    rest, up to the body deadline: that is the slow-client tests' subject.)"""
    shortest = len(orjson.dumps({"title": "title-0"}))  # of the bodies wps_write sends

    @FUZZ
    @given(
        length=st.one_of(
            header_text,
            st.integers(-(10**30), 10**30).map(str),
            st.integers(2**20 + 1, 10**40).map(str),
            st.integers(0, shortest - 1).map(str),
            st.sampled_from(["+12", "0x10", "1e3", "²", "12 12", "-0", "00", " 7 "]),
        )
    )
    def run(length: str) -> None:
        digits = length.strip()
        assume(not (digits.isascii() and digits.isdigit() and shortest <= int(digits) <= 2**20))
        auth = f"Bearer {world.wps_token}"

        def send(body: bytes) -> httpx.Response:
            headers = [("Authorization", auth), ("Content-Type", JSON), ("Content-Length", length)]
            return _raw_post(world, UPDATE, headers, body)

        person.wps_write(send)

    run()


@pytest.mark.e2e
def test_the_exact_content_length_is_served(world: WorldServer, person: Person) -> None:
    auth = f"Bearer {world.wps_token}"
    reply = person.wps_write(
        lambda body: _raw_post(
            world,
            UPDATE,
            [("Authorization", auth), ("Content-Type", JSON), ("Content-Length", str(len(body)))],
            body,
        )
    )
    assert reply["code"] == 0, reply


#: The WPS query parameters that are numbers or flags, and where they are read (docs/wps.md).
QUERY_NUMBERS = {
    "page_size": "/v7/users",
    "with_total": "/v7/users",
    "with_dept": f"/v7/users/{PERSON}",
    "recursive": "/v7/depts/1/children",
    "with_user_detail": "/v7/depts/1/members",
}


def _query_expectation(name: str, value: str) -> int | None:
    """0 or 40000002 as docs/wps.md has it, or None where either may be right (a NUL: 40000002)."""
    v = value.strip()
    if "\x00" in value:
        return 40000002
    if name == "page_size":
        if v == "":
            return 0
        if v.isascii() and v.isdigit():
            return 0 if 1 <= int(v) <= 50 else 40000002
        return 40000002
    return 0 if v.lower() in ("true", "false", "1", "0", "") else 40000002


@pytest.mark.e2e
def test_any_query_number_or_flag_is_taken_or_refused_naming_it(
    world: WorldServer, http: httpx.Client
) -> None:
    auth = {"Authorization": f"Bearer {world.wps_token}"}

    @FUZZ
    @given(
        name=st.sampled_from(sorted(QUERY_NUMBERS)),
        value=st.one_of(
            st.text(max_size=30),
            st.integers().map(str),
            st.floats().map(repr),
            st.integers(-100, 100).map(str),
            st.sampled_from(["true", "TRUE", " 1 ", "yes", "٣", "²", "1e1", "0x1f", "+5"]),
        ),
    )
    def run(name: str, value: str) -> None:
        path = QUERY_NUMBERS[name]
        resp = http.get(path, params={name: value}, headers=auth)
        reply = check_reply(path, resp.status_code, resp.headers, resp.content)
        expected = _query_expectation(name, value)
        assert reply["code"] == expected, (name, value, reply)
        if expected:
            assert name in reply["msg"], reply

    run()


@pytest.mark.e2e
def test_any_json_body_giving_a_key_twice_is_refused_naming_it_and_changes_nothing(
    world: WorldServer, http: httpx.Client, person: Person
) -> None:
    """Drawn bodies hold a key twice at any depth (or not), with ':' anywhere, escaped or not; the
    unknown fields they add are ignored by both dialects, so only the repetition can refuse them."""

    @FUZZ
    @given(dialect=st.sampled_from(["wps", "dingtalk"]), drawn=hostile_json.objects)
    def run(dialect: str, drawn: tuple[hostile_json.Obj, str]) -> None:
        extra, colon = drawn
        expected = hostile_json.repeats(hostile_json.Obj((("extra", extra),)))
        params = {"access_token": world.dingtalk_token}

        def with_extra(body: bytes) -> bytes:
            return body[:-1] + b',"extra":' + hostile_json.text(extra, colon).encode() + b"}"

        if dialect == "wps":
            auth = {"Authorization": f"Bearer {world.wps_token}", "Content-Type": JSON}
            reply = person.wps_write(lambda body: http.post(UPDATE, content=with_extra(body), headers=auth))
            code, message = reply["code"], reply["msg"]
        else:
            reply = person.dingtalk_write(
                lambda body: http.post(ROSTER_UPDATE, params=params, content=with_extra(body))
            )
            code, message = reply["errcode"], reply["errmsg"].removeprefix("无效的参数: ")
        if not expected:
            assert code == 0, reply
        else:
            assert code == (40000001 if dialect == "wps" else 400002), reply
            assert message.split(": the key ")[0] in expected, (message, expected)

    run()


# -- not HTTP at all ----------------------------------------------------------------------------------

MALFORMED = {
    "NUL in a header": b"GET /v7/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x00b\r\n\r\n",
    "header without a colon": b"GET /v7/users HTTP/1.1\r\nHost: x\r\nAuthorization Bearer x\r\n\r\n",
    "bad content length": b"POST /v7/users/batch_read HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    "negative content length": b"POST /v7/users/batch_read HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "two content lengths": (
        b"POST /v7/users/batch_read HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
    ),
    "length and chunked": (
        b"POST /v7/users/batch_read HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "bad chunk size": (
        b"POST /v7/users/batch_read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    ),
    "garbage": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n",
    "space in the path": b"GET /v7/us ers HTTP/1.1\r\nHost: x\r\n\r\n",
    "dingtalk path, NUL in a header": b"POST /topapi/v2/user/get HTTP/1.1\r\nHost: x\r\nX-A: \x00\r\n\r\n",
}


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_request_that_is_not_http_gets_a_400_in_the_paths_envelope(world: WorldServer, name: str) -> None:
    host, port = world.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(MALFORMED[name])
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    status, headers, body = raw_reply(raw)
    path = MALFORMED[name].split(b" ")[1].decode("latin-1") if b" /" in MALFORMED[name][:20] else "/"
    reply = check_reply(path, status, headers, body)
    if path.startswith("/topapi"):
        assert (status, reply["errcode"]) == (200, 400002), (name, reply)
    else:
        assert (status, reply["code"]) == (400, 40000001), (name, reply)
    with httpx.Client(base_url=world.base_url) as http:  # and the server lives on
        assert http.get("/_openroster/health").status_code == 200
