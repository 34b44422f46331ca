"""The official KSO-1 test vectors, and WPS-4 / WPS-4-GM formulas."""

from __future__ import annotations

import hashlib

from openroster.dialects.wps import signing

DATE = "Mon, 02 Jan 2006 15:04:05 GMT"


def test_kso1_official_vector_get() -> None:
    sig = signing.signature(
        signing.KSO1, "sk098765", "GET", "/v7/test?key=value", "application/json", DATE, b""
    )
    assert signing.authorization(signing.KSO1, "AK123456", sig) == (
        "KSO-1 AK123456:ce8df66877175e5198c8ea1362ffddf82e4941c6f25a4ca205a1ad09d0faaf03"
    )


def test_kso1_official_vector_post() -> None:
    body = b'{"key": "value"}'
    body_hash = "9724c1e20e6e3e4d7f57ed25f9d4efb006e508590d528c90da597f6a775c13e5"
    assert hashlib.sha256(body).hexdigest() == body_hash
    sig = signing.signature(signing.KSO1, "sk098765", "POST", "/v7/test/body", "application/json", DATE, body)
    assert sig == "c46e6c988130818ecba2484d51ac685948fbbef6814602c7874d6bfc41dc17b3"
