"""The design notes' calibration on this machine: a minimal FastAPI app answering the same bytes.

    .venv/bin/python -m bench.bench_fastapi_floor [--results bench/results/latest.json] [--seconds 10]

The design notes measure, for the batch_read reply, "FastAPI, pydantic body,
returning the same precomputed bytes" (about 7,300 requests/s there) and a raw
ASGI app returning them (about 27,000). This script measures both on the machine
at hand: one uvicorn process (uvloop, httptools, no access log) serving

- ``POST /fastapi``: a FastAPI route whose parameter is the batch_read body model
  (FastAPI parses and validates it), answering the reply bytes;
- ``POST /raw``: a bare ASGI callable answering the same bytes;

with ``wrk -t1 -c32`` beside it, each request the batch_read body of 100 ids. The
reply is the captured batch_read reply of the last suite run when there is one
(``bench/results/latest.json`` names its size only, so a JSON body of that size is
made), else 74 KiB. docs/benchmarks.md cites the figures beside the suite's own
bare endpoint.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from bench.harness import PY, ROOT, Request, free_port, log, run_wrk

APP = """
import sys
from fastapi import FastAPI
from fastapi.responses import Response
from openroster.dialects.wps.schemas import BatchReadUsersBody

REPLY = open(sys.argv[1], "rb").read()
api = FastAPI()

@api.post("/fastapi")
async def fastapi_bare(body: BatchReadUsersBody) -> Response:
    return Response(REPLY, media_type="application/json")

async def raw(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(REPLY)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": REPLY})

async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/raw":
        await raw(scope, receive, send)
    else:
        await api(scope, receive, send)

if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), loop="uvloop", http="httptools",
                access_log=False, log_level="warning")
"""


def _reply(results: Path) -> bytes:
    size = 74 * 1024
    if results.exists():
        rows = json.loads(results.read_text()).get("runs", [])
        sizes = [r["reply_bytes"] for r in rows if r.get("scenario") == "wps.batch_read"]
        size = sizes[0] if sizes else size
    item = {"id": "x" * 10, "user_name": "y" * 20, "title": "z" * 20, "depts": [{"id": "1", "name": "n"}]}
    items: list[dict[str, object]] = []
    data = b""
    while len(data) < size:
        items.append(item)
        data = orjson.dumps({"code": 0, "msg": "", "data": {"items": items}})
    return data[:-1] + b" " * (size - len(data)) + b"}" if len(data) < size else data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args(argv)
    work = ROOT / "bench" / ".data" / "fastapi-floor"
    work.mkdir(parents=True, exist_ok=True)
    (work / "app.py").write_text(APP)
    reply = _reply(args.results)
    (work / "reply.json").write_bytes(reply)
    port = free_port()
    proc = subprocess.Popen([PY, str(work / "app.py"), str(work / "reply.json"), str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/nothing", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        body = orjson.dumps(
            {"user_ids": [f"{i:010x}" for i in range(100)], "status": ["active"], "with_dept": True}
        )
        headers = {"Content-Type": "application/json"}
        for path in ("/fastapi", "/raw"):
            check = httpx.post(base + path, content=body, headers=headers)
            if check.content != reply:
                raise SystemExit(f"{path} answered {check.status_code} {check.text[:200]}")
            requests = [Request("POST", path, headers, body)]
            run_wrk(base, requests, seconds=2, connections=args.connections)
            r = run_wrk(base, requests, seconds=args.seconds, connections=args.connections)
            figures = f"{r.rps:8.0f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms"
            log(f"{path:<9} {figures}  ({len(reply)} bytes)")
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
