"""What a platform call is, read from the raw request: its dialect and the app that sent it.

The journal and fault rules both need this; neither may slow down the calls
they watch, so everything here works on the raw ASGI pieces and is only asked
for when a journal is read or a fault rule needs it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from openroster.core.directory import Directory, Reader
from openroster.model.errors import CoreError

WPS = "wps"
DINGTALK = "dingtalk"
OTHER = "other"
DIALECTS: tuple[str, ...] = (WPS, DINGTALK, OTHER)

#: The control plane's own namespace; never journaled, never faulted.
CONTROL_PREFIX = "/_openroster"
#: Server pages that are no platform API.
_NOT_PLATFORM_PREFIXES: tuple[str, ...] = (CONTROL_PREFIX, "/_bench")
_NOT_PLATFORM_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc", "/favicon.ico"})

_WPS_ROOTS: tuple[str, ...] = ("/v7/", "/openapi/", "/graph/", "/oauth2/")
#: The WPS gateway prefixes of private deployments (``/openapi/v7`` is ``/v7``).
WPS_GATEWAYS: tuple[str, ...] = ("/openapi", "/graph")
_DINGTALK_ROOTS: tuple[str, ...] = (
    "/gettoken",
    "/topapi/",
    "/user/",
    "/department/",
    "/v1.0/",
    "/v2.0/",
    "/sns/",
    "/auth/",
    "/attendance/",
    "/message/",
    "/chat/",
    "/media/",
    "/process/",
    "/robot/",
    "/service/",
)

Headers = Sequence[tuple[bytes, bytes]]


def is_platform(path: str) -> bool:
    """Whether a request to ``path`` is a platform call (not the control plane or the docs)."""
    return not path.startswith(_NOT_PLATFORM_PREFIXES) and path not in _NOT_PLATFORM_PATHS


def dialect_of(path: str) -> str:
    if path.startswith(_WPS_ROOTS):
        return WPS
    if path.startswith(_DINGTALK_ROOTS):
        return DINGTALK
    return OTHER


def without_gateway(path: str) -> str:
    """``/openapi/v7/x`` and ``/graph/v7/x`` as ``/v7/x``; other paths unchanged."""
    for prefix in WPS_GATEWAYS:
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path


def header(headers: Headers, name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def form_or_query(raw: bytes) -> dict[str, str]:
    """``a=1&b=2`` as a dict (the last value of a repeated name wins); junk gives ``{}``."""
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return {}


def is_form(headers: Headers) -> bool:
    ctype = header(headers, b"content-type") or ""
    return ctype.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class RawCall:
    """The pieces of a request the journal keeps, and fault rules look at."""

    method: str
    path: str
    query: bytes
    headers: Headers
    body: bytes

    @property
    def dialect(self) -> str:
        return dialect_of(self.path)


def app_of(d: Directory, call: RawCall) -> str | None:
    """The client id of the app that sent ``call``, as far as its credentials tell (valid or not)."""
    dialect = call.dialect
    if dialect == WPS:
        return _wps_app(d, call)
    if dialect == DINGTALK:
        return _dingtalk_app(d, call)
    return None


def _wps_app(d: Directory, call: RawCall) -> str | None:
    auth = header(call.headers, b"authorization") or ""
    kind, _, value = auth.partition(" ")
    if call.path.endswith("/oauth2/token"):
        if kind.lower() == "basic":
            try:
                cid, _sep, _secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return cid or None
        return form_or_query(call.body).get("client_id") or None
    if kind.lower() == "bearer" and value.strip():
        try:
            return d.wps_tokens.open(value.strip())[0]
        except CoreError:
            pass
    for name in (b"x-kso-authorization", b"wps-docs-authorization"):
        signed = header(call.headers, name)
        if signed:  # "<scheme> <access key>:<signature>": the access key is the client id
            access_key = signed.strip().partition(" ")[2].partition(":")[0]
            if access_key:
                return access_key
    return None


def _dingtalk_app(d: Directory, call: RawCall) -> str | None:
    query = form_or_query(call.query)
    if call.path == "/gettoken":
        return query.get("appkey") or query.get("corpid") or None
    token = query.get("access_token")
    if not token and is_form(call.headers):
        token = form_or_query(call.body).get("access_token")
    if not token:
        return None
    from openroster.dialects.dingtalk import tokens as dingtalk_tokens

    with d.reader() as r:
        return dingtalk_tokens.client_id_of(r, token)


def tenant_of(r: Reader, client_id: str | None) -> str | None:
    if client_id is None:
        return None
    app = r.app(client_id)
    return app.tenant_id if app is not None else None
