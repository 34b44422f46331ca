"""The benchmark suite: ``./scripts/bench`` (or ``.venv/bin/python -m bench``).

For each backend (SQLite, PostgreSQL) and tenant size (10,000 and 1,000,000
people by default), and for each scenario of ``bench/scenarios.py``: one
server process, wrk at fixed concurrency for a fixed time against the real
endpoint, then against the same server's bare endpoint returning the same
bytes (the ceiling); requests/s, p50/p99 and the ratio. Then the headline of
issue 2 (batch_read at 100,000 people on SQLite) and the scale checks (1M vs
10k, server memory). Results go to ``bench/results/`` (JSON) and into
``docs/benchmarks.md`` between its suite markers, with a chart.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import report
from bench.bare import save_replies
from bench.harness import (
    ROOT,
    LoadResult,
    Request,
    Server,
    Target,
    log,
    machine,
    postgres_target,
    run_wrk,
    sqlite_target,
    versions,
)
from bench.scenarios import EXTRA, SCENARIOS, Context, Scenario, active_ids
from openroster.store.pgcluster import ThrowawayCluster

RESULTS = ROOT / "bench" / "results"
HEADLINE_SIZE = 100_000


def check_replies(scenario: Scenario, ctx: Context, requests: list[Request]) -> list[bytes]:
    """Send every rotated request once; each must succeed. Returns the replies' bytes, in order."""
    replies: list[bytes] = []
    with httpx.Client(timeout=60) as client:
        for i, req in enumerate(requests):
            r = req.send(ctx.base, client)
            data = r.json()
            code = data.get("code", data.get("errcode", 0))  # DingTalk /v1.0 succeeds with neither
            if r.status_code != 200 or code != 0:
                raise RuntimeError(f"{scenario.name}: request {i} failed: {r.status_code} {r.text[:300]}")
            replies.append(r.content)
    return replies


