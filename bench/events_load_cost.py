"""The event engine's cost per write under a saturating write load, in process.

``bench.events_engine_cost`` flushes after every write, so each pass carries one write: it shows
what a pass and an event cost, not how many passes a write load pays for. Here ``--writes``
people are seeded (quietly: no change records), then ``--clients`` tasks on the event loop each
spend ``--request-cpu`` ms of the loop's CPU (what a served request costs besides its write:
about a millisecond) and then await one person's rename (``users.update`` of ``user_name``, its
row written and its change recorded) as a job of the store's writers (``Directory.write``, as a
served request does: the writers group them into transactions), each person renamed once, while
the engine's background task runs as in a server (its gathering window, ``events/pacing.py``).
A run has five WPS subscriptions, each to a receiver of its own (``WpsEventReceiver`` served by
uvicorn in a thread of the bench's process, ``testing/asgi.py``), or none; it ends when every
receiver has had every renamed person's event, and its CPU interval when the engine has stopped
(``EventEngine.stop`` writes the outcomes still waiting).

Each run is a fresh process, and the runs of a pair alternate their order (five first, then
none first), so neither gets the warmer interpreter or the quieter minute. Per write it prints
the CPU of the loop thread (the clients' requests, the engine's reads and sends) and of the
store's writer threads (the renames, the engine's jobs) apart from the receivers' threads (a
server would not pay theirs) and the rest of the process, the passes, events sent and outcome
jobs, and the engine's own CPU by part (``events/timings.py``: the passes' reads on the loop, their
jobs and the outcome jobs in the writers, each by its thread's clock, which another process's load
moves less than the threads' totals); "five less none" of loop + writers is what the
subscriptions cost the server a write. ``uptime``'s load goes with each run.

    .venv/bin/python -m bench.events_load_cost [--backend postgresql] [--writes 3000] [--pairs 2]
        [--clients 16] [--request-cpu 1.0]

The rate (writes a second) and the ratio of the rates are not the "five subscriptions at >= 90 %
of none" target's: that one is served (``bench_events``' throughput phase: HTTP requests, the
server's own process), this one is a loop of in-process jobs on a machine whose load moves it.
Compare the CPU per write and the passes, sends and outcome jobs per write; compare two checkouts
run one after the other (``PYTHONPATH=<other>/src``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.events_engine_cost import APP, SECRET
from openroster.client.events import WpsEventReceiver
from openroster.config import Settings
from openroster.core.directory import Directory, Reader
from openroster.core.people import users
from openroster.core.tenancy import apps, tenants
from openroster.dialects.wps.event_crypto import WpsEvent
from openroster.events import subscriptions
from openroster.events.engine import EventEngine
from openroster.events.timings import cpu_ms, thread_cpu_ms
from openroster.server.opening import open_directory
from openroster.store.pgcluster import cluster_from_env
from openroster.testing import serve_asgi

#: Seconds a run may take at most after its writes before it is called stuck.
DRAIN_TIMEOUT = 60.0
#: People seeded a transaction.
SEED_CHUNK = 1000
#: The receivers' threads' names begin so (``testing/asgi.py``).
RECEIVER_THREAD = "asgi-"
#: The CPU figures of a run, per write (ms).
CPU_KINDS = ("loop", "writers", "receivers", "rest")


def _busy(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU (what a served request costs the loop besides its write)."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def _seed(d: Directory, ids: list[str]) -> None:
    """The people to rename, in the tenant's root department, recording no changes."""
    for start in range(0, len(ids), SEED_CHUNK):
        chunk = ids[start : start + SEED_CHUNK]
        with d.writer(quiet=True) as tx:
            users.create_in(
                tx,
                d,
                tenant_id="acme",
                items=[users.NewUser(id=i, user_name=f"Old {i}", dept_ids=(1,)) for i in chunk],
            )


async def _load(d: Directory, ids: list[str], clients: int, request_cpu: float) -> None:
    """Each of ``ids`` renamed once, a job each, by ``clients`` tasks on the loop (each awaits its
    commit), each after ``request_cpu`` seconds of the loop's CPU."""
    left = iter(ids)

    async def client() -> None:
        for user_id in left:
            _busy(request_cpu)

            def rename(r: Reader, user_id: str = user_id) -> None:
                del r
                users.update(d, tenant_id="acme", user_id=user_id, changes={"user_name": f"New {user_id}"})

            await d.write(rename)

    await asyncio.gather(*(client() for _ in range(clients)))


def _cpu() -> dict[str, float]:
    """The process's CPU so far (ms): ``events.timings.cpu_ms`` with the receivers' threads apart."""
    now = cpu_ms()
    receivers = sum(
        used
        for t in threading.enumerate()
        if t.name.startswith(RECEIVER_THREAD) and (used := thread_cpu_ms(t)) is not None
    )
    return {
        "loop": now["loop"],
        "writers": now["writers"],
        "receivers": receivers,
        "rest": now["other"] - receivers,
    }


