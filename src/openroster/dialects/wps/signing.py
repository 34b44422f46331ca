"""WPS 365 request signatures: KSO-1, WPS-4 and WPS-4-GM.

Pure functions with no server dependencies: the server verifies with them and
the client SDK signs with them. The formulas are the platform's:

    KSO-1:    hex(HMAC-SHA256(secret, "KSO-1"    + method + uri + content_type + date + sha256hex(body)))
    WPS-4:    hex(HMAC-SHA256(secret, "WPS-4"    + method + uri + content_type + date + sha256hex(body)))
    WPS-4-GM: hex(HMAC-SM3   (secret, "WPS-4-GM" + method + uri + content_type + date + sm3hex(body)))

``uri`` is the path with its query string and without any gateway prefix
(``/openapi`` or ``/graph``). The body hash is the empty string for an empty
body; WPS-4 and WPS-4-GM also leave it out when the content type is neither JSON
nor a form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

KSO1 = "KSO-1"
WPS4 = "WPS-4"
WPS4GM = "WPS-4-GM"


@dataclass(frozen=True, slots=True)
class SchemeHeaders:
    date: str
    authorization: str


#: Which headers carry each scheme's date and signature.
HEADERS: dict[str, SchemeHeaders] = {
    KSO1: SchemeHeaders(date="X-Kso-Date", authorization="X-Kso-Authorization"),
    WPS4: SchemeHeaders(date="Wps-Docs-Date", authorization="Wps-Docs-Authorization"),
    WPS4GM: SchemeHeaders(date="Wps-Docs-Date", authorization="Wps-Docs-Authorization"),
}

_HASHED_TYPES = ("application/json", "application/x-www-form-urlencoded")


def _sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def _hmac_sm3_hex(key: bytes, data: bytes) -> str:
    mac = crypto_hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize().hex()


def body_hash(scheme: str, content_type: str, body: bytes) -> str:
    if not body:
        return ""
    if scheme != KSO1:
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in _HASHED_TYPES:
            return ""
    if scheme == WPS4GM:
        return _sm3_hex(body)
    return hashlib.sha256(body).hexdigest()


def signature(
    scheme: str, secret: str, method: str, uri: str, content_type: str, date: str, body: bytes
) -> str:
    """The lowercase hex signature of one request."""
    message = (
        scheme + method.upper() + uri + content_type + date + body_hash(scheme, content_type, body)
    ).encode()
    if scheme == WPS4GM:
        return _hmac_sm3_hex(secret.encode(), message)
    if scheme in (KSO1, WPS4):
        return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    raise ValueError(f"unknown signature scheme {scheme!r}")


def authorization(scheme: str, access_key: str, sig: str) -> str:
    """The authorization header value: ``"<scheme> <access key>:<signature>"``."""
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
    """The date and authorization headers for one request (the client's side)."""
    date = format_date(now or datetime.now(UTC))
    sig = signature(scheme, secret, method, uri, content_type, date, body)
    names = HEADERS[scheme]
    return {names.date: date, names.authorization: authorization(scheme, access_key, sig)}


def format_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


_AUTH = re.compile(r"^(KSO-1|WPS-4-GM|WPS-4) ([^\s:]+):([0-9a-fA-F]+)$")


def parse_authorization(value: str) -> tuple[str, str, str] | None:
    """``(scheme, access_key, signature)``, or ``None`` when the header is malformed."""
    m = _AUTH.match(value.strip())
    if m is None:
        return None
    return m.group(1), m.group(2), m.group(3).lower()


_DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    )
}
_DATE = re.compile(
    rf"^(?:{_DAYS}),\s*(\d{{1,2}}) ({'|'.join(_MONTHS)}) (\d{{4}}) (\d{{2}}):(\d{{2}}):(\d{{2}}) "
    r"(GMT|UTC|UT|[A-Z]{3}|[+-]\d{4})$"
)


@lru_cache(maxsize=256)  # a client signs many calls within one second, all with the same date
def parse_date(value: str) -> datetime | None:
    """RFC 1123 (``GMT``), RFC 1123 with a numeric zone, or with the full weekday name."""
    m = _DATE.match(value.strip())
    if m is None:
        return None
    day, month, year, hh, mm, ss, zone = m.groups()
    if zone in ("GMT", "UTC", "UT"):
        tz: timezone = UTC
    elif zone[0] in "+-":
        hours, minutes = int(zone[1:3]), int(zone[3:5])
        if hours > 23 or minutes > 59:  # RFC 5322 §3.3: a zone is less than a day from UTC
            return None
        sign = 1 if zone[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    else:
        return None  # named zones other than GMT/UTC are ambiguous
    try:
        return datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=tz)
    except ValueError:
        return None
