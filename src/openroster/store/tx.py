"""The seam between core and the store: transactions and the repositories they expose.

Core never sees a connection or SQL. It opens a transaction with ``Store.read`` or
``Store.write`` and calls typed functions on its repositories, one per table family::

    with store.write() as tx:
        if tx.users.existing_ids(tenant_id, ids): ...
        tx.users.insert_users(items)
        tx.changed(tenant_id, "user", item.id)

A repository method is the row function of the same name in ``store/<table>.py`` with
this transaction's connection bound (one bound method per call, nothing per row). The
row functions stay plain functions of a connection, for the store's own modules.

A test double stands behind the same names: subclass :class:`ReadTx`/:class:`WriteTx`
(or a repository) and override the repositories (or methods) it needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import MethodType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from sqlalchemy import Connection

from openroster.model.changes import ChangeRecord
from openroster.store import (
    apps,
    attrs,
    bulk,
    changes,
    controlplane,
    depts,
    dingtalk_tokens,
    dismissions,
    outbox,
    outbox_read,
    roster,
    snapshot,
    sql,
    stream,
    tenants,
    users,
)

P = ParamSpec("P")
R = TypeVar("R")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")


class RowFunction(Generic[P, R]):
    """A row function ``fn(conn, ...)`` of a store module, as a method of a repository."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[Concatenate[Connection, P], R]) -> None:
        self.fn = fn

    @overload
    def __get__(self, repo: None, owner: type[Any]) -> RowFunction[P, R]: ...

    @overload
    def __get__(self, repo: Repository, owner: type[Any]) -> Callable[P, R]: ...

    def __get__(self, repo: Repository | None, owner: type[Any]) -> RowFunction[P, R] | Callable[P, R]:
        if repo is None:
            return self
        return cast("Callable[P, R]", MethodType(self.fn, repo.conn))


class Repository:
    """The row functions of one table family, bound to one transaction."""

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn


RepoT = TypeVar("RepoT", bound=Repository)


class RepositoryOf(Generic[RepoT]):
    """A transaction's repository of one kind, made when asked for (one small object per use)."""

    __slots__ = ("kind",)

    def __init__(self, kind: type[RepoT]) -> None:
        self.kind = kind

    @overload
    def __get__(self, tx: None, owner: type[Any]) -> RepositoryOf[RepoT]: ...

    @overload
    def __get__(self, tx: Tx, owner: type[Any]) -> RepoT: ...

    def __get__(self, tx: Tx | None, owner: type[Any]) -> RepositoryOf[RepoT] | RepoT:
        if tx is None:
            return self
        return self.kind(tx.conn)


class Users(Repository):
    __slots__ = ()
    insert_users = RowFunction(users.insert_users)
    get_users = RowFunction(users.get_users)
    get_users_read = RowFunction(users.get_users_read)
    existing_ids = RowFunction(users.existing_ids)
    #: Reads to run with others (``Tx.together``): ``existing_ids``'s.
    existing_ids_read = RowFunction(users.existing_ids_read)
    ids_named = RowFunction(users.ids_named)
    find_unique_conflicts = RowFunction(users.find_unique_conflicts)
    find_taken_values = RowFunction(users.find_taken_values)
    first_ids = RowFunction(users.first_ids)
    page_ids = RowFunction(users.page_ids)
    ids_at = RowFunction(users.ids_at)
    name_prefix_page = RowFunction(users.name_prefix_page)
    count = RowFunction(users.count)
    search_ids = RowFunction(users.search_ids)
    member_page_ids = RowFunction(users.member_page_ids)
    count_members = RowFunction(users.count_members)
    dept_leaders = RowFunction(users.dept_leaders)
    update_user = RowFunction(users.update_user)
    replace_memberships = RowFunction(users.replace_memberships)
    move_members = RowFunction(users.move_members)
    set_status = RowFunction(users.set_status)
    leader_of = RowFunction(users.leader_of)
    clear_leader = RowFunction(users.clear_leader)
    set_member_order = RowFunction(users.set_member_order)
    delete_user = RowFunction(users.delete_user)


