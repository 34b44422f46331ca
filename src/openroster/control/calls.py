"""What a platform call is, read from the raw request: its dialect and the app that sent it.

The journal and fault rules both need this; neither may slow down the calls
they watch, so everything here works on the raw ASGI pieces (``dialects/raw.py``)
and is only asked for when a journal is read or a fault rule needs it. Which
dialect, and how its callers name their app, come from the dialect registry.
"""

from __future__ import annotations

from openroster.core.directory import Directory, Reader
from openroster.dialects import registry
from openroster.dialects.dingtalk.dialect import DINGTALK as DINGTALK_DIALECT
from openroster.dialects.raw import RawRequest
from openroster.dialects.wps.dialect import WPS as WPS_DIALECT

WPS = WPS_DIALECT.name
DINGTALK = DINGTALK_DIALECT.name
OTHER = registry.OTHER
#: The journal's dialect names (every registered dialect's, then ``other``).
DIALECTS: tuple[str, ...] = registry.NAMES

#: The control plane's own namespace; never journaled, never faulted.
CONTROL_PREFIX = "/_openroster"
#: The web console (openroster.console): pages for people, not platform calls.
CONSOLE_PREFIX = "/console"
#: Server pages that are no platform API (``/_bench``: the benchmarks' own endpoints, bench/bare.py).
_NOT_PLATFORM_PREFIXES: tuple[str, ...] = (CONTROL_PREFIX, CONSOLE_PREFIX + "/", "/_bench")
_NOT_PLATFORM_PATHS = frozenset(
    {"/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc", "/favicon.ico", CONSOLE_PREFIX}
)


def is_platform(path: str) -> bool:
    """Whether a request to ``path`` is a platform call (not the control plane or the docs)."""
    return not path.startswith(_NOT_PLATFORM_PREFIXES) and path not in _NOT_PLATFORM_PATHS


#: The journal's dialect of a call to a path: a registered dialect's name, or ``other``.
dialect_of = registry.platform_of
#: ``/openapi/v7/x`` and ``/graph/v7/x`` as ``/v7/x``; other paths unchanged.
without_gateway = registry.without_gateway


def reply_names_secrets(method: str, path: str) -> bool:
    """Whether the reply of a ``method`` call to ``path`` may hold a member under a secret's name:
    unless its route says not (``registry.PLAIN_REPLIES``)."""
    return (method, path) not in registry.PLAIN_REPLIES


class RawCall(RawRequest):
    """A platform call's raw pieces, and the dialect its path belongs to."""

    __slots__ = ()

    @property
    def dialect(self) -> str:
        return dialect_of(self.path)


def app_of(d: Directory, call: RawCall) -> str | None:
    """The client id of the app that sent ``call``, as far as its credentials tell (valid or not)."""
    dialect = registry.named(call.dialect)
    return dialect.caller_id(d, call) if dialect is not None else None


def tenant_of(r: Reader, client_id: str | None) -> str | None:
    if client_id is None:
        return None
    app = r.app(client_id)
    return app.tenant_id if app is not None else None
