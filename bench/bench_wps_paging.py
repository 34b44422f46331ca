"""WPS paging benchmark: ``GET /v7/users`` 50-user pages with departments, first page vs last page.

    .venv/bin/python bench/bench_wps_paging.py [--users 100000] [--duration 8] [--rounds 3]
                                               [--connections 8] [--backend sqlite|postgresql] [--rebuild]

The demo company of ``--users`` people (built once with ``openroster demo`` and
kept under bench/.data; PostgreSQL: a throwaway cluster) is served by one
``openroster serve`` process (uvicorn, one worker). The benchmark first walks
the whole listing page by page (``page_size=50&with_dept=true``; this also warms
the server's cache for every person), keeping the page tokens of the first,
middle and last full pages. ``wrk`` then drives each of those pages for
``--duration`` seconds, in ``--rounds`` rounds that alternate the pages (so a
change in the machine's load hits them alike; medians are reported): keyset
paging means page N costs what page 1 costs, so the figures must agree within
20%. Two listings are measured: every status (no ``status``; the primary key)
and ``status=active`` (the status index).

Beside the HTTP figures the benchmark times the store query alone (in this
process, on the same store): the keyset query the server runs, and an
``OFFSET`` query for contrast, at the first and at the last page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from harness import (
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
    wps_request,
    wps_token,
)
from openroster.config import Settings
from openroster.fixtures.demo import DEMO_TENANT
from openroster.model.entities import ALL_STATUSES
from openroster.server.app import open_directory
from openroster.store.schema import users as users_table

CLIENT_ID = "demo-wps"
SECRET = "demo-wps-secret"
PAGE_SIZE = 50


@contextmanager
def _target(backend: str, size: int, rebuild: bool) -> Iterator[Target]:
    if backend == "sqlite":
        yield sqlite_target(size, rebuild=rebuild)
        return
    from openroster.store.pgcluster import cluster_from_env

    with cluster_from_env() as cluster:
        yield postgres_target(size, cluster)


def _listing_path(status: str | None, token: str | None) -> str:
    params: list[tuple[str, str]] = [("page_size", str(PAGE_SIZE)), ("with_dept", "true")]
    if status:
        params.insert(0, ("status", status))
    if token:
        params.append(("page_token", token))
    return "/v7/users?" + urlencode(params)


def walk(base: str, token: str, status: str | None) -> tuple[list[str | None], int, float]:
    """Every page's token (None for the first), the people listed and the seconds the walk took."""
    tokens: list[str | None] = [None]
    people = 0
    started = time.monotonic()
    with httpx.Client(timeout=60) as http:
        page_token: str | None = None
        while True:
            req = wps_request(
                "GET", _listing_path(status, page_token), token=token, client_id=CLIENT_ID, secret=SECRET
            )
            resp = req.send(base, http)
            data = resp.json()
            if data.get("code") != 0:
                raise RuntimeError(f"listing failed: {data}")
            people += len(data["data"]["items"])
            page_token = data["data"]["next_page_token"] or None
            if page_token is None:
                break
            tokens.append(page_token)
    return tokens, people, time.monotonic() - started


