"""Request journal overhead: reads and writes with the journal on and off, and its costs per call.

    .venv/bin/python -m bench.bench_journal [--users 10000] [--duration 10] [--warmup 3]
        [--connections 16] [--write-connections 32] [--rounds 3] [--journal-size 10000]
        [--write-docs] [--in-process-only] [--quick]

1. **Served** (``wrk``): the demo tenant of ``--users`` people (bench/harness.py's
   ``sqlite_target``, the one bench/bench_writes.py writes to) served by one ``openroster serve``
   process (uvicorn, one worker), started alternately with the journal on (``--journal-size``, the
   default 10,000 entries: full within seconds, then dropping its oldest entry on every call and
   moving each call into the store's table in the background, as a server does) and off
   (``--journal-size 0``), in ABBA order over ``--rounds`` rounds so drift on a shared machine
   hits both alike. Against each server, one after the other, for ``--duration`` seconds each:

   - ``batch_read 100``: ``POST /v7/users/batch_read`` of 100 random people with departments,
     KSO-1 signed (a ~56 KB reply), at ``--connections`` (16), after a warm-up that fills the journal;
   - ``batch_read 1``: the same with one person (a small reply: the per-call cost weighs most);
   - the write path's two writes (bench/bench_writes.py's ``WRITES``, their requests made by
     bench/scenarios.py): WPS ``custom_attrs/batch_update`` of 50 people × 5 attributes and the
     DingTalk roster ``v2/update`` of one person, at ``--write-connections`` (32, as
     bench_writes), after ``--warmup`` seconds.

   Per setup and call: the median of the rounds' requests/s, p50 and p99.
2. **In process** (no HTTP server, no load generator competing for the two cores): the server
   app driven through ASGI (bench/inprocess.py's ``Driver``), three apps over one store taking
   turns in blocks of batch_read calls: journal off; on, recording into its ring buffer only (the
   app's background move not started: the nearest the code now comes to "as before"; it still
   makes the pre-call sync, which the old ring-buffer-only code did not); on and moved into the
   store every 50 ms (as served). Every setup lets the loop run between calls (as a server's loop
   does between requests: the move's timer fires only then), and the run fails unless the shared
   setup moved calls at least once per 200 ms of its blocks. The median calls/s of their blocks,
   the CPU a call of the loop's thread and of the process, and the moves made.
3. **Costs per call** (thread CPU time, ``time.thread_time``, over many calls): recording an
   entry (``Journal.record``); the pre-call sync (``ControlPlane.sync``) when a poll of the change
   counter made after the call's arrival can be shared, and when it polls; moving a call into the
   store: the loop's share (``SharedJournal.take``: name the app, redact) and the writer's (the
   batch's insert and the pruning to ``--journal-size``), in batches of 50 calls (a server doing
   1,000 calls a second moves about that many every 50 ms) taken a slice at a time as the
   background move takes them, then written at once, with the table full.

``--write-docs`` puts the tables into docs/benchmarks.md under "Request journal". ``--quick`` (the
2,000-person tenant, 2-second runs, one round, few in-process calls) checks that it runs: its
figures are not a measurement. The target: a loss under 10 % (the in-process figures decide the
exit status).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.bench_writes import WRITES
from bench.harness import (
    LoadResult,
    Request,
    Server,
    Target,
    log,
    machine,
    run_wrk,
    sqlite_target,
    versions,
    write_docs_section,
)
from bench.inprocess import Driver, asgi_scope, signed_context
from bench.scenarios import SCENARIOS, Context, active_ids
from bench.suite import check_replies
from openroster.config import Settings
from openroster.control import ControlPlane
from openroster.control.shared_journal import FLUSH_EVERY, TAKE_SLICE
from openroster.core.runtime.limits import SWITCH_INTERVAL_MS
from openroster.dialects.arrival import ARRIVED_SCOPE_KEY
from openroster.server.opening import open_directory
from openroster.store import WriteTx

HEADING = "## Request journal"
ON, OFF = "journal on", "journal off"
RING, SHARED = "ring buffer", "to the store"
READS = {"batch_read 100": 100, "batch_read 1": 1}
#: The calls' rows in the tables.
TITLES = {
    "batch_read 100": "`POST /v7/users/batch_read`, 100 people",
    "batch_read 1": "`POST /v7/users/batch_read`, 1 person",
    "wps.attrs_update": "`POST /v7/users/custom_attrs/batch_update`, 50 people × 5 attributes",
    "dingtalk.v2_update": "DingTalk roster `v2/update`, one person",
}


def _batch_reads(ctx: Context, per_call: int, count: int = 50) -> list[Request]:
    rng = random.Random(per_call)
    body = {"status": ["active"], "with_dept": True}
    return [
        ctx.wps("POST", "/v7/users/batch_read", {"user_ids": rng.sample(ctx.ids, per_call), **body})
        for _ in range(count)
    ]


# -- served: wrk against one server with the journal on, then off ----------------------------------


def _warm_up(server: Server, reqs: list[Request], args: argparse.Namespace) -> None:
    """Load until the server's cache is warm and its journal full (when it has one)."""
    run_wrk(server.base, reqs, seconds=min(2.0, args.duration), connections=args.connections)
    for _ in range(30):
        v = httpx.get(server.base + "/_openroster/version", headers={"Authorization": "Bearer bench"}).json()
        if v["journal_entries"] >= v["journal_size"]:
            return
        run_wrk(server.base, reqs, seconds=3, connections=args.connections)
    raise RuntimeError("the journal did not fill up")


