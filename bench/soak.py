"""The soak test: both dialects, mixed reads and writes at a steady rate, for ten minutes or more.

    .venv/bin/python -m bench.soak                      # 10 minutes, 50 requests/s, SQLite
    .venv/bin/python -m bench.soak --minutes 30 --rate 150
    .venv/bin/python -m bench.soak --postgres           # a throwaway PostgreSQL cluster
    .venv/bin/python -m bench.soak --minutes 2 --no-docs  # a short check of the script itself
    .venv/bin/python -m bench.soak --census             # also count the server's objects by type

Run on demand, never by CI. One ``openroster serve`` process holds the demo
company (2,000 people); the load generator beside it sends requests open-loop
at a fixed rate (a request is due every ``1/rate`` s whether or not the earlier
ones have been answered, so a slow server shows as latency, not as a lower
rate). The mix, by weight:

==========================================  ======  =====
call                                        weight  kind
==========================================  ======  =====
WPS ``users/batch_read`` (50 people)        20      read
WPS ``GET /v7/users`` (a page of 50)        10      read
WPS ``GET /v7/users/{id}``                  15      read
WPS ``users/custom_attrs/batch_update`` (5) 10      write
WPS ``users/{id}/update`` (title)           5       write
WPS ``users/create``                        2       write
WPS ``users/{id}/delete`` (one it created)  2       write
DingTalk ``employee/v2/list`` (20 people)   15      read
DingTalk ``v2/user/get``                    10      read
DingTalk ``employee/v2/update`` (2 groups)  13      write
==========================================  ======  =====

WPS calls are KSO-1 signed, each when it is sent. The generator freezes what it
has made before the run out of its garbage collector's sight (a full collection
walking every imported module stalled it some 65 ms a minute, which showed as
latency) and watches its own stalls; an idle witness process beside it (a 10 ms
sleep loop) shows the machine's own pauses. Every minute is a window:
requests, errors, p50 / p95 / p99 latency, the server's resident memory. Every
request counts in every figure, also one in flight while the generator itself
stalled (the stalls are shown beside, to read a slow minute by). The run passes
when there was no error, no window's p99 exceeds three times the median
window's, and the server's memory grew by less than 10 % (at least
16 MiB allowed) after the warm-up: two minutes, or longer until the request
journal (10,000 calls, a bounded ring) is full, plus a minute (bench/soak_verdict.py
holds these rules). The figures go to
``bench/results/soak-<time>.json`` and, unless ``--no-docs``, to the "Soak"
section of docs/benchmarks.md.

When memory grows, ``--census`` tells what: the server counts its objects by
type once a minute (``bench/census/sitecustomize.py``), and the run reports the
types that grew most after the warm-up, with Python's allocated blocks and the
C allocator's free memory (objects kept alive, or fragmentation). A census
pauses the server for some 100 ms, so a census run does not write the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.harness import (
    DATA,
    ROOT,
    Server,
    Target,
    build_demo,
    dingtalk_token,
    log,
    postgres_target,
    wps_token,
)
from bench.soak_verdict import Window, verdict
from openroster.dialects.wps import signing
from openroster.fixtures.demo import DEMO_APPS

PEOPLE = 2000
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Soak"

WPS_APP = next(a for a in DEMO_APPS if a.client_id == "demo-wps")
DING_APP = next(a for a in DEMO_APPS if a.client_id == "demo-dingtalk")


@dataclass
class Mix:
    """What the load generator knows of the company: people, and the tokens."""

    people: list[str]
    wps_token: str
    ding_token: str
    rng: random.Random
    created: int = 0
    #: Ids of the people the run created and has not deleted yet (oldest first).
    made: deque[str] = field(default_factory=deque)

    def sample(self, n: int) -> list[str]:
        return self.rng.sample(self.people, n)


Call = tuple[str, str, dict[str, str], bytes]  # method, target, headers, body


def _signed(mix: Mix, method: str, path: str, body: Any = None) -> Call:
    raw = orjson.dumps(body) if body is not None else b""
    ctype = "application/json" if body is not None else ""
    headers = signing.sign_headers(
        signing.KSO1, WPS_APP.client_id, WPS_APP.secret, method, path, ctype, raw, now=datetime.now(UTC)
    )
    headers["Authorization"] = f"Bearer {mix.wps_token}"
    if ctype:
        headers["Content-Type"] = ctype
    return method, path, headers, raw


def _dingtalk(mix: Mix, path: str, body: dict[str, Any]) -> Call:
    raw = orjson.dumps({"agentid": DING_APP.agentid, **body})
    return "POST", f"{path}?access_token={mix.ding_token}", {"Content-Type": "application/json"}, raw


def _delete_or_create(mix: Mix) -> Call:
    """Delete the oldest person the run created (so the company keeps its size), or create one."""
    if not mix.made:
        return _create(mix)
    return _signed(mix, "POST", f"/v7/users/{mix.made.popleft()}/delete")


def _create(mix: Mix) -> Call:
    mix.created += 1
    n = f"{os.getpid()}-{mix.created}"
    return _signed(
        mix,
        "POST",
        "/v7/users/create",
        {"user_name": f"浸泡 {n}", "dept_ids": [1], "ex_user_id": f"soak-{n}"},
    )


HRM = "/topapi/smartwork/hrm/employee"
MIX: list[tuple[int, str, Callable[[Mix], Call]]] = [
    (
        20,
        "wps batch_read",
        lambda m: _signed(
            m, "POST", "/v7/users/batch_read", {"user_ids": m.sample(50), "status": ["active"]}
        ),
    ),
    (10, "wps list", lambda m: _signed(m, "GET", "/v7/users?page_size=50&with_dept=true")),
    (15, "wps get", lambda m: _signed(m, "GET", f"/v7/users/{m.sample(1)[0]}")),
    (
        10,
        "wps attrs batch_update",
        lambda m: _signed(
            m,
            "POST",
            "/v7/users/custom_attrs/batch_update",
            {
                "users": [
                    {
                        "user_id": u,
                        "custom_attrs": [{"attr_id": "attr-desk", "text": f"{m.rng.randrange(10**6)}"}],
                    }
                    for u in m.sample(5)
                ]
            },
        ),
    ),
    (
        5,
        "wps update",
        lambda m: _signed(
            m, "POST", f"/v7/users/{m.sample(1)[0]}/update", {"title": f"T{m.rng.randrange(99)}"}
        ),
    ),
    (2, "wps create", _create),
    (2, "wps delete", _delete_or_create),
    (15, "dingtalk v2/list", lambda m: _dingtalk(m, f"{HRM}/v2/list", {"userid_list": m.sample(20)})),
    (10, "dingtalk user/get", lambda m: _dingtalk(m, "/topapi/v2/user/get", {"userid": m.sample(1)[0]})),
    (
        13,
        "dingtalk v2/update",
        lambda m: _dingtalk(
            m,
            f"{HRM}/v2/update",
            {
                "param": {
                    "userid": m.sample(1)[0],
                    "groups": [
                        {
                            "group_id": "sys02",
                            "sections": [
                                {
                                    "section": [
                                        {
                                            "field_code": "sys02-certAddress",
                                            "value": f"地址 {m.rng.randrange(10**6)}",
                                        }
                                    ]
                                }
                            ],
                        },
                        {
                            "group_id": "sys04",
                            "sections": [
                                {
                                    "section": [
                                        {
                                            "field_code": "sys04-accountBank",
                                            "value": f"银行 {m.rng.randrange(99)}",
                                        }
                                    ]
                                }
                            ],
                        },
                    ],
                }
            },
        ),
    ),
]


def _ok(resp: httpx.Response) -> bool:
    if resp.status_code != 200:
        return False
    reply = orjson.loads(resp.content)
    return reply.get("code", reply.get("errcode")) == 0


async def run_load(
    server: Server, mix: Mix, *, minutes: float, rate: float
) -> tuple[list[Window], dict[str, int]]:
    # Everything the generator keeps (modules, the company's ids) is made by now: out of the
    # collector's sight, a full collection walks only what the run itself makes. Walking everything
    # imported took some 65 ms each minute, a stall of the generator that showed as latency.
    gc.collect()
    gc.freeze()
    weights = [w for w, _, _ in MIX]
    windows = [Window(0)]
    failures: dict[str, int] = {}
    started = time.monotonic()
    end = started + minutes * 60
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    pending: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(base_url=server.base, timeout=30, limits=limits) as http:

        async def one(name: str, call: Call, window: Window) -> None:
            method, target, headers, body = call
            t0 = time.perf_counter()
            try:
                resp = await http.request(method, target, headers=headers, content=body or None)
                ok = _ok(resp)
                detail = "" if ok else resp.text[:200]
                if ok and target == "/v7/users/create":
                    mix.made.append(orjson.loads(resp.content)["data"]["id"])
            except httpx.HTTPError as exc:
                ok, detail = False, repr(exc)
            t1 = time.perf_counter()
            window.latencies_ms.append((t1 - t0) * 1000)
            window.requests += 1
            if not ok:
                window.errors += 1
                failures[name] = failures.get(name, 0) + 1
                if failures[name] <= 3:
                    log(f"  error on {name}: {detail}")

        async def sample_memory() -> None:
            while time.monotonic() < end:
                windows[-1].rss_mib = max(windows[-1].rss_mib, server.rss_mib())
                await asyncio.sleep(5)

        async def watch_loop() -> None:
            tick = 0.010
            while time.monotonic() < end:
                t = time.perf_counter()
                await asyncio.sleep(tick)
                woke = time.perf_counter()
                late = (woke - t - tick) * 1000
                windows[-1].gen_stall_ms = max(windows[-1].gen_stall_ms, late)

        gc_started = 0.0

        def on_gc(phase: str, _info: dict[str, int]) -> None:
            nonlocal gc_started
            if phase == "start":
                gc_started = time.perf_counter()
            else:
                windows[-1].gen_gc_ms = max(windows[-1].gen_gc_ms, (time.perf_counter() - gc_started) * 1000)

        witness = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WITNESS, stdout=asyncio.subprocess.PIPE
        )

        async def read_witness() -> None:
            assert witness.stdout is not None
            async for line in witness.stdout:
                windows[-1].witness_stall_ms = max(windows[-1].witness_stall_ms, float(line))

        gc.callbacks.append(on_gc)
        sampler = asyncio.create_task(sample_memory())
        watcher = asyncio.create_task(watch_loop())
        witnessed = asyncio.create_task(read_witness())
        cpu = server.cpu_seconds()
        n = 0
        while True:
            due = started + n / rate
            if due >= end:
                break
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            minute = int((due - started) // 60)
            if minute >= len(windows):
                cpu, windows[-1].server_cpu_s = server.cpu_seconds(), server.cpu_seconds() - cpu
                windows[-1].load1 = os.getloadavg()[0]
                w = windows[-1].summary()
                log(
                    f"  minute {w['minute'] + 1}: {w['requests']} requests, {w['errors']} errors, "
                    f"p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms, rss {w['rss_mib']} MiB, "
                    f"server CPU {w['server_cpu_s']} s, load {w['load1']}, "
                    f"send lag {w['max_send_lag_ms']} ms, "
                    f"generator stall {w['gen_stall_ms']} ms (gc {w['gen_gc_ms']} ms), "
                    f"idle witness {w['witness_stall_ms']} ms"
                )
                windows.append(Window(minute))
            lag = (time.monotonic() - due) * 1000
            windows[-1].max_send_lag_ms = max(windows[-1].max_send_lag_ms, lag)
            _w, name, build = mix.rng.choices(MIX, weights=weights)[0]
            task = asyncio.create_task(one(name, build(mix), windows[-1]))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
        await asyncio.gather(*pending)
        await sampler
        await watcher
        witness.kill()
        await witness.wait()
        await witnessed
        gc.callbacks.remove(on_gc)
        gc.unfreeze()
    windows[-1].rss_mib = max(windows[-1].rss_mib, server.rss_mib())
    windows[-1].server_cpu_s = server.cpu_seconds() - cpu
    windows[-1].load1 = os.getloadavg()[0]
    return windows, failures


#: The idle witness: sleeps 10 ms at a time and prints, each second, how late it woke at worst.
WITNESS = """
import time
worst, mark = 0.0, time.monotonic()
while True:
    t = time.monotonic()
    time.sleep(0.01)
    now = time.monotonic()
    worst = max(worst, (now - t - 0.01) * 1000)
    if now - mark >= 1:
        print(round(worst, 1), flush=True)
        worst, mark = 0.0, now
