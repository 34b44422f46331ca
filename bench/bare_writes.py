"""The write benchmarks' bare endpoint: FastAPI + sqlite3 doing the same upserts, nothing else.

The floor a write of openroster is compared with (``bench/bench_writes.py``): a plain FastAPI app
on one ``sqlite3`` connection (WAL, ``synchronous=NORMAL``, as openroster's SQLite store), which
takes the very requests the benchmark sends to openroster, on the same paths, and writes what
they set in one transaction per request:

- ``POST /v7/users/custom_attrs/batch_update``: every ``(user, attribute)`` value, one
  ``INSERT ... ON CONFLICT DO UPDATE`` run for all of them (``executemany``);
- ``POST /topapi/smartwork/hrm/employee/v2/update``: every field of every section, the same way.

No authentication, no checks beyond the body being the JSON it should be, no change log, no
cache: what is left of a write when everything openroster adds is taken away.

    .venv/bin/python -m bench.bare_writes --port 8000 --database /tmp/bare.db
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS attr_values (user_id TEXT NOT NULL, attr_id TEXT NOT NULL, "
    "value TEXT NOT NULL, PRIMARY KEY (user_id, attr_id))",
    "CREATE TABLE IF NOT EXISTS roster_values (user_id TEXT NOT NULL, group_id TEXT NOT NULL, "
    "row_index INTEGER NOT NULL, field_code TEXT NOT NULL, value TEXT NOT NULL, "
    "PRIMARY KEY (user_id, group_id, row_index, field_code))",
)
UPSERT_ATTR = (
    "INSERT INTO attr_values (user_id, attr_id, value) VALUES (?, ?, ?) "
    "ON CONFLICT (user_id, attr_id) DO UPDATE SET value = excluded.value"
)
UPSERT_ROSTER = (
    "INSERT INTO roster_values (user_id, group_id, row_index, field_code, value) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (user_id, group_id, row_index, field_code) DO UPDATE SET value = excluded.value"
)
WPS_OK = b'{"code":0,"msg":"","data":{}}'
DINGTALK_OK = b'{"errcode":0,"errmsg":"ok","success":true}'


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in SCHEMA:
        conn.execute(statement)
    return conn


def attr_rows(body: Any) -> list[tuple[str, str, str]]:
    """``(user, attribute, value)`` of a ``custom_attrs/batch_update`` body."""
    return [
        (u["user_id"], a["attr_id"], orjson.dumps({k: v for k, v in a.items() if k != "attr_id"}).decode())
        for u in body["users"]
        for a in u["custom_attrs"]
    ]


def roster_rows(body: Any) -> list[tuple[str, str, int, str, str]]:
    """``(user, group, row, field, value)`` of a roster ``v2/update`` body."""
    p = body["param"]
    return [
        (p["userid"], g["group_id"], s.get("old_index") or 0, f["field_code"], f.get("value") or "")
        for g in p["groups"]
        for s in g["sections"]
        for f in s["section"]
    ]


def create(database: Path) -> FastAPI:
    conn = connect(database)
    api = FastAPI()

    def write(statement: str, rows: list[Any]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(statement, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @api.post("/v7/users/custom_attrs/batch_update")
    async def batch_update(request: Request) -> Response:
        write(UPSERT_ATTR, attr_rows(orjson.loads(await request.body())))
        return Response(WPS_OK, media_type="application/json")

    @api.post("/topapi/smartwork/hrm/employee/v2/update")
    async def roster_update(request: Request) -> Response:
        write(UPSERT_ROSTER, roster_rows(orjson.loads(await request.body())))
        return Response(DINGTALK_OK, media_type="application/json")

    return api


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--database", type=Path, required=True)
    args = ap.parse_args()
    import uvicorn

    uvicorn.run(
        create(args.database),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