def _served(server: Server, args: argparse.Namespace) -> dict[str, LoadResult]:
    """The reads, then the writes, against ``server``: wrk's figures per call."""
    ids = active_ids(server)
    out: dict[str, LoadResult] = {}
    for name, per_call in READS.items():
        reqs = _batch_reads(Context(server, ids, random.Random(per_call)), per_call)
        _warm_up(server, reqs, args)
        out[name] = run_wrk(server.base, reqs, seconds=args.duration, connections=args.connections)
    for name in WRITES:
        # the same requests against both setups: a seed of the name (``hash`` is salted per process)
        ctx = Context(server, ids, random.Random(zlib.crc32(name.encode())))
        reqs = SCENARIOS[name].make(ctx)
        check_replies(SCENARIOS[name], ctx, reqs)
        if args.warmup > 0:
            run_wrk(server.base, reqs, seconds=args.warmup, connections=args.write_connections)
        out[name] = run_wrk(server.base, reqs, seconds=args.duration, connections=args.write_connections)
    return out


def served(target: Target, args: argparse.Namespace) -> dict[tuple[str, str], list[LoadResult]]:
    """Every call against a server with the journal on and one with it off, ``--rounds`` times
    in ABBA order: (setup, call) -> a result a round."""
    setups = {ON: str(args.journal_size), OFF: "0"}
    runs: dict[tuple[str, str], list[LoadResult]] = {}
    for r in range(args.rounds):
        for setup in list(setups) if r % 2 == 0 else list(reversed(setups)):
            extra = ["--journal-size", setups[setup], "--admin-token", "bench"]
            with Server(target, extra=extra) as server:
                for name, res in _served(server, args).items():
                    if res.errors:
                        raise RuntimeError(f"{setup} / {name}: wrk saw errors {res.errors}")
                    runs.setdefault((setup, name), []).append(res)
                    log(
                        f"round {r + 1} {setup:<11} {name:<18} {res.rps:8.0f} req/s  "
                        f"p50 {res.p50_ms:7.2f} ms  p99 {res.p99_ms:8.2f} ms"
                    )
    return runs


# -- in process: the same comparison on the whole server stack, without HTTP -----------------------


