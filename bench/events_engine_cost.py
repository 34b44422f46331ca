"""The event engine's cost per write, in process: SQL statements and process CPU per write + flush.

Five WPS subscriptions of one tenant, each to a receiver of its own on 127.0.0.1 (the SDK's
``WpsEventReceiver``, in threads of this process, decrypting every event: their CPU counts too);
``--writes`` transactions each record one person's update and are followed by
``EventEngine.flush()`` (fan out, claim, send, outcomes). ``--held N`` adds a sixth subscription
to a dead receiver: one delivery retrying (due tomorrow) and N more of the same person waiting
behind it, as a receiver gone for good leaves them. The statements are counted with SQLAlchemy's
``before_cursor_execute`` (an executemany is one). Compare two checkouts run one after the other
(``PYTHONPATH=<other>/src``): CPU time, not wall time, on a shared machine.

    .venv/bin/python -m bench.events_engine_cost [--backend postgresql] [--writes 200] [--held 900]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from openroster.client.events import WpsEventReceiver
from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.events import subscriptions
from openroster.events.engine import EventEngine
from openroster.events.sender import Sender
from openroster.model.changes import (
    ChangeRecord,
    DeliveryStatus,
    EntityKind,
    Operation,
    RenderedEvent,
    Subscription,
)
from openroster.server.opening import open_directory
from openroster.store.outbox import Outcome
from openroster.store.pgcluster import cluster_from_env
from openroster.testing import serve_asgi

APP, SECRET = "acme-kso", "acme-kso-secret"
BEFORE = {"user_name": "Old", "dept_ids": [1], "role": "normal", "email": "o@a.t", "phone": "1", "avatar": ""}
WARM_UP = 5


def _write(d: Directory, user_id: str) -> None:
    with d.writer() as tx:
        tx.record(ChangeRecord("acme", EntityKind.USER, Operation.UPDATE, user_id, ("user_name",), BEFORE))


def _dead_receiver(d: Directory, held: int) -> None:
    """A subscription whose receiver is gone: one retrying delivery, ``held`` more of its entity."""
    dead = Subscription("dead", "acme", "wps", APP, "http://127.0.0.1:9/dead", cursor_seq=2**62)
    events = [RenderedEvent(1, f"dead{i}", "kso.user", "update", ("user:x",), b"{}") for i in range(held + 1)]
    with d.writer() as tx:
        tx.outbox.insert_subscription(dead, token_sealed=None, aes_key_sealed=None)
        tx.outbox.insert_deliveries(dead, events[:1], d.now_ms())
        (first,) = [x.id for x in tx.outbox.list_deliveries("acme", subscription_id="dead")]
        tx.outbox.claim([first], "bench", wall_ms=0, lease_ms=1)
        tomorrow = d.now_ms() + 86_400_000
        retrying = Outcome(first, DeliveryStatus.RETRYING, 1, tomorrow, 0, 503, None, None)
        tx.outbox.record_outcomes("bench", [retrying])
        tx.outbox.insert_deliveries(dead, events[1:], d.now_ms())


def measure(settings: Settings, writes: int, held: int) -> tuple[float, float]:
    """``(statements, CPU ms)`` per write + flush."""
    d = open_directory(settings)
    d.store.migrate()
    tenants.create(d, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(d, tenant_id="acme", client_id=APP, secret=SECRET, signing="kso1")
    received: list[object] = []
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    try:
        with contextlib.ExitStack() as receivers:
            for _ in range(5):
                url = receivers.enter_context(serve_asgi(WpsEventReceiver(APP, SECRET, received.append)))
                subscriptions.create(d, tenant_id="acme", kind="wps", app=APP, url=url)
            if held:
                _dead_receiver(d, held)
            engine = EventEngine(d, poll_interval=3600)
            open_after = held + 1 if held else 0

            async def run() -> float:
                sender = Sender()
                for i in range(WARM_UP):
                    _write(d, f"w{i}")
                    await engine.flush(sender)
                event.listen(d.store.engine, "before_cursor_execute", count)
                cpu = time.process_time()
                for i in range(writes):
                    _write(d, f"u{i}")
                    if (await engine.flush(sender))[1] != open_after:
                        raise SystemExit(f"write {i}: the flush left events of the live receivers behind")
                cpu = time.process_time() - cpu
                event.remove(d.store.engine, "before_cursor_execute", count)
                await sender.aclose()
                return cpu

            cpu = asyncio.run(run())
            if len(received) != 5 * (writes + WARM_UP):
                raise SystemExit(f"the receivers got {len(received)} events")
    finally:
        d.writes.close()
        d.store.dispose()
    return statements / writes, cpu / writes * 1000


def settings_for(backend: str, stack: contextlib.ExitStack) -> Settings:
    """A new store's settings for ``stack``'s life: SQLite in a temporary folder, or a database of a
    throwaway PostgreSQL cluster."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    if backend == "postgresql":
        cluster = stack.enter_context(cluster_from_env())
        return Settings(data_dir=tmp, database_url=cluster.create_database())
    return Settings(data_dir=tmp)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--writes", type=int, default=200)
    p.add_argument("--held", type=int, default=0, help="events held up behind a dead receiver's retrying one")
    args = p.parse_args()
    with contextlib.ExitStack() as stack:
        statements, cpu = measure(settings_for(args.backend, stack), args.writes, args.held)
    print(
        f"{args.backend}, held {args.held}: {statements:.1f} SQL statements and {cpu:.2f} ms process CPU"
        f" per write + flush ({args.writes} writes, five WPS subscriptions)"
    )


if __name__ == "__main__":
    main()
