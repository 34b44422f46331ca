"""No field of either platform takes a NUL character, and PostgreSQL cannot hold one.

A NUL (``\\u0000`` in JSON, ``%00`` in a URL or form) that reached the store
would fail on PostgreSQL ("text fields cannot contain NUL") where SQLite quietly
finds nothing: the dialects refuse it at the door instead, with a message naming
where it was, so both backends answer alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

NUL = "\x00"
_JSON_NUL = b"\\u0000"
#: How a NUL can be spelled in a request body: JSON's escape, a form's percent-encoding, a raw byte.
_SPELLINGS = (_JSON_NUL, b"%00", b"\x00")


def where(value: Any, at: str = "") -> str | None:
    """Where the first string (or object key) holding a NUL is in ``value``: ``users[0].user_id``."""
    if isinstance(value, str):
        return (at or "value") if NUL in value else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{at}.{key}" if at else str(key)
            if NUL in str(key):
                return name
            if (found := where(item, name)) is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if (found := where(item, f"{at}[{i}]")) is not None:
                return found
    return None


def may_hold(body: bytes) -> bool:
    """Whether a body could hold a NUL at all (a cheap test before walking its parsed fields). The
    first byte of a spelling is looked for before the spelling: one byte is found several times
    faster than a longer string, and most bodies hold no ``%`` or backslash. (``find``, not ``in``:
    ``bytes in bytes`` makes and drops a ``TypeError`` each time, see ``control/journal.py``.)"""
    return any(body.find(s) >= 0 for s in _SPELLINGS if body.find(s[:1]) >= 0)


def in_json(body: bytes) -> str | None:
    """Where a NUL is in a JSON body (``None`` when there is none, or the body is no JSON)."""
    if _JSON_NUL not in body:  # JSON can only spell a NUL as \u0000: most bodies stop here
        return None
    try:
        return where(orjson.loads(body))
    except orjson.JSONDecodeError:
        return None


def in_params(params: Iterable[tuple[str, str]], kind: str = "query parameter") -> str | None:
    """The first parameter whose name or value holds a NUL, as ``query parameter 'name'``."""
    for key, value in params:
        if NUL in key or NUL in value:
            return f"{kind} {key!r}"
    return None


def message(location: str) -> str:
    return f"{location}: contains a NUL character (\\u0000), which no field accepts"
