"""How a WPS endpoint runs: body limit, authentication, scope, parsing, envelope.

Handlers are plain functions ``(call, body) -> data`` registered with
:func:`route`; they return the reply's ``data`` as a JSON-able value or as
pre-rendered bytes. Every route is served under ``/v7``, ``/openapi/v7`` and
``/graph/v7``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from openroster.core.directory import Directory, Reader
from openroster.core.runtime import limits
from openroster.core.runtime.throttle import LocalRateLimiter, RateLimiter, rate_for
from openroster.dialects import arrival, nul
from openroster.dialects.body import read_limited_body
from openroster.dialects.openapi import body_schema
from openroster.dialects.wps import throttling
from openroster.dialects.wps.auth import authenticate, token_endpoint
from openroster.dialects.wps.errors import Code, WpsError, from_core
from openroster.model.entities import App
from openroster.model.errors import CoreError, ScopeMissing
from openroster.model.rate import Rate

PREFIXES: tuple[str, ...] = ("/v7", "/openapi/v7", "/graph/v7")
TOKEN_PATHS: tuple[str, ...] = ("/oauth2/token", "/openapi/oauth2/token", "/graph/oauth2/token")

_OK_HEAD = b'{"code":0,"msg":"","data":'
_JSON = "application/json"


@dataclass(slots=True)
class Call:
    """What a handler gets: the authenticated app, its tenant and an open read transaction."""

    directory: Directory
    reader: Reader
    app: App
    request: Request

    @property
    def tenant_id(self) -> str:
        return self.app.tenant_id

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])


Handler = Callable[[Call, Any], Any]


@dataclass(frozen=True, slots=True)
class Whole:
    """A handler's reply already in the success envelope (its data wrapped in ``ENVELOPE``).

    For large replies: the handler renders the envelope with its data, so the
    reply is not copied once more to wrap it.
    """

    body: bytes


#: What a handler returning :class:`Whole` puts before and after its data.
ENVELOPE: tuple[bytes, bytes] = (_OK_HEAD, b"}")


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    scopes: tuple[str, ...]
    body: type[BaseModel] | None
    summary: str
    query: tuple[str, ...] = ()


ROUTES: list[Route] = []

#: The query parameters WPS endpoints read, as the OpenAPI document describes them.
QUERY_PARAMS: dict[str, dict[str, Any]] = {
    "status": {
        "description": "Statuses to return (repeat the parameter or separate with commas); default: all.",
        "schema": {"type": "array", "items": {"type": "string"}},
        "style": "form",
        "explode": True,
    },
    "page_size": {
        "description": f"Items per page: default {limits.PAGE_SIZE_DEFAULT}, at most {limits.PAGE_SIZE_MAX}.",
        "schema": {"type": "integer", "minimum": 1, "maximum": limits.PAGE_SIZE_MAX},
    },
    "page_token": {"description": "The previous page's next_page_token.", "schema": {"type": "string"}},
    "with_dept": {"description": "Add depts[] to each user.", "schema": {"type": "boolean"}},
    "with_total": {"description": "Add total to the page.", "schema": {"type": "boolean"}},
    "recursive": {
        "description": "Every department below, not only the direct ones.",
        "schema": {"type": "boolean"},
    },
    "with_user_detail": {"description": "Add each member's user fields.", "schema": {"type": "boolean"}},
}
#: The path segments of WPS endpoints: department ids are positive integers, sent as decimal strings.
PATH_PARAMS: dict[str, dict[str, Any]] = {
    "dept_id": {"type": "string", "pattern": "^[1-9][0-9]{0,17}$"},
    "user_id": {"type": "string", "minLength": 1, "maxLength": 64},
}
_PATH_PARAM = re.compile(r"{(\w+)}")


def route(
    method: str,
    path: str,
    *,
    scopes: tuple[str, ...],
    body: type[BaseModel] | None = None,
    summary: str = "",
    query: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Register a handler. ``scopes``: the app needs any one of them; ``query``: the parameters it reads."""

    def register(fn: Handler) -> Handler:
        unknown = [q for q in query if q not in QUERY_PARAMS] + [
            p for p in _PATH_PARAM.findall(path) if p not in PATH_PARAMS
        ]
        if unknown:
            raise ValueError(f"{method} {path}: undocumented parameters {unknown}")
        summary_ = summary or (fn.__doc__ or "").strip().split("\n")[0]
        ROUTES.append(Route(method, path, fn, scopes, body, summary_, query))
        return fn

    return register


def _parameters(r: Route) -> list[dict[str, Any]]:
    """The OpenAPI parameters of a route: its path segments, then its query parameters."""
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMS[name]}
        for name in _PATH_PARAM.findall(r.path)
    ]
    params += [{"name": name, "in": "query", "required": False, **QUERY_PARAMS[name]} for name in r.query]
    return params


