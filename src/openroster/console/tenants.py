"""The Tenants page (list, create, reset, delete, download a snapshot) and a tenant's Apps page (list,
create with the secret shown once, rotate a secret).

They call what the control API's tenant routes call: ``control.tenants.create``,
``fixtures.snapshot`` (export, reset), ``core.tenancy`` (tenants, apps), with the same rules and
errors.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from openroster.console import pages
from openroster.console.session import Session
from openroster.control import tenants as control_tenants
from openroster.core.directory import Directory
from openroster.core.tenancy import apps as app_service
from openroster.core.tenancy import tenants as tenant_service
from openroster.fixtures import snapshot
from openroster.model.entities import App, Platform, Signing
from openroster.model.errors import CoreError, Entity, NotFound

#: The new tenant form's fields.
NEW_TENANT_FIELDS = ("tenant_id", "tenant_name", "wps_company_id", "dingtalk_corp_id")
SIGNINGS: tuple[str, ...] = tuple(s.value for s in Signing)
PLATFORMS: tuple[str, ...] = tuple(p.value for p in Platform)


def routes(r: APIRouter) -> None:
    pages.notice_page(r, "/", _tenants_page)

    @r.post("/tenants")
    async def create_tenant(request: Request) -> Response:
        session, form = await pages.posted(request)
        try:
            control_tenants.create(
                pages.console_of(request).directory,
                tenant_id=form.get("tenant_id", "").strip() or None,
                name=form.get("tenant_name", "").strip() or None,
                wps_company_id=form.get("wps_company_id", "").strip() or None,
                dingtalk_corp_id=form.get("dingtalk_corp_id", "").strip() or None,
                seed=None,
                apps=[],
            )
        except CoreError as exc:
            return _tenants_page(request, session, error=exc, form=form)
        return pages.see_other(pages.url(done="tenant_created"))

    @r.get("/tenants/{tenant_id}/snapshot")
    async def download_snapshot(request: Request, tenant_id: str) -> Response:
        pages.signed_in(request)
        data = snapshot.export(pages.console_of(request).directory, tenant_id=tenant_id, secrets=False)
        return Response(
            data,
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{tenant_id}-snapshot.json"'},
        )

    @r.get("/tenants/{tenant_id}/reset")
    async def confirm_reset(request: Request, tenant_id: str) -> Response:
        return _confirm(request, tenant_id, "reset")

    @r.get("/tenants/{tenant_id}/delete")
    async def confirm_delete(request: Request, tenant_id: str) -> Response:
        return _confirm(request, tenant_id, "delete")

    @r.post("/tenants/{tenant_id}/reset")
    async def reset(request: Request, tenant_id: str) -> Response:
        _, form = await pages.posted(request)
        d = pages.console_of(request).directory
        if form.get("to") == "seed":
            snapshot.reset(d, tenant_id, to="seed")
            return pages.see_other(pages.url(done="reset_seed"))
        snapshot.reset(d, tenant_id, to="empty")
        return pages.see_other(pages.url(done="reset_empty"))

    @r.post("/tenants/{tenant_id}/delete")
    async def delete(request: Request, tenant_id: str) -> Response:
        await pages.posted(request)
        tenant_service.delete(pages.console_of(request).directory, tenant_id)
        return pages.see_other(pages.url(done="deleted"))

    @r.get("/tenants/{tenant_id}/apps")
    async def apps(request: Request, tenant_id: str) -> Response:
        session = pages.signed_in(request)
        return _apps_page(request, session, tenant_id)

    @r.post("/tenants/{tenant_id}/apps")
    async def create_app(request: Request, tenant_id: str) -> Response:
        session, form = await pages.posted(request)
        d = pages.console_of(request).directory
        try:
            made = app_service.create(
                d,
                tenant_id=tenant_id,
                client_id=form.get("client_id", "").strip() or None,
                name=form.get("app_name", "").strip() or None,
                scopes=form.get("scopes", "").replace(",", " ").split(),
                signing=form.get("signing", "none"),
                platform=form.get("platform") or None,
                agentid=pages.whole_number(form, "agentid", "a number"),
            )
        except CoreError as exc:
            return _apps_page(request, session, tenant_id, error=exc, form=form)
        return _apps_page(request, session, tenant_id, shown=made, done="app_created")

    @r.post("/tenants/{tenant_id}/apps/{client_id}/rotate-secret")
    async def rotate(request: Request, tenant_id: str, client_id: str) -> Response:
        session, _ = await pages.posted(request)
        d = pages.console_of(request).directory
        if not any(a.client_id == client_id for a in app_service.list_for_tenant(d, tenant_id)):
            raise NotFound(
                f"tenant {tenant_id!r} has no app {client_id!r}", field="client_id", entity=Entity.APP
            )
        fresh = app_service.rotate_secret(d, client_id=client_id)
        return _apps_page(request, session, tenant_id, shown=fresh, done="secret_rotated")


def _confirm(request: Request, tenant_id: str, action: str) -> Response:
    """The page asking to confirm a reset or a delete."""
    session = pages.signed_in(request)
    d = pages.console_of(request).directory
    tenant = tenant_service.get(d, tenant_id)
    has_seed = snapshot.seed_of(d, tenant_id) is not None
    return pages.page(
        request, "tenant_confirm.html", session=session, tenant=tenant, action=action, has_seed=has_seed
    )


def _tenants_page(
    request: Request,
    session: Session,
    *,
    done: str = "",
    error: CoreError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    d = pages.console_of(request).directory
    named = {"id": "tenant_id", "tenant": "tenant_id", "name": "tenant_name"}
    field = named.get(error.field or "", pages.field_of(error)) if error else ""
    return pages.page(
        request,
        "tenants.html",
        session=session,
        tenants=tenant_service.list_all(d),
        done=done,
        error=error,
        error_field=field,
        values={key: "" for key in NEW_TENANT_FIELDS} | (form or {}),
    )


def _apps_page(
    request: Request,
    session: Session,
    tenant_id: str,
    *,
    shown: App | None = None,
    done: str = "",
    error: CoreError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    d: Directory = pages.console_of(request).directory
    tenant = tenant_service.get(d, tenant_id)
    values = {"client_id": "", "app_name": "", "scopes": "", "signing": "kso1", "platform": "", "agentid": ""}
    field = (error.field or "").split(".")[0] if error else ""
    return pages.page(
        request,
        "apps.html",
        session=session,
        tenant=tenant,
        apps=app_service.list_for_tenant(d, tenant_id),
        shown=shown,
        done=done,
        error=error,
        error_field={"name": "app_name"}.get(field, field),
        values={**values, **(form or {})},
        signings=SIGNINGS,
        platforms=PLATFORMS,
    )
