"""The write path's benchmarks (issue 17; docs/write-path.md): writes beside the bare endpoint, and
reads while writes run.

    .venv/bin/python -m bench.bench_writes [--backends sqlite,postgresql] [--size 10000]
        [--seconds 10] [--read-seconds 30] [--warmup 3] [--connections 32] [--read-connections 4]
        [--read-rate 200]
        [--write-share 0.5 | --write-rate N] [--reads-only] [--serve-option=--switch-interval=5]
        [--smoke]

For each backend (a demo tenant of ``--size`` people, as the suite builds it: bench/harness.py):

1. **The writes**, each at ``--connections`` (32) with wrk rotating 64 distinct requests:
   WPS ``custom_attrs/batch_update`` of 50 people × 5 attributes (``wps.attrs_update``) and the
   DingTalk roster ``v2/update`` of one person (``dingtalk.v2_update``), both from
   ``bench/scenarios.py``. Each against one ``openroster serve`` process, then the very same
   requests against the bare endpoint (``bench/bare_writes.py``: FastAPI + sqlite3 doing the same
   upserts in one transaction per request, on a fresh database file), one after the other:
   requests/s, p50, p99 and the ratio to the bare endpoint.
2. **Reads beside writes**: WPS ``batch_read`` of 100 people (``wps.batch_read``) at
   ``--read-rate`` (200 a second, on ``--read-connections``, 4), first alone (its idle p99), then
   while the batch_update load runs beside it on ``--connections`` at ``--write-rate`` (by
   default ``--write-share``, half, of the rate step 1 measured for it on this server): the p99
   and its ratio to the idle one, and the rates both loads reached (each flagged when short of 90 %
   of its rate: the server could not keep up with it, and the p99 is the queue's).
   Both loads are paced; unpaced, the reads saturate the event loop and the writes starve.
   Each read load runs ``--read-seconds`` (30: 6,000 reads at 200 a second), and each p99 is
   logged with the reads it was taken over and its 95 % interval (``LoadResult.p99_low_ms``; it
   assumes independent reads, which reads queued behind the same slice are not), and the ratio
   with the range those two intervals allow (not itself a 95 % interval). (Until 2026-12-07 the
   reads ran ``--seconds``, 10: a p99 over 2,000 reads is their 20th slowest, and its interval,
   the 30th to the 11th slowest, spanned up to 3.6 × on the shared machine: a few unlucky reads,
   not a measurement.)
   ``--reads-only`` runs this step alone (with ``--write-rate``); ``--serve-option`` passes an
   option to the servers (e.g. ``--switch-interval=5``, Python's own, to compare with the default).
   Where a read waits inside the process: ``bench/beside.py``.

The figures are logged and written to ``bench/results/writes-<time>.json``; they go into
docs/benchmarks.md by hand, measured on a quiet machine. ``--smoke`` (2 s runs, no warm-up, a
tenant of 2,000 people) only checks that every scenario runs, and writes no results.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.harness import (
    PY,
    ROOT,
    LoadResult,
    Request,
    Server,
    Target,
    cluster_cpu_seconds,
    free_port,
    log,
    machine,
    postgres_target,
    run_wrk,
    sqlite_target,
)
from bench.scenarios import SCENARIOS, Context, active_ids
from bench.suite import RESULTS, check_replies
from openroster.store.pgcluster import ThrowawayCluster

WRITES = ("wps.attrs_update", "dingtalk.v2_update")
READ = "wps.batch_read"
#: The targets of issue 17 (docs/write-path.md), printed beside the figures.
TARGETS = {
    ("sqlite", "wps.attrs_update"): "≥ 60 % of bare, p99 ≤ 250 ms and ≤ 4 × p50",
    ("sqlite", "dingtalk.v2_update"): "≥ 60 % of bare, p99 ≤ 100 ms",
    ("postgresql", "wps.attrs_update"): "≥ 300 req/s, p99 ≤ 300 ms",
    ("postgresql", "dingtalk.v2_update"): "≥ 800 req/s, p99 ≤ 150 ms",
}


class BareWrites:
    """``bench/bare_writes.py`` on a free port, on a fresh database file in ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> BareWrites:
        db = self.workdir / f"bare-{time.monotonic_ns()}.db"
        self.port = free_port()
        log_path = self.workdir / f"bare-{self.port}.log"
        with open(log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [PY, "-m", "bench.bare_writes", "--port", str(self.port), "--database", str(db)],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the bare endpoint exited with {self.proc.returncode}; see {log_path}")
            try:
                httpx.get(self.base + "/docs", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"the bare endpoint did not start; see {log_path}")

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)
            self.proc = None


def figures(r: LoadResult) -> str:
    return f"{r.rps:8.0f} req/s  p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:8.2f} ms"


def p99_interval(r: LoadResult) -> str:
    """The reads a p99 was taken over, and its 95 % interval (``LoadResult.p99_low_ms``)."""
    return f"  [{r.requests:,} reads: p99 within {r.p99_low_ms:.2f}-{r.p99_high_ms:.2f} ms]"


