"""The benchmarks' bare endpoints: the server's whole stack answering fixed bytes (the ceiling).

The product server has none of these; benchmarks mount them on their own app,
the server app (:func:`openroster.server.app.create_app`) plus

- ``POST /_bench/bare``: parses a batch_read body with the same model as the real endpoint;
- ``POST /_bench/bare_json``: any JSON object (for the other write and read benchmarks);
- ``GET /_bench/bare``: no body;

each answering the captured reply of the real call. Like the dialects' endpoints
they are plain routes, so they take the same short way (``server/dispatch.py``).
``/_bench`` is no platform path: the journal leaves such calls out.

    .venv/bin/python -m bench.bare --bare-endpoint-file REPLY.json --port 8000 --data-dir DIR \\
        [--database-url URL] [--cache-max-users N] [--admin-token TOKEN]

serves that app as ``openroster serve`` would (one process, uvloop, the guarded protocol).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.runtime.limits import DEFAULT_MAX_USERS
from openroster.dialects.wps.schemas import BatchReadUsersBody
from openroster.server.app import create_app
from openroster.server.run import run


def install(api: FastAPI, payload: bytes) -> None:
    """Add the bare endpoints (see module), each answering ``payload``."""

    async def bare(request: Request) -> Response:
        try:
            BatchReadUsersBody.model_validate_json(await request.body())
        except ValidationError:
            return Response(b"not a batch_read body", status_code=400)
        return Response(payload, media_type="application/json")

    async def bare_json(request: Request) -> Response:
        if not isinstance(orjson.loads(await request.body()), dict):
            return Response(b"a JSON object is expected", status_code=400)
        return Response(payload, media_type="application/json")

    async def bare_get(request: Request) -> Response:
        return Response(payload, media_type="application/json")

    api.add_api_route("/_bench/bare", bare, methods=["POST"], include_in_schema=False)
    api.add_api_route("/_bench/bare_json", bare_json, methods=["POST"], include_in_schema=False)
    api.add_api_route("/_bench/bare", bare_get, methods=["GET"], include_in_schema=False)


def create_bench_app(settings: Settings, payload: bytes, *, directory: Directory | None = None) -> FastAPI:
    """The server app with the bare endpoints answering ``payload``."""
    api = create_app(settings, directory=directory)
    install(api, payload)
    return api


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bare-endpoint-file", type=Path, required=True, help="the reply they send")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--database-url")
    ap.add_argument("--workers", type=int, choices=(1,), default=1, help="one process only")
    ap.add_argument("--cache-max-users", type=int, default=DEFAULT_MAX_USERS)
    ap.add_argument("--log-level", default="warning")
    ap.add_argument(
        "--dingtalk-v1-rate-limit", action="append", default=[], help="as openroster serve's (repeatable)"
    )
    ap.add_argument("--admin-token", help="the control plane's token (a random one when not given)")
    ap.add_argument(
        "--journal-size", type=int, default=Settings().journal_size, help="as openroster serve's (0: off)"
    )
    args = ap.parse_args()
    settings = Settings(
        data_dir=args.data_dir,
        database_url=args.database_url,
        host=args.host,
        port=args.port,
        cache_max_users=args.cache_max_users,
        dingtalk_v1_rate_limits=",".join(args.dingtalk_v1_rate_limit),
        admin_token=args.admin_token,
        journal_size=args.journal_size,
    )
    run(create_bench_app(settings, args.bare_endpoint_file.read_bytes()), settings, log_level=args.log_level)


if __name__ == "__main__":
    main()
