"""The control plane's change-event routes: subscriptions, deliveries, flush and the change feed.

They sit here, above the control plane, because they call the event engine (``events`` is above
``control`` in the layers); the server hands :func:`event_routes` to ``control.install``, which
adds them to the control app's admin router (admin token, its OpenAPI document, its error body).
Secrets: a DingTalk subscription's ``token`` and ``aes_key`` are never in a reply.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from openroster.control import schemas as s
from openroster.control.plane import ControlPlane, Plane, route_group
from openroster.core.tenancy import tenants as tenant_service
from openroster.events import subscriptions
from openroster.events.channels import PUSHED
from openroster.events.engine import EventEngine, wall_ms
from openroster.events.verification import verify_url
from openroster.model.changes import ChannelContext, DeliveryStatus, Subscription, SubscriptionStatus
from openroster.model.errors import NotFound

#: The longest page of deliveries or changes.
PAGE_MAX = 1000

_SUB_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": s.ErrorReply, "description": "No such tenant or subscription"}
}
_TENANT_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": s.ErrorReply, "description": "No such tenant"}
}


def engine_of(plane: ControlPlane) -> EventEngine:
    """The server's event engine (started in the app's lifespan)."""
    return cast(EventEngine, plane.server.state.events)


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def subscription_info(sub: Subscription) -> dict[str, Any]:
    """A subscription as the control plane shows it: never its token or aes_key."""
    info: dict[str, Any] = {
        "id": sub.id,
        "kind": sub.kind,
        "status": sub.status.value,
        "app": sub.app,
        "created": _seconds(sub.created),
        "cursor": sub.cursor_seq,
        "missed": sub.missed,
        "missed_until": _seconds(sub.missed_until),
    }
    if sub.kind not in PUSHED:
        info["url"] = sub.url
    if sub.kind == "dingtalk":
        info |= {"events": list(sub.topics), "payload": sub.payload}
    elif sub.kind in PUSHED:
        info["events"] = list(sub.topics)
    else:
        info["topics"] = list(sub.topics)
    return info


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type=s.JSON)


def subscription_of(plane: ControlPlane, tenant_id: str, sub_id: str) -> Subscription:
    """The tenant's subscription (NotFound for an unknown tenant or a subscription of another)."""
    tenant_service.get(plane.directory, tenant_id)
    with plane.directory.store.read() as tx:
        sub = tx.outbox.get_subscription(sub_id, engine_of(plane).unseal)
    if sub is None or sub.tenant_id != tenant_id:
        raise NotFound(f"tenant {tenant_id!r} has no subscription {sub_id!r}", field="subscription")
    return sub


def subscriptions_of(plane: ControlPlane, tenant_id: str) -> list[Subscription]:
    """The tenant's subscriptions (NotFound for an unknown tenant)."""
    tenant_service.get(plane.directory, tenant_id)
    with plane.directory.store.read() as tx:
        return list(tx.outbox.list_subscriptions(tenant_id, engine_of(plane).unseal))


