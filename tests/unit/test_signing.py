"""Request signatures: the official KSO-1 vectors, WPS-4 / WPS-4-GM, body hashes, dates, URIs.

The WPS-4 and WPS-4-GM expectations are computed here from the formula in
wps-v7.md with hashlib / hmac and an HMAC-SM3 written out by hand (RFC 2104
over cryptography's SM3), so a wrong prefix, order or hash in the
implementation makes these tests fail.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import hashes

from openroster.dialects.wps import signing
from openroster.dialects.wps.auth import signed_uri

DATE = "Mon, 02 Jan 2006 15:04:05 GMT"
AK = "AK123456"
SK = "sk098765"
BODY = b'{"key": "value"}'
KSO1_GET_SIG = "ce8df66877175e5198c8ea1362ffddf82e4941c6f25a4ca205a1ad09d0faaf03"


def test_kso1_official_vector_get() -> None:
    sig = signing.signature(signing.KSO1, SK, "GET", "/v7/test?key=value", "application/json", DATE, b"")
    assert signing.authorization(signing.KSO1, AK, sig) == (
        "KSO-1 AK123456:ce8df66877175e5198c8ea1362ffddf82e4941c6f25a4ca205a1ad09d0faaf03"
    )


def test_kso1_official_vector_post() -> None:
    body_hash = "9724c1e20e6e3e4d7f57ed25f9d4efb006e508590d528c90da597f6a775c13e5"
    assert hashlib.sha256(BODY).hexdigest() == body_hash
    sig = signing.signature(signing.KSO1, SK, "POST", "/v7/test/body", "application/json", DATE, BODY)
    assert sig == "c46e6c988130818ecba2484d51ac685948fbbef6814602c7874d6bfc41dc17b3"


# -- independent reference implementations ------------------------------------------


def _sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def _hmac_sm3(key: bytes, message: bytes) -> str:
    """HMAC (RFC 2104) over SM3, block size 64, written out by hand."""
    block = 64
    if len(key) > block:
        key = _sm3(key)
    key = key.ljust(block, b"\0")
    inner = _sm3(bytes(b ^ 0x36 for b in key) + message)
    return _sm3(bytes(b ^ 0x5C for b in key) + inner).hex()


def _hmac_sha256(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_sm3_is_the_national_standard() -> None:
    # GB/T 32905-2016 example 1.
    assert _sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_wps4_post_matches_the_formula() -> None:
    message = (
        "WPS-4" + "POST" + "/v7/test/body" + "application/json" + DATE + hashlib.sha256(BODY).hexdigest()
    )
    want = _hmac_sha256(SK, message)
    got = signing.signature(signing.WPS4, SK, "POST", "/v7/test/body", "application/json", DATE, BODY)
    assert got == want
    # and it is not the KSO-1 signature of the same request
    assert got != "c46e6c988130818ecba2484d51ac685948fbbef6814602c7874d6bfc41dc17b3"
    assert signing.authorization(signing.WPS4, AK, got) == f"WPS-4 AK123456:{want}"


def test_wps4_get_without_body_uses_an_empty_hash() -> None:
    want = _hmac_sha256(SK, "WPS-4GET/v7/test?key=valueapplication/json" + DATE)
    assert (
        signing.signature(signing.WPS4, SK, "GET", "/v7/test?key=value", "application/json", DATE, b"")
        == want
    )


def test_wps4gm_post_matches_the_formula() -> None:
    message = "WPS-4-GM" + "POST" + "/v7/test/body" + "application/json" + DATE + _sm3(BODY).hex()
    want = _hmac_sm3(SK.encode(), message.encode())
    got = signing.signature(signing.WPS4GM, SK, "POST", "/v7/test/body", "application/json", DATE, BODY)
    assert got == want
    assert len(got) == 64
    assert signing.authorization(signing.WPS4GM, AK, got) == f"WPS-4-GM AK123456:{want}"


def test_wps4gm_get_without_body() -> None:
    want = _hmac_sm3(SK.encode(), ("WPS-4-GMGET/v7/test?key=value" + DATE).encode())
    assert signing.signature(signing.WPS4GM, SK, "GET", "/v7/test?key=value", "", DATE, b"") == want


def test_the_seed_000_example_signs_under_wps4_and_wps4gm() -> None:
    """The URI is the gateway-free /v7 path; the seed's date spelling is signed as sent."""
    body = b'{"users":[]}'
    date = "Wed,23 Jan 2013 06:43:08 GMT"
    uri = "/v7/users/custom_attrs/batch_update"
    msg = "WPS-4POST" + uri + "application/json" + date + hashlib.sha256(body).hexdigest()
    assert signing.signature(signing.WPS4, "key", "POST", uri, "application/json", date, body) == (
        _hmac_sha256("key", msg)
    )
    gm = "WPS-4-GMPOST" + uri + "application/json" + date + _sm3(body).hex()
    assert signing.signature(signing.WPS4GM, "key", "POST", uri, "application/json", date, body) == (
        _hmac_sm3(b"key", gm.encode())
    )


