"""CPU cost of one call, measured inside one process without the network: for profiling.

The ASGI app is called directly (no uvicorn, no sockets), so the figure is
the application's own cost per call: authentication, signature, parsing, the
store and the cache, rendering. Compare it with the bare endpoint's to see
what the application adds; run it under ``py-spy`` or ``--profile`` to see where.

    .venv/bin/python -m bench.inprocess --data-dir bench/.data/suite-sqlite-100000 [--calls 5000] [--profile]

``--call attrs_update`` and ``--call v2_update`` send the write benchmarks' requests
(bench/bench_writes.py), one at a time: each is a group of one job on the store's writer, so
the figure is a write's whole cost (the writer thread's and the loop's), without the bare side.
``--concurrency 25`` sends the calls 25 at a time: the writes form groups, and the figure is a
write's share of a group (what a loaded server pays per write).

``--call roster_by_field`` sends its scenario's requests to an app with the scenario's server
options (``--dingtalk-v1-rate-limit '*=off'``, as the HTTP benchmark serves it). Replies in pieces
(``dialects/pieces.py``) are joined here, as under any ASGI server but the project's own: the
vectored write to the socket is the HTTP benchmark's to show.

``--trips`` (PostgreSQL) traces the writers' connections during the measured calls and prints the
round trips and statements per job and per group, and how long a group waited for and held the
change counter's lock (``bench/trips.py``; the background passes are held still, as below).

``--instructions`` marks the measured window for ``bench/instructions.py`` (run it under that):
the instructions of every thread from the first measured call to the last, the clock-driven
background passes (the journal's moves, the event engine's poll, the change-log pruner) held
still, and the journal moved into the store once every 25 calls instead, as a server doing about
500 calls a second does every 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import json
import pstats
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

from bench import instructions
from bench.bare import create_bench_app
from bench.harness import Request, Server, dingtalk_request, wps_request
from bench.scenarios import DINGTALK_APP, SCENARIOS, TENANT, WPS_APP, Context
from bench.trips import GroupTrips
from openroster.config import Settings
from openroster.control import shared_journal
from openroster.core.runtime.limits import SWITCH_INTERVAL_MS
from openroster.core.runtime.upkeep import ChangeLogPruner
from openroster.server import app as server_app
from openroster.server.app import create_app
from openroster.store import migrate, open_store

_BATCH = 25
#: The write calls: ``--call`` name -> the scenario whose requests it sends.
WRITES = {"attrs_update": "wps.attrs_update", "v2_update": "dingtalk.v2_update"}
#: Read calls sent as their scenario makes them: ``--call`` name -> the scenario.
READS = {"roster_by_field": "dingtalk_v1.roster_by_field"}
#: The ``openroster serve`` options of a scenario (``Scenario.server_args``) as settings, so a read
#: runs as the HTTP benchmark serves it (``roster_by_field`` without the platform's 20 calls/s).
_OPTIONS = {"--dingtalk-v1-rate-limit": "dingtalk_v1_rate_limits"}


def _settings(args: argparse.Namespace) -> Settings:
    options: dict[str, Any] = {}
    if args.writer_threads is not None:
        options["writer_threads"] = args.writer_threads
    if args.call in READS:
        server_args = SCENARIOS[READS[args.call]].server_args
        for flag, value in zip(server_args[::2], server_args[1::2], strict=True):
            if flag not in _OPTIONS:
                raise SystemExit(f"bench.inprocess does not know the server option {flag}")
            options[_OPTIONS[flag]] = value
    return Settings(
        data_dir=Path(args.data_dir),
        database_url=args.database_url,
        switch_interval_ms=args.switch_interval,
        **options,
    )


def asgi_scope(req: Request) -> dict[str, Any]:
    """The ASGI scope an HTTP server would give the app for ``req``."""
    path, _, query = req.path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": req.method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in req.headers.items()]
        + [(b"host", b"127.0.0.1"), (b"content-length", str(len(req.body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


class Driver:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def call(self, req: Request) -> tuple[int, bytes]:
        scope = asgi_scope(req)
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": req.body, "more_body": False}

        status = 0
        chunks: list[bytes] = []

        async def send(msg: dict[str, Any]) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
            elif msg["type"] == "http.response.body":
                chunks.append(msg.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


def app_on(settings: Settings) -> Any:
    """The server app on ``settings``' store, brought up to the newest schema first (as ``serve``
    does: the data built under bench/.data may predate a migration)."""
    store = open_store(settings.resolved_database_url)
    try:
        migrate.upgrade(store)
    finally:
        store.dispose()
    return create_app(settings)


async def signed_context(drv: Driver, d: Any) -> Context:
    """A scenario context for the app ``drv`` calls: the demo tenant's active people (of the
    directory ``d``), and the WPS and DingTalk apps' tokens taken from it (no server)."""
    token_req = Request(
        "POST",
        "/oauth2/token",
        {"Content-Type": "application/x-www-form-urlencoded"},
        urlencode(
            {"grant_type": "client_credentials", "client_id": WPS_APP[0], "client_secret": WPS_APP[1]}
        ).encode(),
    )
    _, raw = await drv.call(token_req)
    token = json.loads(raw)["access_token"]
    with d.reader() as r:
        ids = r.tx.users.first_ids(TENANT, 20_000, status="active")
    query = urlencode({"appkey": DINGTALK_APP[0], "appsecret": DINGTALK_APP[1]})
    _, raw = await drv.call(Request("GET", f"/gettoken?{query}", {}, b""))
    ding_token = json.loads(raw)["access_token"]
    return Context(cast(Server, None), ids, random.Random(5), _wps=token, _ding=ding_token)


