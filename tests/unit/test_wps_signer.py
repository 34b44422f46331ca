"""The tests' own WPS signer (tests/wps_signer.py) against the official KSO-1 vectors of wps-v7.md."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

import wps_signer

AK, SK = "AK123456", "sk098765"
DATE = "Mon, 02 Jan 2006 15:04:05 GMT"


@pytest.mark.parametrize(
    ("method", "uri", "body", "expected"),
    [
        pytest.param(
            "GET",
            "/v7/test?key=value",
            b"",
            "KSO-1 AK123456:ce8df66877175e5198c8ea1362ffddf82e4941c6f25a4ca205a1ad09d0faaf03",
            id="GET /v7/test?key=value",
        ),
        pytest.param(
            "POST",
            "/v7/test/body",
            b'{"key": "value"}',
            "KSO-1 AK123456:c46e6c988130818ecba2484d51ac685948fbbef6814602c7874d6bfc41dc17b3",
            id="POST /v7/test/body",
        ),
    ],
)
def test_kso1_official_vectors(method: str, uri: str, body: bytes, expected: str) -> None:
    sig = wps_signer.signature(wps_signer.KSO1, SK, method, uri, "application/json", DATE, body)
    assert wps_signer.authorization(wps_signer.KSO1, AK, sig) == expected


def test_body_hashes() -> None:
    body = b'{"key": "value"}'
    official = "9724c1e20e6e3e4d7f57ed25f9d4efb006e508590d528c90da597f6a775c13e5"
    assert wps_signer.body_hash(wps_signer.KSO1, "application/json", body) == official
    assert wps_signer.body_hash(wps_signer.WPS4, "application/json; charset=utf-8", body) == official
    assert wps_signer.body_hash(wps_signer.KSO1, "application/json", b"") == ""  # not sha256("")
    assert wps_signer.body_hash(wps_signer.WPS4, "multipart/form-data; boundary=x", body) == ""
    sm3 = wps_signer.body_hash(wps_signer.WPS4GM, "application/json", body)
    assert len(sm3) == 64 and sm3 != hashlib.sha256(body).hexdigest()


def test_sign_headers_names_and_date() -> None:
    moment = datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)
    headers = wps_signer.sign_headers(wps_signer.WPS4GM, AK, SK, "GET", "/v7/x", "", b"", now=moment)
    assert headers["Wps-Docs-Date"] == DATE
    assert headers["Wps-Docs-Authorization"].startswith("WPS-4-GM AK123456:")
