"""The store's tables, as SQLAlchemy Core metadata.

This module is the single description of the schema. Migrations under
``store/migrations`` create and evolve it; the store's query modules read and
write it. Every row that belongs to a company carries ``tenant_id`` and every
query filters on it: tenants never see each other.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()


def _tenant_id(*, key: bool) -> tuple[Column[str], ForeignKeyConstraint]:
    """The ``tenant_id`` column of a table whose rows belong to a tenant, and its foreign key:
    deleting the tenant deletes them. ``key``: it leads the table's primary key."""
    return (
        Column("tenant_id", String(64), primary_key=key, nullable=False),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )


def _person_key() -> tuple[Column[str], Column[str], ForeignKeyConstraint]:
    """``tenant_id`` and ``user_id``, leading the primary key of a table of per-person rows, and
    their foreign key: deleting the user deletes them."""
    return (
        Column("tenant_id", String(64), primary_key=True),
        Column("user_id", String(64), primary_key=True),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"),
    )


def _serial_id() -> Column[int]:
    """A row id the database hands out: BIGINT on PostgreSQL, INTEGER on SQLite (only an INTEGER
    primary key is SQLite's rowid)."""
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


tenants = Table(
    "tenants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("wps_company_id", String(64), nullable=True, unique=True),
    Column("dingtalk_corp_id", String(64), nullable=True, unique=True),
    Column("next_dept_id", BigInteger, nullable=False),
    Column("seed", Text, nullable=True),
    Column("ctime", BigInteger, nullable=False),
)

apps = Table(
    "apps",
    metadata,
    Column("client_id", String(128), primary_key=True),
    *_tenant_id(key=False),
    Column("name", String(200), nullable=False),
    # The secret, sealed with the server's master key (see core/runtime/secrets.py).
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("secret_version", Integer, nullable=False),
    Column("scopes", Text, nullable=False),
    Column("signing", String(16), nullable=False),
    Column("agentid", BigInteger, nullable=True),
    Column("ctime", BigInteger, nullable=False),
    # wps or dingtalk: the one token endpoint that knows the app (migration 0003).
    Column("platform", String(16), nullable=False, server_default="wps"),
)
Index("ix_apps_tenant", apps.c.tenant_id)

depts = Table(
    "depts",
    metadata,
    *_tenant_id(key=True),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("parent_id", BigInteger, nullable=True),
    Column("name", String(200), nullable=False),
    Column("sort_order", BigInteger, nullable=False),
    Column("ex_dept_id", String(128), nullable=True),
    Column("abs_path", Text, nullable=False),
    Column("ctime", BigInteger, nullable=False),
)
Index("ix_depts_parent", depts.c.tenant_id, depts.c.parent_id, depts.c.sort_order, depts.c.id)
Index("ux_depts_ex", depts.c.tenant_id, depts.c.ex_dept_id, unique=True)

