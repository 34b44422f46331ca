"""The DingTalk ``/v1.0`` dialect: how a new-generation call runs through the pipeline, and the
server's answers on ``/v1.0/`` paths.

The token is the ``x-acs-dingtalk-access-token`` header (the query's ``access_token`` and
``Authorization`` are not looked at); a route needs one permission; bodies are camelCase JSON, a
``GET`` reads the query string (``endpoint.py``). Success is HTTP 200 with a JSON object; a
failure is a 4xx / 5xx status with ``{code, message, requestid}`` (``errors.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

import openroster.dialects.dingtalk_v1.roster_fields  # noqa: F401  (it registers routes)
from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.runtime.throttle import RateLimiter, per_route
from openroster.dialects import nul
from openroster.dialects.base import Admission, Exchange, FaultReply, InjectedError, Refusal
from openroster.dialects.dingtalk import tokens as dingtalk_tokens
from openroster.dialects.dingtalk.endpoint import Call, Caller, TokenDialect
from openroster.dialects.dingtalk_v1 import PREFIX, TOKEN_HEADER, auth, contact, dismission, hrm, throttling  # noqa: F401  (they register routes)
from openroster.dialects.dingtalk_v1.endpoint import (
    ROUTES,
    Envelope,
    Route,
    json_fields,
    query_fields,
    reply,
    validate,
)
from openroster.dialects.dingtalk_v1.errors import (
    FAULT_CODES,
    INVALID_PARAMETER,
    MISSING_TOKEN,
    NOT_FOUND,
    SYSTEM_ERROR,
    TEXT,
    V1Error,
    from_core,
    new_request_id,
)
from openroster.dialects.openapi import body_schema
from openroster.dialects.raw import RawRequest, header
from openroster.model.errors import CoreError
from openroster.model.rate import Rate

_JSON = "application/json"
_TOKEN_HEADER = TOKEN_HEADER.encode()
#: The codes of the server's own refusals before the app runs (a malformed, late or oversized request).
_REFUSAL_CODES = {408: "RequestTimeout", 413: "RequestEntityTooLarge", 431: "RequestHeaderFieldsTooLarge"}


def _rates(overrides: str) -> dict[str, Rate | None]:
    return throttling.route_rates(overrides, (f"{r.method} {r.path}" for r in ROUTES))


def validate_rates(overrides: str) -> None:
    """Raise ValueError when ``overrides`` is not a valid rate spec for the ``/v1.0`` calls."""
    _rates(overrides)


def _throttle(limiter: RateLimiter, rate: Rate, endpoint: str) -> Admission:
    def admit(principal: Caller, d: Directory) -> None:
        throttling.check(
            limiter, rate, client_id=principal.app.client_id, endpoint=endpoint, now=d.clock.now()
        )

    return admit


class DingTalkV1Dialect(TokenDialect[Route]):
    name = "dingtalk_v1"
    platform_prefixes = (PREFIX,)
    owned_prefixes = (PREFIX,)
    single_headers = frozenset({_TOKEN_HEADER, b"content-type"})
    call_type = Call
    routes = ROUTES
    error_types = (V1Error, CoreError)

    def caller_id(self, d: Directory, call: RawRequest) -> str | None:
        """The app the token header was issued to (expired or not); at the token calls and Stream's
        ``connections/open``, which come before a token, the app their body names."""
        named = auth.app_named(call.path, call.body)
        if named is not None:
            return named or None
        return dingtalk_tokens.caller_of(d, header(call.headers, _TOKEN_HEADER))

    # -- mounting -------------------------------------------------------------------------------

    def mount_own(self, api: FastAPI) -> None:
        auth.mount(api)

    def openapi(self, route: Route) -> dict[str, Any] | None:
        token = {"name": TOKEN_HEADER, "in": "header", "required": True, "schema": {"type": "string"}}
        params: list[dict[str, Any]] = [token]
        params += [{"name": q, "in": "query", "schema": {"type": "string"}} for q in route.query]
        extra: dict[str, Any] = {"parameters": params}
        if route.body is not None and route.method != "GET":
            schema = body_schema(route.body)
            extra["requestBody"] = {"required": True, "content": {_JSON: {"schema": schema}}}
        return extra

    def admissions(self, settings: Settings, limiter: RateLimiter) -> Mapping[tuple[str, str], Admission]:
        """The rate limits (20 calls/s per app and API, and ``settings.dingtalk_v1_rate_limits``)."""
        return per_route(
            ((r.method, r.path) for r in ROUTES),
            _rates(settings.dingtalk_v1_rate_limits),
            lambda rate, m, p: _throttle(limiter, rate, f"{m} {p}"),
        )

    # -- the pipeline's steps -------------------------------------------------------------------

    def request_id(self) -> str | None:
        return new_request_id()

    def too_large(self, message: str) -> Exception:
        return V1Error("RequestEntityTooLarge", message, status=413, text="请求体过大")

    def credentials(self, x: Exchange[Route]) -> str:
        token = header(x.request.scope["headers"], _TOKEN_HEADER) or ""  # starlette's Headers not made
        if not token.strip():
            raise V1Error(MISSING_TOKEN)
        return token

    def parse(self, x: Exchange[Route], principal: Caller) -> Any:
        invalid, model = x.route.invalid, x.route.body
        # The query's parameters parsed only when there is a query (a POST's usually has none).
        params = x.request.query_params if x.request.scope["query_string"] else None
        if x.route.method == "GET":
            fields = query_fields(params or {}, invalid=invalid)
        else:
            fields = json_fields(x.body, invalid=invalid)
        where = nul.in_params(params.multi_items()) if params is not None else None
        if where is None and nul.may_hold(x.body):
            where = nul.where(fields)
        if where is not None:
            raise V1Error(invalid, nul.message(where))
        return validate(model, fields, invalid=invalid) if model is not None else None

    def render(self, x: Exchange[Route], result: Any) -> Response:
        if isinstance(result, Envelope):
            result = result.body(x.request_id)
        return reply(result)

    def error_reply(self, x: Exchange[Route], exc: Exception) -> Response:
        if isinstance(exc, CoreError):
            exc = from_core(exc, invalid=x.route.invalid)
        return cast(V1Error, exc).response(x.request_id)

    # -- the server's answers on /v1.0 paths ----------------------------------------------------

    def refusal(self, path: str, status: int, message: str) -> Refusal:
        error = V1Error(_REFUSAL_CODES.get(status, INVALID_PARAMETER), message, status=status)
        return Refusal(status, error.body(None))

    def fault_reply(self, path: str, fault: InjectedError, request_id: str) -> FaultReply:
        code = FAULT_CODES.get(fault.code, SYSTEM_ERROR)
        status = fault.status or TEXT[code][0]
        error = V1Error(code, status=status, text=fault.message)
        return FaultReply(status, error.body(request_id), retry_after=fault.retry_after)

    def http_error(self, request: Request, status: int, message: str) -> Response:
        if status in (404, 405):
            return V1Error(NOT_FOUND).response(None)
        refused = self.refusal(request.url.path, 400, message)
        return Response(refused.body, status_code=refused.status, media_type=refused.media_type)

    def internal_error(self, request: Request) -> Response:
        return V1Error(SYSTEM_ERROR).response(None)


DINGTALK_V1 = DingTalkV1Dialect()
