"""The event engine's cost per write under a saturating write load, in process.

``bench.events_engine_cost`` flushes after every write, so each pass carries one write: it shows
what a pass and an event cost, not how many passes a write load pays for. Here ``--clients``
tasks on the event loop each spend ``--request-cpu`` ms of the loop's CPU (what a served request
costs besides its write: about a millisecond) and then await one person's rename as a job of the
store's writers (``Directory.write``, as a served request does: the writers group them into
transactions), until ``--writes`` are committed, while the
engine's background task runs as in a server (its gathering window, ``events/pacing.py``), with
five WPS subscriptions to receivers of their own (``WpsEventReceiver`` in threads of this
process) and then with none. Each run ends when the receivers have every person's event. It
prints, per write, the process's CPU (the writes', the engine's and the receivers'), the passes,
the events sent and the outcome jobs; five less none is what the subscriptions cost a write.
Compare two checkouts run one after the other (``PYTHONPATH=<other>/src``).

    .venv/bin/python -m bench.events_load_cost [--backend postgresql] [--writes 3000] [--clients 16]
        [--request-cpu 1.0]

The ratio of the rates is as noisy as the machine's load; the CPU per write and the passes, sends
and outcome jobs per write are the figures to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from functools import partial
from pathlib import Path

from bench.events_engine_cost import APP, BEFORE, SECRET
from openroster.client.events import WpsEventReceiver
from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.dialects.wps.event_crypto import WpsEvent
from openroster.events import subscriptions
from openroster.events.engine import EventEngine
from openroster.model.changes import ChangeRecord, EntityKind, Operation
from openroster.server.opening import open_directory
from openroster.store.pgcluster import cluster_from_env
from openroster.testing import serve_asgi

#: Seconds a run may take at most after its writes before it is called stuck.
DRAIN_TIMEOUT = 60.0


def _busy(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU (what a served request costs the loop besides its write)."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


async def _load(d: Directory, writes: int, clients: int, request_cpu: float) -> None:
    """``writes`` renames, one a job, by ``clients`` tasks on the loop (each awaits its commit),
    each after ``request_cpu`` seconds of the loop's CPU."""
    left = iter(range(writes))

    def rename(user_id: str, r: object) -> None:
        del r
        with d.writer() as w:
            w.record(ChangeRecord("acme", EntityKind.USER, Operation.UPDATE, user_id, ("user_name",), BEFORE))

    async def client() -> None:
        for n in left:
            _busy(request_cpu)
            await d.write(partial(rename, f"u{n}"))

    await asyncio.gather(*(client() for _ in range(clients)))


def measure(
    settings: Settings, writes: int, clients: int, request_cpu: float, subscribed: int
) -> dict[str, float]:
    """Writes a second, and per write: process CPU (ms), passes, events sent and outcome jobs."""
    d = open_directory(settings)
    d.store.migrate()
    tenants.create(d, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(d, tenant_id="acme", client_id=APP, secret=SECRET, signing="kso1")
    people = 0

    def received(event: WpsEvent) -> None:
        nonlocal people
        people += len(event.payload.get("users", ()))

    try:
        with contextlib.ExitStack() as receivers:
            for _ in range(subscribed):
                url = receivers.enter_context(serve_asgi(WpsEventReceiver(APP, SECRET, received)))
                subscriptions.create(d, tenant_id="acme", kind="wps", app=APP, url=url)
            engine = EventEngine(d, poll_interval=0.5)

            elapsed = 0.0

            async def run() -> float:
                nonlocal elapsed
                engine.start()
                await asyncio.sleep(0.2)
                cpu, began = time.process_time(), time.monotonic()
                await _load(d, writes, clients, request_cpu)
                elapsed = time.monotonic() - began
                deadline = time.monotonic() + DRAIN_TIMEOUT
                while people < subscribed * writes:
                    if time.monotonic() > deadline:
                        raise SystemExit(
                            f"the receivers got {people} of {subscribed * writes} people's events"
                        )
                    await asyncio.sleep(0.01)
                cpu = time.process_time() - cpu
                await engine.stop()
                return cpu

            cpu = asyncio.run(run())
    finally:
        d.writes.close()
        d.store.dispose()
    t = engine.timings
    return {
        "rate": writes / elapsed,
        "cpu_ms": cpu / writes * 1000,
        "passes": t.passes.ran.count / writes,
        "sends": t.send.count / writes,
        "outcome_jobs": t.outcomes.ran.count / writes,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--writes", type=int, default=3000)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--request-cpu", type=float, default=1.0, help="ms of the loop's CPU before each write")
    args = p.parse_args()
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(cluster_from_env()) if args.backend == "postgresql" else None
        figures = {}
        for subscribed in (5, 0):
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = None if cluster is None else cluster.create_database()
            settings = Settings(data_dir=tmp) if url is None else Settings(data_dir=tmp, database_url=url)
            figures[subscribed] = measure(
                settings, args.writes, args.clients, args.request_cpu / 1000, subscribed
            )
    five, none = figures[5], figures[0]
    print(
        f"{args.backend}, {args.writes} writes by {args.clients} clients, {args.request_cpu:g} ms each:"
        f" {five['rate']:.0f} writes/s with five subscriptions, {none['rate']:.0f} without"
        f" ({five['rate'] / none['rate']:.1%}); per write: process CPU"
        f" {five['cpu_ms']:.3f} ms with five subscriptions, {none['cpu_ms']:.3f} without"
        f" (+{five['cpu_ms'] - none['cpu_ms']:.3f}); passes {five['passes']:.4f}, events sent"
        f" {five['sends']:.3f}, outcome jobs {five['outcome_jobs']:.4f}"
    )


if __name__ == "__main__":
    main()
