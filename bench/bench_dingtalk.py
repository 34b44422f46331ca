"""DingTalk roster benchmark: ``v2/update`` of one person, ``v2/list`` of 100 people with every field.

    .venv/bin/python bench/bench_dingtalk.py [--users 100000] [--duration 20] [--connections 16] [--keep DIR]

A fresh SQLite store gets a company of ``--users`` people, each with the demo
company's roster (ID data, 1-3 education rows, emergency contacts, contract,
family, bank and social security numbers: about 45 values) and two custom
attributes. One ``openroster serve`` process (uvicorn, one worker, its cache
sized to hold the whole company: ``--cache-max-users``) answers;
``wrk`` drives it from the same machine:

- ``v2/list``: 100 random people per request, no ``field_filter_list`` (every
  field: 80 per person, ~50 KB per reply). Measured once on a cold server (the
  first pass over the company, which reads the store) and then warm.
- ``v2/update``: one random person per request, three groups (a plain group,
  row 0 of the education group, row 0 of the emergency contacts).

The target: ``v2/list`` sustains at least 300 requests/s with 100,000 people.
Besides wrk's figures the table gives the server's CPU time per request (from
/proc): on a shared machine throughput follows the CPU the server gets, while
its CPU cost per request barely moves.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from openroster.config import Settings
from openroster.core.custom import attributes
from openroster.core.people import users
from openroster.core.roster import writes as roster_writes
from openroster.core.tenancy import apps, tenants
from openroster.fixtures import demo_roster
from openroster.model.entities import AttributeUpdate, UserAttributeUpdate
from openroster.server.app import open_directory

TENANT = "bench"
APPKEY = "bench-dingtalk"
APPSECRET = "bench-dingtalk-secret"
AGENTID = 1000001
PERMISSIONS = ("qyapi_hrm_read_user", "qyapi_hrm_manager")

_LIST_LUA = """
math.randomseed(%(seed)d)
local users = %(users)d
local ids = {}
request = function()
  for i = 1, 100 do ids[i] = string.format('"b%%06d"', math.random(0, users - 1)) end
  local body = '{"agentid":%(agentid)d,"userid_list":[' .. table.concat(ids, ",") .. ']}'
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, body)
end
"""

_UPDATE_LUA = """
math.randomseed(%(seed)d)
local users = %(users)d
local n = 0
request = function()
  n = n + 1
  local uid = string.format("b%%06d", math.random(0, users - 1))
  local body = '{"agentid":%(agentid)d,"param":{"userid":"' .. uid .. '","groups":['
    .. '{"group_id":"sys02","sections":[{"old_index":0,"section":['
    .. '{"field_code":"sys02-address","value":"北京市海淀区学院路' .. n .. '号"},'
    .. '{"field_code":"sys02-marriage","value":"2"}]}]},'
    .. '{"group_id":"sys03","sections":[{"old_index":0,"section":['
    .. '{"field_code":"sys03-major","value":"数学' .. n .. '"}]}]},'
    .. '{"group_id":"sys06","sections":[{"old_index":0,"section":['
    .. '{"field_code":"sys06-urgentContactsPhone","value":"13' .. string.format("%%09d", n) .. '"}]}]}'
    .. ']}}'
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, body)
end
"""


def build_company(data_dir: Path, count: int) -> None:
    d = open_directory(Settings(data_dir=data_dir))
    d.store.migrate()
    started = time.perf_counter()
    tenants.create(d, tenant_id=TENANT, name="压测公司")
    apps.create(d, tenant_id=TENANT, client_id=APPKEY, secret=APPSECRET, agentid=AGENTID, scopes=PERMISSIONS)
    defs = attributes.create_definitions(
        d,
        tenant_id=TENANT,
        items=[
            attributes.NewDefinition(id="desk", name="工位", value_type="text"),
            attributes.NewDefinition(
                id="level",
                name="职级",
                value_type="option",
                options=tuple((f"P{n}", f"P{n} 级") for n in range(1, 10)),
            ),
        ],
    )
    chunk = 2000
    for start in range(0, count, chunk):
        ids = range(start, min(count, start + chunk))
        made = users.create_many(
            d,
            tenant_id=TENANT,
            items=[
                users.NewUser(
                    id=f"b{n:06d}",
                    user_name=f"员工{n}",
                    dept_ids=(1,),
                    phone=f"139{n:08d}",
                    email=f"user{n}@bench.test",
                    employee_id=f"E{n:06d}",
                    title="工程师",
                    gender="male" if n % 2 else "female",
                    employment_type="permanent",
                    employment_status="regular",
                    employer="压测公司",
                    avatar=f"https://avatars.bench.test/{n}.png",
                )
                for n in ids
            ],
        )
        with d.writer() as tx:
            roster_writes.load_in(
                tx, tenant_id=TENANT, records={u.id: demo_roster.person_roster(u, u.employer) for u in made}
            )
            for s in range(0, len(made), 100):
                attributes.update_values_in(
                    tx,
                    tenant_id=TENANT,
                    updates=[
                        UserAttributeUpdate(
                            u.id,
                            (
                                AttributeUpdate(attr_id=defs[0].id, text=f"{n % 20 + 1}F-{n % 120:03d}"),
                                AttributeUpdate(attr_id=defs[1].id, option=f"P{n % 9 + 1}"),
                            ),
                        )
                        for n, u in enumerate(made[s : s + 100], start=start + s)
                    ],
                )
        print(f"\r  {min(count, start + chunk):,} / {count:,} people", end="", file=sys.stderr, flush=True)
    print(f"\n  company built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    d.store.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    log = open(data_dir.parent / "server.log", "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openroster",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/_openroster/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start; see server.log")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(base: str, script: str, *, duration: int, connections: int, work: Path, pid: int) -> dict[str, float]:
    lua = work / f"bench-{abs(hash(script))}.lua"
    lua.write_text(script, encoding="utf-8")
    cpu_before = _cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(lua), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = _cpu_seconds(pid) - cpu_before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if m is None:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": ms("50%"),
        "p99": ms("99%"),
        "non2xx": float(errors.group(1)) if errors else 0.0,
        "cpu_ms": 1000 * cpu / total if total else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--keep", type=Path, help="reuse (or keep) the company in this directory")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (apt-get install wrk)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="openroster-bench-dingtalk-"))
    data_dir = work / "data"
    if not (data_dir / "openroster.db").exists():
        print(f"building a company of {args.users:,} people in {work}", file=sys.stderr)
        build_company(data_dir, args.users)
    # The process cache must hold the company (the default holds 50,000 people): a person's
    # rendered roster lives on their cached user object.
    proc, base = start_server(data_dir, "--cache-max-users", str(max(50_000, args.users * 11 // 10)))
    try:
        token = httpx.get(f"{base}/gettoken", params={"appkey": APPKEY, "appsecret": APPSECRET}).json()[
            "access_token"
        ]
        list_path = f"/topapi/smartwork/hrm/employee/v2/list?access_token={token}"
        update_path = f"/topapi/smartwork/hrm/employee/v2/update?access_token={token}"
        probe = httpx.post(
            base + list_path, json={"agentid": AGENTID, "userid_list": [f"b{n:06d}" for n in range(100)]}
        )
        reply = orjson.loads(probe.content)
        assert reply["errcode"] == 0 and len(reply["result"]) == 100, reply
        fields = len(reply["result"][0]["field_data_list"])
        print(f"v2/list reply: {len(probe.content):,} bytes, {fields} fields per person", file=sys.stderr)
        common = {"users": args.users, "agentid": AGENTID}
        list_lua = _LIST_LUA % {**common, "path": list_path, "seed": 1}
        cold_seconds = max(5, min(args.duration, 30))
        results = {
            "v2/list, 100 people, cold (first pass)": wrk(
                base, list_lua, duration=cold_seconds, connections=args.connections, work=work, pid=proc.pid
            )
        }
        # Warm every person once, then measure the steady state.
        started = time.perf_counter()
        with httpx.Client(base_url=base, timeout=60) as c:
            for start in range(0, args.users, 100):
                ids = [f"b{n:06d}" for n in range(start, min(args.users, start + 100))]
                assert c.post(list_path, json={"agentid": AGENTID, "userid_list": ids}).json()["errcode"] == 0
        print(f"warmed every person in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        results["v2/list, 100 people, warm"] = wrk(
            base, _LIST_LUA % {**common, "path": list_path, "seed": 2}, duration=args.duration,
            connections=args.connections, work=work, pid=proc.pid,
        )  # fmt: skip
        results["v2/update, 1 person, 3 groups"] = wrk(
            base, _UPDATE_LUA % {**common, "path": update_path, "seed": 3}, duration=args.duration,
            connections=args.connections, work=work, pid=proc.pid,
        )  # fmt: skip
        rss = _rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    print()
    print(f"{args.users:,} people, 1 server process, wrk -t1 -c{args.connections} -d{args.duration}s, "
          f"{os.cpu_count()} cores; server RSS after the runs: {rss:.0f} MB")  # fmt: skip
    print()
    print(
        "| request | requests/s | p50 ms | p99 ms | non-2xx | server CPU ms/request | requests/s per CPU-s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['non2xx']:.0f} "
            f"| {r['cpu_ms']:.2f} | {1000 / r['cpu_ms']:,.0f} |"
        )
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


if __name__ == "__main__":
    main()
