"""Where in a request body pydantic found a problem, as the dialects' messages name it."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

#: Names pydantic puts in an error's location for union members and validators (not fields).
_NOT_FIELDS = frozenset({"str", "int", "bool", "list[str]"})


def location(loc: tuple[int | str, ...]) -> str:
    """``("users", 0, "user_id")`` as ``users[0].user_id``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _NOT_FIELDS or "[" in part:
            continue  # a union member or a validator (``function-before[_text(), str]``)
        else:
            out += f".{part}" if out else part
    return out


def first_error(exc: ValidationError) -> tuple[dict[str, Any], str]:
    """The first problem pydantic found, and where (:func:`location`)."""
    err = exc.errors(include_url=False)[0]
    return dict(err), location(tuple(err["loc"]))
