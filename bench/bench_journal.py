"""Request journal overhead: platform throughput with the journal on and off.

    .venv/bin/python bench/bench_journal.py [--users 10000] [--duration 10] [--connections 16]
                                            [--rounds 3] [--journal-size 10000] [--write-docs]

The demo company of ``--users`` people (built once with ``openroster demo`` and
kept under bench/.data/journal-sqlite-N) is served by one ``openroster serve`` process (uvicorn,
one worker), started alternately with the journal on (``--journal-size``, the
default 10,000 entries: the ring buffer is full within a second and stays full,
dropping its oldest entry on every call) and off (``--journal-size 0``), in
ABBA order over ``--rounds`` rounds so drift on a shared machine hits both
alike. ``wrk`` drives, beside the server on the same machine, for ``--duration``
seconds each (after a short warm-up):

- ``batch_read 100``: ``POST /v7/users/batch_read`` of 100 random people with
  departments, KSO-1 signed (a ~56 KB reply: the endpoint of the design notes);
- ``batch_read 1``: the same with one person (a small reply, so the per-call
  cost of the middleware weighs the most).

The figure is the median requests/s per setup; the target is a loss under 10%.
``--write-docs`` puts the table into docs/benchmarks.md under "Request journal".
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import orjson

from harness import (
    DATA,
    Request,
    Server,
    Target,
    log,
    machine,
    run_wrk,
    versions,
    wps_request,
    wps_token,
    write_docs_section,
)
from openroster.config import Settings
from openroster.fixtures.demo import sample_user_ids
from openroster.server.app import open_directory

CLIENT_ID = "demo-wps"
SECRET = "demo-wps-secret"
HEADING = "## Request journal"


def _requests(base: str, ids: list[str], per_call: int, count: int = 50) -> list[Request]:
    token = wps_token(base, CLIENT_ID, SECRET)
    rng = random.Random(per_call)
    return [
        wps_request(
            "POST",
            "/v7/users/batch_read",
            token=token,
            client_id=CLIENT_ID,
            secret=SECRET,
            body={"user_ids": rng.sample(ids, per_call), "status": ["active"], "with_dept": True},
        )
        for _ in range(count)
    ]


def _target(size: int) -> Target:
    """A demo company of ``size`` people in a data directory of this benchmark's own."""
    data_dir = DATA / f"journal-sqlite-{size}"
    ready = data_dir / "ready"
    if not ready.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        log(f"building a demo company of {size:,} people in {data_dir}")
        subprocess.run(
            [sys.executable, "-m", "openroster", "demo", "--users", str(size), "--data-dir", str(data_dir)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        ready.touch()
    return Target("sqlite", size, data_dir, None)


# -- the same comparison in-process, on the whole server stack -----------------------------------------


def in_process(
    target: Target, ids: list[str], *, blocks: int = 12, calls: int = 1000
) -> dict[str, dict[str, float]]:
    """Calls/s of the real server app (FastAPI, the dialect, the store) driven through ASGI directly.

    Two apps over one open store, journal on (filled first: 10,000 entries, dropping the oldest on
    every call) and off, take turns in blocks of ``calls`` signed batch_read calls, so whatever else
    the machine does hits both alike; no HTTP server and no load generator compete for the two
    cores. The figure per setup is the median of its blocks.
    """
    import asyncio

    from openroster.server.app import create_app

    d = open_directory(Settings(data_dir=target.data_dir))
    apps = {
        "journal on": create_app(Settings(admin_token="bench", journal_size=10_000), directory=d),
        "journal off": create_app(Settings(admin_token="bench", journal_size=0), directory=d),
    }

    async def call(app: object, req: Request) -> bytes:
        done = False
        out: list[bytes] = []

        async def receive() -> dict[str, object]:
            nonlocal done
            if not done:
                done = True
                return {"type": "http.request", "body": req.body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.body":
                out.append(message.get("body", b""))  # type: ignore[arg-type]

        path, _, query = req.path.partition("?")
        headers = [(b"host", b"127.0.0.1")] + [
            (k.lower().encode(), v.encode()) for k, v in req.headers.items()
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": req.method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        await app(scope, receive, send)  # type: ignore[operator]
        return b"".join(out)

    async def run() -> dict[str, dict[str, float]]:
        token_req = Request(
            "POST",
            "/oauth2/token",
            {"Content-Type": "application/x-www-form-urlencoded"},
            f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={SECRET}".encode(),
        )
        token = orjson.loads(await call(apps["journal on"], token_req))["access_token"]
        results: dict[str, dict[str, float]] = {}
        for per_call in (100, 1):
            rng = random.Random(per_call)
            reqs = [
                wps_request(
                    "POST",
                    "/v7/users/batch_read",
                    token=token,
                    client_id=CLIENT_ID,
                    secret=SECRET,
                    body={"user_ids": rng.sample(ids, per_call), "status": ["active"], "with_dept": True},
                )
                for _ in range(50)
            ]
            for app in apps.values():  # warm the cache and both stacks, and fill the journal
                for i in range(10_050):
                    reply = await call(app, reqs[i % len(reqs)])
                    assert reply.startswith(b'{"code":0'), reply[:200]
            rates: dict[str, list[float]] = {name: [] for name in apps}
            for b in range(blocks):
                order = list(apps) if b % 2 == 0 else list(reversed(apps))
                for name in order:
                    t0 = time.perf_counter()
                    for i in range(calls):
                        await call(apps[name], reqs[i % len(reqs)])
                    rates[name].append(calls / (time.perf_counter() - t0))
            results[f"batch_read {per_call}"] = {name: statistics.median(r) for name, r in rates.items()}
            log(
                f"in-process batch_read {per_call}: "
                + ", ".join(f"{name} {statistics.median(r):.0f} calls/s" for name, r in rates.items())
            )
        return results

    try:
        return asyncio.run(run())
    finally:
        d.store.dispose()


def _warm_up(server: Server, reqs: list[Request], args: argparse.Namespace) -> None:
    """Load until the server's cache is warm and its journal full (when it has one)."""
    run_wrk(server.base, reqs, seconds=2, connections=args.connections)
    for _ in range(30):
        v = httpx.get(server.base + "/_openroster/version", headers={"Authorization": "Bearer bench"}).json()
        if v["journal_entries"] >= v["journal_size"]:
            return
        run_wrk(server.base, reqs, seconds=3, connections=args.connections)
    raise RuntimeError("the journal did not fill up")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--journal-size", type=int, default=10_000)
    ap.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = ap.parse_args()

    target = _target(args.users)
    d = open_directory(Settings(data_dir=target.data_dir))
    try:
        ids = sample_user_ids(d, 2000)
    finally:
        d.store.dispose()
    scenarios = {"batch_read 100": 100, "batch_read 1": 1}
    setups = {"journal on": str(args.journal_size), "journal off": "0"}
    rps: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        order = list(setups) if r % 2 == 0 else list(reversed(setups))
        for setup in order:
            extra = ["--journal-size", setups[setup], "--admin-token", "bench"]
            with Server(target, extra=extra) as server:
                for name, per_call in scenarios.items():
                    reqs = _requests(server.base, ids, per_call)
                    _warm_up(server, reqs, args)
                    res = run_wrk(server.base, reqs, seconds=args.duration, connections=args.connections)
                    if res.errors:
                        raise RuntimeError(f"{setup} / {name}: wrk saw errors {res.errors}")
                    rps.setdefault((setup, name), []).append(res.rps)
                    log(f"round {r + 1} {setup:<11} {name:<15} {res.rps:8.0f} req/s  p99 {res.p99_ms:.1f} ms")
    local = in_process(target, ids)
    rows = []
    for name in scenarios:
        on = statistics.median(rps[("journal on", name)])
        off = statistics.median(rps[("journal off", name)])
        rows.append((name, on, off, (off - on) / off * 100))
    table = _table(rows, local, args, rps)
    print(table)
    if args.write_docs:
        write_docs_section(HEADING, table)
    worst = max((f["journal off"] - f["journal on"]) / f["journal off"] * 100 for f in local.values())
    return 0 if worst < 10.0 else 1


def _table(
    rows: list[tuple[str, float, float, float]],
    local: dict[str, dict[str, float]],
    args: argparse.Namespace,
    rounds: dict[tuple[str, str], list[float]],
) -> str:
    m = machine()
    v = versions()
    lines = [
        HEADING,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} by `bench/bench_journal.py --users {args.users} "
        f"--duration {args.duration:g} --connections {args.connections} --rounds {args.rounds}` on "
        f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores (load average at the end "
        f"{', '.join(f'{x:.1f}' for x in m.get('loadavg', ()))}). **The machine was shared with other "
        "work while this ran** (other test suites and benchmarks), so the absolute figures are low and "
        "noisy; the setups alternated (ABBA) so both saw the same conditions. To be rerun on a quiet "
        "machine.",
        "",
        "One `openroster serve` process (SQLite, the demo company), `wrk` beside it; the median "
        f"requests/s of {args.rounds} rounds. Journal on: {args.journal_size:,} entries, full and "
        "dropping the oldest on every call. Off: `--journal-size 0`.",
        "",
        "| endpoint | journal on (req/s) | journal off (req/s) | loss | on, each round | off, each round |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name, on, off, loss in rows:
        people = name.split()[1]
        each_on = ", ".join(f"{x:,.0f}" for x in rounds[("journal on", name)])
        each_off = ", ".join(f"{x:,.0f}" for x in rounds[("journal off", name)])
        lines.append(
            f"| `POST /v7/users/batch_read`, {people} people | {on:,.0f} | {off:,.0f} | {loss:+.1f}% "
            f"| {each_on} | {each_off} |"
        )
    lines += [
        "",
        "Under that load one setup's rounds differ by up to a factor of two, far more than the two "
        "setups differ, so these rows do not resolve a few percent either way.",
        "",
        "The same comparison without an HTTP server and a load generator competing for the two cores: "
        "the server app itself (FastAPI, the WPS dialect, the store, the middleware) driven through ASGI "
        "in one process, two apps over one store taking turns in blocks of 1,000 signed calls (the "
        "median calls/s of 12 blocks each; the journal filled first):",
        "",
        "| endpoint | journal on (calls/s) | journal off (calls/s) | loss |",
        "|---|---:|---:|---:|",
    ]
    for name, figures in local.items():
        on, off = figures["journal on"], figures["journal off"]
        lines.append(
            f"| `POST /v7/users/batch_read`, {name.split()[1]} people | {on:,.0f} | {off:,.0f} | "
            f"{(off - on) / off * 100:+.1f}% |"
        )
    lines += [
        "",
        "Recording keeps the request's headers and body and the first 448 bytes of the reply, in a tuple of "
        "strings and bytes that the garbage collector stops tracking while it is young (an earlier "
        "version kept lists, and 10,000 long-lived entries made full collections run: 15% lost); "
        "redaction, parsing and the app/tenant lookup happen only when the journal is read. "
        f"Versions: openroster {v.get('openroster', '?')}, uvicorn {v.get('uvicorn', '?')}, "
        f"wrk {v.get('wrk', '?')}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
