"""DingTalk Stream mode: how long a write waits for its EVENT frame, beside the HTTP channel.

    .venv/bin/python -m bench.bench_stream [--backend sqlite|postgresql] [--users 10000]
        [--rate 200] [--seconds 10] [--clients 5] [--rounds 2] [--json FILE]

The demo tenant of ``--users`` people (bench/harness.py) is served by one ``openroster serve``.
``--clients`` official SDK clients (``dingtalk-stream``, in this process: one event loop in a
thread) are connected in Stream mode as the demo DingTalk app ``demo-dingtalk``; each event goes to
one of them. Signed WPS ``users/{id}/update`` calls, paced at ``--rate`` per second for
``--seconds``, rename a different person each; for each, the time from the write's reply to the
first EVENT (``user_modify_org``) naming the person: p50, p99, max (issue 19's targets: 50 ms and
250 ms at 200 writes/s with five clients).

The baseline, in the same run and the same way: the same paced writes to a WPS HTTP subscription
(bench/bench_events.py's receiver, the SDK's ``WpsEventReceiver``), the two alternating over
``--rounds`` (A B, then B A, ...), each run on people of its own; only one channel is subscribed
during a run. It prints the medians of each and the ratios Stream / HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.bench_events import Arrivals, paced_renames, receiver, waits
from bench.harness import Server, machine, postgres_target, sqlite_target
from bench.scenarios import DINGTALK_APP, TENANT, WPS_APP, active_ids
from openroster.store.pgcluster import ThrowawayCluster
from openroster.testing import ControlClient, stream_client

ADMIN = "bench-stream"
STREAM_EVENT = "user_modify_org"


def start_clients(base: str, n: int, arrivals: list[Arrivals]) -> None:
    """``n`` SDK clients of the demo DingTalk app in a daemon thread; each event is noted in
    ``arrivals[-1]`` (the run in progress)."""

    async def handle(event: Any) -> tuple[int, str]:
        if event.headers.event_type == STREAM_EVENT:
            arrivals[-1].note(event.data.get("userId", []))
        return 200, "OK"

    clients = [stream_client(base, DINGTALK_APP[0], DINGTALK_APP[1], handle) for _ in range(n)]

    async def run() -> None:
        await asyncio.gather(*(c.start() for c in clients))

    threading.Thread(target=asyncio.run, args=(run(),), daemon=True, name="stream-clients").start()


def wait_connected(control: ControlClient, n: int) -> None:
    deadline = time.monotonic() + 60
    while len(control.stream_connections(TENANT)) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n} Stream clients not connected within 60 s")
        time.sleep(0.1)


def stream_run(
    server: Server, control: ControlClient, people: list[str], rate: float, arrivals: list[Arrivals]
) -> dict[str, float]:
    arrivals.append(Arrivals())
    sub = control.subscribe(TENANT, "dingtalk_stream", DINGTALK_APP[0], None, events=[STREAM_EVENT])
    try:
        acked, achieved = paced_renames(server, people, rate)
        return waits(people, acked, arrivals[-1], achieved, "Stream")
    finally:
        control.unsubscribe(TENANT, sub["id"])


def http_run(server: Server, control: ControlClient, people: list[str], rate: float) -> dict[str, float]:
    got = Arrivals()
    with receiver(got) as url:
        sub = control.subscribe(TENANT, "wps", WPS_APP[0], url, topics=["kso.user"])
        try:
            acked, achieved = paced_renames(server, people, rate)
            return waits(people, acked, got, achieved, "WPS HTTP")
        finally:
            control.unsubscribe(TENANT, sub["id"])


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    n = int(args.rate * args.seconds)
    with ExitStack() as stack:
        if args.backend == "postgresql":
            cluster = stack.enter_context(ThrowawayCluster(durable=True))
            target = postgres_target(args.users, cluster)
        else:
            target = sqlite_target(args.users)
        server = stack.enter_context(Server(target, extra=["--admin-token", ADMIN]))
        control = stack.enter_context(ControlClient(server.base, ADMIN))
        ids = active_ids(server)
        need = 2 * args.rounds * n
        if len(ids) < need:
            raise SystemExit(f"the tenant has {len(ids)} active people; these settings need {need}")
        arrivals: list[Arrivals] = [Arrivals()]
        start_clients(server.base, args.clients, arrivals)
        wait_connected(control, args.clients)
        for sub in control.subscriptions(TENANT):  # the one the first connection made: runs make their own
            control.unsubscribe(TENANT, sub["id"])
        runs: dict[str, list[dict[str, float]]] = {"stream": [], "http": []}
        slices = iter(ids[i : i + n] for i in range(0, 2 * args.rounds * n, n))
        for r in range(args.rounds):
            for kind in ("stream", "http") if r % 2 == 0 else ("http", "stream"):
                people = next(slices)
                if kind == "stream":
                    runs[kind].append(stream_run(server, control, people, args.rate, arrivals))
                else:
                    runs[kind].append(http_run(server, control, people, args.rate))
        stream, http = median_of(runs["stream"]), median_of(runs["http"])
        figures = {
            "machine": machine(),
            "settings": vars(args) | {"json": str(args.json) if args.json else None},
            "stream": stream,
            "http": http,
            "p50_ratio": stream["p50_ms"] / http["p50_ms"],
            "p99_ratio": stream["p99_ms"] / http["p99_ms"],
            "runs": runs,
        }
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