class Depts(Repository):
    __slots__ = ()
    insert_depts = RowFunction(depts.insert_depts)
    get_depts = RowFunction(depts.get_depts)
    get_depts_read = RowFunction(depts.get_depts_read)
    find_by_ex_ids = RowFunction(depts.find_by_ex_ids)
    find_child_by_name = RowFunction(depts.find_child_by_name)
    max_child_order = RowFunction(depts.max_child_order)
    list_all = RowFunction(depts.list_all)
    count_members = RowFunction(depts.count_members)
    set_abs_path = RowFunction(depts.set_abs_path)
    subtree_id_set = RowFunction(depts.subtree_id_set)
    descendants = RowFunction(depts.descendants)
    is_descendant = RowFunction(depts.is_descendant)
    child_page_ids = RowFunction(depts.child_page_ids)
    descendant_page_ids = RowFunction(depts.descendant_page_ids)
    count_children = RowFunction(depts.count_children)
    branch_counts = RowFunction(depts.branch_counts)
    search_ids = RowFunction(depts.search_ids)
    update_dept = RowFunction(depts.update_dept)
    delete_dept = RowFunction(depts.delete_dept)
    lock_tree = RowFunction(depts.lock_tree)


class Attrs(Repository):
    __slots__ = ()
    list_definitions = RowFunction(attrs.list_definitions)
    insert_definitions = RowFunction(attrs.insert_definitions)
    update_definition = RowFunction(attrs.update_definition)
    delete_definitions = RowFunction(attrs.delete_definitions)
    get_values = RowFunction(attrs.get_values)
    get_stored_values = RowFunction(attrs.get_stored_values)
    #: Reads to run with others (``Tx.together``): ``list_definitions``' and ``get_stored_values``'.
    definitions_read = RowFunction(attrs.definitions_read)
    stored_values_read = RowFunction(attrs.stored_values_read)
    put_values = RowFunction(attrs.put_values)
    put_stored_values = RowFunction(attrs.put_stored_values)
    delete_values = RowFunction(attrs.delete_values)
    delete_matching_values = RowFunction(attrs.delete_matching_values)
    remove_dept_from_values = RowFunction(attrs.remove_dept_from_values)
    #: Values as ``attr_values`` stores them (JSON text), and one back.
    encode_values = staticmethod(attrs.encode_values)
    decode_value = staticmethod(attrs.decode_value)


class Roster(Repository):
    __slots__ = ()
    get_values = RowFunction(roster.get_values)
    #: Reads to run with others (``Tx.together``).
    get_values_read = RowFunction(roster.get_values_read)
    list_field_options_read = RowFunction(roster.list_field_options_read)
    put_values = RowFunction(roster.put_values)
    page_user_ids = RowFunction(roster.page_user_ids)
    list_field_options = RowFunction(roster.list_field_options)
    put_field_options = RowFunction(roster.put_field_options)


class Apps(Repository):
    __slots__ = ()
    insert_app = RowFunction(apps.insert_app)
    get_app = RowFunction(apps.get_app)
    list_apps = RowFunction(apps.list_apps)
    find_app_by_agentid = RowFunction(apps.find_app_by_agentid)
    update_secret = RowFunction(apps.update_secret)
    update_scopes = RowFunction(apps.update_scopes)
    delete_app = RowFunction(apps.delete_app)


class Tenants(Repository):
    __slots__ = ()
    insert_tenant = RowFunction(tenants.insert_tenant)
    get_tenant = RowFunction(tenants.get_tenant)
    list_tenants = RowFunction(tenants.list_tenants)
    find_tenant_by = RowFunction(tenants.find_tenant_by)
    delete_tenant = RowFunction(tenants.delete_tenant)
    allocate_dept_ids = RowFunction(tenants.allocate_dept_ids)
    reserve_dept_id = RowFunction(tenants.reserve_dept_id)
    get_setting = RowFunction(tenants.get_setting)
    put_setting_if_absent = RowFunction(tenants.put_setting_if_absent)