def _scope_ok(app: App, wanted: tuple[str, ...]) -> bool:
    if not wanted:
        return True
    held = app.scopes
    # Private deployments spell the contacts scopes "kso.contacts.*".
    return any(s in held or s.replace("kso.contact.", "kso.contacts.") in held for s in wanted)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "int", "bool", "list[str]") or "[" in str(part):
            continue  # union member names pydantic adds to the location
        else:
            out += f".{part}" if out else str(part)
    return out


def validation_error(exc: ValidationError) -> WpsError:
    """The WPS error for the first problem pydantic found, naming the field."""
    err = exc.errors(include_url=False)[0]
    kind = err["type"]
    where = _loc(tuple(err["loc"]))
    if kind == "json_invalid":
        detail = err.get("ctx", {}).get("error", "")
        return WpsError(Code.INVALID_REQUEST, f"request body is not valid JSON: {detail}")
    if not where and kind in ("model_type", "model_attributes_type", "dict_type"):
        return WpsError(Code.INVALID_REQUEST, "request body must be a JSON object")
    if kind == "missing":
        return WpsError(Code.MISSING_FIELD, f"{where} is required")
    return WpsError(Code.INVALID_VALUE, f"{where}: {err['msg']}")


def parse_body(model: type[BaseModel], body: bytes) -> BaseModel:
    if not body.strip():
        raise WpsError(Code.INVALID_REQUEST, "request body is empty: send a JSON object")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise validation_error(exc) from None


async def read_body(request: Request) -> bytes:
    return await read_limited_body(request, lambda msg: WpsError(Code.BODY_TOO_LARGE, msg))


def _nul_in(request: Request, body: bytes) -> str | None:
    """Where a NUL character is in the request's path, query or JSON body (see ``dialects/nul.py``)."""
    return (
        nul.in_params(((k, str(v)) for k, v in request.path_params.items()), "path segment")
        or (nul.in_params(request.query_params.multi_items()) if request.scope["query_string"] else None)
        or nul.in_json(body)
    )


def ok(data: Any) -> Response:
    if type(data) is Whole:
        return Response(data.body, media_type=_JSON)
    payload = data if isinstance(data, bytes) else orjson.dumps(data)
    return Response(b"".join((_OK_HEAD, payload, b"}")), media_type=_JSON)  # one copy of a large reply


def _endpoint(r: Route, rate: Rate | None, limiter: RateLimiter) -> Callable[[Request], Any]:
    endpoint_name = f"{r.method} /v7{r.path}"

    async def endpoint(request: Request) -> Response:
        arrived = arrival.arrived(request.scope)  # reads see every write acknowledged before this
        d: Directory = request.app.state.directory
        try:
            body = await read_body(request)
            with d.reader(fresh_after=arrived) as reader:
                app = authenticate(request, body, reader)
                if rate is not None:
                    throttling.check(
                        limiter, rate, client_id=app.client_id, endpoint=endpoint_name, now=d.clock.now()
                    )
                if not _scope_ok(app, r.scopes):
                    raise from_core(
                        ScopeMissing(f"the app lacks scope {' or '.join(r.scopes)}", scope=r.scopes[0])
                    )
                if (where := _nul_in(request, body)) is not None:
                    raise WpsError(Code.INVALID_VALUE, nul.message(where))
                parsed = parse_body(r.body, body) if r.body is not None else None
                data = r.handler(Call(d, reader, app, request), parsed)
            return ok(data)
        except WpsError as exc:
            return exc.response()
        except CoreError as exc:
            return from_core(exc).response()

    endpoint.__name__ = r.handler.__name__
    return endpoint


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


def mount(api: FastAPI, *, rate_limits: str = "", limiter: RateLimiter | None = None) -> None:
    """Add the token endpoint and every registered route under all three prefixes.

    ``rate_limits`` adds to or overrides the default rates (see ``throttling.py``);
    ``limiter`` counts the calls (default: in this process).
    """
    rates = throttling.route_rates(rate_limits, (f"{r.method} {r.path}" for r in ROUTES))
    limiter = limiter or LocalRateLimiter()
    for i, path in enumerate(TOKEN_PATHS):
        api.add_api_route(
            path,
            token_endpoint,
            methods=["POST"],
            include_in_schema=i == 0,
            tags=["wps"],
            summary="Exchange client credentials for an access token",
            openapi_extra=_TOKEN_BODY,
        )
    for r in ROUTES:
        extra: dict[str, Any] = {}
        if params := _parameters(r):
            extra["parameters"] = params
        if r.body is not None:
            extra["requestBody"] = {
                "required": True,
                "content": {_JSON: {"schema": body_schema(r.body)}},
            }
        for i, prefix in enumerate(PREFIXES):
            api.add_api_route(
                prefix + r.path,
                _endpoint(r, rate_for(rates, r.method, r.path), limiter),
                methods=[r.method],
                include_in_schema=i == 0,
                openapi_extra=extra or None,
                summary=r.summary,
                tags=["wps"],
                name=f"wps{prefix}{r.path}",
            )
