"""Change events: how fast they go out, how long a write waits for its event, what they cost a write.

    .venv/bin/python -m bench.bench_events [--backend sqlite|postgresql] [--users 10000]
        [--events 2000] [--rate 200] [--seconds 10] [--wrk-seconds 10] [--rounds 3]
        [--connections 16] [--people 2048] [--timings] [--json FILE]

The demo tenant of ``--users`` people (``openroster demo``, cached under bench/.data; see
bench/harness.py) is served by one ``openroster serve`` process. Its WPS app ``demo-wps`` is
subscribed through the control plane (after WPS's challenge) to receivers this process runs on
127.0.0.1: the SDK's ``WpsEventReceiver`` under uvicorn, checking and decrypting every event.

1. **People and events delivered per second.** With the subscription paused, ``--events`` people are
   renamed one transaction each (through the store, from this process); then the subscription is
   resumed and the clock runs until the receiver has every person's event (a pass fans out many
   transactions as one event per type, so they come in events of up to 100 people:
   ``people_per_s`` and ``events_per_s``): fan-out, sealing and the POSTs of one server process.
2. **Write → delivery latency at ``--rate`` writes/s.** Signed WPS ``POST /v7/users/{id}/update``
   calls, paced at ``--rate`` per second for ``--seconds`` (each renames a different person); for
   each, the time from the write's reply (committed) to its event's arrival. p50 and p99 (issue
   16's targets: 50 ms and 250 ms); and from the write's request (``from_request_*``), never
   negative: on a loaded machine an event can reach the receivers' threads before the bench's
   client has read the write's reply.
3. **Write throughput with five subscriptions and without.** wrk drives ``users/{id}/update``
   (``2 × --people`` signed requests, made afresh for each run with names no earlier run gave,
   rotated so that every call changes a name, so every call raises an event: person k is renamed
   by requests k and k + ``--people`` in turn; a five-subscription run whose receivers' events
   name fewer than 95 % of its writes fails) for ``--wrk-seconds``, against the same server with
   five active subscriptions (five receivers) and with none, in ABBA order over ``--rounds``;
   between runs the outbox is drained. The median
   requests/s of each and their ratio (target: at least 90 %), each round's ratio and their
   median, and each run's CPU time per write (its run and the drain after it): this process's
   (the receivers), wrk's and, with ``--timings``, the server's, by thread (the event loop, the
   store's writers, the rest).

``--people`` (default 2,048, or all the tenant's active people when it has fewer) is how many
people the throughput phase renames. With 32 (the phase's number before 2026-12-07) each person
is renamed some twenty times a second, so nearly every event names someone whose previous event
is still out, and waits for its outcome (order per entity): the worst case for the engine's
passes, kept as ``--people 32``; 2,048 people at ~700 writes a second renames each about every
three seconds, as a busy directory's sync does.

``--timings`` also takes the engine's pass apart during the latency phase (``events/timings.py``:
the server writes its counters to a file; the difference over the phase, per phase the count and
the mean and longest ms) under ``engine_timings``.

It prints the figures (``--json`` also writes them) and leaves docs/benchmarks.md alone: figures
go there from a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.harness import (
    Request,
    Server,
    Target,
    log,
    machine,
    postgres_target,
    run_wrk,
    sqlite_target,
    wps_request,
    wps_token,
)
from bench.scenarios import TENANT, WPS_APP, active_ids
from openroster.client.events import WpsEvent, WpsEventReceiver
from openroster.config import Settings
from openroster.core.people import users
from openroster.events.timings import CPU_KEY, ENV_FILE
from openroster.server.app import open_directory
from openroster.store.pgcluster import ThrowawayCluster
from openroster.testing import ControlClient, serve_asgi

ADMIN = "bench-events"
#: People the throughput phase renames by default (``--people``; see the module doc).
PEOPLE = 2048


@dataclass
class Arrivals:
    """When each person's first event arrived (``time.monotonic()``), how many events came and
    how many people they named (an event names several: a write's change is one of them)."""

    first: dict[str, float] = field(default_factory=dict)
    count: int = 0
    named: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: WpsEvent) -> None:
        now = time.monotonic()
        with self.lock:
            self.count += 1
            self.named += len(items := event.payload.get("users", []))
            for item in items:
                self.first.setdefault(str(item["user_id"]), now)

    def wait(self, done: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the receiver got {self.count} events; not all within {timeout:.0f} s")
            time.sleep(0.005)


@contextmanager
def receiver(arrivals: Arrivals) -> Iterator[str]:
    with serve_asgi(WpsEventReceiver(WPS_APP[0], WPS_APP[1], arrivals)) as url:
        yield url


def rename(ids: list[str], tag: str, token: str) -> list[Request]:
    """One signed ``users/{id}/update`` per person, giving each a new name."""
    return [
        wps_request(
            "POST",
            f"/v7/users/{uid}/update",
            token=token,
            client_id=WPS_APP[0],
            secret=WPS_APP[1],
            body={"user_name": f"{tag}-{uid}"},
        )
        for uid in ids
    ]


def events_per_second(target: Target, control: ControlClient, ids: list[str], n: int) -> dict[str, float]:
    """A resumed backlog of ``n`` renames, one person's a transaction: ``people_per_s`` (the people
    whose event arrived, a second) and ``events_per_s`` (the events that carried them: a pass
    fans out many transactions' renames as one event of up to 100 people)."""
    arrivals = Arrivals()
    with receiver(arrivals) as url:
        sub = control.subscribe(TENANT, "wps", WPS_APP[0], url, topics=["kso.user"])
        control.subscription_action(TENANT, sub["id"], "pause")
        d = open_directory(Settings(data_dir=target.data_dir, database_url=target.database_url))
        # Names this run has not set before: a run stopped after this phase left ``rate-...`` names,
        # and a rename to the name a person has records no change, so no event would come.
        tag = f"rate{int(time.time())}"
        try:
            for uid in ids[:n]:
                users.update(d, tenant_id=TENANT, user_id=uid, changes={"user_name": f"{tag}-{uid}"})
        finally:
            d.store.dispose()
        t0 = time.monotonic()
        control.subscription_action(TENANT, sub["id"], "resume")
        # Counted in people: a pass fans out many transactions' renames as one event of up to 100.
        arrivals.wait(lambda: len(arrivals.first) >= n, timeout=600)
        seconds = time.monotonic() - t0
        control.unsubscribe(TENANT, sub["id"])
    rates = {"people_per_s": n / seconds, "events_per_s": arrivals.count / seconds}
    log(
        f"backlog: {n} people in {arrivals.count} events in {seconds:.2f} s = "
        f"{rates['people_per_s']:.0f} people/s, {rates['events_per_s']:.0f} events/s"
    )
    return rates


def paced_renames(
    server: Server, people: list[str], rate: float
) -> tuple[dict[str, float], dict[str, float], float]:
    """Rename each person with a signed WPS ``users/{id}/update``, ``rate`` calls a second:
    ``(when each write was sent, when it was answered (time.monotonic()), the write rate reached)``."""
    n = len(people)
    reqs = rename(people, f"lat{int(time.time())}", wps_token(server.base, *WPS_APP))
    sent: dict[str, float] = {}
    acked: dict[str, float] = {}

    async def drive() -> float:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:

            async def one(uid: str, req: Request) -> None:
                sent[uid] = time.monotonic()
                r = await client.request(req.method, req.path, headers=req.headers, content=req.body)
                acked[uid] = time.monotonic()
                if r.status_code != 200 or r.json().get("code") != 0:
                    raise RuntimeError(f"update of {uid} failed: {r.status_code} {r.text[:200]}")

            t0 = time.monotonic()
            tasks = []
            for i, (uid, req) in enumerate(zip(people, reqs, strict=True)):
                await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
                tasks.append(asyncio.create_task(one(uid, req)))
            await asyncio.gather(*tasks)
            return n / (time.monotonic() - t0)

    achieved = asyncio.run(drive())
    return sent, acked, achieved


def waits(
    people: list[str],
    acked: dict[str, float],
    first: Callable[[], Mapping[str, float]],
    achieved: float,
    what: str,
) -> dict[str, float]:
    """p50, p99 and max of the write → event times (ms), logged, once ``first()`` (when each
    person's first event arrived, ``time.monotonic()``) has every person."""
    deadline = time.monotonic() + 600
    while not all(uid in (arrived := first()) for uid in people):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: {len(people) - len(arrived)} events not within 600 s")
        time.sleep(0.01)
    ms = sorted((arrived[uid] - acked[uid]) * 1000 for uid in people)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    out = {"writes_per_s": achieved, "p50_ms": q[49], "p99_ms": q[98], "max_ms": ms[-1]}
    log(
        f"{what} latency at {achieved:.0f} writes/s ({len(people)} writes): p50 {out['p50_ms']:.1f} ms, "
        f"p99 {out['p99_ms']:.1f} ms, max {out['max_ms']:.1f} ms"
    )
    return out


def both(
    people: list[str],
    sent: dict[str, float],
    acked: dict[str, float],
    first: Callable[[], Mapping[str, float]],
    achieved: float,
    what: str,
) -> dict[str, float]:
    """The latency from each write's reply (as bench_events measures it) and from its request
    (``from_request_*``: never negative, whichever process the loaded machine schedules first)."""
    out = waits(people, acked, first, achieved, what)
    since = waits(people, sent, first, achieved, f"{what} (from the request)")
    return out | {f"from_request_{k}": v for k, v in since.items() if k != "writes_per_s"}


def latency(
    server: Server, control: ControlClient, ids: list[str], rate: float, seconds: float
) -> dict[str, float]:
    people = ids[: int(rate * seconds)]
    arrivals = Arrivals()
    with receiver(arrivals) as url:
        sub = control.subscribe(TENANT, "wps", WPS_APP[0], url, topics=["kso.user"])
        sent, acked, achieved = paced_renames(server, people, rate)
        out = both(people, sent, acked, lambda: arrivals.first, achieved, "WPS")
        control.unsubscribe(TENANT, sub["id"])
    return out


class EngineTimes:
    """The server engine's timing counters (``--timings``), read from the file it writes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def read(self) -> dict[str, dict[str, float]]:
        time.sleep(1.5)  # the engine writes the file at most once a second
        if self.path is None or not self.path.exists():
            return {}
        figures: dict[str, dict[str, float]] = json.loads(self.path.read_text())
        return figures

    @contextmanager
    def over(self, what: str, into: dict[str, Any]) -> Iterator[None]:
        """Put into ``into`` what the engine's phases took while the block ran (nothing without
        ``--timings``), per phase: how many, the mean ms and the longest of the whole run."""
        before = self.read() if self.path is not None else {}
        yield
        if self.path is None:
            return
        after = self.read()
        for phase, now in after.items():
            if phase == CPU_KEY:
                continue
            was = before.get(phase, {"count": 0, "total_ms": 0.0})
            n = now["count"] - was["count"]
            mean = (now["total_ms"] - was["total_ms"]) / n if n else 0.0
            into[phase] = {"count": n, "mean_ms": round(mean, 2), "max_ms": round(now["max_ms"], 1)}
        log(
            f"{what}: engine phases "
            + ", ".join(f"{k} {v['count']}x{v['mean_ms']} ms" for k, v in into.items())
        )

    @contextmanager
    def cpu(self, server: Server, into: dict[str, float]) -> Iterator[None]:
        """Put into ``into`` the CPU time (ms) used while the block ran: the server's (``server``,
        Linux /proc; with ``--timings`` also by thread: ``loop``, ``writers``, ``other``,
        ``events.timings.cpu_ms``), this process's (``bench``: the receivers, the control plane's
        client) and its children's that ended meanwhile (``wrk``)."""
        threads = self.read().get(CPU_KEY) if self.path is not None else None
        served, bench = server.cpu_seconds(), time.process_time()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        yield
        ended = resource.getrusage(resource.RUSAGE_CHILDREN)
        into["server"] = (server.cpu_seconds() - served) * 1000
        into["bench"] = (time.process_time() - bench) * 1000
        into["wrk"] = (ended.ru_utime + ended.ru_stime - children.ru_utime - children.ru_stime) * 1000
        now = self.read().get(CPU_KEY) if threads is not None else None
        if threads is not None and now is not None:  # (a server without them: its CPU in all)
            into |= {k: now[k] - threads[k] for k in ("loop", "writers", "other")}


