"""The Events page: a tenant's change-event subscriptions (pause, resume, replay) and their deliveries
with their attempts, and "deliver what is due now".

It calls what the control API's event routes call (``events.control_routes``: the subscriptions
and deliveries of a tenant, ``events.subscriptions`` to pause, resume and replay, the server's
engine to flush), so both faces show and do the same. Subscribing stays with the control API and
the SDK for now (it verifies the receiver's URL with the platform's challenge).
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from openroster.console.pages import console_of, page, posted, see_other, signed_in, url, whole_number
from openroster.console.session import Session
from openroster.control.runtime_routes import moment
from openroster.core.tenancy import tenants as tenant_service
from openroster.events import subscriptions
from openroster.events.control_routes import (
    deliveries_of,
    delivery_info,
    engine_of,
    subscription_info,
    subscription_of,
    subscriptions_of,
)
from openroster.model.changes import SubscriptionStatus
from openroster.model.errors import CoreError

#: Deliveries a page lists (oldest first from ``after``; "Later deliveries" continues).
DELIVERIES_SHOWN = 100


def routes(r: APIRouter) -> None:
    @r.get("/tenants/{tenant_id}/events")
    async def events(request: Request, tenant_id: str) -> Response:
        session = signed_in(request)
        return _page(request, session, tenant_id, done=request.query_params.get("done", ""))

    @r.post("/tenants/{tenant_id}/subscriptions/{sub_id}")
    async def act(request: Request, tenant_id: str, sub_id: str) -> Response:
        session, form = await posted(request)
        plane = console_of(request).plane
        sub = subscription_of(plane, tenant_id, sub_id)
        action = form.get("action", "")
        if action in ("pause", "resume"):
            status = SubscriptionStatus.PAUSED if action == "pause" else SubscriptionStatus.ACTIVE
            subscriptions.set_status(plane.directory, sub.id, status)
            return see_other(url("tenants", tenant_id, "events", done=f"subscription_{action}d"))
        try:
            since = moment(form.get("since", "").strip(), "since")
        except CoreError as exc:
            return _page(request, session, tenant_id, error=exc.message, error_sub=sub.id)
        n = subscriptions.replay(plane.directory, sub.id, int((since or 0) * 1000))
        engine_of(plane).wake()
        return _page(request, session, tenant_id, done="replayed", replayed=n)

    @r.post("/tenants/{tenant_id}/deliveries/flush")
    async def flush(request: Request, tenant_id: str) -> Response:
        await posted(request)
        plane = console_of(request).plane
        tenant_service.get(plane.directory, tenant_id)
        await engine_of(plane).flush()
        return see_other(url("tenants", tenant_id, "events", done="flushed"))


def _page(
    request: Request,
    session: Session,
    tenant_id: str,
    *,
    done: str = "",
    error: str = "",
    error_sub: str = "",
    replayed: int = 0,
) -> Response:
    plane = console_of(request).plane
    tenant = tenant_service.get(plane.directory, tenant_id)
    after = whole_number(dict(request.query_params), "after", "a delivery id") or 0
    found = deliveries_of(plane, tenant_id, after=after, limit=DELIVERIES_SHOWN)
    full = len(found) == DELIVERIES_SHOWN
    return page(
        request,
        "events.html",
        session=session,
        tenant=tenant,
        subscriptions=[subscription_info(s) for s in subscriptions_of(plane, tenant_id)],
        deliveries=[delivery_info(d) for d in found],
        more_url=url("tenants", tenant_id, "events", after=str(found[-1].id)) if full else "",
        done=done,
        replayed=replayed,
        error=error,
        error_sub=error_sub,
    )
