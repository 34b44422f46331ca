"""Hostile credentials and malformed HTTP: property-based fuzzing of the token and signature headers.

Hypothesis draws ``Authorization`` values, KSO-1 / WPS-4 signature and date
headers and DingTalk ``access_token`` values: random text, near misses of the
real formats, and genuine values mutated by one edit. Every reply must be the
dialect's refusal (``reliability.replies``), never a success and never a 5xx.
Requests that are not HTTP at all (a NUL in a header, a bad Content-Length,
both Content-Length and chunked, garbage) get a 400 in the envelope of the
path's dialect from the protocol guard, and the server lives on.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import wps_signer
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