def drain(control: ControlClient) -> None:
    """Wait until the server's engine has delivered everything, so the next run starts even."""
    while any(control.deliveries(TENANT, status=s, limit=1) for s in ("pending", "retrying")):
        time.sleep(0.5)


def throughput(
    server: Server,
    control: ControlClient,
    ids: list[str],
    times: EngineTimes,
    *,
    seconds: float,
    rounds: int,
    connections: int,
    renamed: int = PEOPLE,
) -> dict[str, Any]:
    """Five subscriptions against none, ABBA over ``rounds``: each run's writes/s and CPU per
    write (ms; ``EngineTimes.cpu``: the run and the drain after it), the engine's phases over
    each run (``--timings``), each round's ratio, and the median of the rounds' ratios beside the
    ratio of the medians."""
    token, stamp = wps_token(server.base, *WPS_APP), int(time.time())
    rps: dict[str, list[float]] = {"none": [], "five": []}
    cpu: dict[str, list[dict[str, float]]] = {"none": [], "five": []}
    engine_timings: dict[str, dict[str, Any]] = {}
    with ExitStack() as stack:
        arrivals = [Arrivals() for _ in range(5)]
        urls = [stack.enter_context(receiver(a)) for a in arrivals]
        for r in range(rounds):
            for setup in ("none", "five") if r % 2 == 0 else ("five", "none"):
                # Person k is renamed by requests k and k + ``renamed`` in turn, to names no earlier
                # run gave, nor an earlier benchmark on the same data (wrk starts each thread at a
                # random request): every call changes a name.
                reqs = [
                    rename([ids[k % renamed]], f"wrk{stamp}{setup}{r}-{k}", token)[0]
                    for k in range(2 * renamed)
                ]
                subs = (
                    [control.subscribe(TENANT, "wps", WPS_APP[0], url, topics=["kso.user"]) for url in urls]
                    if setup == "five"
                    else []
                )
                used: dict[str, float] = {}
                phases = engine_timings.setdefault(f"{setup}{r + 1}", {})
                named = [a.named for a in arrivals]
                with times.over(f"round {r + 1}, {setup}", phases), times.cpu(server, used):
                    res = run_wrk(server.base, reqs, seconds=seconds, connections=connections)
                    drain(control)
                if res.errors:
                    raise RuntimeError(f"{setup}: wrk saw errors {res.errors}")
                if subs:
                    evented(res.requests, arrivals, named)
                rps[setup].append(res.rps)
                cpu[setup].append({k: round(v / res.requests, 3) for k, v in used.items()})
                log(
                    f"round {r + 1}, {setup} subscriptions: {res.rps:.0f} writes/s, p99 {res.p99_ms:.1f} ms; "
                    "CPU ms per write "
                    + ", ".join(f"{k} {v:.2f}" for k, v in cpu[setup][-1].items())
                    + f" (load {os.getloadavg()[0]:.1f})"
                )
                for s in subs:
                    control.unsubscribe(TENANT, s["id"])
    none, five = statistics.median(rps["none"]), statistics.median(rps["five"])
    ratios = [f / n for f, n in zip(rps["five"], rps["none"], strict=True)]
    log(
        f"write throughput: none {none:.0f}/s, five subscriptions {five:.0f}/s ({five / none:.1%}); "
        f"rounds {', '.join(f'{x:.1%}' for x in ratios)}, median {statistics.median(ratios):.1%}"
    )
    return {
        "none_rps": none,
        "five_rps": five,
        "ratio": five / none,
        "round_ratios": ratios,
        "median_round_ratio": statistics.median(ratios),
        "rounds": rps,
        "cpu_ms_per_write": cpu,
        "engine_timings": engine_timings,
    }


