"""Request journal overhead: platform throughput with the journal on and off.

    .venv/bin/python bench/bench_journal.py [--users 10000] [--duration 10] [--connections 16]
                                            [--rounds 3] [--journal-size 10000] [--write-docs]
                                            [--in-process-only] [--quick]

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
SHARED = "journal on, to the store"


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
    target: Target, ids: list[str], *, blocks: int = 12, calls: int = 1000, warm: int = 10_050
) -> dict[str, dict[str, float]]:
    """Calls/s of the real server app (FastAPI, the dialect, the store) driven through ASGI directly.

    Three apps over one open store take turns in blocks of ``calls`` signed batch_read calls, so
    whatever else the machine does hits them alike; no HTTP server and no load generator compete
    for the two cores. Journal on (filled first: 10,000 entries, dropping the oldest on every
    call), recording into its ring buffer only, as every process did before the journal was
    shared; journal on and moved into the store (the background task a server runs: a batch
    every 50 ms, in a thread, competing with the calls for the process); and off. The figure
    per setup is the median of its blocks.
    """
    import asyncio

    from openroster import control
    from openroster.server.app import create_app

    d = open_directory(Settings(data_dir=target.data_dir))
    apps = {
        "journal on": create_app(Settings(admin_token="bench", journal_size=10_000), directory=d),
        SHARED: create_app(Settings(admin_token="bench", journal_size=10_000), directory=d),
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
        shared = apps[SHARED].state.control
        control.start(shared)
        try:
            return await measure()
        finally:
            await control.stop(shared)

    async def measure() -> dict[str, dict[str, float]]:
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
                for i in range(warm):
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


def request_path_costs(target: Target, *, calls: int = 20_000) -> dict[str, float]:
    """Microseconds per call of what the journal adds on a call's way, and of moving a call
    into the store (off the request path):

    - ``record``: appending a call to the ring buffer (the same before and after sharing);
    - ``sync``: bringing the process's copy of the shared state (fault rules, clock, the
      journal's generation) up to date, when nothing changed: the change counter poll that
      the call's reads then share, so what it adds is a cache check (after sharing only);
    - ``move``: one call's share of a batch of 1,000 moved into the store (after sharing only;
      a background thread's work, not the call's).
    """
    from openroster.server.app import create_app

    d = open_directory(Settings(data_dir=target.data_dir))
    try:
        plane = create_app(Settings(admin_token="bench", journal_size=10_000), directory=d).state.control
        journal = plane.journal
        scope = {
            "method": "POST",
            "path": "/v7/users/batch_read",
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        }
        body = [b'{"user_ids":["u1"],"status":["active"]}']
        plane.sync(dict(scope))  # attach and poll once
        t0 = time.perf_counter()
        for _ in range(calls):
            journal.local.record(scope, 0.0, 0.0, body, 40, 200, b'{"code":0}', "r", None, 0.0)
        record = (time.perf_counter() - t0) / calls * 1e6
        journal.local.take()
        arrived = time.monotonic()
        t0 = time.perf_counter()
        for _ in range(calls):
            plane.sync({"openroster.arrived": arrived})
        sync = (time.perf_counter() - t0) / calls * 1e6
        for _ in range(1000):
            journal.local.record(scope, 0.0, 0.0, body, 40, 200, b'{"code":0}', "r", None, 0.0)
        t0 = time.perf_counter()
        journal.flush()
        move = (time.perf_counter() - t0) / 1000 * 1e6
        journal.clear()
    finally:
        d.store.dispose()
    costs = {"record": record, "sync": sync, "move": move}
    log("request path, µs per call: " + ", ".join(f"{k} {v:.2f}" for k, v in costs.items()))
    return costs


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
    ap.add_argument(
        "--in-process-only",
        action="store_true",
        help="only the in-process comparison and the request path's costs (no wrk, no docs)",
    )
    ap.add_argument("--quick", action="store_true", help="few calls: a smoke run, not a measurement")
    args = ap.parse_args()

    target = _target(args.users)
    d = open_directory(Settings(data_dir=target.data_dir))
    try:
        ids = sample_user_ids(d, 2000)
    finally:
        d.store.dispose()
    if args.in_process_only:
        sizes = {"blocks": 2, "calls": 100, "warm": 200} if args.quick else {}
        local = in_process(target, ids, **sizes)
        costs = request_path_costs(target, calls=2000 if args.quick else 20_000)
        print(_in_process_table(local, costs))
        return 0
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
    costs = request_path_costs(target)
    rows = []
    for name in scenarios:
        on = statistics.median(rps[("journal on", name)])
        off = statistics.median(rps[("journal off", name)])
        rows.append((name, on, off, (off - on) / off * 100))
    table = _table(rows, local, costs, args, rps)
    print(table)
    if args.write_docs:
        write_docs_section(HEADING, table)
    worst = max((f["journal off"] - f["journal on"]) / f["journal off"] * 100 for f in local.values())
    return 0 if worst < 10.0 else 1


def _table(
    rows: list[tuple[str, float, float, float]],
    local: dict[str, dict[str, float]],
    costs: dict[str, float],
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
        _in_process_table(local, costs),
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


def _in_process_table(local: dict[str, dict[str, float]], costs: dict[str, float]) -> str:
    lines = [
        "The same comparison without an HTTP server and a load generator competing for the two cores: "
        "the server app itself (FastAPI, the WPS dialect, the store, the middleware) driven through ASGI "
        "in one process, three apps over one store taking turns in blocks of signed calls (the "
        "median calls/s of their blocks; the journal filled first). *Ring buffer*: recording only, as "
        "each process did before the journal was shared; *to the store*: the same, with the "
        "background task moving the calls into the store's table every 50 ms:",
        "",
        "| endpoint | journal off (calls/s) | ring buffer (calls/s) | loss | to the store (calls/s) | loss |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, f in local.items():
        off, on, shared = f["journal off"], f["journal on"], f[SHARED]
        lines.append(
            f"| `POST /v7/users/batch_read`, {name.split()[1]} people | {off:,.0f} | {on:,.0f} | "
            f"{(off - on) / off * 100:+.1f}% | {shared:,.0f} | {(off - shared) / off * 100:+.1f}% |"
        )
    lines += [
        "",
        f"Per call, in microseconds: recording into the ring buffer {costs['record']:.2f} (before and "
        f"after); bringing the shared state up to date before the call, when nothing changed, "
        f"{costs['sync']:.2f} (after only; the poll of the change counter it makes is the one the "
        f"call's reads made before); moving the call into the store {costs['move']:.2f}, in a "
        "background thread, in batches.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