def check_bare(bare: BareWrites, requests: list[Request]) -> None:
    """Every rotated request once against the bare endpoint: each must be written."""
    with httpx.Client(timeout=60) as client:
        for i, req in enumerate(requests):
            r = req.send(bare.base, client)
            if r.status_code != 200:
                raise RuntimeError(f"bare endpoint: request {i} failed: {r.status_code} {r.text[:300]}")


def measure_write(
    server: Server,
    ctx: Context,
    name: str,
    *,
    args: argparse.Namespace,
    workdir: Path,
    database_cpu: Callable[[], float],
) -> dict[str, Any]:
    """One write scenario on ``server``, then the same requests on the bare endpoint.

    Beside the rate: the CPU time a request of the server's processes and of the database's
    (``database_cpu``: PostgreSQL's processes; nothing for SQLite, which runs in the server), which
    say whether a run was bound by the server's interpreter (its CPU a request near 1 / rate) or by
    what the two share on the machine."""
    scenario = SCENARIOS[name]
    requests = scenario.make(ctx)
    check_replies(scenario, ctx, requests)
    if args.warmup > 0:
        run_wrk(server.base, requests, seconds=args.warmup, connections=args.connections)
    served, database = server.cpu_seconds(), database_cpu()
    real = run_wrk(server.base, requests, seconds=args.seconds, connections=args.connections)
    served, database = server.cpu_seconds() - served, database_cpu() - database
    per = 1e6 / real.requests if real.requests else 0.0
    cpu_us = {"server": round(served * per, 1), "database": round(database * per, 1)}
    with BareWrites(workdir) as bare:
        check_bare(bare, requests)
        if args.warmup > 0:
            run_wrk(bare.base, requests, seconds=args.warmup, connections=args.connections)
        floor = run_wrk(bare.base, requests, seconds=args.seconds, connections=args.connections)
    ratio = real.rps / floor.rps if floor.rps else 0.0
    log(f"  {name:<20} {figures(real)}  | bare {figures(floor)}  ratio {ratio:6.1%}")
    log(
        f"  {'':<20} CPU a request: server {cpu_us['server']:.0f} µs, database "
        f"{cpu_us['database']:.0f} µs ({served * real.rps * per / 1e6:.2f} and "
        f"{database * real.rps * per / 1e6:.2f} CPU-seconds a second)"
    )
    log(f"  {'':<20} target: {TARGETS[(server.target.backend, name)]}")
    return {
        "scenario": name,
        "title": scenario.title,
        "real": real.as_dict(),
        "bare": floor.as_dict(),
        "ratio": round(ratio, 4),
        "cpu_us": cpu_us,
        "errors": {**real.errors, **{f"bare.{k}": v for k, v in floor.errors.items()}},
    }


def measure_reads_beside_writes(
    server: Server, ctx: Context, *, args: argparse.Namespace, write_rate: float
) -> dict[str, Any]:
    """batch_read at ``--read-rate`` alone, then with the batch_update load beside it at
    ``write_rate``, both paced: a p99 of the same read load, with and without the writes.

    Both loads are paced (``run_wrk(rate=...)``): as fast as the connections go, the reads keep
    the event loop busy without a pause and the writes beside them starve (on the idle machine
    the unpaced write load drove 3 requests a second while the reads ran, and its p99 said
    nothing). The writes' own rate is logged beside the reads' and checked: a write load that
    fell short of its rate is flagged, not taken as measured."""
    reads = SCENARIOS[READ].make(ctx)
    check_replies(SCENARIOS[READ], ctx, reads)
    writes = SCENARIOS["wps.attrs_update"].make(ctx)
    read = functools.partial(
        run_wrk, server.base, reads, connections=args.read_connections, rate=args.read_rate
    )
    if args.warmup > 0:
        read(seconds=args.warmup)
    idle = read(seconds=args.read_seconds)
    with ThreadPoolExecutor(2) as pool:
        load = pool.submit(
            run_wrk,
            server.base,
            writes,
            seconds=args.read_seconds + 2,
            connections=args.connections,
            rate=write_rate,
        )
        time.sleep(1)  # the write load is running before the reads start
        busy = read(seconds=args.read_seconds)
        beside = load.result()
    ratio = busy.p99_ms / idle.p99_ms if idle.p99_ms else 0.0
    # The range the two p99s' 95 % intervals allow the ratio (not itself a 95 % interval: each end
    # takes both p99s at their far ends at once): a run says no more than this.
    span = (
        (busy.p99_low_ms / idle.p99_high_ms, busy.p99_high_ms / idle.p99_low_ms)
        if idle.p99_low_ms and idle.p99_high_ms
        else (0.0, 0.0)
    )
    reached = beside.rps / write_rate if write_rate else 0.0
    short = reached < 0.9
    log(f"  {READ} idle          {figures(idle)}  (asked {args.read_rate:.0f} req/s){p99_interval(idle)}")
    reads_short = busy.rps < 0.9 * args.read_rate
    log(
        f"  {READ} beside writes {figures(busy)}  p99 {ratio:.1f} × idle (target ≤ 2 ×){p99_interval(busy)}"
        + (f"  (SHORT: {busy.rps / args.read_rate:.0%} of the reads asked)" if reads_short else "")
    )
    log(f"  the ratio within {span[0]:.1f}-{span[1]:.1f} × (the range the two p99s' intervals allow)")
    log(
        f"  the writes beside it {figures(beside)}  (asked {write_rate:.0f} req/s: {reached:.0%}"
        + (", SHORT: the reads' p99 beside them does not count)" if short else ")")
    )
    return {
        "scenario": f"{READ}+wps.attrs_update",
        "read_connections": args.read_connections,
        "read_rate": args.read_rate,
        "write_rate": round(write_rate, 1),
        "idle": idle.as_dict(),
        "beside_writes": busy.as_dict(),
        "writes": beside.as_dict(),
        "writes_reached": round(reached, 3),
        "writes_short": short,
        "reads_short": reads_short,
        "p99_ratio": round(ratio, 2),
        "p99_ratio_range": [round(span[0], 2), round(span[1], 2)],
    }