class Tokens(Repository):
    """DingTalk access tokens."""

    __slots__ = ()
    lock_app = RowFunction(dingtalk_tokens.lock_app)
    latest_for_app = RowFunction(dingtalk_tokens.latest_for_app)
    insert_token = RowFunction(dingtalk_tokens.insert_token)
    extend = RowFunction(dingtalk_tokens.extend)
    prune = RowFunction(dingtalk_tokens.prune)
    get = RowFunction(dingtalk_tokens.get)


class Dismissions(Repository):
    """Dismission records, the reason catalogue and the leave log: see ``store/dismissions.py``."""

    __slots__ = ()
    get_dismissions = RowFunction(dismissions.get_dismissions)
    put_dismission = RowFunction(dismissions.put_dismission)
    delete_dismission = RowFunction(dismissions.delete_dismission)
    done_page = RowFunction(dismissions.done_page)
    list_reasons = RowFunction(dismissions.list_reasons)
    insert_reasons = RowFunction(dismissions.insert_reasons)
    append_leave = RowFunction(dismissions.append_leave)
    leave_page = RowFunction(dismissions.leave_page)


class Changes(Repository):
    """The change counter and log (what the process caches follow)."""

    __slots__ = ()
    current_seq = RowFunction(changes.current_seq)
    hold_counter_lock = RowFunction(changes.hold_counter_lock)
    since = RowFunction(changes.since)
    prune_log = RowFunction(changes.prune_log)
    records_after = RowFunction(changes.records_after)
    prune_records = RowFunction(changes.prune_records)
    expired_after = RowFunction(changes.expired_after)


class Control(Repository):
    """The control plane's shared state: the clock's offset, fault rules, the journal."""

    __slots__ = ()
    clock_offset = RowFunction(controlplane.clock_offset)
    set_clock_offset = RowFunction(controlplane.set_clock_offset)
    add_fault = RowFunction(controlplane.add_fault)
    faults = RowFunction(controlplane.faults)
    delete_fault = RowFunction(controlplane.delete_fault)
    clear_faults = RowFunction(controlplane.clear_faults)
    take_fault = RowFunction(controlplane.take_fault)
    append_journal = RowFunction(controlplane.append_journal)
    journal_rows = RowFunction(controlplane.journal_rows)
    journal_count = RowFunction(controlplane.journal_count)
    delete_journal = RowFunction(controlplane.delete_journal)
    clear_journal = RowFunction(controlplane.clear_journal)
    journal_generation = RowFunction(controlplane.journal_generation)
    journal_dropped = RowFunction(controlplane.journal_dropped)


class Outbox(Repository):
    """Event subscriptions and their deliveries: see ``store/outbox.py``."""

    __slots__ = ()
    insert_subscription = RowFunction(outbox.insert_subscription)
    get_subscription = RowFunction(outbox.get_subscription)
    list_subscriptions = RowFunction(outbox.list_subscriptions)
    active_contexts = RowFunction(outbox_read.active_contexts)
    held_keys = RowFunction(outbox_read.held_keys)
    set_subscription_status = RowFunction(outbox.set_subscription_status)
    advance_cursor = RowFunction(outbox.advance_cursor)
    delete_subscription = RowFunction(outbox.delete_subscription)
    lagging = RowFunction(outbox.lagging)
    skip_records = RowFunction(outbox.skip_records)
    insert_deliveries = RowFunction(outbox.insert_deliveries)
    insert_batches = RowFunction(outbox.insert_batches)
    store_batches = RowFunction(outbox.store_batches)
    replay_deliveries = RowFunction(outbox.replay_deliveries)
    get_delivery = RowFunction(outbox.get_delivery)
    list_deliveries = RowFunction(outbox.list_deliveries)
    due_candidates = RowFunction(outbox.due_candidates)
    claim = RowFunction(outbox.claim)
    record_outcome = RowFunction(outbox.record_outcome)
    record_outcomes = RowFunction(outbox.record_outcomes)
    count_open = RowFunction(outbox.count_open)
    prune_finished = RowFunction(outbox.prune_finished)
    key_context = staticmethod(outbox.key_context)  #: a subscription key's sealing context (no tx needed)


