"""Keyset paging and the page tokens that carry its position.

Lists are walked in the order of an immutable key (a user id, a department
id, or a department's ``(order, id)``); a page asks for the rows whose key is
greater than the last key of the previous page. Page N therefore costs what
page 1 costs, and a walk that runs while others insert and delete returns
every row that existed for the whole walk exactly once.

A page token carries that last key. It is opaque to clients and
tamper-evident: an HMAC keyed by a key derived from the master key covers it,
together with a digest of what the token is *for* (tenant, endpoint and the
filters that decide which rows are listed). A token that was altered, forged,
or issued for another tenant, endpoint or filter set is refused with a clear
error rather than silently listing something else. Tokens do not expire:
a keyset position stays meaningful.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from openroster.core.runtime import limits
from openroster.model.errors import InvalidValue

T = TypeVar("T")

#: A position in a keyset walk: the key of the last row returned.
Position = tuple[str | int, ...]

_VERSION = 1
_MAC_BYTES = 16
_BINDING_BYTES = 8
_TOKEN_MAX = 512


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset walk. ``after`` is the position to continue from, or None at the end."""

    items: list[T]
    after: Position | None
    total: int | None = None


def page_size(raw: int | None, *, field: str = "page_size") -> int:
    """The page size asked for: default ``limits.PAGE_SIZE_DEFAULT``, 1 to ``limits.PAGE_SIZE_MAX``."""
    if raw is None:
        return limits.PAGE_SIZE_DEFAULT
    if raw < 1 or raw > limits.PAGE_SIZE_MAX:
        raise InvalidValue(f"{field}: {raw} is out of range; use 1 to {limits.PAGE_SIZE_MAX}", field=field)
    return raw


def expect(
    after: Position | None, shape: tuple[type, ...], *, field: str = "page_token"
) -> tuple[Any, ...] | None:
    """``after`` checked to have the types of ``shape`` (a genuine token for the listing always has)."""
    if after is None:
        return None
    if len(after) != len(shape) or not all(type(v) is t for v, t in zip(after, shape, strict=True)):
        raise InvalidValue(f"{field} does not fit this listing", field=field)
    return after


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    """Issues and opens page tokens with one key (see the module doc)."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _binding(self, scope: Sequence[str]) -> str:
        text = "\x1f".join(scope).encode()
        return _b64(hmac.new(self._key, b"bind\x00" + text, hashlib.sha256).digest()[:_BINDING_BYTES])

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, b"page\x00" + body.encode(), hashlib.sha256).digest()[:_MAC_BYTES])

    def issue(self, scope: Sequence[str], position: Position) -> str:
        """A token to continue the listing described by ``scope`` after ``position``."""
        body = _b64(orjson.dumps([_VERSION, self._binding(scope), list(position)]))
        return f"{body}.{self._mac(body)}"

    def open(self, token: str, scope: Sequence[str], *, field: str = "page_token") -> Position:
        """The position in ``token``; InvalidValue if it was altered or belongs to another listing."""
        body, sep, mac = token.partition(".")
        genuine = (
            sep and len(token) <= _TOKEN_MAX and hmac.compare_digest(mac.encode(), self._mac(body).encode())
        )
        if not genuine:
            raise InvalidValue(
                f"{field} is not a token this server issued (it was altered or made up); "
                "send back next_page_token exactly as received, or leave it out to start from the first page",
                field=field,
            )
        try:
            version, binding, position = orjson.loads(_unb64(body))
        except (ValueError, TypeError) as exc:  # cannot happen for a genuine token
            raise InvalidValue(f"{field} cannot be read", field=field) from exc
        if version != _VERSION or not isinstance(position, list):
            raise InvalidValue(f"{field} was issued by an incompatible server version", field=field)
        if not hmac.compare_digest(str(binding).encode(), self._binding(scope).encode()):
            raise InvalidValue(
                f"{field} belongs to another listing (a different tenant, endpoint or filter such as "
                "status, department or recursive); keep the filters of the first page while paging",
                field=field,
            )
        return tuple(position)