def measure(
    target: Target,
    scenario: Scenario,
    *,
    seconds: float,
    warmup: float,
    connections: int,
    ids: list[str],
    workdir: Path,
    pairs: int = 1,
) -> dict[str, Any]:
    """One scenario on one target: the real endpoint and its bare twin, on one fresh server.

    With ``pairs`` > 1 the real and the bare endpoint are measured one after the other that many
    times; the result holds the median run of each (by requests/s) and the median of the pairs'
    ratios, and every pair: on a shared machine one run moves by ±10 % from the next, and a ratio
    is best taken between runs made side by side.
    """
    # A first server prepares and checks the requests and captures the reply to each: the bare
    # endpoint answers each rotated request the reply the real call gave to that very request.
    with Server(target, extra=scenario.server_args) as probe:
        ctx = Context(probe, ids, random.Random(hash(scenario.name) & 0xFFFF))
        requests = scenario.make(ctx)
        replies = check_replies(scenario, ctx, requests)
    reply = replies[0]
    bare_file = workdir / f"{scenario.name}.json"
    bare_file.write_bytes(reply)
    bare_replies = workdir / f"{scenario.name}.replies"
    save_replies(bare_replies, ((r.key, b) for r, b in zip(requests, replies, strict=True)))
    method, path = scenario.bare
    bare_requests = [r.to_bare(method, path) for r in requests]
    with Server(target, bare_file=bare_file, bare_replies=bare_replies, extra=scenario.server_args) as server:
        with httpx.Client(timeout=60) as client:
            for i, (req, expected) in enumerate(zip(bare_requests, replies, strict=True)):
                check = req.send(server.base, client)
                if check.status_code != 200 or check.content != expected:
                    raise RuntimeError(
                        f"{scenario.name}: the bare endpoint answered request {i} "
                        f"{check.status_code} {check.text[:200]}"
                    )
        if warmup > 0:
            run_wrk(server.base, requests, seconds=warmup, connections=connections)
        measured: list[tuple[LoadResult, LoadResult]] = []
        cpu: list[tuple[float, float]] = []  # the server's CPU µs a request: real, bare
        rss = 0.0
        for _ in range(max(1, pairs)):
            real, real_cpu = _served(server, requests, seconds=seconds, connections=connections)
            rss = max(rss, server.rss_mib())
            bare, bare_cpu = _served(server, bare_requests, seconds=seconds, connections=connections)
            if bare.errors.get("status"):
                # a request the bare endpoint has no captured reply for (bench/bare.py): answered
                # 404, never another reply, so the baseline is never an easier one unnoticed
                raise RuntimeError(
                    f"{scenario.name}: the bare endpoint answered {bare.errors['status']} timed "
                    "requests with an error status (no reply captured for them)"
                )
            measured.append((real, bare))
            cpu.append((real_cpu, bare_cpu))
    mid = len(measured) // 2
    real = sorted((r for r, _ in measured), key=lambda x: x.rps)[mid]
    bare = sorted((b for _, b in measured), key=lambda x: x.rps)[mid]
    ratio = sorted(r.rps / b.rps if b.rps else 0.0 for r, b in measured)[mid]
    real_cpu, bare_cpu = (sorted(side)[mid] for side in zip(*cpu, strict=True))
    if len(measured) > 1:
        log("  pairs (real / bare req/s): " + ", ".join(f"{r.rps:.0f} / {b.rps:.0f}" for r, b in measured))
    log(
        f"  {scenario.name:<22} {real.rps:8.0f} req/s  p50 {real.p50_ms:6.2f} ms  p99 {real.p99_ms:7.2f} ms"
        f"  | bare {bare.rps:8.0f} req/s  ratio {ratio:5.1%}  rss {rss:5.0f} MiB"
        f"  | CPU a request {real_cpu:5.0f} / {bare_cpu:5.0f} µs"
    )
    return {
        "backend": target.backend,
        "size": target.size,
        "scenario": scenario.name,
        "title": scenario.title,
        "real": real.as_dict(),
        "bare": bare.as_dict(),
        "ratio": round(ratio, 4),
        "reply_bytes": len(reply),
        "rss_mib": round(rss, 1),
        "errors": _errors(real) | {f"bare.{k}": v for k, v in _errors(bare).items()},
        "cpu_us": {"real": round(real_cpu, 1), "bare": round(bare_cpu, 1)},
        "pairs": [
            {
                "real_rps": round(r.rps, 1),
                "bare_rps": round(b.rps, 1),
                "ratio": round(r.rps / b.rps, 4),
                "real_cpu_us": round(rc, 1),
                "bare_cpu_us": round(bc, 1),
            }
            for (r, b), (rc, bc) in zip(measured, cpu, strict=True)
            if b.rps
        ],
    }


def _served(
    server: Server, requests: list[Request], *, seconds: float, connections: int
) -> tuple[LoadResult, float]:
    """wrk's figures and the server's CPU time per request, µs (steadier than the rate on a shared
    machine: other work slows the server down but does not add to its CPU time much)."""
    before = server.cpu_seconds()
    result = run_wrk(server.base, requests, seconds=seconds, connections=connections)
    used = server.cpu_seconds() - before
    return result, used / result.requests * 1e6 if result.requests else 0.0


def _errors(r: LoadResult) -> dict[str, int]:
    return dict(r.errors)


