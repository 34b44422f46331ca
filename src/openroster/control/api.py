"""The control API under ``/_openroster/``: its own app, OpenAPI document and docs page."""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from openroster import __version__
from openroster.control import apidocs
from openroster.control import schemas as s
from openroster.control import tenants as control_tenants
from openroster.control.plane import ControlPlane, Plane, plane_of, route_group
from openroster.control.runtime_routes import clock_routes, fault_routes, journal_routes
from openroster.core.runtime.secrets import constant_time_equals
from openroster.core.tenancy import apps as app_service
from openroster.core.tenancy import tenants as tenant_service
from openroster.dialects import raw
from openroster.dialects.base import routing_message
from openroster.dialects.openapi import DOCS_PAGES, DOCS_URL, OPENAPI_URL
from openroster.fixtures import snapshot
from openroster.model import errors
from openroster.model.entities import App, Tenant

_bearer = HTTPBearer(auto_error=False, description="The admin token (`openroster serve --admin-token`)")

DESCRIPTION = """\
Control of the emulator: tenants for tests, resets, snapshots, the request journal, fault
injection and the clock. Every call but `health` needs `Authorization: Bearer <admin token>`
(`openroster serve --admin-token`, or the token printed at start). See docs/emulator.md.
"""


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "field": field}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


#: The error codes of routing's HTTP errors (any other status is ``http_error``).
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}

#: HTTP status and error code of each kind of core error (any other kind is ``400 invalid``).
_KIND_ERRORS = {
    errors.ErrorKind.NOT_FOUND: (404, "not_found"),
    errors.ErrorKind.CONFLICT: (409, "conflict"),
    errors.ErrorKind.RULE_VIOLATION: (409, "rule_violation"),
}


def _core_error(exc: errors.CoreError) -> JSONResponse:
    if isinstance(exc, snapshot.UnsupportedSnapshot):
        return _error(400, "unsupported_snapshot_version", exc.message, exc.field)
    status, code = _KIND_ERRORS.get(exc.kind, (400, "invalid"))
    return _error(status, code, exc.message, exc.field)


