"""The Events page: a tenant's change-event subscriptions (pause, resume, replay) and their deliveries
with their attempts, and "deliver what is due now".

It calls what the control API's event routes call (``events.control_routes``: the subscriptions
and deliveries of a tenant, ``events.subscriptions`` to pause, resume and replay, the server's
engine to flush), so both faces show and do the same. Subscribing reads the form into the control
API's request model (``control.schemas.NewSubscription``) and goes through its step
(``control_routes.subscribe``): the receiver's URL is verified first (WPS's challenge, DingTalk's
``check_url``), and a receiver that fails it is shown on the URL field and nothing is stored; a
DingTalk Stream subscription has no receiver (its app's clients connect). The connected Stream
clients are listed from what the control API's ``stream/connections`` reads (the store's record of
every process's open connections).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from openroster.console import live, pages
from openroster.console.session import Session
from openroster.control import schemas
from openroster.control.plane import ControlPlane
from openroster.control.runtime_routes import moment
from openroster.core.tenancy import apps as app_service
from openroster.core.tenancy import tenants as tenant_service
from openroster.events import subscriptions
from openroster.events.channels import CHANNELS, PUSHED
from openroster.events.channels.stream import KIND as STREAM_KIND
from openroster.events.control_routes import (
    changes_after,
    deliveries_of,
    delivery_info,
    engine_of,
    subscribe,
    subscription_info,
    subscription_of,
    subscriptions_of,
)
from openroster.events.engine import wall_ms
from openroster.model.changes import DeliveryStatus, SubscriptionStatus
from openroster.model.errors import CoreError

#: The form's field of each subscription kind's list of topics (``NewSubscription``'s name for it).
TOPIC_FIELDS = {"wps": "topics", "dingtalk": "events", STREAM_KIND: "events"}
#: The platform of the apps each subscription kind may name (a Stream subscription's: DingTalk's).
APP_PLATFORMS = {kind: "dingtalk" if kind in PUSHED else kind for kind in CHANNELS}
#: A topic's checkbox is named this prefix and the topic (a form keeps one value a name).
TOPIC_PREFIX = "topic:"

#: The states a delivery can be in (the deliveries' filter).
DELIVERY_STATES: tuple[str, ...] = tuple(s.value for s in DeliveryStatus)
#: Change records one poll of the feed sends at most.
CHANGES_SHOWN = 100
#: Deliveries a page lists (oldest first from ``after``; "Later deliveries" continues).
DELIVERIES_SHOWN = 100


def routes(r: APIRouter) -> None:
    pages.notice_page(r, "/tenants/{tenant_id}/events", _page)

    @r.post("/tenants/{tenant_id}/subscriptions/{sub_id}")
    async def act(request: Request, tenant_id: str, sub_id: str) -> Response:
        session, form = await pages.posted(request)
        plane = pages.console_of(request).plane
        sub = subscription_of(plane, tenant_id, sub_id)
        action = form.get("action", "")
        if action in ("pause", "resume"):
            status = SubscriptionStatus.PAUSED if action == "pause" else SubscriptionStatus.ACTIVE
            subscriptions.set_status(plane.directory, sub.id, status)
            engine_of(plane).wake()
            return pages.see_other(pages.url("tenants", tenant_id, "events", done=f"subscription_{action}d"))
        try:
            since = moment(form.get("since", "").strip(), "since")
        except CoreError as exc:
            return _page(request, session, tenant_id, error=exc.message, error_sub=sub.id)
        n = subscriptions.replay(plane.directory, sub.id, int((since or 0) * 1000))
        engine_of(plane).wake()
        return _page(request, session, tenant_id, done="replayed", replayed=n)

    @r.post("/tenants/{tenant_id}/subscriptions")
    async def create(request: Request, tenant_id: str) -> Response:
        session, form = await pages.posted(request)
        plane = pages.console_of(request).plane
        try:
            sub = await subscribe(
                plane, tenant_id, pages.model_of(schemas.NewSubscription, _subscription(form))
            )
        except pages.Refused as exc:
            return _page(request, session, tenant_id, error=exc.message, error_field=exc.field, form=form)
        except CoreError as exc:
            return _page(
                request, session, tenant_id, error=exc.message, error_field=exc.field or "", form=form
            )
        return pages.see_other(pages.url("tenants", tenant_id, "events", done="subscribed", sub=sub.id))

    @r.get("/tenants/{tenant_id}/changes/stream")
    async def changes(request: Request, tenant_id: str) -> Response:
        """Server-sent events: each change record the tenant commits, as a table row."""
        pages.signed_in(request)
        plane = pages.console_of(request).plane
        tenant_service.get(plane.directory, tenant_id)

        def rows_after(after: int) -> list[tuple[int, str]]:
            found, _ = changes_after(plane, tenant_id, after, CHANGES_SHOWN)
            return [(c["seq"], pages.render(request, "_change_row.html", row=_change_row(c))) for c in found]

        return live.stream(request, rows_after)

    @r.get("/tenants/{tenant_id}/subscriptions/{sub_id}/unsubscribe")
    async def confirm(request: Request, tenant_id: str, sub_id: str) -> Response:
        session = pages.signed_in(request)
        plane = pages.console_of(request).plane
        tenant = tenant_service.get(plane.directory, tenant_id)
        sub = subscription_info(subscription_of(plane, tenant_id, sub_id))
        return pages.page(request, "unsubscribe.html", session=session, tenant=tenant, sub=sub)

    @r.post("/tenants/{tenant_id}/subscriptions/{sub_id}/unsubscribe")
    async def unsubscribe(request: Request, tenant_id: str, sub_id: str) -> Response:
        await pages.posted(request)
        plane = pages.console_of(request).plane
        subscriptions.delete(plane.directory, subscription_of(plane, tenant_id, sub_id).id)
        return pages.see_other(pages.url("tenants", tenant_id, "events", done="unsubscribed"))

    @r.post("/tenants/{tenant_id}/deliveries/flush")
    async def flush(request: Request, tenant_id: str) -> Response:
        await pages.posted(request)
        plane = pages.console_of(request).plane
        tenant_service.get(plane.directory, tenant_id)
        await engine_of(plane).flush()
        return pages.see_other(pages.url("tenants", tenant_id, "events", done="flushed"))


def _change_row(change: dict[str, Any]) -> dict[str, Any]:
    """A change record as its row shows it: its time as an ISO 8601 UTC timestamp."""
    return {**change, "at": _iso(change["time"])}


def _subscription_row(info: dict[str, Any]) -> dict[str, Any]:
    """A subscription as its row shows it: when its newest missed change was, as ISO 8601 UTC."""
    until = info["missed_until"]
    return {**info, "missed_at": "" if until is None else _iso(until)}


def _iso(seconds: float) -> str:
    """Unix seconds as an ISO 8601 UTC timestamp, to the millisecond."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _stream_clients(plane: ControlPlane, tenant_id: str) -> list[dict[str, str]]:
    """The tenant's connected DingTalk Stream clients, oldest first, as the control API's
    ``stream/connections`` reads them (any process's; one whose process stopped answering drops
    out within 90 s)."""
    with plane.directory.store.read() as tx:
        found = tx.stream.connections(tenant_id, wall_ms())
    return [
        {"app": c.app, "connection_id": c.connection_id, "since": _iso(c.since / 1000), "worker": c.worker}
        for c in found
    ]


