"""A pass's read of its subscriptions (``store/outbox_read.py``) on a real store (both backends): one
statement, and a subscription, tenant or app changed between two passes, by this process or
another, takes effect in the next pass (the read keeps only what it decoded of unchanged rows); a
cursor moved by another process between the read's two statements (run in no transaction) costs no
event and doubles none; and a read in no transaction leaves no pooled connection changed."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection

from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.events import subscriptions
from openroster.events.engine import EventEngine
from openroster.model.changes import ChangeRecord, EntityKind, Operation, StoredChange, SubscriptionStatus
from openroster.store import changes
from openroster.store import tx as tx_module
from openroster.store.sql import ALONE, Fixed
from openroster.store.tx import RowFunction

APP_ID, SECRET, NEW_SECRET = "acme-kso", "acme-kso-secret", "acme-kso-secret-2"


def _write(d: Directory, user_id: str) -> None:
    with d.writer() as tx:
        tx.record(ChangeRecord("acme", EntityKind.USER, Operation.CREATE, user_id, ("name",), None))


def _one(d: Directory, query: str) -> Any:
    with d.store.engine.connect() as conn:
        return conn.exec_driver_sql(query).scalar_one()


def _pass(engine: EventEngine) -> dict[str, tuple[str | None, int]]:
    """One pass (fan-out and claim): what it claimed, per subscription its app secret and count."""
    claimed: dict[str, tuple[str | None, int]] = {}
    for a in engine.step().attempts:
        sub = a.ctx.subscription.id
        claimed[sub] = (a.ctx.app_secret, claimed.get(sub, (None, 0))[1] + 1)
    return claimed


def test_a_subscription_paused_or_an_app_secret_rotated_between_passes_counts_in_the_next(
    directory: Directory, other_process: Directory
) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=SECRET, signing="kso1")
    a = subscriptions.create(directory, tenant_id="acme", kind="wps", app=APP_ID, url="http://127.0.0.1:9/a")
    b = subscriptions.create(directory, tenant_id="acme", kind="wps", app=APP_ID, url="http://127.0.0.1:9/b")
    engine = EventEngine(directory)
    _write(directory, "u1")
    assert _pass(engine) == {a.id: (SECRET, 1), b.id: (SECRET, 1)}

    # Another process pauses b and rotates the app's secret: the next pass sees both.
    subscriptions.set_status(other_process, b.id, SubscriptionStatus.PAUSED)
    apps.rotate_secret(other_process, client_id=APP_ID, secret=NEW_SECRET)
    _write(directory, "u2")
    assert _pass(engine) == {a.id: (NEW_SECRET, 1)}
    _write(directory, "u3")
    assert _pass(engine) == {a.id: (NEW_SECRET, 1)}  # unchanged rows: a's cursor moved on

    # Resumed, b gets what it missed while paused, in the next pass; a deleted gets nothing.
    subscriptions.set_status(other_process, b.id, SubscriptionStatus.ACTIVE)
    subscriptions.delete(other_process, a.id)
    _write(directory, "u4")
    assert _pass(engine) == {b.id: (NEW_SECRET, 1)}  # u2, u3 and u4 in one event


def test_a_tenants_platform_id_changed_between_passes_reaches_the_next_ones_events(
    directory: Directory, other_process: Directory
) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=SECRET, signing="kso1")
    subscriptions.create(directory, tenant_id="acme", kind="wps", app=APP_ID, url="http://127.0.0.1:9/a")
    engine = EventEngine(directory)
    _write(directory, "u1")
    (first,) = engine.step().attempts
    assert first.ctx.wps_company_id == "C1"
    with other_process.writer() as tx:
        tx.conn.exec_driver_sql("UPDATE tenants SET wps_company_id = 'C2' WHERE id = 'acme'")
    _write(directory, "u2")
    (second,) = engine.step().attempts
    assert second.ctx.wps_company_id == "C2"


def test_a_cursor_moved_by_another_process_between_the_reads_two_statements_loses_no_event(
    directory: Directory, other_process: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass reads its subscriptions (cursor 0), then, in no transaction, the records after it:
    meanwhile another process's engine fans out u1 and u2 and moves the cursor, and u3 is written.
    The pass's fan-out from the stale cursor is refused; the next passes deliver u3, and nothing
    twice."""
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=SECRET, signing="kso1")
    sub = subscriptions.create(
        directory, tenant_id="acme", kind="wps", app=APP_ID, url="http://127.0.0.1:9/a"
    )
    engine, elsewhere = EventEngine(directory), EventEngine(other_process)
    _write(directory, "u1")
    moved: list[int] = []

    def records_after(conn: Connection, tenant_id: str, seq: int, limit: int) -> list[StoredChange]:
        if not moved:  # the first call: this pass's (the other engine's pass runs the same code)
            moved.append(seq)
            _write(other_process, "u2")
            elsewhere.step()
            moved.append(_one(other_process, "SELECT cursor_seq FROM subscriptions"))
            moved.append(_one(other_process, "SELECT seq FROM change_records WHERE entity_id = 'u2'"))
            _write(other_process, "u3")
        return changes.records_after(conn, tenant_id, seq, limit)

    monkeypatch.setattr(tx_module.Changes, "records_after", RowFunction(records_after))
    engine.step()
    monkeypatch.undo()
    read_at, cursor, u2 = moved
    assert cursor == u2 > read_at  # the cursor moved past u2 meanwhile
    engine.step()
    engine.step()
    with directory.store.engine.connect() as conn:
        delivered = conn.exec_driver_sql("SELECT subscription_id, entity_keys FROM deliveries").all()
    # The other engine's pass fanned u1 and u2 out as one event; u3 came after it.
    assert sorted(delivered) == [(sub.id, '["user:u1","user:u2"]'), (sub.id, '["user:u3"]')]


