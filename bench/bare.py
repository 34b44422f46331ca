"""The benchmarks' bare endpoints: the server's whole stack answering fixed bytes (the ceiling).

The product server has none of these; benchmarks mount them on their own app,
the server app (:func:`openroster.server.app.create_app`) plus

- ``POST /_bench/bare``: parses a batch_read body with the same model as the real endpoint;
- ``POST /_bench/bare_json``: any JSON object (for the other write and read benchmarks);
- ``GET /_bench/bare``: no body;

each answering ``--bare-endpoint-file``, the captured reply of the real call. With
``--bare-replies-dir`` they answer each request the reply the real call gave to that very request
(its body; a GET's query string), found by one dict look-up on the raw bytes: a benchmark rotating
requests with different replies then sends as many different buffers as the real call does, not
one cache-hot buffer (see docs/benchmarks.md, "Method"). A request not captured is then answered
404, never some other reply: a load generator counts it as a failed request, and the suite stops
on one (``bench/suite.py``), so no timed run measures an easier baseline unnoticed. A reply goes
out as the real calls' do, a :class:`~openroster.dialects.pieces.PiecesResponse` (of one piece):
the server writes its head and body in one call, as it writes theirs. Like the dialects'
endpoints they are plain routes, so they take the same short way (``server/dispatch.py``).
``/_bench`` is no platform path: the journal leaves such calls out.

    .venv/bin/python -m bench.bare --bare-endpoint-file REPLY.json [--bare-replies-dir DIR] \\
        --port 8000 --data-dir DIR [--database-url URL] [--cache-max-users N] [--admin-token TOKEN]

serves that app as ``openroster serve`` would (one process, uvloop, the guarded protocol).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from pathlib import Path

import orjson
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.runtime.limits import DEFAULT_MAX_USERS
from openroster.dialects.pieces import PiecesResponse
from openroster.dialects.wps.schemas import BatchReadUsersBody
from openroster.server.app import create_app
from openroster.server.run import run


def save_replies(directory: Path, replies: Iterable[tuple[bytes, bytes]]) -> None:
    """Write ``(key, reply)`` pairs for ``--bare-replies-dir``: ``<n>.key`` and ``<n>.reply`` each.

    The key is what the bare endpoint looks the reply up by: a POST's raw body, a GET's query string.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for n, (key, reply) in enumerate(replies):
        (directory / f"{n}.key").write_bytes(key)
        (directory / f"{n}.reply").write_bytes(reply)


def load_replies(directory: Path) -> dict[bytes, bytes]:
    """The pairs :func:`save_replies` wrote, as ``{key: reply}``."""
    return {k.read_bytes(): k.with_suffix(".reply").read_bytes() for k in directory.glob("*.key")}


#: The bare endpoints' answer to a request they have no captured reply for (see module).
NOT_CAPTURED = b"no reply was captured for this request"


def install(api: FastAPI, payload: bytes, replies: Mapping[bytes, bytes] | None = None) -> None:
    """Add the bare endpoints (see module): each answers ``replies[key]`` (404 when there is none)
    or, without ``replies``, ``payload``."""
    table = dict(replies) if replies is not None else None

    def answer(key: bytes) -> Response:
        if table is None:
            return PiecesResponse([payload], media_type="application/json")
        reply = table.get(key)
        if reply is None:
            return Response(NOT_CAPTURED, status_code=404)
        return PiecesResponse([reply], media_type="application/json")

    async def bare(request: Request) -> Response:
        body = await request.body()
        try:
            BatchReadUsersBody.model_validate_json(body)
        except ValidationError:
            return Response(b"not a batch_read body", status_code=400)
        return answer(body)

    async def bare_json(request: Request) -> Response:
        body = await request.body()
        if not isinstance(orjson.loads(body), dict):
            return Response(b"a JSON object is expected", status_code=400)
        return answer(body)

    async def bare_get(request: Request) -> Response:
        return answer(request.scope["query_string"])

    api.add_api_route("/_bench/bare", bare, methods=["POST"], include_in_schema=False)
    api.add_api_route("/_bench/bare_json", bare_json, methods=["POST"], include_in_schema=False)
    api.add_api_route("/_bench/bare", bare_get, methods=["GET"], include_in_schema=False)


def create_bench_app(
    settings: Settings,
    payload: bytes,
    *,
    replies: Mapping[bytes, bytes] | None = None,
    directory: Directory | None = None,
) -> FastAPI:
    """The server app with the bare endpoints answering ``replies`` by request, or ``payload``."""
    api = create_app(settings, directory=directory)
    install(api, payload, replies)
    return api


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--bare-endpoint-file", type=Path, required=True, help="the reply they send (no --bare-replies-dir)"
    )
    ap.add_argument(
        "--bare-replies-dir",
        type=Path,
        help="the reply to each captured request, by body or query string (bench.bare.save_replies); "
        "any other request is answered 404",
    )
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
    replies = load_replies(args.bare_replies_dir) if args.bare_replies_dir else None
    app = create_bench_app(settings, args.bare_endpoint_file.read_bytes(), replies=replies)
    run(app, settings, log_level=args.log_level)


if __name__ == "__main__":
    main()