def store_query_ms(
    target: Target, positions: dict[str, str | None], *, rounds: int = 200
) -> dict[str, float]:
    """Median milliseconds of the keyset query at each position, and of OFFSET at the same pages."""
    d = open_directory(Settings(data_dir=target.data_dir, database_url=target.database_url))
    out: dict[str, float] = {}
    try:
        with d.reader() as r:
            conn = r.tx.conn  # the OFFSET baseline below is raw SQL of this benchmark's own
            total = r.tx.users.count(DEMO_TENANT, statuses=ALL_STATUSES)
            for name, after in positions.items():
                samples = []
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    r.tx.users.page_ids(DEMO_TENANT, statuses=ALL_STATUSES, after=after, limit=PAGE_SIZE + 1)
                    samples.append((time.perf_counter() - t0) * 1000)
                out[f"keyset {name}"] = statistics.median(samples)
            for name, offset in (("first", 0), ("last", max(0, total - PAGE_SIZE))):
                samples = []
                q = (
                    select(users_table.c.id)
                    .where(users_table.c.tenant_id == DEMO_TENANT)
                    .order_by(users_table.c.id)
                    .limit(PAGE_SIZE)
                    .offset(offset)
                )
                for _ in range(max(20, rounds // 10)):
                    t0 = time.perf_counter()
                    conn.execute(q).all()
                    samples.append((time.perf_counter() - t0) * 1000)
                out[f"OFFSET {name}"] = statistics.median(samples)
    finally:
        d.store.dispose()
    return out


def _last_id_before(target: Target, page_index: int) -> str | None:
    """The keyset position of page ``page_index`` (0-based) of the every-status listing."""
    if page_index == 0:
        return None
    d = open_directory(Settings(data_dir=target.data_dir, database_url=target.database_url))
    try:
        with d.reader() as r:
            row = r.tx.conn.execute(
                select(users_table.c.id)
                .where(users_table.c.tenant_id == DEMO_TENANT)
                .order_by(users_table.c.id)
                .offset(page_index * PAGE_SIZE - 1)
                .limit(1)
            ).first()
            return str(row[0]) if row is not None else None
    finally:
        d.store.dispose()


def _measure(server: Server, reqs: dict[str, Request], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """wrk on each page, in rounds that alternate the pages; the medians over the rounds."""
    runs: dict[str, list[LoadResult]] = {name: [] for name in reqs}
    for round_no in range(args.rounds):
        for name, req in reqs.items():
            res = run_wrk(server.base, [req], seconds=args.duration, connections=args.connections)
            log(f"  round {round_no + 1} {name:6} page: {res.rps:8.1f} req/s  p50 {res.p50_ms:.2f} ms")
            runs[name].append(res)
    return {
        name: {
            "rps": statistics.median(r.rps for r in done),
            "p50_ms": statistics.median(r.p50_ms for r in done),
            "p99_ms": statistics.median(r.p99_ms for r in done),
            "rounds": [r.as_dict() for r in done],
        }
        for name, done in runs.items()
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--duration", type=float, default=8.0, help="seconds of wrk per page and round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds over the pages (medians are reported)")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--rebuild", action="store_true", help="build the SQLite demo company again")
    args = ap.parse_args(argv)

    results: dict[str, Any] = {"machine": machine(), "versions": versions(), "users": args.users}
    with _target(args.backend, args.users, args.rebuild) as target, Server(target) as server:
        log(f"server on {server.base} ({target.label})")
        token = wps_token(server.base, CLIENT_ID, SECRET)
        rows: list[tuple[str, str, Any]] = []
        for status in (None, "active"):
            label = f"status={status}" if status else "every status"
            tokens, people, seconds = walk(server.base, token, status)
            log(f"{label}: walked {len(tokens)} pages ({people:,} people) in {seconds:.1f} s")
            rows.append((label, "full walk", {"pages": len(tokens), "people": people, "seconds": seconds}))
            # The last page may hold fewer people; the last full page is the fair comparison.
            last = tokens[-1] if people % PAGE_SIZE == 0 else tokens[max(0, len(tokens) - 2)]
            picks = {"first": tokens[0], "middle": tokens[len(tokens) // 2], "last": last}
            reqs: dict[str, Request] = {}
            for name, page_token in picks.items():
                reqs[name] = wps_request(
                    "GET", _listing_path(status, page_token), token=token, client_id=CLIENT_ID, secret=SECRET
                )
                body = reqs[name].send(server.base).json()
                assert body["code"] == 0 and len(body["data"]["items"]) == PAGE_SIZE, body
            rows += [(label, name, data) for name, data in _measure(server, reqs, args).items()]
        positions = {"first": None, "last": _last_id_before(target, max(0, args.users // PAGE_SIZE - 1))}
        queries = store_query_ms(target, positions)
        results["server_rss_mib"] = round(server.rss_mib(), 1)
    results["rows"] = rows
    results["store_query_ms"] = queries
    _report(results, args)
    return 0


def _report(results: dict[str, Any], args: argparse.Namespace) -> None:
    out = sys.stdout
    m = results["machine"]
    title = f"{results['users']:,} people, {args.backend}, page_size={PAGE_SIZE}, with_dept=true"
    out.write(f"\n## WPS paging ({title})\n\n")
    out.write(
        f"{m['cpu']}, {m['cores']} cores, load average {m['loadavg'][0]:.1f} at the end; "
        f"wrk -c {args.connections}, {args.rounds} alternating rounds of {args.duration:g} s per page "
        "(medians); one server process.\n\n"
    )
    out.write(
        "| listing | page | requests/s | p50 ms | p99 ms | vs first page |\n|---|---|---|---|---|---|\n"
    )
    walks = []
    first: dict[str, float] = {}
    for label, name, data in results["rows"]:
        if name == "full walk":
            walks.append(
                f"{label}: {data['pages']:,} pages, {data['people']:,} people in {data['seconds']:.1f} s"
            )
            continue
        base = first.setdefault(label, data["rps"])
        out.write(
            f"| {label} | {name} | {data['rps']:.0f} | {data['p50_ms']:.2f} | {data['p99_ms']:.2f} "
            f"| {data['rps'] / base:.0%} |\n"
        )
    out.write("\nFull walks (one client, one page after another): " + "; ".join(walks) + ".\n\n")
    out.write("Store query alone (median ms, in-process): ")
    out.write(", ".join(f"{k} {v:.3f}" for k, v in results["store_query_ms"].items()) + ".\n")
    out.write(f"Server memory after the run: {results['server_rss_mib']} MiB.\n")


if __name__ == "__main__":
    raise SystemExit(main())
