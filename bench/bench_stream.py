"""DingTalk Stream mode: how long a write waits for its EVENT frame, beside the HTTP channel.

    .venv/bin/python -m bench.bench_stream [--backend sqlite|postgresql] [--users 10000]
        [--rate 200] [--seconds 10] [--clients 5] [--rounds 2] [--warmup 2] [--json FILE]

The demo tenant of ``--users`` people (bench/harness.py) is served by one ``openroster serve``.
``--clients`` official SDK clients (``dingtalk-stream``, each a process of its own:
``openroster.testing.StreamListener``, which notes each event's arrival on the machine's
monotonic clock) are connected in Stream mode as the demo DingTalk app ``demo-dingtalk``; each event goes to
one of them. Signed WPS ``users/{id}/update`` calls, paced at ``--rate`` per second for
``--seconds``, rename a different person each; for each, the time from the write's reply to the
first EVENT (``user_modify_org``) naming the person: p50, p99, max (issue 19's targets: 50 ms and
250 ms at 200 writes/s with five clients).

The baseline, in the same run and the same way: the same paced writes to a WPS HTTP subscription
(bench/bench_events.py's receiver, the SDK's ``WpsEventReceiver``), the two alternating over
``--rounds`` (A B, then B A, ...), each run on people of its own; only one channel is subscribed
during a run. It prints the medians of each and the ratios Stream / HTTP of the times from each
write's request (from its reply, as bench/bench_events.py measures, an event can come first: the
server pushes it while the reply is still on its way to a loaded client).

Before the rounds, each channel runs ``--warmup`` seconds of the same paced writes, not counted
(as the other benchmarks warm up): the first seconds after the SDK clients connect carry their
start-up (0 measures them too).
"""

from __future__ import annotations

import statistics
import sys
from contextlib import ExitStack
from typing import Any

from bench.bench_events import (
    Arrivals,
    arguments,
    both,
    header,
    paced_renames,
    people,
    receiver,
    report,
    served,
)
from bench.harness import Server
from bench.scenarios import DINGTALK_APP, TENANT, WPS_APP
from openroster.testing import ControlClient, StreamListener

ADMIN = "bench-stream"
STREAM_EVENT = "user_modify_org"


def first_arrivals(listeners: list[StreamListener]) -> dict[str, float]:
    """When each person's first ``user_modify_org`` reached any client (``time.monotonic()``)."""
    first: dict[str, float] = {}
    for e in sorted((e for lis in listeners for e in lis.events), key=lambda e: e["received"]):
        if e["eventType"] == STREAM_EVENT:
            for uid in e["data"].get("userId", []):
                first.setdefault(uid, e["received"])
    return first


def stream_run(
    server: Server, control: ControlClient, people: list[str], rate: float, listeners: list[StreamListener]
) -> dict[str, float]:
    sub = control.subscribe(TENANT, "dingtalk_stream", DINGTALK_APP[0], None, events=[STREAM_EVENT])
    try:
        sent, acked, achieved = paced_renames(server, people, rate)
        return both(people, sent, acked, lambda: first_arrivals(listeners), achieved, "Stream")
    finally:
        control.unsubscribe(TENANT, sub["id"])


def http_run(server: Server, control: ControlClient, people: list[str], rate: float) -> dict[str, float]:
    got = Arrivals()
    with receiver(got) as url:
        sub = control.subscribe(TENANT, "wps", WPS_APP[0], url, topics=["kso.user"])
        try:
            sent, acked, achieved = paced_renames(server, people, rate)
            return both(people, sent, acked, lambda: got.first, achieved, "WPS HTTP")
        finally:
            control.unsubscribe(TENANT, sub["id"])


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, rounds=2)
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of each channel first, not counted")
    args = ap.parse_args(argv)
    n = int(args.rate * args.seconds)
    warm = int(args.rate * args.warmup)
    with ExitStack() as stack:
        _, server, control, times = served(stack, args.backend, args.users, ADMIN, timings=args.timings)
        ids = people(server, 2 * args.rounds * n + 2 * warm)
        listeners = [
            stack.enter_context(StreamListener(server.base, DINGTALK_APP[0], DINGTALK_APP[1]).running())
            for _ in range(args.clients)
        ]
        StreamListener.wait_until(
            lambda: len(control.stream_connections(TENANT)) >= args.clients, "the clients did not connect", 60
        )
        for sub in control.subscriptions(TENANT):  # the one the first connection made: runs make their own
            control.unsubscribe(TENANT, sub["id"])
        runs: dict[str, list[dict[str, float]]] = {"stream": [], "http": []}
        slices = iter(ids[i : i + n] for i in range(0, 2 * args.rounds * n, n))
        if warm:
            stream_run(server, control, ids[-2 * warm : -warm], args.rate, listeners)
            http_run(server, control, ids[-warm:], args.rate)
        engine_timings: dict[str, Any] = {}
        for r in range(args.rounds):
            for kind in ("stream", "http") if r % 2 == 0 else ("http", "stream"):
                group = next(slices)
                with times.over(f"round {r + 1}, {kind}", engine_timings.setdefault(f"{kind}{r + 1}", {})):
                    if kind == "stream":
                        runs[kind].append(stream_run(server, control, group, args.rate, listeners))
                    else:
                        runs[kind].append(http_run(server, control, group, args.rate))
        stream, http = median_of(runs["stream"]), median_of(runs["http"])
        figures = {
            **header(args),
            "stream": stream,
            "http": http,
            "p50_ratio": stream["from_request_p50_ms"] / http["from_request_p50_ms"],
            "p99_ratio": stream["from_request_p99_ms"] / http["from_request_p99_ms"],
            "runs": runs,
            "engine_timings": engine_timings,
        }
    report(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