def measure(
    settings: Settings, writes: int, clients: int, request_cpu: float, subscribed: int
) -> dict[str, float]:
    """One run (in its own process): writes a second, the load, and per write the CPU (ms) by
    :data:`CPU_KINDS`, the passes, the events sent and the outcome jobs."""
    d = open_directory(settings)
    d.store.migrate()
    tenants.create(d, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(d, tenant_id="acme", client_id=APP, secret=SECRET, signing="kso1")
    ids = [f"u{n:06d}" for n in range(writes)]
    _seed(d, ids)
    wanted = frozenset(ids)
    seen: list[set[str]] = []

    def receiver() -> WpsEventReceiver:
        mine: set[str] = set()
        seen.append(mine)

        def received(event: WpsEvent) -> None:
            mine.update(u for item in event.payload.get("users", ()) if (u := str(item["user_id"])) in wanted)

        return WpsEventReceiver(APP, SECRET, received)

    try:
        with contextlib.ExitStack() as receivers:
            for _ in range(subscribed):
                url = receivers.enter_context(serve_asgi(receiver()))
                subscriptions.create(d, tenant_id="acme", kind="wps", app=APP, url=url)
            engine = EventEngine(d, poll_interval=0.5)

            async def run() -> tuple[float, dict[str, float]]:
                engine.start()
                await asyncio.sleep(0.2)
                before, began = _cpu(), time.monotonic()
                await _load(d, ids, clients, request_cpu)
                elapsed = time.monotonic() - began
                deadline = time.monotonic() + DRAIN_TIMEOUT
                while not all(len(s) == writes for s in seen):
                    if time.monotonic() > deadline:
                        got = ", ".join(str(len(s)) for s in seen)
                        raise SystemExit(f"the receivers got {got} of {writes} people's events")
                    await asyncio.sleep(0.01)
                await engine.stop()
                after = _cpu()
                return elapsed, {k: (after[k] - before[k]) / writes for k in CPU_KINDS}

            elapsed, cpu = asyncio.run(run())
    finally:
        d.writes.close()
        d.store.dispose()
    t = engine.timings
    return {
        "rate": writes / elapsed,
        "load": os.getloadavg()[0],
        **cpu,
        "passes": t.passes.ran.count / writes,
        "sends": t.send.count / writes,
        "outcome_jobs": t.outcomes.ran.count / writes,
        "read_cpu": t.read_cpu.total_ms / writes,
        "pass_cpu": t.passes.cpu.total_ms / writes,
        "outcome_cpu": t.outcomes.cpu.total_ms / writes,
    }


def _line(subscribed: int, f: dict[str, float]) -> str:
    return (
        f"  {subscribed} subscriptions: {f['rate']:.0f} writes/s (load {f['load']:.1f}); per write CPU ms"
        f" loop {f['loop']:.3f}, writers {f['writers']:.3f}, receivers {f['receivers']:.3f},"
        f" rest {f['rest']:.3f}; passes {f['passes']:.4f}, sends {f['sends']:.3f},"
        f" outcome jobs {f['outcome_jobs']:.4f}; the engine's CPU ms a write: reads {f['read_cpu']:.3f},"
        f" pass jobs {f['pass_cpu']:.3f}, outcome jobs {f['outcome_cpu']:.3f}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--writes", type=int, default=3000)
    p.add_argument(
        "--pairs", type=int, default=2, help="runs with five and with none, alternating which is first"
    )
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--request-cpu", type=float, default=1.0, help="ms of the loop's CPU before each write")
    args = p.parse_args()
    print(f"{args.backend}, {args.writes} writes by {args.clients} clients, {args.request_cpu:g} ms each:")
    spawn = multiprocessing.get_context("spawn")
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(cluster_from_env()) if args.backend == "postgresql" else None
        for pair in range(args.pairs):
            figures: dict[int, dict[str, float]] = {}
            for subscribed in (5, 0) if pair % 2 == 0 else (0, 5):
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                url = None if cluster is None else cluster.create_database()
                settings = Settings(data_dir=tmp) if url is None else Settings(data_dir=tmp, database_url=url)
                with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as fresh:
                    run = fresh.submit(
                        measure, settings, args.writes, args.clients, args.request_cpu / 1000, subscribed
                    )
                    figures[subscribed] = run.result()
                print(_line(subscribed, figures[subscribed]), flush=True)
            five, none = figures[5], figures[0]
            more = {k: five[k] - none[k] for k in CPU_KINDS}
            print(
                f"pair {pair + 1}: five less none per write: loop + writers"
                f" {more['loop'] + more['writers']:+.3f} ms (loop {more['loop']:+.3f}, writers"
                f" {more['writers']:+.3f}), receivers {more['receivers']:+.3f}, rest {more['rest']:+.3f};"
                f" rates {five['rate'] / none['rate']:.1%} (not the served target's)",
                flush=True,
            )


if __name__ == "__main__":
    main()