class Stream(Repository):
    """DingTalk Stream mode's tickets and connections: see ``store/stream.py``."""

    __slots__ = ()
    insert_ticket = RowFunction(stream.insert_ticket)
    take_ticket = RowFunction(stream.take_ticket)
    keep_alive = RowFunction(stream.keep_alive)
    close = RowFunction(stream.close)
    connections = RowFunction(stream.connections)
    prune = RowFunction(stream.prune)


class Bulk(Repository):
    """Loads of many rows at once (bulk imports, demo data): see ``store/bulk.py``."""

    __slots__ = ()
    loading = RowFunction(bulk.loading)
    insert_users = RowFunction(bulk.insert_users)
    insert_memberships = RowFunction(bulk.insert_memberships)
    insert_attr_values = RowFunction(bulk.insert_attr_values)
    insert_depts = RowFunction(bulk.insert_depts)
    insert_roster_values = RowFunction(bulk.insert_roster_values)
    #: The row encoders: ``users`` rows (after ``tenant_id``) from a User, and an attribute
    #: value as ``attr_values`` stores it. Plain picklable functions, for worker processes.
    user_fields = staticmethod(bulk.user_fields)
    #: The names of those fields: a ``users`` row (after ``tenant_id``) from checked columns.
    user_columns = bulk.USER_COLUMNS[1:]
    encode_attr_value = staticmethod(attrs.encode_value)
    #: Rows sorted into their table's key order, as the loaders insert them (``bulk.in_key_order``).
    in_key_order = staticmethod(bulk.in_key_order)


class Snapshots(Repository):
    """Whole-tenant rows, for snapshots and resets: see ``store/snapshot.py``."""

    __slots__ = ()
    read_rows = RowFunction(snapshot.read_rows)
    insert_rows = RowFunction(snapshot.insert_rows)
    clear_tenant = RowFunction(snapshot.clear_tenant)
    read_tenant_row = RowFunction(snapshot.read_tenant_row)
    list_tenant_ids = RowFunction(snapshot.list_tenant_ids)
    write_tenant_row = RowFunction(snapshot.write_tenant_row)
    delete_tenant_row = RowFunction(snapshot.delete_tenant_row)
    tenant_of_app = RowFunction(snapshot.tenant_of_app)
    #: The tables a snapshot is made of, by name, and the row check (no transaction needed).
    APPS = snapshot.APPS
    TENANTS = snapshot.TENANTS
    CREDENTIAL_TABLES = snapshot.CREDENTIAL_TABLES
    tenant_tables = staticmethod(snapshot.tenant_tables)
    checked_row = staticmethod(snapshot.checked_row)


class Tx:
    """A transaction as core sees it: its repositories."""

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        #: The store's own handle; nothing outside ``openroster.store`` (and its tests) uses it.
        self.conn = conn

    users = RepositoryOf(Users)
    depts = RepositoryOf(Depts)
    attrs = RepositoryOf(Attrs)
    roster = RepositoryOf(Roster)
    apps = RepositoryOf(Apps)
    tenants = RepositoryOf(Tenants)
    tokens = RepositoryOf(Tokens)
    dismissions = RepositoryOf(Dismissions)
    changes = RepositoryOf(Changes)
    outbox = RepositoryOf(Outbox)
    stream = RepositoryOf(Stream)
    control = RepositoryOf(Control)
    bulk = RepositoryOf(Bulk)
    snapshots = RepositoryOf(Snapshots)

    @overload
    def together(self, r1: sql.Read[T1], r2: sql.Read[T2], /) -> tuple[T1, T2]: ...
    @overload
    def together(self, r1: sql.Read[T1], r2: sql.Read[T2], r3: sql.Read[T3], /) -> tuple[T1, T2, T3]: ...
    @overload
    def together(
        self, r1: sql.Read[T1], r2: sql.Read[T2], r3: sql.Read[T3], r4: sql.Read[T4], /
    ) -> tuple[T1, T2, T3, T4]: ...
    def together(self, *reads: sql.Read[Any]) -> tuple[Any, ...]:
        """The answers of ``reads`` (a repository's ``*_read`` functions), asked together: on
        PostgreSQL, in a write transaction, in one round trip (``sql.together``)."""
        return sql.together(self.conn, *reads)