def _merge(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """``earlier`` with ``later``'s rows in place of the same backend, size and call."""

    def key(r: dict[str, Any]) -> tuple[str, int, str]:
        return (r["backend"], r["size"], r["scenario"])

    fresh = {key(r): r for r in later["runs"]}
    runs = [fresh.pop(key(r), r) for r in earlier["runs"]] + list(fresh.values())
    meta = dict(earlier["meta"])
    redone = ", ".join(f"{b} {n:,} {c}" for b, n, c in (key(r) for r in later["runs"]))
    meta["note"] = (
        f"{meta.get('note', '')} Re-measured {later['meta']['date']} (load average at start "
        f"{', '.join(f'{x:.2f}' for x in later['meta']['machine']['loadavg'])}): {redone}."
    ).strip()
    return {"meta": meta, "builds": earlier.get("builds", []), "runs": runs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--sizes", default="10000,1000000", help="tenant sizes (people)")
    ap.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"from {', '.join([*SCENARIOS, *EXTRA])}"
    )
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before each real run")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--no-headline", action="store_true", help="skip batch_read at 100,000 people (issue 2)")
    ap.add_argument(
        "--headline-pairs",
        type=int,
        default=5,
        help="measure the headline's real and bare endpoint this many times, side by side (default 5)",
    )
    ap.add_argument("--no-cold", action="store_true", help="skip the uncached batch_read")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached SQLite tenants")
    ap.add_argument("--note", default="", help="a note printed with the results (e.g. machine load)")
    ap.add_argument("--no-docs", action="store_true", help="do not touch docs/benchmarks.md")
    ap.add_argument("--quick", action="store_true", help="10,000 people only, 3 s runs: checks the harness")
    ap.add_argument(
        "--from-results", type=Path, help="rewrite docs/benchmarks.md from a results JSON, without running"
    )
    ap.add_argument(
        "--merge-into",
        type=Path,
        help="put this run's rows into an earlier results JSON (replacing the same backend/size/call)",
    )
    args = ap.parse_args(argv)
    if args.from_results is not None:
        result = json.loads(args.from_results.read_text())
        report.write(result)
        sys.stdout.write(report.summary(result) + "\n")
        return 0
    if args.quick:
        args.sizes, args.seconds, args.warmup, args.no_headline, args.no_cold = "10000", 3.0, 1.0, True, True
    backends = [b for b in args.backends.split(",") if b]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    chosen = [({**SCENARIOS, **EXTRA})[n] for n in args.scenarios.split(",") if n]
    started = datetime.now(UTC)
    t0 = time.monotonic()
    meta = {
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "settings": {
            "seconds": args.seconds,
            "warmup": args.warmup,
            "connections": args.connections,
            "wrk_threads": 1,
            "server_processes": 1,
        },
        "note": args.note,
    }
    runs: list[dict[str, Any]] = []
    builds: list[dict[str, Any]] = []
    cluster: ThrowawayCluster | None = None
    targets: dict[tuple[str, int], Target] = {}
    with tempfile.TemporaryDirectory(prefix="openroster-bench-") as tmp:
        workdir = Path(tmp)
        try:
            if "postgresql" in backends:
                cluster = ThrowawayCluster(durable=True).start()
            plan: list[tuple[str, int, list[Scenario]]] = [(b, n, chosen) for b in backends for n in sizes]
            headline = ("sqlite", HEADLINE_SIZE, SCENARIOS["wps.batch_read"])
            if not args.no_headline and "sqlite" in backends:
                plan.insert(0, (headline[0], headline[1], [headline[2]]))
            if not args.no_cold:
                plan += [(b, n, [EXTRA["wps.batch_read_cold"]]) for b in backends for n in sizes]
            for backend, size, scenarios in plan:
                key = (backend, size)
                if key not in targets:
                    if backend == "sqlite":
                        targets[key] = sqlite_target(size, rebuild=args.rebuild)
                    else:
                        assert cluster is not None
                        targets[key] = postgres_target(size, cluster)
                    builds.append(
                        {"backend": backend, "size": size, "build_seconds": targets[key].build_seconds}
                    )
                target = targets[key]
                log(f"{target.label}:")
                with Server(target) as probe:
                    ids = active_ids(probe)
                for scenario in scenarios:
                    try:
                        runs.append(
                            measure(
                                target,
                                scenario,
                                seconds=args.seconds,
                                warmup=args.warmup,
                                connections=args.connections,
                                ids=ids,
                                workdir=workdir,
                                pairs=args.headline_pairs if (backend, size, scenario) == headline else 1,
                            )
                        )
                    except Exception as exc:
                        log(f"  {scenario.name}: FAILED: {exc}")
                        runs.append(
                            {"backend": backend, "size": size, "scenario": scenario.name, "failed": str(exc)}
                        )
        finally:
            if cluster is not None:
                cluster.stop()
                for t in targets.values():
                    if t.backend == "postgresql":
                        shutil.rmtree(t.data_dir, ignore_errors=True)
    meta["elapsed_seconds"] = round(time.monotonic() - t0)
    result = {"meta": meta, "builds": builds, "runs": runs}
    if args.merge_into is not None:
        result = _merge(json.loads(args.merge_into.read_text()), result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if not args.no_docs:
        report.write(result)
        log("wrote docs/benchmarks.md and docs/benchmarks.png")
    sys.stdout.write(report.summary(result) + "\n")
    return 0