def require_admin(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    token = plane_of(request).admin_token
    if creds is None or not constant_time_equals(creds.credentials, token):
        raise _Unauthorized


class _Unauthorized(Exception):
    pass


#: What the control plane answers without the admin token: the health check and its own docs
#: (the OpenAPI document describes routes only; it holds no token, secret or tenant data), and
#: the files of the docs pages (under ``apidocs.STATIC_PATH``).
OPEN_PATHS = frozenset({"/health", DOCS_URL, DOCS_URL + apidocs.OAUTH2_REDIRECT, OPENAPI_URL})


_AUTHORIZATION = b"authorization"


class AdminFirst:
    """ASGI: authenticate, then route. A call without the admin token gets 401 whatever its path or
    method, so an unauthenticated caller learns nothing of which routes exist (no 404 or 405)."""

    def __init__(self, app: ASGIApp, plane: ControlPlane) -> None:
        self.app = app
        self.plane = plane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            route_path = path[len(root) :] if root and path.startswith(root) else path
            if (
                route_path not in OPEN_PATHS
                and not route_path.startswith(apidocs.STATIC_PATH)
                and not is_admin(self.plane, scope["headers"])
            ):
                await _unauthorized()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def is_admin(plane: ControlPlane, headers: raw.Headers) -> bool:
    """Whether the request carries the admin token, in one ``Authorization: Bearer`` header."""
    value = raw.header(headers, _AUTHORIZATION)
    if value is None or raw.repeated(headers, (_AUTHORIZATION,)) is not None:
        return False  # none, or two: which would be the caller's?
    kind, _, token = value.partition(" ")
    return kind.lower() == "bearer" and constant_time_equals(token.strip(), plane.admin_token)


def _unauthorized() -> JSONResponse:
    return _error(401, "unauthorized", "send Authorization: Bearer <admin token>")


def unrouted(plane: ControlPlane, request: Request, status: int, detail: str) -> Response:
    """The reply to a control-plane path the server's router did not hand to the control app
    (Starlette's mount does not match a path holding a line break, ``/tenants/%0A/apps``): as the
    control app answers, the admin token first."""
    if not is_admin(plane, request.scope["headers"]):
        return _unauthorized()
    message = routing_message(request.method, request.url.path, status, detail, what="control endpoint")
    return _error(status, _HTTP_CODES.get(status, "http_error"), message)


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": s.ErrorReply, "description": "Invalid request; the message names the field"},
    401: {"model": s.ErrorReply, "description": "Missing or wrong admin token"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": s.ErrorReply, "description": "No such tenant"}}


def build(plane: ControlPlane) -> FastAPI:
    """The control app, to mount at ``/_openroster``, with the routes ``plane.routes`` add."""
    api = FastAPI(
        title="openroster control plane",
        version=__version__,
        description=DESCRIPTION,
        **DOCS_PAGES,
    )
    api.state.plane = plane
    api.add_middleware(AdminFirst, plane=plane)
    apidocs.add_docs_page(api)
    apidocs.add_static_files(api)

    @api.exception_handler(_Unauthorized)
    async def _refuse(request: Request, exc: _Unauthorized) -> Response:
        return _unauthorized()

    @api.exception_handler(errors.CoreError)
    async def _core(request: Request, exc: errors.CoreError) -> Response:
        return _core_error(exc)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        msg = str(first.get("msg", "invalid"))
        return _error(400, "invalid", f"{where}: {msg}" if where else msg, where or None)

    @api.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        status = exc.status_code
        what = "control endpoint"
        message = routing_message(request.method, request.url.path, status, str(exc.detail), what=what)
        return _error(status, _HTTP_CODES.get(status, "http_error"), message)

    @api.get("/health", response_model=s.Health, tags=["server"], summary="Is the server up (no auth)")
    async def health() -> Response:
        return Response(b'{"status":"ok"}', media_type=s.JSON)

    admin = APIRouter(dependencies=[Depends(require_admin)], responses=_ERRORS)
    _server_routes(admin)
    _tenant_routes(admin)
    _snapshot_routes(admin)
    journal_routes(admin)
    fault_routes(admin)
    clock_routes(admin)
    for routes in plane.routes:
        routes(admin)
    api.include_router(admin)
    return api


# -- server ---------------------------------------------------------------------------------


@route_group("server")
def _server_routes(r: APIRouter) -> None:
    @r.get("/version", response_model=s.Version, summary="Server and format versions")
    async def version(plane: Plane) -> s.Version:
        return s.Version(
            version=__version__,
            snapshot_format=snapshot.VERSION,
            journal_size=plane.journal.size,
            journal_entries=len(plane.journal),
            pid=os.getpid(),
        )

    @r.post(
        "/reset",
        response_model=s.EverythingReset,
        summary="Reset everything: every tenant, the journal, the fault rules and the clock",
    )
    async def reset_everything(plane: Plane, body: s.Reset | None = None) -> s.EverythingReset:
        """Every tenant goes back to empty (or, with `to: seed`, to its seed; tenants without one to
        empty), keeping its apps; the journal is emptied, fault rules removed, the clock set back to
        real time."""
        to = body.to if body is not None else "empty"
        ids = snapshot.reset_all(plane.directory, to=to)
        plane.set_clock_offset(0.0)
        return s.EverythingReset(
            tenants=ids, to=to, journal_cleared=plane.journal.clear(), faults_cleared=plane.faults.clear()
        )


# -- tenants --------------------------------------------------------------------------------


def _app_info(a: App) -> s.AppInfo:
    return s.AppInfo(
        client_id=a.client_id,
        name=a.name,
        scopes=sorted(a.scopes),
        signing=a.signing.value,
        agentid=a.agentid,
        platform=a.platform.value,
    )


def _credentials(a: App) -> s.AppCredentials:
    return s.AppCredentials(
        tenant=a.tenant_id,
        client_id=a.client_id,
        client_secret=a.secret,
        scopes=sorted(a.scopes),
        signing=a.signing.value,
        agentid=a.agentid,
        platform=a.platform.value,
    )


def _tenant_info(plane: ControlPlane, t: Tenant) -> s.TenantInfo:
    d = plane.directory
    return s.TenantInfo(
        id=t.id,
        name=t.name,
        wps_company_id=t.wps_company_id,
        dingtalk_corp_id=t.dingtalk_corp_id,
        ctime=t.ctime,
        has_seed=snapshot.seed_of(d, t.id) is not None,
        apps=[_app_info(a) for a in app_service.list_for_tenant(d, t.id)],
    )


def _app_fields(a: s.NewApp) -> dict[str, Any]:
    return {
        "client_id": a.client_id,
        "secret": a.client_secret,
        "name": a.name,
        "scopes": a.scopes,
        "signing": a.signing,
        "agentid": a.agentid,
        "platform": a.platform,
    }


@route_group("tenants")
def _tenant_routes(r: APIRouter) -> None:
    @r.post(
        "/tenants",
        status_code=201,
        response_model=s.CreatedTenant,
        summary="Create a tenant (optionally from a seed, with apps)",
        responses={409: {"model": s.ErrorReply, "description": "The id or a client id is taken"}},
    )
    async def create_tenant(plane: Plane, body: s.NewTenant) -> s.CreatedTenant:
        """One transaction: the tenant with its root department, the seed's contents, the apps. The
        reply carries each app's secret; keep it, it is not shown again."""
        tenant, made = control_tenants.create(
            plane.directory,
            tenant_id=body.id,
            name=body.name,
            wps_company_id=body.wps_company_id,
            dingtalk_corp_id=body.dingtalk_corp_id,
            seed=body.seed,
            apps=[_app_fields(a) for a in body.apps],
        )
        return s.CreatedTenant(tenant=_tenant_info(plane, tenant), apps=[_credentials(a) for a in made])

    @r.get("/tenants", response_model=list[s.TenantInfo], summary="List tenants")
    async def list_tenants(plane: Plane) -> list[s.TenantInfo]:
        return [_tenant_info(plane, t) for t in tenant_service.list_all(plane.directory)]

    @r.get(
        "/tenants/{tenant_id}",
        response_model=s.TenantInfo,
        summary="One tenant",
        responses=_NOT_FOUND,
    )
    async def get_tenant(plane: Plane, tenant_id: str) -> s.TenantInfo:
        return _tenant_info(plane, tenant_service.get(plane.directory, tenant_id))

    @r.delete(
        "/tenants/{tenant_id}",
        status_code=204,
        summary="Delete a tenant and everything in it",
        responses=_NOT_FOUND,
    )
    async def delete_tenant(plane: Plane, tenant_id: str) -> Response:
        tenant_service.delete(plane.directory, tenant_id)
        return Response(status_code=204)

    @r.post(
        "/tenants/{tenant_id}/apps",
        status_code=201,
        response_model=s.AppCredentials,
        summary="Add an app to a tenant",
        responses=_NOT_FOUND,
    )
    async def create_app(plane: Plane, tenant_id: str, body: s.NewApp) -> s.AppCredentials:
        return _credentials(app_service.create(plane.directory, tenant_id=tenant_id, **_app_fields(body)))

    @r.post(
        "/tenants/{tenant_id}/apps/{client_id}/rotate-secret",
        response_model=s.AppCredentials,
        summary="Give an app a new secret; every token issued under the old one stops working",
        responses={404: {"model": s.ErrorReply, "description": "No such tenant or app"}},
    )
    async def rotate_secret(
        plane: Plane, tenant_id: str, client_id: str, body: s.SecretRotation | None = None
    ) -> s.AppCredentials:
        """The old secret stops working at once: token requests with it are refused, and so are the
        WPS and DingTalk tokens issued before (signed WPS requests need the new secret too). The reply
        carries the new secret; keep it, it is not shown again."""
        if not any(a.client_id == client_id for a in app_service.list_for_tenant(plane.directory, tenant_id)):
            raise errors.NotFound(
                f"tenant {tenant_id!r} has no app {client_id!r}", field="client_id", entity=errors.Entity.APP
            )
        secret = body.client_secret if body is not None else None
        return _credentials(app_service.rotate_secret(plane.directory, client_id=client_id, secret=secret))

    @r.put(
        "/tenants/{tenant_id}/apps/{client_id}/scopes",
        response_model=s.AppInfo,
        tags=["tenants"],
        summary="Replace an app's scopes",
        responses={
            400: {"model": s.ErrorReply, "description": "Scopes of another platform"},
            404: {"model": s.ErrorReply, "description": "No such tenant or app"},
        },
    )
    async def set_scopes(plane: Plane, tenant_id: str, client_id: str, body: s.AppScopes) -> s.AppInfo:
        """Tokens already issued follow the new scopes from their next request. A change raises
        WPS's `kso.contact.permission_setting` for the app's event subscriptions."""
        app = app_service.set_scopes(
            plane.directory, tenant_id=tenant_id, client_id=client_id, scopes=body.scopes
        )
        return _app_info(app)

    @r.post(
        "/tenants/{tenant_id}/reset",
        response_model=s.TenantReset,
        summary="Reset one tenant to empty or to its seed",
        responses={**_NOT_FOUND, 409: {"model": s.ErrorReply, "description": "to=seed on a seedless tenant"}},
    )
    async def reset_tenant(plane: Plane, tenant_id: str, body: s.Reset | None = None) -> s.TenantReset:
        """Keeps the tenant and its apps (every client's credentials stay valid); no other tenant is
        touched."""
        to = body.to if body is not None else "empty"
        snapshot.reset(plane.directory, tenant_id, to=to)
        return s.TenantReset(tenant=tenant_id, to=to)


# -- snapshots --------------------------------------------------------------------------------

_SNAPSHOT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {s.JSON: {"schema": {"type": "object", "description": "A snapshot document"}}},
    }
}
_SNAPSHOT_REPLY: dict[int | str, dict[str, Any]] = {
    200: {"content": {s.JSON: {"schema": {"type": "object"}}}, "description": "The snapshot document"}
}
Secrets = Annotated[bool, Query(description="Include app secrets and DingTalk subscription keys (unsealed)")]