class ReadTx(Tx):
    """A read-only transaction: one consistent snapshot of the store."""

    __slots__ = ()


class WriteTx(Tx):
    """A write transaction. Everything in it commits together or not at all.

    It records what it touched: :meth:`changed` for cache invalidation, :meth:`record` for the
    typed change records the event engine delivers. Just before it commits, ``Store.write``
    publishes both (:meth:`publish`) under one new change counter value, so every server process
    can invalidate its cache (see ``core/runtime/cache.py``) and every subscription gets the
    change in commit order.

    A *quiet* transaction (``Store.write(quiet=True)``: seeding, snapshots, resets) drops its
    change records: set-up is not a change, so it raises no events. Cache invalidation still runs.
    """

    __slots__ = ("_changed", "_depth", "_kept", "_records", "actor", "now_ms", "quiet", "seq")

    def __init__(
        self, conn: Connection, *, quiet: bool = False, now_ms: Callable[[], int] | None = None
    ) -> None:
        super().__init__(conn)
        #: The change-log entries so far, in the order first recorded (a savepoint's rollback
        #: drops those recorded in it).
        self._changed: dict[tuple[str, str, str], None] = {}
        self._records: list[ChangeRecord] = []
        #: True when this transaction's change records are dropped (it emits no events).
        self.quiet = quiet
        #: The clock change records are stamped with (unix ms); the directory's clock when given.
        self.now_ms = now_ms or _wall_ms
        #: The change counter value this transaction published under (None until it publishes).
        self.seq: int | None = None
        #: The app whose request is writing (the records' ``actor``); set per job by the writer.
        self.actor: str | None = None
        #: Savepoints open (:meth:`savepoint`), which names the next one.
        self._depth = 0
        self._kept = sql.Kept()

    def changed(self, tenant_id: str, kind: str, key: str | int) -> None:
        """Record that an entity changed, for cache invalidation in every process."""
        self._changed[(tenant_id, kind, str(key))] = None
        if kind in KEPT_KINDS:
            self._kept.drop()

    def kept(self, read: sql.Read[R]) -> sql.Read[R]:
        """``read`` answered once a transaction (``sql.Kept``): what :data:`KEPT_KINDS` name only."""
        return self._kept.read(read)

    def record(self, change: ChangeRecord) -> None:
        """Record a typed change for the event engine (dropped in a quiet transaction), made by
        :attr:`actor` unless the record names its own."""
        if not self.quiet:
            if change.actor is None and self.actor is not None:
                change = replace(change, actor=self.actor)
            self._records.append(change)

    @property
    def records(self) -> tuple[ChangeRecord, ...]:
        """The change records this transaction will publish, in the order they were recorded."""
        return tuple(self._records)

    @property
    def publishes(self) -> bool:
        """Whether this transaction has recorded something to publish (change-log entries or records)."""
        return bool(self._changed or self._records)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an error in the block undoes the block's writes (and change records
        and change-log entries) only.

        Its statements go straight to the driver's connection: SQLAlchemy's ``begin_nested`` cost
        about 100 µs of CPU a savepoint (every write job opens one, and a service's ``d.writer()``
        inside it another), the driver's a few. On PostgreSQL they are held to go with the next
        statement (``sql.hold``: no round trip of their own), and a savepoint no statement ran in
        is never sent at all; undoing one that was sent goes at once, in one round trip. One opened
        first thing in another (a job's service's ``d.writer()``), nothing held or sent in between,
        is that one's alias: it marks the same state, so it sends nothing of its own (undone, it
        rolls back to that one, which stays open)."""
        held = sql.held(self.conn)
        generation = self._kept.generation
        try:
            if held and self._depth and held[-1] == f"SAVEPOINT openroster_sp{self._depth - 1}":
                with self._alias(held):
                    yield
            else:
                with self._opened(held):
                    yield
        finally:
            if self._kept.generation != generation:  # read again after such a change, or undone
                self._kept.drop()

    @contextmanager
    def _opened(self, held: list[str] | None) -> Iterator[None]:
        """:meth:`savepoint` of its own: ``SAVEPOINT`` sent (or held), released or rolled back to."""
        kept, kept_changed = len(self._records), len(self._changed)
        name = f"openroster_sp{self._depth}"
        run = self.conn.connection.driver_connection.execute  # type: ignore[union-attr]
        opened = f"SAVEPOINT {name}"
        if held is None:
            run(opened)
        else:
            held.append(opened)
        self._depth += 1
        try:
            yield
        except BaseException:
            failed = None if held is None else sql.held_failure(self.conn)
            if failed is not None:
                # A held statement failed (the group's lock, a savepoint's): the transaction is
                # aborted as a whole, with nothing to roll back to; so is every job of it.
                raise failed from failed.__cause__
            if held is None:
                run(f"ROLLBACK TO SAVEPOINT {name}")
                run(f"RELEASE SAVEPOINT {name}")
            elif not _unsent(held, opened):
                # Sent: what is held now came after it (inside it). Undone now, not held: a failed
                # statement leaves the transaction refusing anything else until it is.
                held.clear()
                run(f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}", prepare=False)
            self._forget(kept, kept_changed)
            raise
        else:
            if held is None:
                run(f"RELEASE SAVEPOINT {name}")
            elif (failed := sql.held_failure(self.conn)) is not None:
                raise failed  # caught in the block: it fails the transaction all the same
            elif not _unsent(held, opened):
                held.append(f"RELEASE SAVEPOINT {name}")
        finally:
            self._depth -= 1

    @contextmanager
    def _alias(self, held: list[str]) -> Iterator[None]:
        """:meth:`savepoint` as an alias of the one just opened around it (its ``SAVEPOINT`` the
        last statement held): nothing to send on entry or on success; undone, it rolls back to
        that one, left open for the rest of its block."""
        kept, kept_changed = len(self._records), len(self._changed)
        enclosing = f"SAVEPOINT openroster_sp{self._depth - 1}"
        self._depth += 1
        try:
            yield
        except BaseException:
            failed = sql.held_failure(self.conn)
            if failed is not None:
                raise failed from failed.__cause__
            if _unsent(held, enclosing):
                held.append(enclosing)  # still held, and nothing inside it ran: still to open
            else:
                held.clear()  # what is held came after it (inside it)
                run = self.conn.connection.driver_connection.execute  # type: ignore[union-attr]
                run(f"ROLLBACK TO {enclosing}", prepare=False)
            self._forget(kept, kept_changed)
            raise
        else:
            if (failed := sql.held_failure(self.conn)) is not None:
                raise failed
        finally:
            self._depth -= 1

    def _forget(self, kept: int, kept_changed: int) -> None:
        """Drop the change records and change-log entries recorded after the first ``kept`` and
        ``kept_changed`` (a savepoint's block undone)."""
        del self._records[kept:]
        for entry in list(self._changed)[kept_changed:]:
            del self._changed[entry]

    @property
    def published(self) -> tuple[int, list[tuple[str, str, str]]] | None:
        """``(seq, entries)``: the change counter value this transaction published under and its
        change-log entries ``(tenant_id, kind, key)`` as written (None until it publishes, or when
        it changed nothing)."""
        if self.seq is None:
            return None
        return self.seq, sorted(self._changed)

    def publish(self) -> None:
        """Append the recorded changes to the change log and records before commit, in one counter bump."""
        if self._changed or self._records:
            self.seq = changes.publish(self.conn, self._changed, self._records, committed_at=self.now_ms())


def _unsent(held: list[str], opened: str) -> bool:
    """Whether the savepoint ``opened`` (its ``SAVEPOINT`` statement) is still held, unsent; if so,
    drop it and what followed it (inside it, never sent either): there is nothing to undo."""
    for i in range(len(held) - 1, -1, -1):
        if held[i] == opened:
            del held[i:]
            return True
    return False


#: The change-log kinds of what a transaction keeps (``WriteTx.kept``): a tenant's attribute
#: definitions, its roster fields' options, the tenant as a whole (deleted, restored).
KEPT_KINDS = frozenset({"attrdefs", "rosteroptions", "tenant"})


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000