"""


def write_docs(result: dict[str, Any]) -> None:
    rows = result["windows"]
    v = result["verdict"]
    lines = [
        SECTION,
        "",
        f"`python -m bench.soak` (bench/soak.py; on demand, never in CI). Run {result['finished']} on "
        f"{result['machine']}: {result['minutes']} minutes at {result['rate']} requests/s, one "
        f"`openroster serve` process on {result['backend']} holding the demo company ({PEOPLE:,} people), "
        "the load generator beside it. The mix (by weight): WPS batch_read of 50, a page of 50, one "
        "user, custom-attribute batch_update of 5, a profile update, a create and a delete of someone it "
        "created (so the company keeps its size; all KSO-1 signed); DingTalk v2/list of 20, v2/user/get, "
        "v2/update of two roster groups: 69 % reads, 31 % writes. Server CPU, the machine's load average, "
        "how late the generator sent its latest request and the generator's own longest stall (how late a "
        "10 ms ticker on its event loop woke; in brackets its longest garbage collection) are shown per "
        "minute, and how late an idle witness process (a 10 ms sleep loop, nothing else) woke at worst: "
        "a p99 spike with the server's CPU unchanged and a generator or witness stall is the shared "
        "machine or the generator, not the server.",
        "",
        f"Result: {'**pass**' if all(v['checks'].values()) else '**FAIL**'}: "
        + "; ".join(f"{name}: {'yes' if ok else 'NO'}" for name, ok in v["checks"].items())
        + f". Requests {sum(r['requests'] for r in rows):,}, errors {sum(r['errors'] for r in rows)}; "
        f"median minute p99 {v['median_p99_ms']} ms, worst {v['max_p99_ms']} ms (every request counted); "
        "after the warm-up the "
        f"server's memory moved {v['rss_slope_mib_per_minute']} MiB a minute (least squares).",
        "",
        "| minute | requests | errors | p50 ms | p95 ms | p99 ms | max ms "
        "| server RSS MiB | server CPU s | load avg | generator lag ms | generator stall ms (its gc) "
        "| idle witness stall ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['minute'] + 1} | {r['requests']:,} | {r['errors']} | {r['p50_ms']} | {r['p95_ms']} "
        f"| {r['p99_ms']} | {r['max_ms']} | {r['rss_mib']} "
        f"| {r['server_cpu_s']} | {r['load1']} "
        f"| {r['max_send_lag_ms']} | {r.get('gen_stall_ms', '')} ({r.get('gen_gc_ms', '')}) "
        f"| {r.get('witness_stall_ms', '')} |"
        for r in rows
    ]
    if result.get("note"):
        lines += ["", result["note"]]
    section = "\n".join(lines) + "\n"
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    if SECTION in text:
        head, _, rest = text.partition(SECTION)
        tail = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text)


CENSUS_PATH = ROOT / "bench" / "census"


def census_growth(path: Path, warm_up: int, top: int = 10) -> dict[str, Any]:
    """What grew in the server between the census at the end of the warm-up and the last one."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if len(rows) < 2:
        return {"censuses": len(rows)}
    first, last = rows[min(warm_up, len(rows) - 2)], rows[-1]
    grew = {k: last["types"].get(k, 0) - first["types"].get(k, 0) for k in {*first["types"], *last["types"]}}
    out: dict[str, Any] = {
        "censuses": len(rows),
        "from_minute": min(warm_up, len(rows) - 2) + 1,
        "to_minute": len(rows),
        "types_grown": dict(sorted(((k, v) for k, v in grew.items() if v > 0), key=lambda kv: -kv[1])[:top]),
    }
    for key in ("rss_kib", "py_blocks", "malloc_in_use_kib", "malloc_free_kib"):
        if key in first and key in last:
            out[key] = [first[key], last[key]]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second (default 50)")
    parser.add_argument("--postgres", action="store_true", help="run on a throwaway PostgreSQL cluster")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument(
        "--note", default="", help="a sentence to add under the table (e.g. the machine's load)"
    )
    parser.add_argument("--seed", type=int, default=1, help="the request mix's random seed")
    parser.add_argument(
        "--census", action="store_true", help="count the server's objects by type each minute (no docs)"
    )
    args = parser.parse_args(argv)
    env: dict[str, str] = {}
    census_file: Path | None = None
    if args.census:
        args.no_docs = True
        RESULTS.mkdir(parents=True, exist_ok=True)
        census_file = RESULTS / f"census-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.jsonl"
        path = os.pathsep.join(p for p in (str(CENSUS_PATH), os.environ.get("PYTHONPATH", "")) if p)
        env = {"PYTHONPATH": path, "OPENROSTER_CENSUS_FILE": str(census_file)}

    cluster_cm: Any = None
    if args.postgres:
        from openroster.store.pgcluster import cluster_from_env

        cluster_cm = cluster_from_env()
        target: Target = postgres_target(PEOPLE, cluster_cm.__enter__())
    else:  # a store of its own, built afresh: the soak writes, and the other benchmarks' stores stay as built
        data_dir = DATA / "soak-sqlite"
        shutil.rmtree(data_dir, ignore_errors=True)
        target = Target("sqlite", PEOPLE, data_dir, None, build_demo(PEOPLE, ["--data-dir", str(data_dir)]))
    try:
        with Server(target, env=env) as server:
            from openroster.config import Settings
            from openroster.fixtures.demo import sample_user_ids
            from openroster.server.app import open_directory

            d = open_directory(Settings(data_dir=target.data_dir, database_url=target.database_url))
            try:
                people = sample_user_ids(d, PEOPLE)
            finally:
                d.store.dispose()
            mix = Mix(
                people,
                wps_token(server.base, WPS_APP.client_id, WPS_APP.secret),
                dingtalk_token(server.base, DING_APP.client_id, DING_APP.secret),
                random.Random(args.seed),
            )
            log(f"soak: {args.minutes} min at {args.rate}/s on {target.backend}, server pid {server.pids()}")
            windows, failures = asyncio.run(run_load(server, mix, minutes=args.minutes, rate=args.rate))
    finally:
        if cluster_cm is not None:
            cluster_cm.__exit__(None, None, None)
    v = verdict(windows, args.rate)
    result = {
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end",
        "backend": target.backend,
        "minutes": args.minutes,
        "rate": args.rate,
        "windows": [w.summary() for w in windows if w.requests],
        "failures": failures,
        "verdict": v,
        "note": args.note,
    }
    if census_file is not None and census_file.exists():
        result["census"] = census_growth(census_file, v["warmup_minutes"])
        log(f"soak: census: {json.dumps(result['census'])}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"soak-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    log(f"soak: {json.dumps(v, ensure_ascii=False)}; results in {out}")
    if not args.no_docs:
        write_docs(result)
        log(f"soak: wrote the Soak section of {DOCS}")
    return 0 if all(v["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