def test_reads_in_no_transaction_that_end_badly_leave_every_pooled_connection_as_it_was(
    directory: Directory, backend: str
) -> None:
    """``Store.read(snapshot=False)`` left with its session in a transaction (on PostgreSQL the
    driver cannot leave autocommit then), left by an error, or after a fixed statement failed:
    every pooled connection checked out afterwards is out of autocommit, in no transaction and not
    marked, and a write that raises on any of them commits nothing."""
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    store = directory.store
    with store.read(snapshot=False) as tx:
        driver: Any = tx.conn.connection.driver_connection
        driver.execute("BEGIN")
        assert [r[0] for r in Fixed("SELECT id FROM tenants").rows(tx.conn)] == ["acme"]
    with pytest.raises(RuntimeError), store.read(snapshot=False) as tx:
        tx.outbox.active_contexts(lambda b, c: "", lambda b, c: "", {})
        raise RuntimeError
    with pytest.raises((sqlite3.Error, psycopg.Error)), store.read(snapshot=False) as tx:
        Fixed("SELECT no_such_column FROM tenants").rows(tx.conn)

    pooled = store.engine.pool.checkedin()  # type: ignore[attr-defined]
    conns = [store.engine.connect() for _ in range(pooled)]
    try:
        assert conns
        for conn in conns:
            assert ALONE not in conn.get_execution_options() and ALONE not in conn.info
            driver = conn.connection.driver_connection
            assert driver is not None
            if backend == "postgresql":
                assert driver.autocommit is False
                assert driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            else:
                assert driver.in_transaction is False
    finally:
        for conn in conns:
            conn.close()
    for _ in range(pooled):  # the pool hands its connections out in turn
        with pytest.raises(RuntimeError), store.write() as wtx:
            wtx.conn.exec_driver_sql("UPDATE tenants SET name = 'Changed' WHERE id = 'acme'")
            raise RuntimeError
    assert _one(directory, "SELECT name FROM tenants") == "Acme"
