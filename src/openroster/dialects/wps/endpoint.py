"""The WPS routes and what their handlers get and return.

Handlers are plain functions ``(call, body) -> data`` registered with
:func:`route`; they return the reply's ``data`` as a JSON-able value or as
pre-rendered bytes. Every route is served under ``/v7``, ``/openapi/v7`` and
``/graph/v7``. How a request reaches them is the WPS dialect's (``dialect.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from openroster.core.runtime import limits
from openroster.dialects import ambiguity, base
from openroster.dialects.validation import (
    AMBIGUOUS,
    FAST_READERS,
    FastReader,
    fast_read,
    first_error,
    message,
)
from openroster.dialects.wps.errors import Code, WpsError
from openroster.model.entities import App

_OK_HEAD = b'{"code":0,"msg":"","data":'
_JSON = "application/json"


#: What a handler gets: the authenticated app, its tenant and an open read transaction.
Call = base.AppCall

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
class Route(base.Route):
    """A WPS route: the app needs any one of its ``scopes``."""

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.permissions


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
    writes: bool = False,
    fast: FastReader | None = None,
) -> Callable[[Handler], Handler]:
    """Register a handler. ``scopes``: the app needs any one of them; ``query``: the parameters it
    reads; ``writes``: the handler writes (it runs on the store's writers); ``fast``: the
    ``body`` model's fast reader (``validation.FAST_READERS``), whose values the handler takes too."""

    def register(fn: Handler) -> Handler:
        unknown = [q for q in query if q not in QUERY_PARAMS] + [
            p for p in _PATH_PARAM.findall(path) if p not in PATH_PARAMS
        ]
        if unknown:
            raise ValueError(f"{method} {path}: undocumented parameters {unknown}")
        summary_ = summary or (fn.__doc__ or "").strip().split("\n")[0]
        ROUTES.append(Route(method, path, fn, scopes, body, summary_, query, writes))
        if fast is not None and body is not None:
            FAST_READERS[body] = fast
        return fn

    return register


def parameters(r: Route) -> list[dict[str, Any]]:
    """The OpenAPI parameters of a route: its path segments, then its query parameters."""
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMS[name]}
        for name in _PATH_PARAM.findall(r.path)
    ]
    params += [{"name": name, "in": "query", "required": False, **QUERY_PARAMS[name]} for name in r.query]
    return params


def _canonical_scope(scope: str) -> str:
    # Private deployments spell the contacts scopes "kso.contacts.*".
    return scope.replace("kso.contacts.", "kso.contact.", 1)


def holds_scope(held: frozenset[str], scope: str) -> bool:
    """Whether scopes ``held`` grant ``scope``: itself (either contacts spelling), or its readwrite."""
    if scope in held:  # the common case, on every call: no set built
        return True
    want = _canonical_scope(scope)
    have = {_canonical_scope(s) for s in held}
    return want in have or (want.endswith(".read") and want.removesuffix(".read") + ".readwrite" in have)


def scope_ok(app: App, wanted: tuple[str, ...]) -> bool:
    """Whether the app may call a route that needs any one of ``wanted`` (none: any app)."""
    return not wanted or any(holds_scope(app.scopes, s) for s in wanted)


def validation_error(exc: ValidationError) -> WpsError:
    """The WPS error for the first problem pydantic found, naming the field."""
    err, where = first_error(exc)
    kind = err["type"]
    if kind == "json_invalid":
        detail = err.get("ctx", {}).get("error", "")
        return WpsError(Code.INVALID_REQUEST, f"request body is not valid JSON: {detail}")
    if not where and kind in ("model_type", "model_attributes_type", "dict_type"):
        return WpsError(Code.INVALID_REQUEST, "request body must be a JSON object")
    if kind == AMBIGUOUS:
        return WpsError(Code.INVALID_REQUEST, message(err, where))
    if kind == "missing":
        return WpsError(Code.MISSING_FIELD, f"{where} is required")
    return WpsError(Code.INVALID_VALUE, f"{where}: {err['msg']}")


def parse_body(model: type[BaseModel], body: bytes) -> Any:
    """The body as ``model`` (or as its fast reader reads it); a body pydantic takes is refused
    still when it gives a key twice (checked after, so a body refused anyway is not parsed again)."""
    if not body.strip():
        raise WpsError(Code.INVALID_REQUEST, "request body is empty: send a JSON object")
    parsed = _fast(model, body)
    if parsed is None:
        try:
            parsed = model.model_validate_json(body)
        except ValidationError as exc:
            raise validation_error(exc) from None
    try:
        repeated = ambiguity.repeated_key(body)
    except ambiguity.Unchecked as exc:
        raise WpsError(Code.INVALID_REQUEST, str(exc)) from None
    if repeated is not None:
        raise WpsError(Code.INVALID_REQUEST, repeated.message())
    return parsed


def _fast(model: type[BaseModel], body: bytes) -> Any:
    """``model``'s fast reader's value of ``body``; None without one, or for a body it leaves to
    the model (not JSON as orjson reads it, or not of the usual shape: the model's errors)."""
    if model not in FAST_READERS:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return fast_read(model, data)


def ok(data: Any) -> Response:
    if type(data) is Whole:
        return Response(data.body, media_type=_JSON)
    payload = data if isinstance(data, bytes) else orjson.dumps(data)
    return Response(b"".join((_OK_HEAD, payload, b"}")), media_type=_JSON)  # one copy of a large reply
