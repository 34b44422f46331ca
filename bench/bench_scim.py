"""The SCIM 2.0 dialect on a large tenant, each call beside the bare endpoint in the same run.

    .venv/bin/python -m bench.bench_scim [--users 1000000] [--pairs 30] [--only NAME,...]
                                         [--rebuild] [--write-docs]

The demo company of ``--users`` people (SQLite, built once with ``openroster demo`` and kept under
bench/.data like the suite's) is served by one process: the server app with the bare endpoints
(``bench/bare.py``), whose ``GET /_bench/bare`` answers the captured reply of a SCIM GET of one
User (the ceiling: the same stack, no dialect, no store). One client on the same machine sends,
one request at a time, ``--pairs`` pairs of (bare, call), alternating, so a change in the shared
machine's load hits both alike. Each call's requests rotate through 64 distinct ones (64 people,
64 pages); one pass over them warms the server's cache before the pairs (a PATCH: two calls), so
the figures are of a warm cache, as the suite's are, and the first call's is shown apart (cold).

Figures per call: the server time from the journal (``latency_ms``: from the request's head to
the reply's last byte, inside the server), its median and 90th percentile, and the first call's;
the client's time of the call and of the bare endpoint beside it, median, and their ratio (median
of the pairs' ratios). The load average is taken at the start and at the end.

The calls: ``filter=userName eq "<email>"`` (the issue's target: < 10 ms server time on the
1,000,000-person tenant), ``GET /Users/{id}``, a page of 100 Users at ``startIndex=1`` and one deep
into the tenant (the last hundred), a ``filter=userName sw`` no index answers (refused with
``tooMany`` past ``SCAN_MAX`` people: the refusal's cost), Entra's Group probe
``filter=displayName eq`` without members, and the Group PATCH that adds 500 members to a
department and the one that removes them (Entra's remove with a value list; the target is < 200 ms).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from bench.harness import Server, log, machine, sqlite_target, write_docs_section
from bench.scenarios import active_ids
from openroster.dialects.scim.users import SCAN_MAX

HEADING = "## SCIM"
BEARER = "demo-scim-secret"
ADMIN = "bench-scim-admin"
ROTATION = 64
GROUP_MEMBERS = 500
SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Call:
    """One benchmarked call: ``make(i)`` is its i-th request, ``(method, path, body)``."""

    name: str
    make: Callable[[int], tuple[str, str, bytes | None]]
    target_ms: float | None = None
    expect: int = 200
    server_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    bare_ms: list[float] = field(default_factory=list)
    first_ms: float = 0.0


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {BEARER}", "Content-Type": SCIM_JSON}


def _send(
    http: httpx.Client, method: str, path: str, body: bytes | None, expect: int = 200
) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    reply = http.request(method, path, content=body, headers=_headers())
    ms = (time.perf_counter() - t0) * 1000
    if reply.status_code != expect and not (expect == 200 and reply.status_code < 300):
        raise RuntimeError(f"{method} {path}: {reply.status_code} {reply.text[:300]}")
    return ms, reply


def _journal_after(http: httpx.Client, after: int) -> list[dict[str, Any]]:
    reply = http.get(
        "/_openroster/journal",
        params={"dialect": "scim", "after": after},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    reply.raise_for_status()
    entries: list[dict[str, Any]] = reply.json()["entries"]
    return entries


def _last_journal_id(http: httpx.Client) -> int:
    entries = _journal_after(http, 0)
    return max((e["id"] for e in entries), default=0)


def _calls(http: httpx.Client, people: list[dict[str, Any]], size: int) -> list[Call]:
    """The calls measured (see the module), made from ``people`` (SCIM Users of the tenant)."""
    names = [p["userName"] for p in people]
    ids = [p["id"] for p in people]
    deep = max(1, size - 100 * ROTATION)

    def eq(i: int) -> tuple[str, str, None]:
        return ("GET", "/scim/v2/Users?filter=" + quote(f'userName eq "{names[i % len(names)]}"'), None)

    def one(i: int) -> tuple[str, str, None]:
        return ("GET", f"/scim/v2/Users/{ids[i % len(ids)]}", None)

    def first_page(i: int) -> tuple[str, str, None]:
        return ("GET", f"/scim/v2/Users?startIndex={1 + (i % ROTATION)}&count=100", None)

    def deep_page(i: int) -> tuple[str, str, None]:
        return ("GET", f"/scim/v2/Users?startIndex={deep + 100 * (i % ROTATION)}&count=100", None)

    def starts(i: int) -> tuple[str, str, None]:
        prefix = names[i % len(names)][:4]
        return ("GET", "/scim/v2/Users?count=100&filter=" + quote(f'userName sw "{prefix}"'), None)

    def group_eq(i: int) -> tuple[str, str, None]:
        name = quote(f'displayName eq "{groups[i % len(groups)]}"')
        return ("GET", f"/scim/v2/Groups?excludedAttributes=members&filter={name}", None)

    listed = http.get("/scim/v2/Groups?excludedAttributes=members&count=200", headers=_headers())
    listed.raise_for_status()
    groups = [g["displayName"] for g in listed.json()["Resources"][-ROTATION:]]

    made = http.post(
        "/scim/v2/Groups",
        content=orjson.dumps(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": f"bench {time.time()}",
            }
        ),
        headers=_headers(),
    )
    made.raise_for_status()
    group = made.json()["id"]
    members = [{"value": u} for u in ids[:GROUP_MEMBERS]]

    def patch(i: int) -> tuple[str, str, bytes]:
        op = {"op": "add", "path": "members", "value": members}
        if i % 2:  # Entra's remove: a value list on a path without a filter
            op = {"op": "Remove", "path": "members", "value": members}
        return (
            "PATCH",
            f"/scim/v2/Groups/{group}",
            orjson.dumps({"schemas": [PATCH_OP], "Operations": [op]}),
        )

    return [
        Call("filter userName eq", eq, 10.0),
        Call("GET /Users/{id}", one),
        Call("list, first pages (count=100)", first_page),
        Call(f"list, the last {100 * ROTATION:,} (count=100)", deep_page),
        Call("filter userName sw (count=100)", starts, expect=400 if size > SCAN_MAX else 200),
        Call("Groups filter displayName eq (Entra's probe)", group_eq),
        Call(f"Group PATCH, {GROUP_MEMBERS} members added / removed", patch, 200.0),
    ]


def _measure(http: httpx.Client, call: Call, pairs: int) -> None:
    """The first call (cold), then one warm-up pass over the call's rotation (a PATCH's: two calls),
    then ``pairs`` measured pairs."""
    warm = 2 if call.make(0)[0] == "PATCH" else ROTATION
    start = _last_journal_id(http)
    for i in range(warm):
        method, path, body = call.make(i)
        _send(http, method, path, body, call.expect)
    call.first_ms = _journal_after(http, start)[0]["latency_ms"]
    before = _last_journal_id(http)
    for i in range(warm, warm + pairs):
        t0 = time.perf_counter()
        bare = http.get("/_bench/bare")
        call.bare_ms.append((time.perf_counter() - t0) * 1000)
        bare.raise_for_status()
        method, path, body = call.make(i)
        ms, _ = _send(http, method, path, body, call.expect)
        call.client_ms.append(ms)
    entries = [e for e in _journal_after(http, before) if e["path"] != "/_openroster/journal"]
    call.server_ms = [e["latency_ms"] for e in entries][-pairs:]


def _row(call: Call) -> dict[str, Any]:
    s = sorted(call.server_ms)
    ratios = [c / b for c, b in zip(call.client_ms, call.bare_ms, strict=True) if b > 0]
    return {
        "call": call.name,
        "first_ms": call.first_ms,
        "server_p50_ms": statistics.median(s),
        "server_p90_ms": s[min(len(s) - 1, int(len(s) * 0.9))],
        "client_p50_ms": statistics.median(call.client_ms),
        "bare_p50_ms": statistics.median(call.bare_ms),
        "ratio": statistics.median(ratios),
        "target_ms": call.target_ms,
    }


def _table(rows: list[dict[str, Any]], info: dict[str, Any]) -> str:
    m = info["machine"]
    out = [
        HEADING,
        "",
        f"Measured {info['date']} by `python -m bench.bench_scim --users {info['users']} --pairs "
        f"{info['pairs']}` on {m['cpu']}, {m['cores']} cores, SQLite, the demo company of "
        f"{info['users']:,} people, one server process. Load average at the start "
        f"{info['load_start'][0]:.1f}, at the end {info['load_end'][0]:.1f} (the machine is shared "
        "with other work). One client, one request at a time, each call beside the bare endpoint "
        "(`GET /_bench/bare`, the captured reply of one User) in alternating pairs. Server time is "
        "the journal's `latency_ms`; *first* is the first call's (cold); *× bare* the median of the "
        "pairs' client-time ratios.",
        "",
        "| call | first ms | server p50 ms | server p90 ms | client p50 ms | bare p50 ms | × bare | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        target = f"< {r['target_ms']:g} ms" if r["target_ms"] else "—"
        out.append(
            f"| {r['call']} | {r['first_ms']:.1f} | {r['server_p50_ms']:.2f} | {r['server_p90_ms']:.2f} | "
            f"{r['client_p50_ms']:.2f} | {r['bare_p50_ms']:.2f} | {r['ratio']:.1f} | {target} |"
        )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=30, help="(bare, call) pairs per call")
    ap.add_argument("--only", default="", help="measure the calls whose name holds one of these words")
    ap.add_argument("--rebuild", action="store_true", help="build the SQLite demo company again")
    ap.add_argument("--write-docs", action="store_true", help="put the table into docs/benchmarks.md")
    args = ap.parse_args(argv)

    target = sqlite_target(args.users, rebuild=args.rebuild)
    bare_file = Path(tempfile.mkstemp(prefix="bench-scim-", suffix=".json")[1])
    bare_file.write_bytes(b"{}")
    info: dict[str, Any] = {"users": args.users, "pairs": args.pairs, "load_start": os.getloadavg()}
    cache = ("--cache-max-users", str(max(50_000, ROTATION * 10 * 2)))
    try:
        with Server(target, extra=cache) as probe, httpx.Client(base_url=probe.base, timeout=120) as http:
            picked = active_ids(probe, limit=2_000)
            random.Random(20).shuffle(picked)
            people = [
                _send(http, "GET", f"/scim/v2/Users/{u}", None)[1].json() for u in picked[:GROUP_MEMBERS]
            ]
            bare_file.write_bytes(_send(http, "GET", f"/scim/v2/Users/{picked[0]}", None)[1].content)
        extra = (*cache, "--admin-token", ADMIN)
        with Server(target, bare_file=bare_file, extra=extra) as server:
            log(f"server on {server.base} ({target.label})")
            with httpx.Client(base_url=server.base, timeout=120) as http:
                calls = _calls(http, people, args.users)
                wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
                rows = []
                for call in calls:
                    if wanted and not any(w in call.name.lower() for w in wanted):
                        continue
                    _measure(http, call, args.pairs)
                    rows.append(_row(call))
                    r = rows[-1]
                    log(
                        f"{call.name}: server p50 {r['server_p50_ms']:.2f} ms (first {r['first_ms']:.1f}), "
                        f"client {r['client_p50_ms']:.2f} ms, bare {r['bare_p50_ms']:.2f} ms, "
                        f"x{r['ratio']:.1f}"
                    )
    finally:
        bare_file.unlink(missing_ok=True)
    info |= {
        "load_end": os.getloadavg(),
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    table = _table(rows, info)
    sys.stdout.write("\n" + table)
    if args.write_docs:
        write_docs_section(HEADING, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