# -- body hash rules ----------------------------------------------------------------


@pytest.mark.parametrize("scheme", [signing.KSO1, signing.WPS4, signing.WPS4GM])
def test_empty_body_has_an_empty_hash_not_the_hash_of_nothing(scheme: str) -> None:
    assert signing.body_hash(scheme, "application/json", b"") == ""
    msg = scheme + "POST/v7/xapplication/json" + DATE
    want = _hmac_sm3(SK.encode(), msg.encode()) if scheme == signing.WPS4GM else _hmac_sha256(SK, msg)
    assert signing.signature(scheme, SK, "POST", "/v7/x", "application/json", DATE, b"") == want


@pytest.mark.parametrize("scheme", [signing.WPS4, signing.WPS4GM])
@pytest.mark.parametrize(
    "content_type", ["multipart/form-data; boundary=xyz", "application/octet-stream", "text/plain"]
)
def test_wps4_leaves_the_body_out_for_other_content_types(scheme: str, content_type: str) -> None:
    body = b"--xyz\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--xyz--\r\n"
    assert signing.body_hash(scheme, content_type, body) == ""
    assert signing.signature(scheme, SK, "POST", "/v7/x", content_type, DATE, body) == signing.signature(
        scheme, SK, "POST", "/v7/x", content_type, DATE, b"other bytes entirely"
    )


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/x-www-form-urlencoded"],
)
def test_wps4_hashes_the_body_for_json_and_forms(content_type: str) -> None:
    assert signing.body_hash(signing.WPS4, content_type, BODY) == hashlib.sha256(BODY).hexdigest()
    assert signing.body_hash(signing.WPS4GM, content_type, BODY) == _sm3(BODY).hex()


def test_kso1_hashes_the_body_whatever_the_content_type() -> None:
    assert signing.body_hash(signing.KSO1, "multipart/form-data; boundary=x", BODY) == (
        hashlib.sha256(BODY).hexdigest()
    )


@pytest.mark.parametrize("scheme", [signing.KSO1, signing.WPS4, signing.WPS4GM])
def test_content_type_is_signed_exactly_as_sent(scheme: str) -> None:
    plain = signing.signature(scheme, SK, "POST", "/v7/x", "application/json", DATE, BODY)
    charset = signing.signature(scheme, SK, "POST", "/v7/x", "application/json; charset=utf-8", DATE, BODY)
    assert plain != charset
    if scheme != signing.WPS4GM:
        msg = scheme + "POST/v7/xapplication/json; charset=utf-8" + DATE + hashlib.sha256(BODY).hexdigest()
        assert charset == _hmac_sha256(SK, msg)


def test_method_is_signed_in_upper_case() -> None:
    sig = signing.signature(signing.KSO1, SK, "get", "/v7/test?key=value", "application/json", DATE, b"")
    assert sig == KSO1_GET_SIG


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown signature scheme"):
        signing.signature("WPS-3", SK, "GET", "/v7/x", "", DATE, b"")


# -- headers ---------------------------------------------------------------------------


def test_sign_headers_names_each_scheme_headers() -> None:
    now = datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)
    kso = signing.sign_headers(
        signing.KSO1, AK, SK, "GET", "/v7/test?key=value", "application/json", b"", now=now
    )
    assert kso == {
        "X-Kso-Date": DATE,
        "X-Kso-Authorization": f"KSO-1 AK123456:{KSO1_GET_SIG}",
    }
    wps4 = signing.sign_headers(signing.WPS4, AK, SK, "POST", "/v7/x", "application/json", BODY, now=now)
    assert set(wps4) == {"Wps-Docs-Date", "Wps-Docs-Authorization"}
    assert wps4["Wps-Docs-Authorization"].startswith("WPS-4 AK123456:")
    gm = signing.sign_headers(signing.WPS4GM, AK, SK, "POST", "/v7/x", "application/json", BODY, now=now)
    assert gm["Wps-Docs-Authorization"].startswith("WPS-4-GM AK123456:")


