"""A WPS v7 request signer written from the protocol notes alone (shared/protocol/wps-v7.md).

It imports nothing of openroster's: the end-to-end signature tests sign their requests
with it, so a server verifying with a wrong formula refuses them whatever openroster's own
signer (``openroster.dialects.wps.signing``, which the server and the SDK use) does.
tests/unit/test_wps_signer.py checks it against the official test vectors.

The three schemes (wps-v7.md, "Authentication"):

- ``KSO-1``: headers ``X-Kso-Date`` and ``X-Kso-Authorization: KSO-1 {accessKey}:{signature}``;
  ``signature = hex(HMAC-SHA256(secretKey, "KSO-1" + Method + RequestURI + ContentType + Date
  + BodyHash))``, plain concatenation.
- ``WPS-4``: the same with ``Wps-Docs-Date``, ``Wps-Docs-Authorization`` and the prefix
  ``WPS-4``; a body that is neither JSON nor a form is left out of the hash.
- ``WPS-4-GM``: ``WPS-4`` with HMAC-SM3 and SM3.

RequestURI is the path with its query string and without a gateway prefix (``/openapi``,
``/graph``); BodyHash is the lowercase hex digest of the body, the empty string for an empty
body; the Content-Type is signed exactly as sent; the date is RFC 1123.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

KSO1 = "KSO-1"
WPS4 = "WPS-4"
WPS4GM = "WPS-4-GM"


@dataclass(frozen=True)
class Headers:
    """The names of a scheme's two headers."""

    date: str
    authorization: str


HEADERS = {
    KSO1: Headers("X-Kso-Date", "X-Kso-Authorization"),
    WPS4: Headers("Wps-Docs-Date", "Wps-Docs-Authorization"),
    WPS4GM: Headers("Wps-Docs-Date", "Wps-Docs-Authorization"),
}

#: WPS-4 hashes the body only for these media types.
_HASHED_TYPES = ("application/json", "application/x-www-form-urlencoded")


def format_date(moment: datetime) -> str:
    """RFC 1123, e.g. ``Mon, 02 Jan 2006 15:04:05 GMT``."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _sm3(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def _hmac_sm3(key: bytes, data: bytes) -> str:
    mac = crypto_hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize().hex()


def body_hash(scheme: str, content_type: str, body: bytes) -> str:
    if not body:
        return ""
    if scheme != KSO1 and content_type.split(";", maxsplit=1)[0].strip().lower() not in _HASHED_TYPES:
        return ""
    return _sm3(body) if scheme == WPS4GM else hashlib.sha256(body).hexdigest()


def signature(
    scheme: str, secret: str, method: str, uri: str, content_type: str, date: str, body: bytes
) -> str:
    text = (scheme + method + uri + content_type + date + body_hash(scheme, content_type, body)).encode()
    if scheme == WPS4GM:
        return _hmac_sm3(secret.encode(), text)
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()


def authorization(scheme: str, access_key: str, sig: str) -> str:
    return f"{scheme} {access_key}:{sig}"


def sign_headers(
    scheme: str,
    access_key: str,
    secret: str,
    method: str,
    uri: str,
    content_type: str,
    body: bytes,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """The date and authorization headers of one request (``uri``: path and query, no gateway prefix)."""
    date = format_date(now or datetime.now(UTC))
    names = HEADERS[scheme]
    sig = signature(scheme, secret, method, uri, content_type, date, body)
    return {names.date: date, names.authorization: authorization(scheme, access_key, sig)}
