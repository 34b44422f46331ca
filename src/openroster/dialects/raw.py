"""A request as the journal and fault rules see it: raw ASGI pieces, read without the app.

Neither may slow down the calls they watch, so nothing here parses more than it
is asked for (``control/calls.py``).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import NamedTuple
from urllib.parse import parse_qsl

Headers = Sequence[tuple[bytes, bytes]]


def header(headers: Headers, name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def repeated(headers: Headers, names: Container[bytes]) -> bytes | None:
    """The first of ``names`` (lowercase, as the server hands header names over) that ``headers``
    carry more than once, or None: a request sending one of them twice is ambiguous, whichever
    copy a reader would take."""
    seen: list[bytes] = []
    for key, _value in headers:
        if key in names:
            if key in seen:
                return key
            seen.append(key)
    return None


def header_name(name: bytes) -> str:
    """A lowercase header name as people write it: ``b"x-kso-date"`` as ``X-Kso-Date``."""
    return "-".join(part.capitalize() for part in name.decode("latin-1").split("-"))


def form_or_query(raw: bytes) -> dict[str, str]:
    """``a=1&b=2`` as a dict (the last value of a repeated name wins); junk gives ``{}``."""
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return {}


def is_form(headers: Headers) -> bool:
    ctype = header(headers, b"content-type") or ""
    return ctype.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


class RawRequest(NamedTuple):
    """The pieces of a request the journal keeps, and fault rules look at. (A named tuple: the
    journal makes one for every call it moves, and a frozen dataclass cost some 5,500 instructions
    more to make.)"""

    method: str
    path: str
    query: bytes
    headers: Headers
    body: bytes
