"""A flush answers once the outcomes of every attempt under way in its process are written, the
background task's included: what it reports is what the outbox shows right after (a test that
flushes, then lists the deliveries, sees each attempt's outcome)."""

from __future__ import annotations

import asyncio
import threading

import event_receivers as ind
from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.events import subscriptions
from openroster.events.engine import EventEngine
from openroster.model.changes import ChangeRecord, DeliveryStatus, EntityKind, Operation

APP_ID, APP_SECRET = "acme-kso", "acme-kso-secret"


def test_a_flush_waits_for_the_outcome_of_an_attempt_the_background_task_has_under_way(
    directory: Directory,
) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        subscriptions.create(directory, tenant_id="acme", kind="wps", app=APP_ID, url=server.url)
        server.hold_next = 1  # the background task's attempt waits at the receiver until released
        engine = EventEngine(directory, poll_interval=60)

        async def scenario() -> tuple[int, int]:
            engine.start()
            try:
                with directory.writer() as tx:
                    tx.record(ChangeRecord("acme", EntityKind.USER, Operation.CREATE, "u1"))
                for _ in range(250):  # the background task sent it (the commit woke it)
                    if server.requests:
                        break
                    await asyncio.sleep(0.02)
                assert len(server.requests) == 1
                threading.Timer(0.3, server.release).start()  # then answered 503
                return await engine.flush()
            finally:
                await engine.stop()

        delivered, pending = asyncio.run(scenario())
    with directory.store.read() as tx:
        (d,) = tx.outbox.list_deliveries("acme")
    assert (d.status, d.attempts, d.last_status) == (DeliveryStatus.RETRYING, 1, 503)
    assert (delivered, pending) == (0, 1)  # none of the flush's own attempts; the one retrying is open
