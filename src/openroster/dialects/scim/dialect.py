"""The SCIM 2.0 dialect: how a SCIM call runs through the pipeline, and how the server answers on
``/scim/v2``.

A caller sends ``Authorization: Bearer <client_secret>`` of an app holding the ``scim`` scope (the
app's tenant is the SCIM tenant); bodies are ``application/scim+json`` (``application/json`` too);
replies carry the HTTP status of RFC 7644 and its error bodies (``errors.py``).
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

import orjson
from starlette.requests import Request
from starlette.responses import Response

import openroster.dialects.scim.routes  # noqa: F401  (registers every route)
from openroster.core.directory import Directory, Reader
from openroster.core.tenancy import apps
from openroster.dialects import nul
from openroster.dialects.base import Dialect, Exchange, FaultReply, InjectedError, Refusal, credential_attempt
from openroster.dialects.raw import RawRequest, header
from openroster.dialects.scim import MEDIA_TYPE, PREFIX
from openroster.dialects.scim.endpoint import ROUTES, Call, Reply, Route
from openroster.dialects.scim.errors import ScimError, ScimType, bad, error_body, from_core
from openroster.model.entities import SCIM_SCOPE, App, Platform
from openroster.model.errors import AuthError, CoreError

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JSON_TYPES = frozenset({MEDIA_TYPE, "application/json"})
#: How many bearer digests a process remembers the app of (beyond that it starts over).
_KNOWN_MAX = 10_000


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class ScimDialect(Dialect[App, Route]):
    name = "scim"
    platform_prefixes = (PREFIX + "/",)
    owned_prefixes = platform_prefixes
    owned_paths = frozenset({PREFIX})
    mounts = (PREFIX,)
    call_type = Call
    routes = ROUTES
    error_types = (ScimError, CoreError)

    def __init__(self) -> None:
        #: The client id each bearer (by its digest) was last found to be the secret of.
        self._known: dict[bytes, str] = {}

    def _bearer(self, headers: Any) -> str | None:
        kind, _, value = (header(headers, b"authorization") or "").partition(" ")
        return value.strip() if kind.lower() == "bearer" and value.strip() else None

    def caller_id(self, d: Directory, call: RawRequest) -> str | None:
        token = self._bearer(call.headers)
        return self._known.get(_digest(token)) if token is not None else None

    def openapi(self, route: Route) -> dict[str, Any] | None:
        extra: dict[str, Any] = {}
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in ("id",)
            if "{" + p + "}" in route.path
        ]
        params += [
            {"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in route.query
        ]
        if params:
            extra["parameters"] = params
        if route.method in _BODY_METHODS:
            extra["requestBody"] = {
                "required": True,
                "content": {t: {"schema": {"type": "object"}} for t in sorted(_JSON_TYPES)},
            }
        return extra or None

    # -- the pipeline's steps -------------------------------------------------------------------

    def too_large(self, message: str) -> Exception:
        return ScimError(413, message)

    def credentials(self, x: Exchange[Route]) -> str:
        token = self._bearer(x.request.headers.raw)
        if token is None:
            raise ScimError(401, "Authorization: Bearer <token> is required")
        return token

    def authenticate(self, x: Exchange[Route], credentials: str, reader: Reader) -> App:
        """The app whose secret the bearer is. A bearer this process has seen is checked against its
        app alone; any other is looked for under the credential throttle, so a wrong one spends the
        source address's budget of failures like a wrong secret at a token endpoint."""
        key = _digest(credentials)
        hint = self._known.get(key)
        app = apps.app_by_secret(reader, credentials, platform=Platform.SCIM, hint=hint, search=False)
        if app is None:

            def search() -> App:
                found = apps.app_by_secret(reader, credentials, platform=Platform.SCIM)
                if found is None:
                    raise AuthError("the bearer token is not valid", reason="invalid_client")
                return found

            try:
                app = credential_attempt(x.request, search, client_id=f"scim-bearer:{key[:6].hex()}")
            except AuthError:
                raise ScimError(401, "the bearer token is not valid") from None
            if len(self._known) >= _KNOWN_MAX:
                self._known.clear()
            self._known[key] = app.client_id
        return app

    def actor(self, principal: App) -> str:
        return principal.client_id

    def authorize(self, x: Exchange[Route], principal: App) -> None:
        if SCIM_SCOPE not in principal.scopes:
            raise ScimError(403, f"the app lacks scope {SCIM_SCOPE}")

    def parse(self, x: Exchange[Route], principal: App) -> Any:
        request = x.request
        where = nul.in_params(((k, str(v)) for k, v in request.path_params.items()), "path segment") or (
            nul.in_params(request.query_params.multi_items()) if request.scope["query_string"] else None
        )
        if where is not None:
            raise bad(nul.message(where))
        if x.route.method not in _BODY_METHODS:
            return None
        kind = (request.headers.get("content-type") or MEDIA_TYPE).split(";")[0].strip().lower()
        if kind not in _JSON_TYPES:
            raise ScimError(415, f"the body must be {MEDIA_TYPE} or application/json, not {kind}")
        if (where := nul.in_json(x.body)) is not None:
            raise bad(nul.message(where))
        try:
            return orjson.loads(x.body)
        except orjson.JSONDecodeError:
            raise bad("the body is not valid JSON", ScimType.INVALID_SYNTAX) from None

    def render(self, x: Exchange[Route], result: Any) -> Response:
        return cast(Reply, result).response()

    def error_reply(self, x: Exchange[Route], exc: Exception) -> Response:
        return (from_core(exc) if isinstance(exc, CoreError) else cast(ScimError, exc)).response()

    # -- the server's answers on SCIM paths -----------------------------------------------------

    def refusal(self, path: str, status: int, message: str) -> Refusal:
        return Refusal(status, error_body(status, message), MEDIA_TYPE)

    def fault_reply(self, path: str, fault: InjectedError, request_id: str) -> FaultReply:
        code, message, status, retry_after = fault
        http = status or (code if 400 <= code <= 599 else 500)
        return FaultReply(
            http, error_body(http, message or f"injected error {code}"), MEDIA_TYPE, retry_after
        )

    def http_error(self, request: Request, status: int, message: str) -> Response:
        return ScimError(status, message, ScimType.INVALID_SYNTAX if status == 400 else None).response()

    def internal_error(self, request: Request) -> Response:
        return ScimError(500, "internal error; the server log has the details").response()


SCIM = ScimDialect()
