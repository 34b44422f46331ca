"""Field checks shared by every service. Each raises a core error naming the field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence, Sized
from enum import StrEnum
from typing import TypeVar

from openroster.core.runtime import limits
from openroster.model.errors import InvalidValue, MissingField, TooMany

E = TypeVar("E", bound=StrEnum)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{2,30}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text(value: str | None, *, field: str, max_len: int, required: bool = False) -> str | None:
    """A trimmed string no longer than ``max_len``; empty becomes ``None`` unless required."""
    if value is None or value.strip() == "":
        if required:
            raise MissingField(f"{field} is required", field=field)
        return None
    value = value.strip()
    if len(value) > max_len:
        raise InvalidValue(f"{field} is longer than {max_len} characters", field=field)
    if _CONTROL.search(value):
        raise InvalidValue(f"{field} contains control characters", field=field)
    return value


def email(value: str | None, *, field: str = "email") -> str | None:
    value = text(value, field=field, max_len=254)
    if value is not None and not _EMAIL.match(value):
        raise InvalidValue(f"{field} is not an email address: {value!r}", field=field)
    return value.lower() if value is not None else None


def phone(value: str | None, *, field: str = "phone") -> str | None:
    value = text(value, field=field, max_len=32)
    if value is not None and not _PHONE.match(value):
        raise InvalidValue(f"{field} is not a phone number: {value!r}", field=field)
    return value


def texts(values: Sequence[str | None], *, max_len: int, required: bool = False) -> list[str | None] | None:
    """:func:`text` of a whole column at once (trim and check every value in a few passes), or
    ``None`` when some value fails: then check them one by one to name the field."""
    out = [None if v is None else (v.strip() or None) for v in values]
    present = [v for v in out if v is not None]
    if required and len(present) != len(out):
        return None
    if present and (max(map(len, present)) > max_len or _CONTROL.search("\n".join(present))):
        return None
    return out


def emails(values: Sequence[str | None]) -> list[str | None] | None:
    """:func:`email` of a whole column, or ``None`` when some value fails (see :func:`texts`)."""
    out = texts(values, max_len=254)
    if out is None or not all(_EMAIL.match(v) for v in out if v is not None):
        return None
    return [None if v is None else v.lower() for v in out]


def phones(values: Sequence[str | None]) -> list[str | None] | None:
    """:func:`phone` of a whole column, or ``None`` when some value fails (see :func:`texts`)."""
    out = texts(values, max_len=32)
    if out is None or not all(_PHONE.match(v) for v in out if v is not None):
        return None
    return out


def choice(value: str, enum: type[E], *, field: str) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise InvalidValue(f"{field}: {value!r} is not one of {allowed}", field=field) from None


def choices(values: Sequence[str], enum: type[E], *, default: E) -> list[E] | None:
    """:func:`choice` of a whole column (an empty value is ``default``), or ``None`` when some
    value fails (see :func:`texts`)."""
    members = {e.value: e for e in enum}
    out = [members.get(v or default.value) for v in values]
    return None if None in out else out  # type: ignore[return-value]


def one_of(value: str | None, allowed: Iterable[str], *, field: str) -> str | None:
    if value is None or value == "":
        return None
    options = tuple(allowed)
    if value not in options:
        raise InvalidValue(f"{field}: {value!r} is not one of {', '.join(options)}", field=field)
    return value


def ones_of(values: Sequence[str | None], allowed: Iterable[str]) -> list[str | None] | None:
    """:func:`one_of` of a whole column, or ``None`` when some value fails (see :func:`texts`)."""
    options = set(allowed)
    out = [v or None for v in values]
    return None if any(v is not None and v not in options for v in out) else out


def dept_id(value: str | int, *, field: str) -> int:
    """A department id: a positive integer, given as a number or a decimal string."""
    if isinstance(value, bool):
        raise InvalidValue(f"{field}: {value!r} is not a department id", field=field)
    if isinstance(value, int):
        number = value
    else:
        if not value.isascii() or not value.isdigit() or len(value) > 18:
            raise InvalidValue(f"{field}: {value!r} is not a department id", field=field)
        number = int(value)
    if number <= 0 or number > limits.DEPT_ID_MAX:
        raise InvalidValue(f"{field}: {value!r} is not a department id", field=field)
    return number


def order(value: int, *, field: str) -> int:
    """An order value: zero or positive, at most ``ORDER_MAX`` (a larger one would overflow the store)."""
    if value < 0:
        raise InvalidValue(f"{field} must be zero or positive", field=field)
    if value > limits.ORDER_MAX:
        raise InvalidValue(f"{field} must be at most {limits.ORDER_MAX}", field=field)
    return value


def count(
    items: Sized, *, field: str, limit: int, what: str, required: bool = True, verb: str = "list"
) -> None:
    """A list's length: MissingField when ``required`` and empty (the list "must ``verb`` at least
    one"), TooMany (naming ``limit``) when longer."""
    if required and len(items) == 0:
        raise MissingField(f"{field} must {verb} at least one {what}", field=field)
    if len(items) > limit:
        raise TooMany(f"{field} has {len(items)} {what}s; the limit is {limit}", field=field, limit=limit)
