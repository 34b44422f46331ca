"""The pieces every benchmark uses: data sets, server processes, signed requests, wrk.

A benchmark starts a real ``openroster serve`` process and drives it with
``wrk`` (installed with apt-get when missing) running beside it on the same
machine. Requests are prepared up front (signed, with a bearer token: a KSO-1
signature stays valid for 15 minutes) and rotated by a generated Lua script,
so the load generator spends its time on the network, not on signing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from openroster.dialects.wps import signing
from openroster.store.pgcluster import ThrowawayCluster

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(msg: str) -> None:
    sys.stderr.write(f"[{datetime.now():%H:%M:%S}] {msg}\n")
    sys.stderr.flush()


# -- data sets ---------------------------------------------------------------------------


@dataclass
class Target:
    """A demo tenant of ``size`` people on one backend."""

    backend: str
    size: int
    data_dir: Path  # the master key (and, on SQLite, the database file)
    database_url: str | None
    build_seconds: float | None = None

    @property
    def label(self) -> str:
        return f"{self.backend} {self.size:,}"

    def store_args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args


def sqlite_target(size: int, *, rebuild: bool = False) -> Target:
    """The SQLite demo tenant of ``size`` people, built once and kept under bench/.data."""
    data_dir = DATA / f"suite-sqlite-{size}"
    ready = data_dir / "ready.json"
    if ready.exists() and not rebuild:
        info = json.loads(ready.read_text())
        return Target("sqlite", size, data_dir, None, info.get("build_seconds"))
    shutil.rmtree(data_dir, ignore_errors=True)
    seconds = build_demo(size, ["--data-dir", str(data_dir)])
    ready.write_text(json.dumps({"build_seconds": seconds, "built": datetime.now(UTC).isoformat()}))
    return Target("sqlite", size, data_dir, None, seconds)


def postgres_target(size: int, cluster: ThrowawayCluster) -> Target:
    """A PostgreSQL demo tenant of ``size`` people in a new database of ``cluster``."""
    data_dir = DATA / f"suite-pg-{size}-{cluster.port}"
    shutil.rmtree(data_dir, ignore_errors=True)
    url = cluster.create_database(f"bench_{size}", migrated=False)
    seconds = build_demo(size, ["--data-dir", str(data_dir), "--database-url", url])
    cluster.execute("VACUUM ANALYZE", database=f"bench_{size}")
    return Target("postgresql", size, data_dir, url, seconds)


def build_demo(size: int, store_args: list[str]) -> float:
    log(f"building a demo tenant of {size:,} people ({' '.join(store_args)})")
    t0 = time.monotonic()
    subprocess.run(
        [PY, "-m", "openroster", "demo", "--users", str(size), *store_args],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.monotonic() - t0
    log(f"  built in {seconds:.1f} s")
    # The build leaves dirty pages the kernel writes back in the next seconds: let it finish, so
    # the first measurement after a build is not disturbed by it (not part of the build time).
    os.sync()
    time.sleep(5)
    return seconds


def process_cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User + system CPU time process ``pid`` has used so far (Linux /proc; 0 if it is gone), with
    ``reaped_children`` that of its children that have exited and been waited for too."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def cluster_cpu_seconds(cluster: ThrowawayCluster) -> float:
    """CPU time a throwaway cluster's PostgreSQL has used so far: the postmaster, its live
    processes (backends, writers) and those that have exited (0 for a cluster started elsewhere;
    an error when its processes cannot be read)."""
    if cluster.root is None:
        return 0.0
    try:
        postmaster = int((cluster.root / "data" / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    except (OSError, ValueError, IndexError) as e:
        # A local cluster whose processes cannot be read: no figure rather than a zero one.
        raise RuntimeError(f"PostgreSQL's CPU time cannot be read ({e})") from e
    live = sum(process_cpu_seconds(int(pid)) for pid in children)
    return process_cpu_seconds(postmaster, reaped_children=True) + live


# -- server processes ------------------------------------------------------------------


@dataclass
class Server:
    """``openroster serve`` on a free port, one process unless ``workers`` says otherwise."""

    target: Target
    bare_file: Path | None = None
    #: With ``bare_file``: the reply to each captured request (``bench.bare.save_replies``).
    bare_replies: Path | None = None
    workers: int = 1
    extra: Sequence[str] = ()
    #: Environment variables for the server process, on top of this process's.
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.port = free_port()
        # With a bare file, the server app plus the bare endpoints (bench/bare.py), served alike.
        serve = ["openroster", "serve"] if self.bare_file is None else ["bench.bare"]
        args = [PY, "-m", *serve, "--port", str(self.port), *self.target.store_args()]
        args += ["--workers", str(self.workers), *self.extra]
        if self.bare_file is not None:
            args += ["--bare-endpoint-file", str(self.bare_file)]
            if self.bare_replies is not None:
                args += ["--bare-replies-dir", str(self.bare_replies)]
        self.log_path = Path(tempfile.gettempdir()) / f"openroster-bench-{self.port}.log"
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **self.env} if self.env else None,
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(self.base + "/_openroster/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start; see {self.log_path}")

    def pids(self) -> list[int]:
        """The server process and its workers."""
        if self.proc is None:
            return []
        out = [self.proc.pid]
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        if children.exists():
            out += [int(x) for x in children.read_text().split()]
        return out

    def rss_mib(self) -> float:
        """Resident memory of the server's processes, in MiB (Linux /proc)."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time the server's processes have used so far (Linux /proc)."""
        return sum(process_cpu_seconds(pid) for pid in self.pids())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


# -- requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def key(self) -> bytes:
        """What a bare endpoint looks this request's reply up by (bench/bare.py): body, else query."""
        return self.body or self.path.partition("?")[2].encode()

    def to_bare(self, method: str, path: str) -> Request:
        """This request sent to the bare endpoint ``method path``, with the same ``key``."""
        if method == "POST":
            return Request(method, path, dict(self.headers), self.body)
        query = self.path.partition("?")[2]
        return Request(method, f"{path}?{query}" if query else path, dict(self.headers))

    def send(self, base: str, client: httpx.Client | None = None) -> httpx.Response:
        c = client or httpx.Client(timeout=60)
        try:
            return c.request(self.method, base + self.path, headers=self.headers, content=self.body or None)
        finally:
            if client is None:
                c.close()