def _profile_writer(writers: Any) -> list[cProfile.Profile]:
    """Profiles of every group the store's writers commit from now on, one a writer thread (a
    profile follows one thread's calls; PostgreSQL's writers are several), in the thread's CPU
    time: the waits (for the server's answers, the change counter's lock, the interpreter lock)
    count nothing, so what is left is the writers' Python."""
    profiles: list[cProfile.Profile] = []
    local = threading.local()
    commit = writers._commit

    def profiled(group: Any) -> None:
        prof = getattr(local, "prof", None)
        if prof is None:
            prof = local.prof = cProfile.Profile(time.thread_time)
            profiles.append(prof)
        prof.enable()
        try:
            commit(group)
        finally:
            prof.disable()

    writers._commit = profiled
    return profiles


async def _run(args: argparse.Namespace) -> None:
    settings = _settings(args)
    if args.instructions or args.trips:  # the clock-driven passes held still (see module)
        shared_journal.FLUSH_EVERY = 1e9
        server_app.ChangeLogPruner = functools.partial(ChangeLogPruner, every=1e9)  # type: ignore[misc]
    app = app_on(settings)
    async with app.router.lifespan_context(app):
        d = app.state.directory
        if args.instructions or args.trips:
            app.state.events.poll_interval = 1e9
            app.state.events.wake()
        journal = app.state.control.journal
        trips = GroupTrips(d) if args.trips else None
        drv = Driver(app)
        ctx = await signed_context(drv, d)
        ids, rng, token, ding_token = ctx.ids, ctx.rng, ctx._wps, ctx._ding
        sign = functools.partial(wps_request, token=token, client_id=WPS_APP[0], secret=WPS_APP[1])
        if args.call in WRITES or args.call in READS:
            # The scenario's own rotated requests, signed with the tokens taken above (no server).
            reqs = SCENARIOS[{**WRITES, **READS}[args.call]].make(ctx)
        elif args.call == "roster_list":
            ding = functools.partial(dingtalk_request, token=ding_token)
            reqs = [
                ding(
                    "/topapi/smartwork/hrm/employee/v2/list",
                    body={"agentid": DINGTALK_APP[2], "userid_list": ",".join(rng.sample(ids, 100))},
                )
                for _ in range(64)
            ]
        elif args.call == "batch_read":
            reqs = [
                sign(
                    "POST",
                    "/v7/users/batch_read",
                    body={"user_ids": rng.sample(ids, 100), "status": ["active"], "with_dept": True},
                )
                for _ in range(64)
            ]
        else:
            reqs = [sign("GET", "/v7/users?status=active&page_size=50&with_dept=true")]
        status, reply = await drv.call(reqs[0])
        answer = json.loads(reply)
        # A /v1.0 reply is its result: an HTTP status other than 200 is its failure.
        code = answer.get("code", answer.get("errcode", 0 if "result" in answer else None))
        if status != 200 or code != 0:
            raise SystemExit(f"the call failed: {status} {reply[:300]!r}")
        if args.call in WRITES:  # the bare write endpoint is another process (bench/bare_writes.py)
            args.only = "real"
        replies = {reqs[0].key: reply}
        if args.only != "real":  # the bare endpoint answers each request the call's own reply
            for r in reqs[1:]:
                replies[r.key] = (await drv.call(r))[1]
        bare_app = create_bench_app(settings, reply, replies=replies)
        bare = Driver(bare_app)
        method, path = "GET", "/_bench/bare"
        if args.call in ("roster_list", *READS):
            method, path = "POST", "/_bench/bare_json"
        elif args.call == "batch_read":
            method, path = "POST", "/_bench/bare"
        bare_reqs = [r.to_bare(method, path) for r in reqs]
        async with bare_app.router.lifespan_context(bare_app):
            if args.only != "real":
                for r in bare_reqs:
                    status, same = await bare.call(r)
                    if status != 200 or same != replies[r.key]:
                        raise SystemExit(f"the bare endpoint answered {status} {same[:200]!r}")
            results: dict[str, float] = {}
            for label, driver, rs in (("real", drv, reqs), ("bare", bare, bare_reqs)):
                if args.only and label != args.only:
                    continue
                for i in range(args.warmup):  # warm the cache and the code paths
                    await driver.call(rs[i % len(rs)])
                prof = cProfile.Profile() if args.profile and label == "real" else None
                if prof:
                    prof.enable()
                    if args.call in WRITES:  # the writer thread's share, profiled apart
                        writer_prof = _profile_writer(d.writes)
                # Many short batches, keeping the fastest: on a busy machine most batches are slowed
                # down by other processes, the fastest one much less.
                batches: list[float] = []
                count = args.instructions and label == "real"
                if count:
                    journal.take()  # the warm-up's calls, moved before the window
                    await d.writes.run(journal.move_in)
                    instructions.zero()
                if trips and label == "real":
                    trips.start()
                cpu0 = time.process_time()
                for b in range(args.calls // _BATCH):
                    t0 = time.perf_counter()
                    for i in range(0, _BATCH, args.concurrency):
                        await asyncio.gather(
                            *(
                                driver.call(rs[(b * _BATCH + i + k) % len(rs)])
                                for k in range(min(args.concurrency, _BATCH - i))
                            )
                        )
                    batches.append((time.perf_counter() - t0) / _BATCH * 1e6)
                    if count:  # the journal's move of these calls, as a server makes it
                        journal.take()
                        await d.writes.run(journal.move_in)
                cpu = (time.process_time() - cpu0) / max(1, len(batches) * _BATCH) * 1e6
                if trips and label == "real":
                    trips.close()
                    sys.stdout.write(trips.report())
                if count:
                    instructions.dump()
                    sys.stdout.write(f"window: {len(batches) * _BATCH} calls\n")
                if prof:
                    prof.disable()
                if not batches:
                    continue
                batches.sort()
                results[label] = batches[0]
                sys.stdout.write(
                    f"{label}: {batches[0]:7.1f} µs per call at best, "
                    f"{batches[len(batches) // 2]:7.1f} µs median"
                    f" ({len(batches)} batches of {_BATCH}), {len(reply)} bytes;"
                    f" CPU {cpu:7.1f} µs per call (every thread: steadier on a busy machine)\n"
                )
                if prof:
                    sys.stdout.write("the event loop's thread:\n")
                    pstats.Stats(prof).sort_stats(args.sort).print_stats(args.top)
                    if args.call in WRITES:
                        sys.stdout.write("the writer thread (its CPU time):\n")
                        pstats.Stats(*writer_prof).sort_stats(args.sort).print_stats(args.top)
            if len(results) == 2:
                sys.stdout.write(f"bare / real: {results['bare'] / results['real']:.0%}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--database-url")
    ap.add_argument(
        "--switch-interval",
        type=float,
        default=SWITCH_INTERVAL_MS,
        help="the server's switch interval, ms (serve --switch-interval; Python's own: 5)",
    )
    ap.add_argument(
        "--writer-threads",
        type=int,
        help="PostgreSQL's writer connections (serve --writer-threads; default: the server's)",
    )
    ap.add_argument(
        "--call", choices=("batch_read", "users_page", "roster_list", *READS, *WRITES), default="batch_read"
    )
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--warmup", type=int, default=200, help="calls before the measured ones")
    ap.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="calls in flight at once (write calls: the jobs queued together form groups)",
    )
    ap.add_argument("--profile", action="store_true")
    ap.add_argument(
        "--only",
        choices=("real", "bare"),
        help="measure one side (e.g. twice under valgrind, with --calls 0 and N, to count instructions)",
    )
    ap.add_argument(
        "--instructions",
        action="store_true",
        help="mark the measured window for bench/instructions.py (run under it), background passes held",
    )
    ap.add_argument(
        "--trips",
        action="store_true",
        help="PostgreSQL: round trips, statements and the counter's lock per write job and group",
    )
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--top", type=int, default=35)
    asyncio.run(_run(ap.parse_args()))


if __name__ == "__main__":
    main()