def deliveries_of(
    plane: ControlPlane,
    tenant_id: str,
    *,
    subscription: str | None = None,
    status: DeliveryStatus | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[Any]:
    """The tenant's deliveries after the id ``after``, oldest first (NotFound for an unknown tenant)."""
    tenant_service.get(plane.directory, tenant_id)
    with plane.directory.store.read() as tx:
        return list(
            tx.outbox.list_deliveries(
                tenant_id, subscription_id=subscription, status=status, after_id=after, limit=limit
            )
        )


async def subscribe(plane: ControlPlane, tenant_id: str, body: s.NewSubscription) -> Subscription:
    """Subscribe a receiver (the control API's route and the console's form): the app and the fields
    are checked, then the receiver's URL is verified (InvalidValue, field ``url``, naming what it
    answered), and only then is the subscription stored."""
    d = plane.directory
    tenant = tenant_service.get(d, tenant_id)
    subscriptions.check_app(d, tenant_id, body.kind, body.app)
    topics = tuple((body.topics if body.kind == "wps" else body.events) or ())
    payload = body.payload or "current"
    subscriptions.validate(
        kind=body.kind, url=body.url, topics=topics, payload=payload, token=body.token, aes_key=body.aes_key
    )
    if body.kind in PUSHED:  # its clients connect: no receiver to verify
        return subscriptions.create(
            d, tenant_id=tenant_id, kind=body.kind, app=body.app, url="", topics=topics
        )
    probe = Subscription(
        id="", tenant_id=tenant_id, kind=body.kind, app=body.app, url=body.url, topics=topics,
        payload=payload, token=body.token, aes_key=body.aes_key,
    )  # fmt: skip
    ctx = ChannelContext(probe, tenant_id, tenant.wps_company_id, tenant.dingtalk_corp_id)
    await verify_url(ctx, transport=engine_of(plane).transport)
    made = subscriptions.create(
        d, tenant_id=tenant_id, kind=body.kind, app=body.app, url=body.url, topics=topics,
        payload=payload, token=body.token, aes_key=body.aes_key,
    )  # fmt: skip
    engine_of(plane).wake()  # an engine that had no subscription lets writes go by until woken
    return made


def event_routes(r: APIRouter) -> None:
    """Add the change-event routes to the control plane's admin router."""
    _subscription_routes(r)
    _delivery_routes(r)
    _upkeep_routes(r)


@route_group("events", _SUB_NOT_FOUND)
def _subscription_routes(r: APIRouter) -> None:
    @r.post(
        "/tenants/{tenant_id}/subscriptions",
        status_code=201,
        response_model=s.SubscriptionInfo,
        response_model_exclude_none=True,
        summary="Subscribe a receiver to the tenant's change events (after its URL verification)",
    )
    async def create_subscription(plane: Plane, tenant_id: str, body: s.NewSubscription) -> Response:
        """WPS's challenge or DingTalk's `check_url` is made first: a receiver that fails it is
        refused (400, field `url`, naming what it answered). The subscription gets the changes
        committed from now on. `token` and `aes_key` are not shown in any reply."""
        return _json(subscription_info(await subscribe(plane, tenant_id, body)), 201)

    @r.get(
        "/tenants/{tenant_id}/subscriptions",
        response_model=list[s.SubscriptionInfo],
        response_model_exclude_none=True,
        summary="The tenant's subscriptions (without their secrets)",
        responses=_TENANT_NOT_FOUND,
    )
    async def list_subscriptions(plane: Plane, tenant_id: str) -> Response:
        return _json([subscription_info(sub) for sub in subscriptions_of(plane, tenant_id)])

    @r.delete(
        "/tenants/{tenant_id}/subscriptions/{sub_id}",
        status_code=204,
        summary="Remove a subscription and its deliveries",
    )
    async def delete_subscription(plane: Plane, tenant_id: str, sub_id: str) -> Response:
        subscriptions.delete(plane.directory, subscription_of(plane, tenant_id, sub_id).id)
        return Response(status_code=204)

    def status_route(action: str, status: SubscriptionStatus, summary: str) -> None:
        @r.post(
            f"/tenants/{{tenant_id}}/subscriptions/{{sub_id}}/{action}",
            response_model=s.SubscriptionInfo,
            response_model_exclude_none=True,
            summary=summary,
            name=f"{action}_subscription",
        )
        async def set_status(plane: Plane, tenant_id: str, sub_id: str) -> Response:
            sub = subscription_of(plane, tenant_id, sub_id)
            subscriptions.set_status(plane.directory, sub.id, status)
            engine_of(plane).wake()
            return _json(subscription_info(subscription_of(plane, tenant_id, sub_id)))

    @r.get(
        "/tenants/{tenant_id}/stream/connections",
        response_model=list[s.StreamClient],
        summary="The tenant's connected DingTalk Stream clients, oldest first",
        responses=_TENANT_NOT_FOUND,
    )
    async def stream_connections(plane: Plane, tenant_id: str) -> Response:
        """Every open connection, whichever server process holds it (`worker`); a connection whose
        process stopped answering drops out within 90 s."""
        tenant_service.get(plane.directory, tenant_id)
        with plane.directory.store.read() as tx:
            found = tx.stream.connections(tenant_id, wall_ms())
        shown = [
            {"app": c.app, "connection_id": c.connection_id, "since": c.since / 1000, "worker": c.worker}
            for c in found
        ]
        return _json(shown)

    status_route("pause", SubscriptionStatus.PAUSED, "Pause: nothing is delivered until resumed")
    status_route(
        "resume",
        SubscriptionStatus.ACTIVE,
        "Resume: what changed meanwhile and is still kept is delivered (older changes: `missed`)",
    )

    @r.post(
        "/tenants/{tenant_id}/subscriptions/{sub_id}/replay",
        response_model=s.Replayed,
        summary="Deliver again what was delivered since a moment, with the original event ids",
    )
    async def replay(plane: Plane, tenant_id: str, sub_id: str, body: s.Replay) -> s.Replayed:
        """Every retained delivery (delivered or dead) created since `since` is queued again as a
        new delivery with the same event id and the same body (WPS: the same envelope byte for
        byte; DingTalk: the same eventId and BizId). Delivered events are kept
        `--events-retention` days, dead ones `--events-dead-retention` days after they died."""
        sub = subscription_of(plane, tenant_id, sub_id)
        n = subscriptions.replay(plane.directory, sub.id, int(body.since * 1000))
        engine_of(plane).wake()
        return s.Replayed(subscription=sub.id, replayed=n)


def delivery_info(d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "subscription": d.subscription_id,
        "event_id": d.event_id,
        "topic": d.topic,
        "operation": d.operation,
        "status": d.status.value,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "created": _seconds(d.created),
        "delivered": _seconds(d.delivered_at),
    }


After = Annotated[int, Query(ge=0, le=s.ID_MAX, description="Only items with a larger id (keyset paging)")]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="At most this many, oldest first")]


