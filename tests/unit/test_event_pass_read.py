"""A pass's read of its subscriptions (``store/outbox_read.py``) on a real store (both backends): one
statement, and a subscription, tenant or app changed between two passes, by this process or
another, takes effect in the next pass (the read keeps only what it decoded of unchanged rows)."""

from __future__ import annotations

from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.events import subscriptions
from openroster.events.engine import EventEngine
from openroster.model.changes import ChangeRecord, EntityKind, Operation, SubscriptionStatus

APP_ID, SECRET, NEW_SECRET = "acme-kso", "acme-kso-secret", "acme-kso-secret-2"


def _write(d: Directory, user_id: str) -> None:
    with d.writer() as tx:
        tx.record(ChangeRecord("acme", EntityKind.USER, Operation.CREATE, user_id, ("name",), None))


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
    assert _pass(engine) == {b.id: (NEW_SECRET, 3)}


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