def test_format_date_is_rfc1123_gmt() -> None:
    beijing = timezone(timedelta(hours=8))
    assert signing.format_date(datetime(2006, 1, 2, 23, 4, 5, tzinfo=beijing)) == DATE


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("KSO-1 AK123456:ABCDEF0123", ("KSO-1", "AK123456", "abcdef0123")),
        ("WPS-4 app-1:00ff", ("WPS-4", "app-1", "00ff")),
        ("WPS-4-GM app.2:00ff", ("WPS-4-GM", "app.2", "00ff")),
        ("  KSO-1 AK:aa  ", ("KSO-1", "AK", "aa")),
    ],
)
def test_parse_authorization(value: str, parsed: tuple[str, str, str]) -> None:
    assert signing.parse_authorization(value) == parsed


@pytest.mark.parametrize(
    "value",
    [
        "",
        "KSO-1",
        "KSO-1 AK123456",
        "KSO-1 AK123456:",
        "KSO-1 AK123456:not-hex",
        "KSO-1  AK123456:aa",
        "KSO-2 AK123456:aa",
        "HMAC-SHA256 AK123456:aa",
        "Bearer abc",
    ],
)
def test_parse_authorization_rejects_malformed_values(value: str) -> None:
    assert signing.parse_authorization(value) is None


# -- dates ------------------------------------------------------------------------------

_MOMENT = datetime(2013, 1, 23, 6, 43, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "Wed, 23 Jan 2013 06:43:08 GMT",  # RFC 1123
        "Wed,23 Jan 2013 06:43:08 GMT",  # as seed 000 spells it
        "Wednesday, 23 Jan 2013 06:43:08 GMT",  # full weekday name
        "Wed, 23 Jan 2013 14:43:08 +0800",  # numeric zone
        "Wed, 23 Jan 2013 01:13:08 -0530",
        "Wed, 23 Jan 2013 06:43:08 +0000",
        "Wed, 23 Jan 2013 06:43:08 UTC",
        "  Wed, 23 Jan 2013 06:43:08 GMT  ",
    ],
)
def test_parse_date_accepts_the_official_spellings(value: str) -> None:
    assert signing.parse_date(value) == _MOMENT


def test_parse_date_single_digit_day() -> None:
    assert signing.parse_date("Mon, 2 Jan 2006 15:04:05 GMT") == datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2013-01-23T06:43:08Z",  # ISO 8601
        "23 Jan 2013 06:43:08 GMT",  # no weekday
        "Wed, 23 January 2013 06:43:08 GMT",  # full month name
        "Wed, 31 Feb 2013 06:43:08 GMT",  # no such day
        "Wed, 23 Jan 2013 25:43:08 GMT",  # no such hour
        "Wed, 23 Jan 2013 06:43:08 PST",  # named zones are ambiguous
        "Wed, 23 Jan 2013 06:43:08",  # no zone
        "Wed, 23 Jan 13 06:43:08 GMT",  # two-digit year
        "1358923388",  # epoch seconds
    ],
)
def test_parse_date_rejects_everything_else(value: str) -> None:
    assert signing.parse_date(value) is None


def test_format_and_parse_round_trip() -> None:
    moment = datetime(2026, 11, 21, 7, 8, 9, tzinfo=UTC)
    assert signing.parse_date(signing.format_date(moment)) == moment


# -- the signed URI -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_path", "query", "uri"),
    [
        (b"/v7/users/batch_read", b"", "/v7/users/batch_read"),
        (b"/openapi/v7/users/batch_read", b"", "/v7/users/batch_read"),
        (b"/graph/v7/users/custom_attrs/batch_update", b"", "/v7/users/custom_attrs/batch_update"),
        (b"/v7/users", b"page_size=20&page_token=aabb", "/v7/users?page_size=20&page_token=aabb"),
        (b"/graph/v7/users", b"status=active&status=notactive", "/v7/users?status=active&status=notactive"),
        # the query is signed as sent: not re-ordered, not re-encoded
        (b"/v7/users", b"b=2&a=%E5%BC%A0", "/v7/users?b=2&a=%E5%BC%A0"),
        (b"/v7/a%20b", b"", "/v7/a%20b"),
        # only a whole leading segment is a gateway prefix
        (b"/graphql/v7/x", b"", "/graphql/v7/x"),
        (b"/openapiv7/x", b"", "/openapiv7/x"),
        (b"/v7/graph/v7/x", b"", "/v7/graph/v7/x"),
    ],
)
def test_signed_uri_strips_the_gateway_prefix_only(raw_path: bytes, query: bytes, uri: str) -> None:
    assert signed_uri(raw_path, query) == uri