@route_group("events", _TENANT_NOT_FOUND)
def _delivery_routes(r: APIRouter) -> None:
    @r.get(
        "/tenants/{tenant_id}/deliveries",
        response_model=list[s.DeliveryInfo],
        summary="The tenant's deliveries, oldest first (page with `after` = the last id)",
    )
    async def list_deliveries(
        plane: Plane,
        tenant_id: str,
        subscription: str | None = None,
        status: s.DeliveryState | None = None,
        after: After = 0,
        limit: Limit = 100,
    ) -> Response:
        """A page shorter than `limit` is the last one."""
        state = None if status is None else DeliveryStatus(status)
        found = deliveries_of(
            plane, tenant_id, subscription=subscription, status=state, after=after, limit=limit
        )
        return _json([delivery_info(d) for d in found])

    @r.post(
        "/tenants/{tenant_id}/deliveries/flush",
        response_model=s.Flushed,
        summary="Deliver everything due now (retry timers on the server's clock); answers when nothing is",
    )
    async def flush(plane: Plane, tenant_id: str) -> s.Flushed:
        """The server's engine is one for every tenant: `delivered` and `pending` count every
        tenant's deliveries. Advance the clock (`PUT /clock`) to make retries due."""
        tenant_service.get(plane.directory, tenant_id)
        delivered, pending = await engine_of(plane).flush()
        return s.Flushed(delivered=delivered, pending=pending)

    @r.get(
        "/tenants/{tenant_id}/changes",
        response_model=s.ChangePage,
        summary="The tenant's change records as they commit (a live feed: poll with `after` = cursor)",
    )
    async def changes(
        plane: Plane,
        tenant_id: str,
        after: Annotated[
            int | None, Query(ge=0, le=s.ID_MAX, description="The cursor of the previous page; default: now")
        ] = None,
        limit: Limit = 100,
    ) -> Response:
        """Without `after`, no changes and the cursor of now. Records are kept until every
        subscription has fanned them out (in a tenant without subscriptions, up to a minute; for
        a paused one, at most `--events-retention` days)."""
        shown, cursor = changes_after(plane, tenant_id, after, limit)
        return _json({"changes": shown, "cursor": cursor})


def changes_after(
    plane: ControlPlane, tenant_id: str, after: int | None, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The tenant's change records after the cursor ``after`` (None: none, and the cursor of now), and
    the cursor to continue from (NotFound for an unknown tenant)."""
    tenant_service.get(plane.directory, tenant_id)
    with plane.directory.store.read() as tx:
        if after is None:
            return [], tx.changes.current_seq()
        found = tx.changes.records_after(tenant_id, after, limit)
    shown = [
        {
            "seq": c.seq,
            "time": c.committed_at / 1000,
            "kind": c.record.kind.value,
            "operation": c.record.op.value,
            "entity_id": c.record.entity_id,
            "fields": list(c.record.fields),
            "actor": c.record.actor,
        }
        for c in found
    ]
    return shown, found[-1].seq if found else after


@route_group("events")
def _upkeep_routes(r: APIRouter) -> None:
    @r.post(
        "/events/prune",
        response_model=s.PrunedInfo,
        summary="Prune the outbox and the change records now, on the server's clock (as each minute)",
    )
    async def prune(plane: Plane) -> s.PrunedInfo:
        """What the engine does every minute, done now and counted: delivered deliveries older
        than `--events-retention`, dead ones older than `--events-dead-retention`, change records
        every subscription has fanned out, and, for a paused or stuck subscription, the records
        older than `--events-retention` (its cursor moves past them: `missed`, `missed_until`).
        Advance the clock (`PUT /clock`) to age them instead of waiting."""
        done = await engine_of(plane).pruner.prune_async()
        return s.PrunedInfo(deliveries=done.deliveries, records=done.records, missed=done.missed)
