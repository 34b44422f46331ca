"""The WPS dialect: how a WPS call runs through the pipeline, and how the server answers on WPS paths.

A caller sends a bearer token in ``Authorization`` (and a KSO-1 / WPS-4 signature
when its app signs, ``auth.py``); bodies are JSON; a route needs any one of its
scopes; some routes are rate-limited per app (``throttling.py``). Replies are
``{code, msg, data}`` with the HTTP status in the code's first three digits
(``errors.py``). WPS also answers on paths no dialect owns (the registry's
fallback).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, cast

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

import openroster.dialects.wps.routes  # noqa: F401  (registers every route)
from openroster.config import Settings
from openroster.core.directory import Directory, Reader
from openroster.core.runtime.throttle import RateLimiter, per_route
from openroster.dialects import nul
from openroster.dialects.base import Admission, Dialect, Exchange, FaultReply, InjectedError, Refusal
from openroster.dialects.openapi import body_schema
from openroster.dialects.raw import RawRequest, form_or_query, header
from openroster.dialects.wps import (
    GATEWAYS,
    PREFIXES,
    TOKEN_PATH,
    TOKEN_PATHS,
    VERSION_PREFIX,
    signing,
    throttling,
)
from openroster.dialects.wps.auth import authenticate, token_endpoint
from openroster.dialects.wps.endpoint import ROUTES, Call, Route, ok, parameters, parse_body, scope_ok
from openroster.dialects.wps.errors import (
    FAULT_MESSAGES,
    Code,
    WpsError,
    envelope,
    error_response,
    from_core,
    http_status,
)
from openroster.model.entities import App
from openroster.model.errors import CoreError, ScopeMissing
from openroster.model.rate import Rate

_JSON = "application/json"

#: The codes of the refusals the server writes before the app runs (``server/guard.py``).
_REFUSAL_CODES: dict[int, Code] = {
    400: Code.INVALID_REQUEST,
    408: Code.REQUEST_TIMEOUT,
    413: Code.BODY_TOO_LARGE,
    431: Code.HEADERS_TOO_LARGE,
}

_TOKEN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "scope": {"type": "string", "description": "Scopes, separated by spaces or commas."},
                    },
                    "required": ["grant_type", "client_id", "client_secret"],
                }
            }
        },
    }
}


def _rates(overrides: str) -> dict[str, Rate | None]:
    return throttling.route_rates(overrides, (f"{r.method} {r.path}" for r in ROUTES))


def validate_rates(overrides: str) -> None:
    """Raise ValueError when ``overrides`` is not a valid rate spec for the WPS endpoints."""
    _rates(overrides)


def _throttle(limiter: RateLimiter, rate: Rate, endpoint: str) -> Admission:
    def admit(app: App, d: Directory) -> None:
        throttling.check(limiter, rate, client_id=app.client_id, endpoint=endpoint, now=d.clock.now())

    return admit


def _nul_in(request: Request, body: bytes) -> str | None:
    """Where a NUL character is in the request's path, query or JSON body (see ``dialects/nul.py``)."""
    return (
        nul.in_params(((k, str(v)) for k, v in request.path_params.items()), "path segment")
        or (nul.in_params(request.query_params.multi_items()) if request.scope["query_string"] else None)
        or nul.in_json(body)
    )