users = Table(
    "users",
    metadata,
    *_tenant_id(key=True),
    Column("id", String(64), primary_key=True),
    Column("user_name", String(200), nullable=False),
    Column("email", String(254), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("gender", String(16), nullable=False),
    Column("employee_id", String(64), nullable=True),
    Column("employer", String(200), nullable=True),
    Column("employment_status", String(32), nullable=True),
    Column("employment_type", String(32), nullable=True),
    Column("ex_user_id", String(128), nullable=True),
    Column("leader_id", String(64), nullable=True),
    Column("login_name", String(128), nullable=True),
    Column("role", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("title", String(200), nullable=True),
    Column("telephone", String(32), nullable=True),
    Column("work_place", String(200), nullable=True),
    Column("city", String(100), nullable=True),
    Column("country", String(100), nullable=True),
    Column("avatar", String(1024), nullable=True),
    Column("def_dept_id", BigInteger, nullable=True),
    Column("ctime", BigInteger, nullable=False),
    Column("mtime", BigInteger, nullable=False),
)
# NULLs are distinct in unique indexes on both SQLite and PostgreSQL, so an
# absent value never collides; present values are unique within a tenant.
Index("ux_users_email", users.c.tenant_id, users.c.email, unique=True)
Index("ux_users_phone", users.c.tenant_id, users.c.phone, unique=True)
Index("ux_users_employee_id", users.c.tenant_id, users.c.employee_id, unique=True)
Index("ux_users_ex_user_id", users.c.tenant_id, users.c.ex_user_id, unique=True)
Index("ux_users_login_name", users.c.tenant_id, users.c.login_name, unique=True)
Index("ix_users_status", users.c.tenant_id, users.c.status, users.c.id)
# The console's search by the start of a name (store/users.py name_prefix_page).
Index("ix_users_name", users.c.tenant_id, users.c.user_name, users.c.id)

memberships = Table(
    "memberships",
    metadata,
    *_person_key(),
    Column("dept_id", BigInteger, primary_key=True, autoincrement=False),
    Column("is_leader", Boolean, nullable=False),
    Column("sort_order", BigInteger, nullable=False),
    ForeignKeyConstraint(["tenant_id", "dept_id"], ["depts.tenant_id", "depts.id"]),
)
Index("ix_memberships_dept", memberships.c.tenant_id, memberships.c.dept_id, memberships.c.user_id)

attr_defs = Table(
    "attr_defs",
    metadata,
    *_tenant_id(key=True),
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("value_type", String(32), nullable=False),
    # JSON list of {"key", "name"} for option attributes, "[]" otherwise.
    Column("options", Text, nullable=False),
    Column("sort_order", BigInteger, nullable=False),
    Column("ctime", BigInteger, nullable=False),
)
Index("ux_attr_defs_name", attr_defs.c.tenant_id, attr_defs.c.name, unique=True)

attr_values = Table(
    "attr_values",
    metadata,
    *_person_key(),
    Column("attr_id", String(64), primary_key=True),
    # JSON of the typed value: a string (text, option key, relation user id),
    # a list of dept ids (relation_depts) or {"title", "link"} (url).
    Column("value", Text, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "attr_id"], ["attr_defs.tenant_id", "attr_defs.id"], ondelete="CASCADE"
    ),
)
Index("ix_attr_values_attr", attr_values.c.tenant_id, attr_values.c.attr_id)

# One row, bumped by every write transaction just before it commits. The row
# lock makes the bump order equal the commit order, so a reader that has seen
# ``seq`` has seen every change with a smaller ``seq``.
change_counter = Table(
    "change_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
)

# What each committed write touched, so every server process can drop the
# entries of its in-memory cache that went stale (see core/runtime/cache.py).
change_log = Table(
    "change_log",
    metadata,
    _serial_id(),
    Column("seq", BigInteger, nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("entity_key", String(128), nullable=False),
)
Index("ix_change_log_seq", change_log.c.seq)

# Small server-wide settings shared by every process (e.g. the token key id).
server_settings = Table(
    "server_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Roster values (the DingTalk HR roster's system groups): one row per user,
# group, row of the group and field, so writers of different fields of the
# same person never overwrite each other (``store.inserts.upsert``). Fields that
# mirror a user column (name, mobile, gender, ...) live on ``users``; custom
# groups are the custom attributes (``attr_values``). ``row_index`` is 0 for
# the single row of a plain group and 0..n-1 for the rows of a detail group.
roster_values = Table(
    "roster_values",
    metadata,
    *_person_key(),
    Column("group_id", String(64), primary_key=True),
    Column("row_index", Integer, primary_key=True, autoincrement=False),
    Column("field_code", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    # SQLite: stored in key order, so one person's values are one range of the table
    # (a v2/list of 100 people reads 100 ranges instead of ~4,500 scattered rows).
    sqlite_with_rowid=False,
)

# The options of the roster's select fields a tenant changed (model ``FieldOption``): a field with
# rows here has exactly these options (the deleted ones kept for the values that hold them); a
# field without rows has the catalogue's own (core/roster/catalogue.py).
roster_field_options = Table(
    "roster_field_options",
    metadata,
    *_tenant_id(key=True),
    Column("field_code", String(64), primary_key=True),
    Column("value", String(64), primary_key=True),
    Column("label", String(200), nullable=False),
    Column("sort_order", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False),
)

# DingTalk access tokens. The token itself is sealed with the master key
# (``gettoken`` inside the window must hand out the same token again); it is
# looked up by a keyed hash, so the database alone never reveals one.
dingtalk_tokens = Table(
    "dingtalk_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("client_id", String(128), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("token_sealed", LargeBinary, nullable=False),
    Column("secret_version", Integer, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("ctime", BigInteger, nullable=False),
    ForeignKeyConstraint(["client_id"], ["apps.client_id"], ondelete="CASCADE"),
)
Index("ix_dingtalk_tokens_app", dingtalk_tokens.c.client_id, dingtalk_tokens.c.expires_at)

# Typed change records (model/changes.py): one row per entity a write transaction changed,
# written in that transaction under its change counter value ``seq`` (so seq order is commit
# order) and numbered ``n`` within it. The event engine fans them out into deliveries.
change_records = Table(
    "change_records",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("tenant_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("op", String(16), nullable=False),
    Column("entity_id", String(128), nullable=False),
    # JSON list of the neutral field names that changed; JSON object of the state before.
    Column("fields", Text, nullable=False),
    Column("before", Text, nullable=True),
    Column("actor", String(128), nullable=True),
    # JSON object of the new values that decide the event (a user's status and role), if any.
    Column("after", Text, nullable=True),
    Column("committed_at", BigInteger, nullable=False),
)
Index("ix_change_records_tenant", change_records.c.tenant_id, change_records.c.seq)

# Event subscriptions: where a tenant's changes are delivered, and how far they were fanned out.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    *_tenant_id(key=False),
    Column("kind", String(16), nullable=False),
    Column("app", String(128), nullable=False),
    Column("url", Text, nullable=False),
    # JSON list of the topics (WPS) or event types (DingTalk) wanted; [] for all.
    Column("topics", Text, nullable=False),
    Column("payload", String(16), nullable=False),
    # DingTalk's token and aes_key, sealed with the master key like app secrets.
    Column("token_sealed", LargeBinary, nullable=True),
    Column("aes_key_sealed", LargeBinary, nullable=True),
    Column("status", String(16), nullable=False),
    Column("cursor_seq", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    # The change records pruned past the retention before it fanned them out (a paused
    # subscription's), and the commit time (unix ms) of the newest of them (migration 0011).
    Column("missed", BigInteger, nullable=False, server_default="0"),
    Column("missed_until", BigInteger, nullable=True),
)
Index("ix_subscriptions_tenant", subscriptions.c.tenant_id, subscriptions.c.id)

# The outbox: one row per event per subscription, its body rendered once (retries and replays
# send the same bytes). Times are unix ms; ``next_attempt_at`` follows the directory's clock,
# ``lease_until`` real time (a moved clock must not release a lease held by a sender).
deliveries = Table(
    "deliveries",
    metadata,
    _serial_id(),
    Column("subscription_id", String(64), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("topic", String(64), nullable=False),
    Column("operation", String(16), nullable=False),
    Column("entity_keys", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("first_attempt_at", BigInteger, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE"),
)
Index("ix_deliveries_due", deliveries.c.status, deliveries.c.next_attempt_at)
Index("ix_deliveries_subscription", deliveries.c.subscription_id, deliveries.c.id)
Index("ix_deliveries_tenant", deliveries.c.tenant_id, deliveries.c.id)

# The entity keys of the open (pending or retrying) deliveries, one row per key (migration 0012):
# inserted with the delivery, deleted when its outcome makes it delivered or dead
# (``store/outbox.py``), and with it (the foreign key cascades from a pruned delivery or a deleted
# subscription or tenant). The look for due deliveries leaves out in SQL those that share a key
# with an earlier open delivery of their subscription (order per entity), whatever lies between.
delivery_keys = Table(
    "delivery_keys",
    metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("entity_key", String(160), primary_key=True),
    Column(
        "delivery_id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="CASCADE"),
)
Index("ix_delivery_keys_delivery", delivery_keys.c.delivery_id)

# DingTalk Stream mode (store/stream.py): a ticket from ``connections/open`` opens one WebSocket
# connection; its row then describes that connection, so every process (and the control plane)
# sees who is connected. ``tenant`` is a plain column, not tenant data (no snapshot, no cascade).
# ``expires_at``, ``used_at`` and ``since`` follow the directory's clock; ``alive_until`` is real
# time, pushed on by the connection's traffic (a killed process's connections lapse by themselves).
stream_tickets = Table(
    "stream_tickets",
    metadata,
    Column("ticket", String(64), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("app", String(128), nullable=False),
    # JSON list of the subscriptions the client asked for ([{"type", "topic"}]).
    Column("topics", Text, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    Column("connection_id", String(64), nullable=True),
    Column("worker", String(128), nullable=True),
    Column("alive_until", BigInteger, nullable=True),
    Column("closed_at", BigInteger, nullable=True),
)
Index("ix_stream_tickets_app", stream_tickets.c.tenant, stream_tickets.c.app)

# The control plane's state every server process on the store shares (store/controlplane.py):
# the fault rules, with what is left of their ``times`` (NULL: until deleted) ...
fault_rules = Table(
    "fault_rules",
    metadata,
    _serial_id(),
    # JSON object of the rule's match and action fields.
    Column("spec", Text, nullable=False),
    Column("remaining", Integer, nullable=True),
    Column("hits", BigInteger, nullable=False),
    sqlite_autoincrement=True,  # an id is never given twice, even after every rule was deleted
)

# ... and the request journal: each process's calls, flushed in batches (control/journal.py).
journal_entries = Table(
    "journal_entries",
    metadata,
    _serial_id(),
    Column("at", Float, nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("query", LargeBinary, nullable=False),
    # The request's header list, as received (JSON list of latin-1 pairs).
    Column("headers", LargeBinary, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("body_size", BigInteger, nullable=False),
    Column("status", Integer, nullable=False),
    Column("reply_head", LargeBinary, nullable=False),
    Column("latency", Float, nullable=False),
    Column("request_id", String(32), nullable=False),
    Column("fault", String(32), nullable=True),
    # The app the call's credentials name, found when the call was moved here: the credentials
    # themselves are redacted before a call leaves its process.
    Column("app", String(128), nullable=True),
    sqlite_autoincrement=True,  # ids keep growing after the journal is emptied, as clients page by id
)

# Dismissions (model/dismissions.py). One record per person, the latest: ``pending`` while they
# are leaving, ``done`` once they left. Reason ids, departments when leaving: JSON text.
dismissions = Table(
    "dismissions",
    metadata,
    *_person_key(),
    Column("state", String(16), nullable=False),
    Column("last_work_day", BigInteger, nullable=False),
    Column("memo", Text, nullable=False),
    Column("voluntary", Text, nullable=False),
    Column("passive", Text, nullable=False),
    Column("pre_status", String(64), nullable=True),
    Column("handover_user_id", String(64), nullable=True),
    Column("depts", Text, nullable=False),
    Column("main_dept_id", BigInteger, nullable=True),
    Column("main_dept_name", String(200), nullable=True),
    Column("ctime", BigInteger, nullable=False),
    Column("mtime", BigInteger, nullable=False),
)
Index("ix_dismissions_state", dismissions.c.tenant_id, dismissions.c.state, dismissions.c.mtime)

# The company's catalogue of dismission reasons (a tenant without rows reads the default list).
dismission_reasons = Table(
    "dismission_reasons",
    metadata,
    *_tenant_id(key=True),
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("sort_order", Integer, nullable=False),
)

# The leave log: one row per person who left the company (a dismission, or a deletion), kept
# after the person is deleted (no key to ``users``), in time order.
leave_log = Table(
    "leave_log",
    metadata,
    *_tenant_id(key=True),
    Column("time", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", String(64), primary_key=True),
    Column("reason", String(16), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("mobile", String(64), nullable=True),
)
