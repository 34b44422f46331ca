"""Request and reply bodies of the control API (they make its OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The media type of the control API's JSON replies.
JSON = "application/json"

Signing = Literal["none", "kso1", "wps4", "wps4gm"]
Platform = Literal["wps", "dingtalk", "scim"]
ResetTarget = Literal["empty", "seed"]


#: Platform codes are 32-bit signed integers on both platforms (DingTalk's -1 included).
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
#: The largest count a control value may hold (fault rule ``times``, journal ``limit``).
COUNT_MAX = 1_000_000
#: The longest Retry-After a fault rule may send, in seconds.
RETRY_AFTER_MAX = 86_400
#: The largest id or cursor a keyset-paged listing takes (``after``): a signed 64-bit integer.
ID_MAX = 2**63 - 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(BaseModel):
    code: str = Field(description="What kind of error: unauthorized, invalid, not_found, conflict, ...")
    message: str = Field(description="What is wrong, naming the field at fault")
    field: str | None = None


class ErrorReply(BaseModel):
    error: Error


class Health(BaseModel):
    status: Literal["ok"]


class Version(BaseModel):
    version: str
    snapshot_format: int = Field(description="The snapshot format version this server writes and reads")
    journal_size: int = Field(description="Entries the request journal keeps (0: off)")
    journal_entries: int = Field(description="Entries it holds now")
    pid: int = Field(description="The server process; journal, faults and clock live in its memory")


class NewApp(_Strict):
    client_id: str | None = Field(None, description="Default: generated (WPS client_id, DingTalk appkey)")
    client_secret: str | None = Field(None, description="Default: generated (8-256 characters)")
    name: str | None = None
    scopes: list[str] = Field(
        default_factory=list,
        description="WPS scopes (kso.contact.read, ...), DingTalk permissions (qyapi_get_member, ...) "
        "or scim (the secret is a SCIM bearer token)",
    )
    signing: Signing = Field("kso1", description="The WPS request signature the app must send")
    agentid: int | None = Field(None, description="DingTalk agentid")
    platform: Platform | None = Field(
        None,
        description="wps, dingtalk or scim: the one token endpoint (or bearer, scim) that knows the app. "
        "Default: the platform its scopes name (kso.* WPS; qyapi_* or an agentid DingTalk; scim SCIM; "
        "else WPS). Scopes of two "
        "platforms, or of the other one, are refused (400, field scopes)",
    )


class SecretRotation(_Strict):
    client_secret: str | None = Field(None, description="8-256 characters; default: generated")


class AppScopes(_Strict):
    scopes: list[str] = Field(
        description="The app's scopes from now on: WPS scopes or DingTalk permissions, of the app's platform"
    )


class AppCredentials(BaseModel):
    tenant: str
    client_id: str
    client_secret: str
    scopes: list[str]
    signing: Signing
    agentid: int | None
    platform: Platform


class AppInfo(BaseModel):
    client_id: str
    name: str
    scopes: list[str]
    signing: Signing
    agentid: int | None
    platform: Platform


class NewTenant(_Strict):
    id: str | None = Field(None, description="Default: generated (t-<hex>)")
    name: str | None = Field(None, description="Default: the seed's name, else the id")
    wps_company_id: str | None = None
    dingtalk_corp_id: str | None = None
    apps: list[NewApp] = Field(
        default_factory=list, description="Apps to create; the reply has their secrets"
    )
    seed: dict[str, Any] | None = Field(
        None,
        description="One tenant of a seed file (departments, users, custom_attributes, apps; docs/seed.md). "
        "The tenant is created from it and `reset` with `to: seed` returns to it.",
    )


class TenantInfo(BaseModel):
    id: str
    name: str
    wps_company_id: str | None
    dingtalk_corp_id: str | None
    ctime: int
    has_seed: bool
    apps: list[AppInfo]


class CreatedTenant(BaseModel):
    tenant: TenantInfo
    apps: list[AppCredentials]


class Reset(_Strict):
    to: ResetTarget = Field(
        "empty",
        description="empty: only the root department is left; seed: back to the seed the tenant was "
        "created from. Apps are kept either way.",
    )


class TenantReset(BaseModel):
    tenant: str
    to: ResetTarget


class EverythingReset(BaseModel):
    tenants: list[str]
    to: ResetTarget
    journal_cleared: int
    faults_cleared: int


class NewSecret(BaseModel):
    client_id: str
    client_secret: str


class Imported(BaseModel):
    tenants: list[str]
    deleted: list[str] = Field(description="Tenants the import removed (only when importing everything)")
    new_secrets: list[NewSecret] = Field(
        description="Apps that had no secret in the snapshot and none in this store: their new secrets"
    )


class JournalEntry(BaseModel):
    id: int = Field(description="Increases with every call; filter with `after`")
    time: str
    timestamp: float = Field(description="Seconds since the epoch, on the server's clock")
    dialect: Literal["wps", "dingtalk", "dingtalk_v1", "scim", "other"]
    tenant: str | None
    app: str | None
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = Field(description="Parsed JSON or form fields, else text; secrets redacted")
    body_size: int
    body_truncated: bool
    status: int = Field(description="HTTP status; 0 when a fault closed the connection")
    code: int | str | None = Field(
        description="The reply's platform code (`code` or `errcode`): a number, or a string (DingTalk /v1.0)"
    )
    reply: Any = Field(
        description="The reply's body from its first 448 bytes: parsed JSON, else text; secrets redacted"
    )
    reply_truncated: bool = Field(description="The reply may go on past the 448 bytes kept")
    latency_ms: float
    request_id: str
    fault: str | None = Field(description="The fault rule that acted on the call")


class JournalPage(BaseModel):
    entries: list[JournalEntry]
    dropped: int = Field(description="Entries dropped (oldest first) to stay within the journal's size")


class JournalCount(BaseModel):
    count: int


class Deleted(BaseModel):
    deleted: int


class FaultMatch(_Strict):
    dialect: Literal["wps", "dingtalk", "dingtalk_v1", "scim"] | None = None
    method: str | None = None
    path: str | None = Field(None, description="A path, or a glob where * also crosses '/'")
    app: str | None = Field(None, description="client_id / appkey of the calling app")
    tenant: str | None = Field(None, description="Only calls by apps of this tenant")
    body: str | None = Field(None, description="A substring the request body must contain")


class NewFault(_Strict):
    match: FaultMatch = Field(default_factory=FaultMatch)
    action: Literal["error", "http", "latency", "close"]
    code: int | None = Field(
        None,
        ge=INT32_MIN,
        le=INT32_MAX,
        strict=True,
        description="error: the platform code (e.g. 90018, 42900001)",
    )
    message: str | None = Field(None, description="error: msg / errmsg (default: the platform's wording)")
    status: int | None = Field(
        None, ge=100, le=599, strict=True, description="http: the status; error: overrides it"
    )
    retry_after: int | None = Field(
        None,
        ge=0,
        le=RETRY_AFTER_MAX,
        strict=True,
        description="Seconds, sent as Retry-After (at most a day)",
    )
    latency_ms: int = Field(
        0, ge=0, le=120_000, strict=True, description="latency: the delay; others: a delay first"
    )
    probability: float = Field(1.0, gt=0.0, le=1.0, allow_inf_nan=False)
    times: int | None = Field(
        None, ge=1, le=COUNT_MAX, strict=True, description="How many times it fires (default: until deleted)"
    )

    @model_validator(mode="after")
    def _action_needs(self) -> NewFault:
        if self.action == "error" and self.code is None:
            raise ValueError("code is required with action 'error'")
        if self.action == "http" and self.status is None:
            raise ValueError("status is required with action 'http'")
        if self.action == "latency" and self.latency_ms <= 0:
            raise ValueError("latency_ms must be positive with action 'latency'")
        return self


class FaultInfo(BaseModel):
    id: str
    match: FaultMatch
    action: Literal["error", "http", "latency", "close"]
    code: int | None
    message: str | None
    status: int | None
    retry_after: int | None
    latency_ms: int
    probability: float
    remaining: int | None = Field(description="Times left to fire (null: until deleted)")
    hits: int


class ClockInfo(BaseModel):
    now: str = Field(description="The server's time, ISO 8601")
    timestamp: float
    offset_seconds: float = Field(description="How far the clock is from real time")


class ClockChange(_Strict):
    set: str | int | float | None = Field(
        None, description="A time within 100 years of now: ISO 8601 or seconds since the epoch"
    )
    advance: int | float | None = Field(
        None, description="Seconds to move the clock by (negative: back); it stays within 100 years of now"
    )
    real_time: bool | None = Field(None, description="true: back to real time")

    @model_validator(mode="after")
    def _one(self) -> ClockChange:
        given = [k for k in ("set", "advance", "real_time") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of set, advance, real_time")
        if self.real_time is False:
            raise ValueError("real_time can only be true")
        return self


# -- change events ---------------------------------------------------------------------------------

#: The latest moment a control value may name, in unix seconds (the year 5138).
SECONDS_MAX = 10**11

DeliveryState = Literal["pending", "retrying", "delivered", "dead"]


class NewSubscription(_Strict):
    kind: Literal["wps", "dingtalk", "dingtalk_stream"] = Field(
        description="wps: a WPS 365 event subscription; dingtalk: HTTP callbacks; dingtalk_stream: "
        "DingTalk Stream mode (the app's Stream clients connect; no url, token or aes_key)"
    )
    app: str = Field(
        description="The tenant's app of that platform (client_id / appkey) whose keys seal the events"
    )
    url: str = Field(
        "", description="The receiver; it must pass WPS's challenge or DingTalk's check_url first"
    )
    topics: list[str] | None = Field(
        None, description="wps: kso.user, kso.dept, kso.contact.permission_setting (default: all)"
    )
    events: list[str] | None = Field(None, description="dingtalk: the EventTypes wanted (default: all)")
    token: str | None = Field(None, description="dingtalk: the callback token (required)")
    aes_key: str | None = Field(None, description="dingtalk: the EncodingAESKey, 43 characters (required)")
    payload: Literal["current", "legacy"] | None = Field(
        None, description="dingtalk: the payload style (default current: appKey as owner key; legacy: corpId)"
    )

    @model_validator(mode="after")
    def _fields_of_kind(self) -> NewSubscription:
        other = {
            "wps": ("events", "token", "aes_key", "payload"),
            "dingtalk": ("topics",),
            "dingtalk_stream": ("topics", "token", "aes_key", "payload"),
        }[self.kind]
        given = [name for name in other if getattr(self, name) is not None]
        if given:
            raise ValueError(f"{', '.join(given)}: not a field of a {self.kind} subscription")
        return self


class SubscriptionInfo(BaseModel):
    id: str
    kind: Literal["wps", "dingtalk", "dingtalk_stream"]
    status: Literal["active", "paused"]
    app: str
    url: str | None = Field(None, description="wps, dingtalk: the receiver (dingtalk_stream has none)")
    topics: list[str] | None = Field(None, description="wps: the topics sent (empty: all)")
    events: list[str] | None = Field(None, description="dingtalk: the EventTypes sent (empty: all)")
    payload: Literal["current", "legacy"] | None = Field(None, description="dingtalk: the payload style")
    created: float = Field(description="Unix seconds, on the server's clock")
    cursor: int = Field(
        description="The change seq it has reached (the change feed's cursor): the changes after it "
        "are still to be sent (a paused subscription's, on resume)"
    )
    missed: int = Field(
        description="Changes it was never sent: kept past `--events-retention` without being sent "
        "(while paused), then pruned"
    )
    missed_until: float | None = Field(
        description="Unix seconds, on the server's clock: when the newest change it missed was "
        "committed; null if none"
    )


class StreamClient(BaseModel):
    app: str = Field(description="The app (appKey) whose Stream client it is")
    connection_id: str
    since: float = Field(description="Unix seconds, on the server's clock")
    worker: str = Field(description="The server process holding the connection (host:pid:engine)")


class Replay(_Strict):
    since: float = Field(
        ge=0, le=SECONDS_MAX, allow_inf_nan=False, description="Unix seconds: deliveries created since then"
    )


class Replayed(BaseModel):
    subscription: str
    replayed: int = Field(description="Deliveries queued again, with their original event ids and bodies")


class DeliveryInfo(BaseModel):
    id: int = Field(description="Increases with every delivery; page with `after`")
    subscription: str
    event_id: str = Field(description="WPS: the envelope's nonce; DingTalk: eventId and BizId")
    topic: str = Field(description="WPS: the topic; DingTalk: the EventType")
    operation: str
    status: DeliveryState
    attempts: int
    last_status: int | None = Field(description="The receiver's HTTP status at the last attempt")
    last_error: str | None
    created: float = Field(description="Unix seconds, on the server's clock")
    delivered: float | None = Field(description="Unix seconds, on the server's clock")


class Flushed(BaseModel):
    delivered: int = Field(description="Deliveries made by this flush")
    pending: int = Field(description="Deliveries still open (retrying later, or held by another process)")


class PrunedInfo(BaseModel):
    deliveries: int = Field(description="Delivered and dead deliveries deleted, past their retentions")
    records: int = Field(description="Change records deleted (fanned out, or past the retention)")
    missed: int = Field(
        description="Change records lagging subscriptions skipped past `--events-retention` (their `missed`)"
    )


class ChangeInfo(BaseModel):
    seq: int = Field(description="The transaction's place in commit order")
    time: float = Field(description="Unix seconds, on the server's clock")
    kind: str = Field(description="user, department, membership, attribute_definition, attribute_value, ...")
    operation: Literal["create", "update", "delete"]
    entity_id: str
    fields: list[str]
    actor: str | None = Field(description="The app that made the change")


class ChangePage(BaseModel):
    changes: list[ChangeInfo]
    cursor: int = Field(description="Pass as `after` for the next page")