def _subscription(form: dict[str, str]) -> dict[str, Any]:
    """A subscription form as ``NewSubscription``'s fields: the kind's own fields only (a topic
    ticked, a DingTalk key typed); empty ones are left to the model's defaults."""
    kind = form.get("kind", "")
    data: dict[str, Any] = {"kind": kind, "app": form.get("app", ""), "url": form.get("url", "").strip()}
    ticked = [name.removeprefix(TOPIC_PREFIX) for name in form if name.startswith(TOPIC_PREFIX)]
    if ticked and kind in TOPIC_FIELDS:
        data[TOPIC_FIELDS[kind]] = ticked
    if kind == "dingtalk":
        data |= {
            name: form[name].strip() for name in ("token", "aes_key", "payload") if form.get(name, "").strip()
        }
    return data


def _page(
    request: Request,
    session: Session,
    tenant_id: str,
    *,
    done: str = "",
    error: str = "",
    error_sub: str = "",
    error_field: str = "",
    form: dict[str, str] | None = None,
    replayed: int = 0,
) -> Response:
    plane = pages.console_of(request).plane
    tenant = tenant_service.get(plane.directory, tenant_id)
    apps = app_service.list_for_tenant(plane.directory, tenant_id)
    params = request.query_params
    after = pages.whole_number(dict(params), "after", "a delivery id") or 0
    subs = subscriptions_of(plane, tenant_id)
    shown = {"sub_filter": params.get("sub_filter", ""), "state": params.get("state", "")}
    if shown["sub_filter"] not in {s.id for s in subs}:
        shown["sub_filter"] = ""
    if shown["state"] not in DELIVERY_STATES:
        shown["state"] = ""
    found = deliveries_of(
        plane,
        tenant_id,
        subscription=shown["sub_filter"] or None,
        status=DeliveryStatus(shown["state"]) if shown["state"] else None,
        after=after,
        limit=DELIVERIES_SHOWN,
    )
    full = len(found) == DELIVERIES_SHOWN
    _, now_cursor = changes_after(plane, tenant_id, None, 0)  # the feed starts from now
    return pages.page(
        request,
        "events.html",
        session=session,
        tenant=tenant,
        subscriptions=[_subscription_row(subscription_info(s)) for s in subs],
        deliveries=[delivery_info(d) for d in found],
        more_url=pages.url("tenants", tenant_id, "events", **shown, after=str(found[-1].id)) if full else "",
        delivery_filter=shown,
        delivery_states=DELIVERY_STATES,
        done=done,
        replayed=replayed,
        error=error,
        error_sub=error_sub,
        error_field=error_field,
        values=form or {},
        apps={k: [a.client_id for a in apps if a.platform.value == p] for k, p in APP_PLATFORMS.items()},
        stream_clients=_stream_clients(plane, tenant_id),
        topics={kind: c.topics for kind, c in CHANNELS.items()},
        topic_prefix=TOPIC_PREFIX,
        new_sub=request.query_params.get("sub", ""),
        changes_url=pages.url("tenants", tenant_id, "changes", "stream", after=str(now_cursor)),
    )