def in_process(
    target: Target, *, blocks: int = 12, calls: int = 1000, warm: int = 10_050
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Calls/s of the real server app driven through ASGI, three apps over one open store taking
    turns in blocks of ``calls`` signed batch_read calls, so whatever else the machine does hits
    them alike: journal off; on, recording into its ring buffer only (its background move not
    started); on and moved into the store (the background task a server runs: a batch every 50 ms
    taken on the loop and written by the store's writer). Every setup lets the loop run between
    two calls (``asyncio.sleep(0)``), as a server's loop runs between requests: without it the
    move's timer never fires during a block. Each journal is filled first (10,000 entries, then
    dropping the oldest on every call). The process runs as a server's does: its switch interval
    (``limits.SWITCH_INTERVAL_MS``) and its collector tuned (``app.tune_gc``), which only an app's
    lifespan sets and these apps share a directory without one. Per read and setup: the median
    calls/s of its blocks, and the CPU a call of the loop's thread and of the whole process (the
    writer's thread is the difference). Second, per read: the moves (``SharedJournal.move_in``, the job) the
    shared setup made during its blocks and the seconds of those blocks. The move's task sleeps
    ``FLUSH_EVERY`` after each move has committed, so a move comes every 50 ms plus the move's own
    time; fewer than one per ``4 * FLUSH_EVERY`` is an error (the comparison would not be of
    calls moved as a server moves them)."""
    from openroster import control
    from openroster.server.app import create_app, tune_gc

    d = open_directory(Settings(data_dir=target.data_dir))
    apps = {
        OFF: create_app(Settings(admin_token="bench", journal_size=0), directory=d),
        RING: create_app(Settings(admin_token="bench", journal_size=10_000), directory=d),
        SHARED: create_app(Settings(admin_token="bench", journal_size=10_000), directory=d),
    }
    drivers = {name: Driver(app) for name, app in apps.items()}
    shared: ControlPlane = apps[SHARED].state.control
    takes = [0]
    move_in = shared.journal.move_in

    def counted_move(tx: WriteTx) -> None:
        takes[0] += 1
        move_in(tx)

    shared.journal.move_in = counted_move  # type: ignore[method-assign]  # counts the background moves

    async def block(drv: Driver, reqs: list[Request], n: int) -> None:
        for i in range(n):
            status, reply = await drv.call(reqs[i % len(reqs)])
            assert status == 200 and reply.startswith(b'{"code":0'), reply[:200]
            await asyncio.sleep(0)  # the loop runs its timers and tasks, as a server's between calls

    async def measure() -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
        ctx = await signed_context(drivers[RING], d)
        results: dict[str, dict[str, float]] = {}
        moves: dict[str, dict[str, float]] = {}
        for name, per_call in READS.items():
            reqs = _batch_reads(ctx, per_call)
            for drv in drivers.values():  # warm the cache and each stack, and fill the journals
                await block(drv, reqs, warm)
            rates: dict[str, list[float]] = {setup: [] for setup in drivers}
            cpu = {setup: [0.0, 0.0] for setup in drivers}  # the loop's thread, the process
            moved = {"takes": 0.0, "seconds": 0.0}
            for b in range(blocks):
                for setup in list(drivers) if b % 2 == 0 else list(reversed(drivers)):
                    before = takes[0]
                    c0, p0, t0 = time.thread_time(), time.process_time(), time.perf_counter()
                    await block(drivers[setup], reqs, calls)
                    elapsed = time.perf_counter() - t0
                    cpu[setup][0] += time.thread_time() - c0
                    cpu[setup][1] += time.process_time() - p0
                    rates[setup].append(calls / elapsed)
                    if setup == SHARED:
                        moved["takes"] += takes[0] - before
                        moved["seconds"] += elapsed
            results[name] = {setup: statistics.median(r) for setup, r in rates.items()}
            for setup, (loop_s, proc_s) in cpu.items():
                results[name][f"{setup}, loop µs"] = loop_s / (blocks * calls) * 1e6
                results[name][f"{setup}, process µs"] = proc_s / (blocks * calls) * 1e6
            moves[name] = moved
            r = results[name]
            log(
                f"in process, {name}: "
                + ", ".join(
                    f"{s} {r[s]:.0f} calls/s (CPU a call: loop {r[s + ', loop µs']:.0f} µs, "
                    f"process {r[s + ', process µs']:.0f} µs)"
                    for s in drivers
                )
                + f"; {moved['takes']:.0f} moves in {moved['seconds']:.1f} s of {SHARED}, one every "
                f"{moved['seconds'] / max(1.0, moved['takes']) * 1000:.0f} ms"
            )
            if moved["takes"] < int(moved["seconds"] / (4 * FLUSH_EVERY)):
                raise RuntimeError(
                    f"in process, {name}: {moved['takes']:.0f} moves into the store during "
                    f"{moved['seconds']:.1f} s of {SHARED} blocks, fewer than one per {4 * FLUSH_EVERY} s"
                )
        return results, moves

    async def run() -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
        control.start(shared)
        try:
            return await measure()
        finally:
            await control.stop(shared)

    switching = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_MS / 1000)
    tune_gc()
    try:
        return asyncio.run(run())
    finally:
        sys.setswitchinterval(switching)
        d.writes.close()
        d.store.dispose()


# -- the journal's costs per call, in thread CPU time ------------------------------------------------


def _thread_us(fn: Callable[[], object], calls: int) -> float:
    """Thread CPU microseconds per call of ``fn`` over ``calls`` calls."""
    t0 = time.thread_time()
    for _ in range(calls):
        fn()
    return (time.thread_time() - t0) / calls * 1e6


def request_path_costs(
    target: Target, *, calls: int = 200_000, batches: int = 400, batch: int = 50
) -> dict[str, float]:
    """Thread CPU microseconds a call of what the journal adds on a call's way, and of moving a
    call into the store (off the call's way): see the module's point 3. The entries are those of
    signed calls (their real headers and bodies): batch_read of 100 people, and for the move also
    batch_update of 50 people × 5 attributes (a body of about 16 KB), named and redacted as a
    server's are; the store's table is filled to the journal's size first. A move takes its
    ``batch`` calls a slice at a time (``TAKE_SLICE``), then writes them at once, as the background
    move does; here in a transaction of its own, a server's as a job in a writers' group (a savepoint)."""
    from openroster.server.app import create_app

    d = open_directory(Settings(data_dir=target.data_dir))
    try:
        app = create_app(Settings(admin_token="bench", journal_size=10_000), directory=d)
        plane: ControlPlane = app.state.control
        journal = plane.journal
        ctx = asyncio.run(signed_context(Driver(app), d))
        head = b'{"code":0,"data":{"items":[' + b"x" * 420
        reads = _batch_reads(ctx, 100)
        plane.sync(asgi_scope(reads[0]))  # attach and poll once

        def recorder(reqs: list[Request]) -> Callable[[int], None]:
            scopes = [asgi_scope(r) for r in reqs]

            def record(n: int) -> None:
                for i in range(n):
                    body = reqs[i % len(reqs)].body
                    journal.local.record(
                        scopes[i % len(scopes)], 0.0, 0.0, [body], len(body), 200, head, "r", None, 0.0
                    )

            return record

        costs: dict[str, float] = {}
        record = recorder(reads)
        t0 = time.thread_time()
        record(calls)
        costs["record"] = (time.thread_time() - t0) / calls * 1e6
        journal.local.clear()
        before = time.monotonic()
        plane.sync({ARRIVED_SCOPE_KEY: time.monotonic()})  # a poll after ``before``
        costs["sync, shared poll"] = _thread_us(lambda: plane.sync({ARRIVED_SCOPE_KEY: before}), calls)
        polls = max(1000, calls // 20)
        costs["sync, polling"] = _thread_us(lambda: plane.sync({ARRIVED_SCOPE_KEY: time.monotonic()}), polls)
        writes = SCENARIOS["wps.attrs_update"].make(ctx)
        for kind, rec in (("batch_read 100", record), ("wps.attrs_update", recorder(writes))):
            for _ in range(10):  # the table full first: every move then also prunes
                rec(1000)
                journal.flush()
            take = move = 0.0
            for _ in range(batches):
                rec(batch)
                t0 = time.thread_time()
                while journal.take(TAKE_SLICE):  # as the background move takes them, then one write
                    pass
                t1 = time.thread_time()
                journal.move()
                t2 = time.thread_time()
                take, move = take + t1 - t0, move + t2 - t1
            costs[f"take {kind}"] = take / (batches * batch) * 1e6
            costs[f"move {kind}"] = move / (batches * batch) * 1e6
        journal.clear()
    finally:
        d.writes.close()
        d.store.dispose()
    log("journal costs, thread CPU µs a call: " + ", ".join(f"{k} {v:.2f}" for k, v in costs.items()))
    return costs


# -- the tables ---------------------------------------------------------------------------------------


def _median(runs: list[LoadResult], field: str) -> float:
    return float(statistics.median(getattr(r, field) for r in runs))


def served_table(runs: dict[tuple[str, str], list[LoadResult]], args: argparse.Namespace) -> str:
    lines = [
        "| call | connections | journal on: req/s | p50 | p99 | journal off: req/s | p50 | p99 "
        "| req/s lost | p99 on ÷ off | req/s, each round: on; off |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in [*READS, *WRITES]:
        on, off = runs[(ON, name)], runs[(OFF, name)]
        conns = args.connections if name in READS else args.write_connections
        rps_on, rps_off = _median(on, "rps"), _median(off, "rps")
        p99_on, p99_off = _median(on, "p99_ms"), _median(off, "p99_ms")
        each = "; ".join(", ".join(f"{r.rps:,.0f}" for r in rs) for rs in (on, off))
        lines.append(
            f"| {TITLES[name]} | {conns} | {rps_on:,.0f} | {_median(on, 'p50_ms'):.1f} ms | {p99_on:.1f} ms "
            f"| {rps_off:,.0f} | {_median(off, 'p50_ms'):.1f} ms | {p99_off:.1f} ms "
            f"| {(rps_off - rps_on) / rps_off * 100:+.1f} % | {p99_on / p99_off:.2f} | {each} |"
        )
    return "\n".join(lines)


def in_process_table(local: dict[str, dict[str, float]], moves: dict[str, dict[str, float]]) -> str:
    lines = [
        "| call | journal off (calls/s) | ring buffer only (calls/s) | lost "
        "| to the store (calls/s) | lost | CPU a call, loop's thread: off; ring; to the store "
        "| CPU a call, process: off; ring; to the store | moves into the store during its blocks "
        f"(one every {FLUSH_EVERY * 1000:.0f} ms + the move's time) |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for name, f in local.items():
        off, ring, shared = f[OFF], f[RING], f[SHARED]
        loop, proc = (
            "; ".join(f"{f[f'{s}, {kind} µs']:.0f}" for s in (OFF, RING, SHARED))
            for kind in ("loop", "process")
        )
        m = moves[name]
        lines.append(
            f"| {TITLES[name]} | {off:,.0f} | {ring:,.0f} | {(off - ring) / off * 100:+.1f} % "
            f"| {shared:,.0f} | {(off - shared) / off * 100:+.1f} % | {loop} µs | {proc} µs "
            f"| {m['takes']:,.0f} in {m['seconds']:.1f} s: one every "
            f"{m['seconds'] / max(1.0, m['takes']) * 1000:.0f} ms |"
        )
    return "\n".join(lines)


def costs_table(costs: dict[str, float]) -> str:
    rows = [
        ("recording the call (`Journal.record`, on the loop)", costs["record"]),
        (
            "the pre-call sync, a poll made since the call arrived shared (`ControlPlane.sync`)",
            costs["sync, shared poll"],
        ),
        ("the pre-call sync when it polls the change counter", costs["sync, polling"]),
    ]
    for kind in ("batch_read 100", "wps.attrs_update"):
        rows += [
            (
                f"moving a {TITLES[kind]} call, the loop's share (`SharedJournal.take`: its app named, "
                "redacted)",
                costs[f"take {kind}"],
            ),
            (
                f"moving a {TITLES[kind]} call, the writer's share (the batch's insert, the table pruned "
                "to its size)",
                costs[f"move {kind}"],
            ),
        ]
    return "\n".join(
        [
            "| what, per call | thread CPU (µs) |",
            "|---|---:|",
            *(f"| {what} | {us:.2f} |" for what, us in rows),
        ]
    )


def docs_section(
    runs: dict[tuple[str, str], list[LoadResult]] | None,
    local: dict[str, dict[str, float]],
    moves: dict[str, dict[str, float]],
    costs: dict[str, float],
    args: argparse.Namespace,
) -> str:
    m, v = machine(), versions()
    load = ", ".join(f"{x:.2f}" for x in m.get("loadavg", ()))
    command = "python -m bench.bench_journal " + " ".join(
        f"--{k.replace('_', '-')} {getattr(args, k)}"
        for k in ("users", "duration", "warmup", "connections", "write_connections", "rounds", "journal_size")
    )
    lines = [
        HEADING,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `{command}`"
        + (" `--quick` (a check that it runs: **not a measurement**)" if args.quick else "")
        + f" on {m.get('cpu', '?')}, {m.get('cores', '?')} cores, load average at the end {load}. "
        f"Versions: openroster {v.get('openroster', '?')}, uvicorn {v.get('uvicorn', '?')}, "
        f"wrk {v.get('wrk', '?')}." + (f" {args.note}" if args.note else ""),
        "",
        "What is measured (the method, bench/bench_journal.py's docstring): **served**, one `openroster "
        "serve` process (SQLite, the demo tenant) with the journal on (its size, full, dropping its oldest "
        "entry on every call and moving each call into the store's table every 50 ms) and off "
        "(`--journal-size 0`), the two alternating in ABBA order, `wrk` beside the server on the same "
        "machine; each figure the median of the rounds. The reads rotate 50 signed requests; the writes "
        "are bench/bench_writes.py's (bench/scenarios.py's 64 requests of each).",
        "",
    ]
    if runs is not None:
        lines += [served_table(runs, args), ""]
    lines += [
        "**In process**: the server app driven through ASGI, no HTTP server and no load generator "
        "competing for the two cores, three apps over one store taking turns in blocks of calls (the "
        "median calls/s of the blocks; each journal filled first). *Ring buffer only*: the app with "
        "its journal's background move not started, so calls are recorded and the oldest dropped but "
        "nothing reaches the store. That is the nearest the code now comes to the journal before it "
        "was shared, not that code: it still makes the pre-call sync, which the old one did not, and "
        "the old code is gone (running it would need a fake mode in the server, which this does not "
        "build). *To the store*: as served. Every setup lets the loop run between two calls "
        "(`asyncio.sleep(0)`, as a server's loop runs between requests: without it the move's timer "
        "never fired during a block and nothing was moved), and the process runs with a server's "
        "switch interval and collector tuning. Beside the rates, the CPU a call of the loop's thread "
        "and of the whole process (the writer's thread is the difference), and the moves the "
        "to-the-store app made during its blocks: its task sleeps 50 ms after each move has "
        "committed, so one comes every 50 ms plus the move's own time (fewer than one per 200 ms "
        "fails the run).",
        "",
        in_process_table(local, moves),
        "",
        "**Costs per call**, in thread CPU time over many calls (entries of signed calls; moves in "
        f"batches of 50 calls taken in slices of {TAKE_SLICE}, each written in a transaction of its own, "
        "the store's table full at "
        f"{args.journal_size:,}):",
        "",
        costs_table(costs),
        "",
        "Recording keeps the request's headers and body and the first 448 bytes of the reply, in a "
        "tuple of strings and bytes that the garbage collector stops tracking while it is young; "
        "naming the app and redaction happen when a call is moved (on the loop, every 50 ms) and "
        "the insert on the store's writer, off the call's way.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench.bench_journal", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds per call and setup")
    ap.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before each write call")
    ap.add_argument("--connections", type=int, default=16, help="connections of the reads")
    ap.add_argument("--write-connections", type=int, default=32, help="connections of the writes")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--journal-size", type=int, default=10_000)
    ap.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    ap.add_argument(
        "--in-process-only",
        action="store_true",
        help="only the in-process comparison and the costs per call (no wrk)",
    )
    ap.add_argument(
        "--quick", action="store_true", help="2,000 people, short runs: a check, not a measurement"
    )
    ap.add_argument("--note", default="", help="a sentence for the docs after the date (the machine's state)")
    args = ap.parse_args(argv)
    if args.quick:
        args.users, args.duration, args.warmup, args.rounds = 2_000, 2.0, 1.0, 1
    target = sqlite_target(args.users)
    runs = None if args.in_process_only else served(target, args)
    sizes: dict[str, Any] = {"blocks": 2, "calls": 1000, "warm": 300} if args.quick else {}
    local, moves = in_process(target, **sizes)
    costs = request_path_costs(target, **({"calls": 5000, "batches": 20} if args.quick else {}))
    section = docs_section(runs, local, moves, costs, args)
    print(section)
    if args.write_docs:
        write_docs_section(HEADING, section)
    worst = max((f[OFF] - f[SHARED]) / f[OFF] * 100 for f in local.values())
    return 0 if worst < 10.0 else 1


if __name__ == "__main__":
    sys.exit(main())
