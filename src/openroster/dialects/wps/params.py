"""Query parameters and page tokens of the WPS endpoints.

A bad parameter gets the same error as a bad body field: 40000002 with a
message naming the parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openroster.core import validate
from openroster.core.runtime import paging
from openroster.core.runtime.paging import Page, PageTokens, Position
from openroster.dialects.wps import render
from openroster.dialects.wps.endpoint import Call
from openroster.dialects.wps.errors import Code, WpsError
from openroster.model.entities import UserStatus
from openroster.model.errors import InvalidValue, MissingField

_TRUE = ("true", "1")
_FALSE = ("false", "0", "")

#: The master-key purpose of the page-token key.
PAGE_TOKEN_PURPOSE = "wps-page-token"  # noqa: S105  (a key-derivation label, not a secret)


def single(call: Call, name: str) -> str | None:
    """The query parameter ``name``, given at most once: ``page_size=10&page_size=50`` does not say
    which one the caller meant, so it is refused (``40000001``) rather than one copy taken. Only
    ``status`` may repeat (:func:`query_statuses`)."""
    values = call.request.query_params.getlist(name)
    if len(values) > 1:
        raise WpsError(Code.INVALID_REQUEST, f"{name}: given more than once in the query; send it once")
    return values[0] if values else None


def flag(call: Call, name: str) -> bool:
    """A boolean query parameter: ``true``/``1`` or ``false``/``0``; absent is false."""
    raw = single(call, name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidValue(f"{name}: {raw!r} is not a boolean; use true or false", field=name)


def integer(call: Call, name: str) -> int | None:
    raw = single(call, name)
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    if not (value.isascii() and value.lstrip("-").isdigit()) or len(value) > 9:
        raise InvalidValue(f"{name}: {raw!r} is not an integer", field=name)
    return int(value)


def page_size(call: Call) -> int:
    """``page_size``: default 10, at most 50 (core/runtime/limits.py)."""
    return paging.page_size(integer(call, "page_size"))


def statuses(raw: Sequence[str], *, field: str = "status", required: bool = False) -> set[UserStatus]:
    """The statuses asked for; none means every status (or, ``required``, is an error)."""
    if not raw:
        if required:
            raise MissingField(f"{field} must list at least one status", field=field)
        return set(UserStatus)
    return {validate.choice(s, UserStatus, field=f"{field}[{i}]") for i, s in enumerate(raw)}


def query_statuses(call: Call) -> set[UserStatus]:
    """Repeated ``status`` query parameters (``status=active&status=disabled``); commas also split."""
    raw = [part.strip() for v in call.request.query_params.getlist("status") for part in v.split(",")]
    return statuses([s for s in raw if s])


def dept_path_id(call: Call) -> int:
    return validate.dept_id(call.path_param("dept_id"), field="dept_id")


def _tokens(call: Call) -> PageTokens:
    return PageTokens(call.directory.master_key.derive(PAGE_TOKEN_PURPOSE))


def _scope(call: Call, listing: str, filters: Sequence[str]) -> list[str]:
    return ["wps", call.tenant_id, listing, *filters]


def page_after(call: Call, listing: str, filters: Sequence[str]) -> Position | None:
    """The position in the request's ``page_token`` (None without one) for ``listing`` with ``filters``."""
    token = single(call, "page_token")
    if token is None or token == "":
        return None
    return _tokens(call).open(token, _scope(call, listing, filters))


def next_page_token(call: Call, listing: str, filters: Sequence[str], after: Position | None) -> str:
    """The ``next_page_token`` to send: ``""`` on the last page."""
    if after is None:
        return ""
    return _tokens(call).issue(_scope(call, listing, filters), after)


def status_filter(wanted: set[UserStatus]) -> str:
    """The canonical spelling of a status filter, for binding page tokens to it."""
    return "status=" + ",".join(sorted(s.value for s in wanted))


def paged(call: Call, listing: str, filters: Sequence[str], page: Page[Any], items: bytes) -> bytes:
    """A paged reply's ``data``: ``items`` (rendered ``{"items": [...]}``), next_page_token and total."""
    token = next_page_token(call, listing, filters, page.after)
    return items[:-1] + render.page_tail(token, page.total)