def _imported(result: snapshot.ImportResult) -> s.Imported:
    return s.Imported(
        tenants=list(result.tenants),
        deleted=list(result.deleted),
        new_secrets=[s.NewSecret(client_id=c, client_secret=k) for c, k in result.new_secrets],
    )


@route_group("snapshots")
def _snapshot_routes(r: APIRouter) -> None:
    @r.get(
        "/tenants/{tenant_id}/snapshot",
        summary="Export one tenant",
        responses={**_SNAPSHOT_REPLY, **_NOT_FOUND},
        response_class=Response,
    )
    async def export_tenant(plane: Plane, tenant_id: str, secrets: Secrets = False) -> Response:
        return Response(
            snapshot.export(plane.directory, tenant_id=tenant_id, secrets=secrets), media_type=s.JSON
        )

    @r.put(
        "/tenants/{tenant_id}/snapshot",
        response_model=s.Imported,
        summary="Replace one tenant with a snapshot of it",
        openapi_extra=_SNAPSHOT_BODY,
    )
    async def import_tenant(plane: Plane, tenant_id: str, request: Request) -> s.Imported:
        """The tenant's data is replaced in one transaction. A snapshot made by a newer openroster
        (a newer format version) is refused."""
        return _imported(snapshot.import_(plane.directory, await request.body(), tenant_id=tenant_id))

    @r.get(
        "/snapshot",
        summary="Export every tenant",
        responses=_SNAPSHOT_REPLY,
        response_class=Response,
    )
    async def export_all(plane: Plane, secrets: Secrets = False) -> Response:
        return Response(snapshot.export(plane.directory, secrets=secrets), media_type=s.JSON)

    @r.put(
        "/snapshot",
        response_model=s.Imported,
        summary="Replace the whole store with a snapshot",
        openapi_extra=_SNAPSHOT_BODY,
    )
    async def import_all(plane: Plane, request: Request) -> s.Imported:
        """Tenants not in the snapshot are deleted; one transaction."""
        return _imported(snapshot.import_(plane.directory, await request.body()))