def run_backend(
    target: Target, *, args: argparse.Namespace, workdir: Path, database_cpu: Callable[[], float]
) -> dict[str, Any]:
    log(f"{target.label}:")
    rows: list[dict[str, Any]] = []
    with Server(target, extra=args.serve_option) as server:
        ids = active_ids(server)
        for name in () if args.reads_only else WRITES:
            ctx = Context(server, ids, random.Random(hash(name) & 0xFFFF))
            rows.append(
                measure_write(server, ctx, name, args=args, workdir=workdir, database_cpu=database_cpu)
            )
        ctx = Context(server, ids, random.Random(17))
        # The write load beside the reads: a share of what this server did alone (or as asked).
        write_rate = args.write_rate or args.write_share * rows[0]["real"]["rps"]
        rows.append(measure_reads_beside_writes(server, ctx, args=args, write_rate=max(1.0, write_rate)))
    return {"backend": target.backend, "size": target.size, "runs": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench.bench_writes", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--size", type=int, default=10_000, help="people in the demo tenant")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    ap.add_argument(
        "--read-seconds",
        type=float,
        default=30.0,
        help="measured seconds of the reads, idle and beside the writes (6,000 reads at 200 a second)",
    )
    ap.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before each run")
    ap.add_argument("--connections", type=int, default=32, help="connections of the write load")
    ap.add_argument("--read-connections", type=int, default=4, help="connections of the batch_read load")
    ap.add_argument(
        "--read-rate", type=float, default=200.0, help="batch_read requests a second (idle and beside)"
    )
    ap.add_argument(
        "--write-share",
        type=float,
        default=0.5,
        help="the batch_update load beside the reads, as a share of the rate the server did alone",
    )
    ap.add_argument("--write-rate", type=float, help="the batch_update load beside the reads, req/s")
    ap.add_argument(
        "--reads-only", action="store_true", help="step 2 alone, the writes beside at --write-rate"
    )
    ap.add_argument(
        "--serve-option",
        action="append",
        default=[],
        help="an option for openroster serve, e.g. --serve-option=--switch-interval=5 (repeatable)",
    )
    ap.add_argument("--smoke", action="store_true", help="2 s runs, no warm-up, 2,000 people: checks it runs")
    args = ap.parse_args(argv)
    if args.reads_only and not args.write_rate:
        ap.error("--reads-only needs --write-rate")
    if args.smoke:
        args.seconds, args.read_seconds, args.warmup, args.size = 2.0, 2.0, 0.0, 2_000
    backends = [b for b in args.backends.split(",") if b]
    started = datetime.now(UTC)
    results: list[dict[str, Any]] = []
    cluster: ThrowawayCluster | None = None
    with tempfile.TemporaryDirectory(prefix="openroster-bench-writes-") as tmp:
        try:
            for backend in backends:
                database_cpu: Callable[[], float] = lambda: 0.0  # noqa: E731
                if backend == "sqlite":
                    target = sqlite_target(args.size)
                else:
                    cluster = cluster or ThrowawayCluster(durable=True).start()
                    target = postgres_target(args.size, cluster)
                    database_cpu = functools.partial(cluster_cpu_seconds, cluster)
                try:
                    results.append(
                        run_backend(target, args=args, workdir=Path(tmp), database_cpu=database_cpu)
                    )
                finally:
                    if target.backend == "postgresql":
                        shutil.rmtree(target.data_dir, ignore_errors=True)
        finally:
            if cluster is not None:
                cluster.stop()
    if args.smoke:  # a check that it runs, not figures
        return 0
    keys: tuple[str, ...] = (
        "size",
        "seconds",
        "read_seconds",
        "warmup",
        "connections",
        "read_connections",
        "read_rate",
    )
    keys += ("write_share", "write_rate", "reads_only", "serve_option")
    settings = {k: getattr(args, k) for k in keys}
    meta = {"date": started.isoformat(timespec="seconds"), "machine": machine(), "settings": settings}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"writes-{started:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"meta": meta, "backends": results}, indent=2, ensure_ascii=False) + "\n")
    log(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