def wps_token(base: str, client_id: str, secret: str) -> str:
    r = httpx.post(
        base + "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


def wps_request(
    method: str, path: str, *, token: str, client_id: str, secret: str, body: Any = None
) -> Request:
    """A KSO-1 signed WPS request (valid for the platform's 15 minutes)."""
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() if body is not None else b""
    content_type = "application/json" if body is not None else ""
    date = signing.format_date(datetime.now(UTC))
    sig = signing.signature(signing.KSO1, secret, method, path, content_type, date, raw)
    names = signing.HEADERS[signing.KSO1]
    headers = {
        "Authorization": f"Bearer {token}",
        names.date: date,
        names.authorization: f"{signing.KSO1} {client_id}:{sig}",
    }
    if content_type:
        headers["Content-Type"] = content_type
    return Request(method, path, headers, raw)


def dingtalk_token(base: str, appkey: str, appsecret: str) -> str:
    r = httpx.get(base + "/gettoken", params={"appkey": appkey, "appsecret": appsecret}, timeout=30)
    r.raise_for_status()
    data = r.json()
    if data.get("errcode") != 0:
        raise RuntimeError(f"gettoken failed: {data}")
    return str(data["access_token"])


def dingtalk_request(path: str, *, token: str, body: Any) -> Request:
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Request("POST", f"{path}?access_token={token}", {"Content-Type": "application/json"}, raw)


def dingtalk_v1_request(path: str, *, token: str, body: Any) -> Request:
    """A ``/v1.0`` call as the official SDK sends it: the token in its header, compact JSON."""
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "x-acs-dingtalk-access-token": token}
    return Request("POST", path, headers, raw)


# -- wrk ------------------------------------------------------------------------------


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise RuntimeError("wrk is missing: install it (Debian/Ubuntu: apt-get install -y wrk)")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    log("wrk not found: installing the Debian package 'wrk'")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run([*prefix, "apt-get", "install", "-y", "wrk"], env=env, check=False).returncode != 0:
        subprocess.run([*prefix, "apt-get", "update"], env=env, check=False)
        subprocess.run([*prefix, "apt-get", "install", "-y", "wrk"], env=env, check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("installed wrk but cannot find it on PATH")
    return found


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    bytes_per_response: float
    #: The 95 % confidence interval of the p99, from the ranks alone (no assumed distribution):
    #: over ``requests`` latencies, the p99 is within these two order statistics 19 times in 20.
    #: Over 2,000 it is the 30th to the 11th slowest; over 6,000, the 77th to the 44th. It assumes
    #: the latencies independent draws of one distribution; reads that wait behind the same slow
    #: slice of the server come in clusters, so it is narrower than the run-to-run spread.
    p99_low_ms: float = 0.0
    p99_high_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p90_ms": round(self.p90_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "p99_ci_ms": [round(self.p99_low_ms, 3), round(self.p99_high_ms, 3)],
            "max_ms": round(self.max_ms, 3),
            "errors": self.errors,
            "bytes_per_response": round(self.bytes_per_response),
        }


#: ``p99_lo`` and ``p99_hi``: the percentiles of the order statistics that hold the p99 19 times in
#: 20 over ``n`` independent latencies (ranks n·0.99 ∓ 1.96·√(n·0.99·0.01), the binomial's normal
#: form).
_LUA_DONE = r"""
function done(summary, latency, requests)
  local e = summary.errors
  -- wrk keeps the count of recorded latencies to itself (``#latency`` is the number of distinct
  -- values): a completed request records one (no pipelining here) unless it ran past the timeout.
  local n = summary.requests
  local half = 1.96 * math.sqrt(n * 0.99 * 0.01)
  local function at_rank(r)  -- the r-th fastest (wrk's percentile(p) takes rank round(p*n + 0.5))
    if latency.min > latency.max then return 0 end  -- none recorded: min is still UINT64_MAX
    if r < 1 then return latency.min end
    local v = r < n and latency:percentile((r - 0.5) / n * 100) or 0
    return v > 0 and v or latency.max
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50":%d,"p90":%d,"p99":%d,"max":%d,"p99_lo":%d,"p99_hi":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    at_rank(math.floor(n * 0.99 - half)), at_rank(math.ceil(n * 0.99 + half + 1))))
end
"""


