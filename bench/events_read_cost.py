"""A pass's read, in process: CPU time and SQL statements of ``EventEngine.plan`` per pass.

The read of a pass (``events/engine.py``: the active subscriptions, their tenant and app, the
records after their cursors, rendered and sealed) runs on the server's event loop. This times it
as a write load makes it: five WPS subscriptions of one tenant, and before each pass
``--transactions`` write transactions of ``--people`` change records each; the pass's job is then
run (stores the batches and claims them) and every claimed delivery is marked delivered, so the
next pass finds new records only. Then ``--passes`` reads of a pass with nothing new (the look
for due deliveries, which finds none). The CPU is the calling thread's (``time.thread_time``),
the statements are counted by SQLite's trace callback (on PostgreSQL, those SQLAlchemy runs, with
its ``before_cursor_execute``: not those run on the driver's connection). Compare two checkouts
run one after the other (``PYTHONPATH=<other>/src``): CPU time, not wall time.

    .venv/bin/python -m bench.events_read_cost [--backend postgresql] [--passes 300]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from typing import Any

from sqlalchemy import event

from bench.events_engine_cost import APP, BEFORE, SECRET, settings_for
from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.events import subscriptions
from openroster.events.engine import EventEngine
from openroster.model.changes import ChangeRecord, DeliveryStatus, EntityKind, Operation
from openroster.server.opening import open_directory
from openroster.store.outbox import Outcome

WARM_UP = 20


def _write(d: Directory, people: int, n: int) -> None:
    with d.writer() as tx:
        for p in range(people):
            change = ChangeRecord(
                "acme", EntityKind.USER, Operation.UPDATE, f"u{n}-{p}", ("user_name",), BEFORE
            )
            tx.record(change)


class Counted:
    """Statements run on ``d``'s engine while on: on SQLite every statement SQLite runs (its trace
    callback: those run on the driver too, ``sql.Fixed``), on PostgreSQL those SQLAlchemy runs."""

    def __init__(self, d: Directory) -> None:
        self.n, self.on = 0, False
        if d.store.backend == "sqlite":
            event.listen(d.store.engine, "connect", lambda dbapi, _: dbapi.set_trace_callback(self._count))
            d.store.engine.dispose()  # the connections made before: traced when made again
        else:
            event.listen(d.store.engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        if self.on:
            self.n += 1


def _timed(engine: EventEngine, counted: Counted) -> tuple[Any, float, int]:
    counted.on, before, cpu = True, counted.n, time.thread_time()
    job = engine.plan()
    cpu = time.thread_time() - cpu
    counted.on = False
    return job, cpu * 1000, counted.n - before


def measure(settings: Settings, passes: int, transactions: int, people: int) -> dict[str, list[float]]:
    d = open_directory(settings)
    d.store.migrate()
    tenants.create(d, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(d, tenant_id="acme", client_id=APP, secret=SECRET, signing="kso1")
    for i in range(5):
        subscriptions.create(d, tenant_id="acme", kind="wps", app=APP, url=f"http://127.0.0.1:9/r{i}")
    engine = EventEngine(d, poll_interval=3600)
    counted = Counted(d)
    out: dict[str, list[float]] = {
        "loaded_ms": [],
        "loaded_statements": [],
        "idle_ms": [],
        "idle_statements": [],
    }
    writes = 0
    try:
        for i in range(WARM_UP + passes):
            for _ in range(transactions):
                _write(d, people, writes)
                writes += 1
            job, cpu, statements = _timed(engine, counted)
            if job is None:
                raise SystemExit("a pass with records to render made no job")
            step = engine.write(job)
            # An event a subscription (a pass merges its transactions' records of one topic), or
            # one a transaction and subscription (a checkout from before merged events).
            if len(step.attempts) not in (5, 5 * transactions):
                raise SystemExit(f"pass {i}: {len(step.attempts)} claimed, not 5 or {5 * transactions}")
            now = d.now_ms()
            done = [
                Outcome(a.delivery.id, DeliveryStatus.DELIVERED, 1, now, now, 200, None, now)
                for a in step.attempts
            ]
            with d.writer() as tx:
                tx.outbox.record_outcomes(engine.owner, done)
            if i >= WARM_UP:
                out["loaded_ms"].append(cpu)
                out["loaded_statements"].append(statements)
        for i in range(WARM_UP + passes):
            job, cpu, statements = _timed(engine, counted)
            if job is not None:
                raise SystemExit("a pass with nothing to do made a job")
            if i >= WARM_UP:
                out["idle_ms"].append(cpu)
                out["idle_statements"].append(statements)
    finally:
        d.writes.close()
        d.store.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--passes", type=int, default=300)
    p.add_argument("--transactions", type=int, default=3, help="write transactions before each pass")
    p.add_argument("--people", type=int, default=10, help="change records per transaction")
    args = p.parse_args()
    with contextlib.ExitStack() as stack:
        out = measure(settings_for(args.backend, stack), args.passes, args.transactions, args.people)
    for kind, what in (("loaded", f"{args.transactions}x{args.people} records"), ("idle", "nothing new")):
        ms, st = out[f"{kind}_ms"], out[f"{kind}_statements"]
        print(
            f"{args.backend}, read of a pass with {what}: CPU median {statistics.median(ms):.3f} ms,"
            f" mean {statistics.fmean(ms):.3f} ms; {statistics.fmean(st):.1f} statements ({len(ms)} passes)"
        )


if __name__ == "__main__":
    main()