#: Of a five-subscription run's writes, the share each receiver must have seen in its events.
EVENTED = 0.95


def evented(writes: int, arrivals: Sequence[Arrivals], before: Sequence[int], timeout: float = 10.0) -> None:
    """Fail a five-subscription run whose receivers' events fall well short of its ``writes``
    (the people each receiver's events named since ``before``, a drain's wait after the run):
    every write changes a name, so raises an event naming its person (a write that changed
    nothing would raise none and cost the engine nothing: the run would measure less than it
    says)."""
    deadline = time.monotonic() + timeout
    while (named := [a.named - n for a, n in zip(arrivals, before, strict=True)]) and min(named) < writes:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    log(f"people named in each receiver's events: {', '.join(map(str, named))} ({writes} writes)")
    if min(named) < EVENTED * writes:
        raise RuntimeError(f"five subscriptions: {writes} writes, but the receivers' events named {named}")


def arguments(doc: str | None, *, rounds: int) -> argparse.ArgumentParser:
    """The options an events benchmark shares: backend, people, the paced writes, rounds, --json."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--timings", action="store_true", help="take the engine's pass apart (events/timings.py)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, rounds=3)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--wrk-seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--throughput-only", action="store_true", help="skip the events/s and latency phases")
    ap.add_argument(
        "--people",
        type=int,
        help=f"people the throughput phase renames (default {PEOPLE:,}, or all there are)",
    )
    args = ap.parse_args(argv)
    # A run stopped with SIGTERM (``timeout``) unwinds as an exit does: its server stops with it
    # (left running, it served the same data directory beside the next run's).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as stack:
        target, server, control, times = served(stack, args.backend, args.users, ADMIN, timings=args.timings)
        for left in control.subscriptions(TENANT):  # a killed run's, kept in the demo tenant's store
            log(f"removing subscription {left['id']} left by an earlier run")
            control.unsubscribe(TENANT, left["id"])
        ids = people(server, max(args.events, int(args.rate * args.seconds), args.people or 0))
        if args.people is None and len(ids) < PEOPLE:
            log(f"the throughput phase renames all {len(ids):,} people (--people; {PEOPLE:,} by default)")
        figures: dict[str, Any] = {**header(args), "engine_timings": {}}
        if not args.throughput_only:
            figures |= events_per_second(target, control, ids, args.events)
            with times.over("latency", figures["engine_timings"]):
                figures["latency"] = latency(server, control, ids, args.rate, args.seconds)
        figures |= {
            "throughput": throughput(
                server,
                control,
                ids,
                times,
                seconds=args.wrk_seconds,
                rounds=args.rounds,
                connections=args.connections,
                renamed=args.people or min(PEOPLE, len(ids)),
            ),
        }
    report(figures, args.json)
    return 0


def served(
    stack: ExitStack, backend: str, users: int, admin: str, *, timings: bool = False
) -> tuple[Target, Server, ControlClient, EngineTimes]:
    """One ``openroster serve`` of the demo tenant of ``users`` people on ``backend``, its control
    plane, and (``timings``) its engine's timing counters, for the life of ``stack``."""
    if backend == "postgresql":
        target = postgres_target(users, stack.enter_context(ThrowawayCluster(durable=True)))
    else:
        target = sqlite_target(users)
    path = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "timings.json" if timings else None
    env = {ENV_FILE: str(path)} if path is not None else {}
    server = stack.enter_context(Server(target, extra=["--admin-token", admin], env=env))
    return target, server, stack.enter_context(ControlClient(server.base, admin)), EngineTimes(path)


def people(server: Server, need: int) -> list[str]:
    """The demo tenant's active people; SystemExit when there are fewer than ``need``."""
    ids = active_ids(server)
    if len(ids) < need:
        raise SystemExit(f"the tenant has {len(ids)} active people; these settings need {need}")
    return ids


def header(args: argparse.Namespace) -> dict[str, Any]:
    """The figures' first keys: the machine and the settings."""
    return {"machine": machine(), "settings": vars(args) | {"json": str(args.json) if args.json else None}}


def report(figures: dict[str, Any], path: Path | None) -> None:
    """Print the figures as JSON (and write them to ``path``)."""
    text = json.dumps(figures, indent=2)
    print(text)
    if path is not None:
        path.write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