def _lua_string(data: bytes | str) -> str:
    raw = data if isinstance(data, bytes) else data.encode()
    return '"' + "".join(f"\\{b:03d}" if (b < 32 or b > 126 or b in (34, 92)) else chr(b) for b in raw) + '"'


#: Paces a wrk thread's connections to one schedule of ``interval`` ms (an open-loop rate): each
#: request takes the next slot, so together they send at the rate while the server keeps up; a
#: schedule more than a second behind starts again from now instead of bursting to catch up.
_LUA_PACE = r"""
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_usec; } or_timeval;
           int gettimeofday(or_timeval *tv, void *tz); ]]
local tv = ffi.new("or_timeval")
local next_at = nil
function delay()
  ffi.C.gettimeofday(tv, nil)
  local t = tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
  if next_at == nil or next_at < t - 1000 then next_at = t end
  next_at = next_at + interval
  return math.max(0, math.floor(next_at - t))
end
"""


def lua_script(requests: Sequence[Request], *, rate: float | None = None) -> str:
    """A wrk script that sends ``requests`` round-robin (each thread from its own start); with
    ``rate``, at that many requests a second (each thread; run one), instead of as fast as the
    connections go."""
    specs = []
    for r in requests:
        headers = ",".join(f"[{_lua_string(k)}]={_lua_string(v)}" for k, v in r.headers.items())
        body = _lua_string(r.body) if r.body else "nil"
        specs.append(f"{{{_lua_string(r.method)},{_lua_string(r.path)},{{{headers}}},{body}}}")
    pace = f"local interval = {1000.0 / rate!r}\n" + _LUA_PACE if rate else ""
    return (
        "local specs = {\n" + ",\n".join(specs) + "\n}\n"
        "local reqs = {}\nlocal i = 0\n"
        "function init(args)\n"
        "  for k, s in ipairs(specs) do reqs[k] = wrk.format(s[1], s[2], s[3], s[4]) end\n"
        "  i = math.random(#reqs) - 1\n"
        "end\n"
        "function request()\n  i = i % #reqs + 1\n  return reqs[i]\nend\n" + pace + _LUA_DONE
    )


def run_wrk(
    base: str,
    requests: Sequence[Request],
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    timeout_s: int = 10,
    rate: float | None = None,
) -> LoadResult:
    """Drive ``base`` with ``requests`` for ``seconds`` at fixed concurrency (with ``rate``: at most
    that many requests a second, paced); wrk's own figures."""
    if rate and threads != 1:
        raise ValueError("a paced load runs on one wrk thread (its connections share the schedule)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(lua_script(requests, rate=rate))
        script = fh.name
    try:
        cmd = [
            wrk_path(),
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            f"{timeout_s}s",
            "-s",
            script,
            base,
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=seconds + 60)
    finally:
        os.unlink(script)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    data = json.loads(line[len("WRK_JSON ") :])
    secs = data["duration_us"] / 1e6
    n = data["requests"]
    return LoadResult(
        requests=n,
        seconds=secs,
        rps=n / secs if secs else 0.0,
        p50_ms=data["p50"] / 1000,
        p90_ms=data["p90"] / 1000,
        p99_ms=data["p99"] / 1000,
        max_ms=data["max"] / 1000,
        errors={k: v for k, v in data["errors"].items() if v},
        bytes_per_response=data["bytes"] / n if n else 0.0,
        p99_low_ms=data["p99_lo"] / 1000,
        p99_high_ms=data["p99_hi"] / 1000,
    )


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_gib, 1), "loadavg": load}


def versions() -> dict[str, str]:
    import sqlite3
    from importlib.metadata import version

    out = {"python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version}
    for pkg in (
        "openroster",
        "fastapi",
        "starlette",
        "uvicorn",
        "pydantic",
        "sqlalchemy",
        "psycopg",
        "orjson",
    ):
        try:
            out[pkg] = version(pkg)
        except Exception:
            out[pkg] = "?"
    try:
        wrk = subprocess.run([wrk_path(), "--version"], capture_output=True, text=True, check=False)
        out["wrk"] = (wrk.stdout or wrk.stderr).split()[1]
    except (RuntimeError, IndexError, OSError):
        out["wrk"] = "?"
    return out


def write_docs_section(heading: str, table: str) -> None:
    """Put ``table`` (which starts with ``heading``) into docs/benchmarks.md, replacing the section of
    that heading, or at the end."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    section = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if section.search(text):
        text = section.sub(lambda _m: table + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + table + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    log(f"wrote {path.relative_to(ROOT)}")