class WpsDialect(Dialect[App, Route]):
    name = "wps"
    platform_prefixes = (VERSION_PREFIX + "/", *(g + "/" for g in GATEWAYS), "/oauth2/")
    owned_prefixes = platform_prefixes
    mounts = PREFIXES
    gateways = GATEWAYS
    #: Besides ``Authorization`` and ``Content-Type``, the signature and its date (every scheme's).
    single_headers = Dialect.single_headers | {
        n.lower().encode() for h in signing.HEADERS.values() for n in (h.date, h.authorization)
    }
    call_type = Call
    routes = ROUTES
    error_types = (WpsError, CoreError)

    def caller_id(self, d: Directory, call: RawRequest) -> str | None:
        """The token request's client id, the bearer token's app, or a signature's access key."""
        auth = header(call.headers, b"authorization") or ""
        kind, _, value = auth.partition(" ")
        if call.path.endswith(TOKEN_PATH):
            if kind.lower() == "basic":
                try:
                    cid, _sep, _secret = (
                        base64.b64decode(value.strip(), validate=True).decode().partition(":")
                    )
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

    # -- mounting -------------------------------------------------------------------------------

    def mount_own(self, api: FastAPI) -> None:
        for i, path in enumerate(TOKEN_PATHS):
            api.add_api_route(
                path,
                token_endpoint,
                methods=["POST"],
                include_in_schema=i == 0,
                tags=[self.name],
                summary="Exchange client credentials for an access token",
                openapi_extra=_TOKEN_BODY,
            )

    def openapi(self, route: Route) -> dict[str, Any] | None:
        extra: dict[str, Any] = {}
        if params := parameters(route):
            extra["parameters"] = params
        if route.body is not None:
            extra["requestBody"] = {"required": True, "content": {_JSON: {"schema": body_schema(route.body)}}}
        return extra or None

    def admissions(self, settings: Settings, limiter: RateLimiter) -> Mapping[tuple[str, str], Admission]:
        """The rate limits (the defaults and ``settings.wps_rate_limits``), counted per app and route."""
        return per_route(
            ((r.method, r.path) for r in ROUTES),
            _rates(settings.wps_rate_limits),
            lambda rate, m, p: _throttle(limiter, rate, f"{m} {VERSION_PREFIX}{p}"),
        )

    # -- the pipeline's steps -------------------------------------------------------------------

    def too_large(self, message: str) -> Exception:
        return WpsError(Code.BODY_TOO_LARGE, message)

    def authenticate(self, x: Exchange[Route], credentials: None, reader: Reader) -> App:
        return authenticate(x.request, x.body, reader)

    def actor(self, principal: App) -> str:
        return principal.client_id

    def authorize(self, x: Exchange[Route], principal: App) -> None:
        wanted = x.route.permissions
        if not scope_ok(principal, wanted):
            raise from_core(ScopeMissing(f"the app lacks scope {' or '.join(wanted)}", scope=wanted[0]))

    def parse(self, x: Exchange[Route], principal: App) -> Any:
        if (where := _nul_in(x.request, x.body)) is not None:
            raise WpsError(Code.INVALID_VALUE, nul.message(where))
        return parse_body(x.route.body, x.body) if x.route.body is not None else None

    def render(self, x: Exchange[Route], result: Any) -> Response:
        return ok(result)

    def error_reply(self, x: Exchange[Route], exc: Exception) -> Response:
        return (from_core(exc) if isinstance(exc, CoreError) else cast(WpsError, exc)).response()

    # -- the server's answers on WPS paths (and on paths no dialect owns) -----------------------

    def refusal(self, path: str, status: int, message: str) -> Refusal:
        return Refusal(status, envelope(int(_REFUSAL_CODES[status]), message))

    def fault_reply(self, path: str, fault: InjectedError, request_id: str) -> FaultReply:
        code, message, status, retry_after = fault
        msg = message or FAULT_MESSAGES.get(code, f"error {code}")
        if not path.startswith(self.platform_prefixes):  # a path of no platform: no ``data``
            body = orjson.dumps({"code": code, "msg": msg})
        else:
            body = envelope(code, msg)
            if retry_after is None and http_status(code) == 429:
                retry_after = 1  # as the platform's own 429s say
        return FaultReply(status or http_status(code), body, retry_after=retry_after)

    def http_error(self, request: Request, status: int, message: str) -> Response:
        code = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED}.get(status, Code.INVALID_REQUEST)
        return error_response(code, message)

    def internal_error(self, request: Request) -> Response:
        return error_response(Code.INTERNAL, "internal error; the server log has the details")


WPS = WpsDialect()
