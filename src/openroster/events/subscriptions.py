"""Creating, pausing, replaying and removing subscriptions (the control plane's routes call these).

A new subscription starts at the store's current change seq: it gets the changes committed
after it was made, not the history. DingTalk's token and aes_key are sealed with the master key
(context ``subscription:<id>:<name>``) before they reach the store, like app secrets. URL
verification (WPS's challenge, DingTalk's ``check_url``) is the caller's step before this one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError

from openroster.core.directory import Directory
from openroster.core.tenancy import apps as app_service
from openroster.dialects.dingtalk.callback_crypto import parse_aes_key
from openroster.dialects.event_wire import EventFormatError
from openroster.events.channels import PUSHED, channel
from openroster.events.channels.stream import KIND as STREAM_KIND
from openroster.model.changes import Subscription, SubscriptionStatus
from openroster.model.errors import Entity, InvalidValue, NotFound
from openroster.store.tx import Outbox, WriteTx

PAYLOAD_STYLES = ("current", "legacy")


def create(
    d: Directory,
    *,
    tenant_id: str,
    kind: str,
    app: str,
    url: str,
    topics: tuple[str, ...] = (),
    payload: str = "current",
    token: str | None = None,
    aes_key: str | None = None,
) -> Subscription:
    """Store a subscription (active) and return it."""
    validate(kind=kind, url=url, topics=topics, payload=payload, token=token, aes_key=aes_key)
    sub_id = "sub_" + secrets.token_hex(8)
    return _insert(d, Subscription(sub_id, tenant_id, kind, app, url, topics, payload, token, aes_key))


async def ensure_stream(d: Directory, *, tenant_id: str, app: str) -> None:
    """Give the app a Stream subscription to every event unless it has one (paused or not): what
    an app that opens a Stream connection asking for EVENTs gets, as choosing "Stream mode" in the
    platform's event settings does. Its id is the same for the same app in any process, so two
    connections opened at once make one. Awaited on the event loop: the insert is a job of the
    store's writers (the loop never waits for the write lock)."""
    with d.store.read() as tx:
        subs = tx.outbox.list_subscriptions(tenant_id, _unseal(d))
    if any(s.kind == STREAM_KIND and s.app == app for s in subs):
        return
    digest = hashlib.sha256(f"{tenant_id}\0{app}".encode()).hexdigest()[:16]
    sub = Subscription(f"sub_stream_{digest}", tenant_id, STREAM_KIND, app, url="")
    with contextlib.suppress(IntegrityError):  # another connection of the app made it meanwhile
        await d.writes.run(lambda tx: _insert_in(tx, d, sub))


def _unseal(d: Directory) -> Callable[[bytes, str], str]:
    return lambda sealed, context: d.master_key.unseal(sealed, context=context)


def _insert(d: Directory, sub: Subscription) -> Subscription:
    """Store a new subscription from the current change seq; its DingTalk keys sealed."""
    with d.writer() as tx:
        return _insert_in(tx, d, sub)


def _insert_in(tx: WriteTx, d: Directory, sub: Subscription) -> Subscription:
    """:func:`_insert` in ``tx``."""
    sub = dataclasses.replace(sub, cursor_seq=tx.changes.current_seq(), created=d.now_ms())
    tx.outbox.insert_subscription(
        sub,
        token_sealed=_seal(d, sub.token, sub.id, "token"),
        aes_key_sealed=_seal(d, sub.aes_key, sub.id, "aes_key"),
    )
    return sub


def check_url(url: str) -> None:
    """A receiver's URL is an absolute ``http`` or ``https`` URL (InvalidValue, field ``url``)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError as exc:
        raise InvalidValue(f"url: {url!r} is not a URL: {exc}", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not url.isprintable() or " " in url:
        raise InvalidValue(f"url: {url!r} is not an absolute http or https URL", field="url")


def validate(
    *,
    kind: str,
    url: str,
    topics: tuple[str, ...],
    payload: str,
    token: str | None,
    aes_key: str | None,
) -> None:
    """Refuse (InvalidValue, naming the field) a kind, URL, topic, payload style or DingTalk key
    that cannot make a subscription. A Stream subscription has no URL (its subscriber connects)."""
    if kind not in PUSHED:
        check_url(url)
    elif url:
        raise InvalidValue(f"url: a {kind} subscription has none (its clients connect)", field="url")
    try:
        known = channel(kind).topics
    except KeyError:
        raise InvalidValue(f"kind: {kind!r} is not a channel", field="kind") from None
    unknown = [t for t in topics if t not in known]
    if unknown:
        raise InvalidValue(f"topics: {', '.join(unknown)} not sent by a {kind} subscription", field="topics")
    if payload not in PAYLOAD_STYLES:
        raise InvalidValue(f"payload: {payload!r} is not current or legacy", field="payload")
    if kind == "dingtalk":
        if token is None or aes_key is None:
            raise InvalidValue("token and aes_key are required for a dingtalk subscription", field="token")
        try:
            parse_aes_key(aes_key)
        except EventFormatError as exc:
            raise InvalidValue(f"aes_key: {exc}", field="aes_key") from None


def check_app(d: Directory, tenant_id: str, kind: str, app: str) -> None:
    """The app must exist in the tenant (NotFound) and be of the subscription's platform
    (InvalidValue): its keys seal the events."""
    found = next((a for a in app_service.list_for_tenant(d, tenant_id) if a.client_id == app), None)
    if found is None:
        raise NotFound(f"tenant {tenant_id!r} has no app {app!r}", field="app", entity=Entity.APP)
    platform = "dingtalk" if kind == STREAM_KIND else kind
    if found.platform.value != platform:
        raise InvalidValue(f"app: {app!r} is a {found.platform.value} app, not a {platform} one", field="app")


def replay(d: Directory, subscription_id: str, since_ms: int) -> int:
    """Queue again every retained delivery of the subscription made since ``since_ms`` (not the
    open ones: they are still to come), with its event id and body; returns how many."""
    with d.writer() as tx:
        return tx.outbox.replay_deliveries(subscription_id, since_ms, d.now_ms())


def _seal(d: Directory, value: str | None, sub_id: str, name: str) -> bytes | None:
    return None if value is None else d.master_key.seal(value, context=Outbox.key_context(sub_id, name))


def set_status(d: Directory, subscription_id: str, status: SubscriptionStatus) -> bool:
    """Pause or resume; False when there is no such subscription."""
    with d.writer() as tx:
        return tx.outbox.set_subscription_status(subscription_id, status)


def delete(d: Directory, subscription_id: str) -> bool:
    """Remove a subscription and its deliveries; False when there is no such subscription."""
    with d.writer() as tx:
        return tx.outbox.delete_subscription(subscription_id)
