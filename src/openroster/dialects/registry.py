"""Every dialect the server speaks, and which one a path belongs to.

The server mounts each dialect listed here (``server/app.py``); the guards'
refusals (``server/guard.py``), the app's 404 / 405 / internal-error replies
and the journal's "which dialect" (``control/calls.py``) all ask this module.
Adding a dialect is one package and one line in :data:`DIALECTS`.
"""

from __future__ import annotations

import functools
from typing import Any

from openroster.dialects.base import Dialect
from openroster.dialects.dingtalk.dialect import DINGTALK
from openroster.dialects.dingtalk_v1.dialect import DINGTALK_V1
from openroster.dialects.scim.dialect import SCIM
from openroster.dialects.wps.dialect import WPS

#: Every dialect, in the order they are mounted (and listed in the OpenAPI document).
DIALECTS: tuple[Dialect[Any, Any], ...] = (WPS, DINGTALK, DINGTALK_V1, SCIM)
#: The dialect that answers on paths no dialect owns (an unknown path's 404, say).
FALLBACK: Dialect[Any, Any] = WPS
#: Every header some dialect wants once at most (:attr:`Dialect.single_headers`), for the guard's one pass.
SINGLE_HEADERS: frozenset[bytes] = frozenset().union(*(d.single_headers for d in DIALECTS))
#: The journal's name for a call to a path of no platform.
OTHER = "other"
#: The journal's names: every dialect's, then :data:`OTHER`.
NAMES: tuple[str, ...] = (*(d.name for d in DIALECTS), OTHER)


_BY_NAME: dict[str, Dialect[Any, Any]] = {d.name: d for d in DIALECTS}
#: The method and path, under each mount, of the routes whose replies name no secret
#: (``Route.reply_names_secrets`` False; a path with parameters is left out, so searched).
PLAIN_REPLIES: frozenset[tuple[str, str]] = frozenset(
    (r.method, mount + r.path)
    for d in DIALECTS
    for r in d.routes
    if not r.reply_names_secrets and "{" not in r.path
    for mount in d.mounts
)
#: How much of a path :func:`platform_of` looks at: the longest platform prefix.
_PREFIX_LENGTH = max(len(p) for d in DIALECTS for p in d.platform_prefixes)


def named(name: str) -> Dialect[Any, Any] | None:
    """The dialect called ``name`` (None for :data:`OTHER`)."""
    return _BY_NAME.get(name)


def owner(path: str) -> Dialect[Any, Any]:
    """The dialect whose envelope answers on ``path`` (:data:`FALLBACK` when none owns it)."""
    for d in DIALECTS:
        if d.owns(path):
            return d
    return FALLBACK


def platform_of(path: str) -> str:
    """The name of the dialect whose platform ``path`` belongs to, or :data:`OTHER`."""
    # Only the path's first bytes decide, so they are what is remembered: a bounded key.
    return _platform_of_head(path[:_PREFIX_LENGTH])


@functools.lru_cache(maxsize=512)  # the journal asks for every call it moves: one look-up, not a loop
def _platform_of_head(head: str) -> str:
    for d in DIALECTS:
        if head.startswith(d.platform_prefixes):
            return d.name
    return OTHER


def without_gateway(path: str) -> str:
    """``path`` without a platform gateway's prefix (``/openapi/v7/x`` as ``/v7/x``); others unchanged."""
    for d in DIALECTS:
        if (bare := d.without_gateway(path)) != path:
            return bare
    return path
