"""Typed change records, and what the event outbox stores about them.

Every write transaction that changes the directory records one :class:`ChangeRecord` per
entity it changed (``WriteTx.record``); the store writes them in the same transaction, under
the change counter's new value, so the change and its record commit together or not at all.
The event engine (``openroster.events``) renders them into each subscription's events.

The fields are neutral: core's field names, not a platform's. ``before`` holds what a
renderer needs of the entity's state before the change (for a delete, its last state):
for a user ``user_name``, ``dept_ids``, ``role``, ``email``, ``phone``, ``avatar``,
``alias_name``; for a department ``name``, ``parent_id``, ``leader_ids``. ``after`` holds the
new values a renderer needs to tell one event from another (a user's ``status`` and ``role``,
when they changed: DingTalk's ``user_leave_org`` on a dismissal, ``org_admin_add``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class EntityKind(StrEnum):
    USER = "user"
    DEPARTMENT = "department"
    MEMBERSHIP = "membership"
    ATTRIBUTE_DEFINITION = "attribute_definition"
    ATTRIBUTE_VALUE = "attribute_value"
    ROSTER_RECORD = "roster_record"
    APP_SCOPES = "app_scopes"


class Operation(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One entity changed by one transaction.

    ``entity_id`` is the entity's id as a string (a department's number, an app's client id for
    ``APP_SCOPES``); ``fields`` the neutral names of the fields that changed; ``before`` the
    state before the change (``None`` for a create); ``actor`` the app that made it, if any;
    ``after`` the new values of the changed fields that decide which event a change raises.
    """

    tenant_id: str
    kind: EntityKind
    op: Operation
    entity_id: str
    fields: tuple[str, ...] = ()
    before: Mapping[str, object] | None = None
    actor: str | None = None
    after: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class StoredChange:
    """A committed :class:`ChangeRecord`: ``seq`` is its transaction's change counter value (commit
    order), ``n`` its place in the transaction, ``committed_at`` unix ms on the directory's clock."""

    seq: int
    n: int
    committed_at: int
    record: ChangeRecord


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    DEAD = "dead"


#: The statuses of a delivery that is still to be made (it blocks later ones of its entities).
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


@dataclass(frozen=True, slots=True)
class Subscription:
    """Where a tenant's events go: ``kind`` is the channel (``wps``, ``dingtalk``), ``app`` the app
    whose keys seal them, ``topics`` the topics or event types wanted (empty: all), ``payload`` the
    payload style (DingTalk: ``current`` or ``legacy``), ``token``/``aes_key`` DingTalk's keys
    (unsealed), ``cursor_seq`` the last change seq already fanned out into deliveries (or skipped:
    ``missed`` counts the change records pruned past the retention before it fanned them out,
    ``missed_until`` is the commit time of the newest of them, unix ms)."""

    id: str
    tenant_id: str
    kind: str
    app: str
    url: str
    topics: tuple[str, ...] = ()
    payload: str = "current"
    token: str | None = field(default=None, repr=False)
    aes_key: str | None = field(default=None, repr=False)
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    cursor_seq: int = 0
    created: int = 0
    missed: int = 0
    missed_until: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one subscription. ``body`` is what is sent, as rendered once: a retry or a
    replay sends the same bytes. Times are unix ms (``next_attempt_at`` on the directory's clock)."""

    id: int
    subscription_id: str
    tenant_id: str
    event_id: str
    seq: int
    topic: str
    operation: str
    entity_keys: tuple[str, ...]
    body: bytes
    status: DeliveryStatus
    attempts: int
    next_attempt_at: int
    first_attempt_at: int | None
    last_status: int | None
    last_error: str | None
    created: int
    delivered_at: int | None


@dataclass(frozen=True, slots=True)
class RenderedEvent:
    """One event a channel rendered from the change records of one or more transactions (``seq``:
    the first of them, ``dialects/event_batches.py``): ``entity_keys`` (``user:u1``, ``dept:7``,
    ``app:a``) order it per entity; ``body`` is stored and sent as it is on every attempt."""

    seq: int
    event_id: str
    topic: str
    operation: str
    entity_keys: tuple[str, ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What a channel needs besides the change records: the subscription (keys unsealed), the
    tenant's platform ids and, for WPS, the app's secret."""

    subscription: Subscription
    tenant_id: str
    wps_company_id: str | None = None
    dingtalk_corp_id: str | None = None
    app_secret: str | None = field(default=None, repr=False)


#: DingTalk Stream mode's subscription kind: its clients connect to the server (no URL, no keys).
STREAM_KIND = "dingtalk_stream"


@dataclass(frozen=True, slots=True)
class StreamConnection:
    """An open DingTalk Stream connection: the app (appKey) of the tenant that opened it, its id,
    since when (unix ms, the directory's clock) and the server process (``worker``) holding it."""

    tenant: str
    app: str
    connection_id: str
    since: int
    worker: str
