"""The ASGI application: the dialects mounted over one :class:`Directory`."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp

from openroster import __version__, control
from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.runtime.secrets import MasterKey, new_secret
from openroster.dialects import dingtalk, wps
from openroster.dialects.wps.errors import Code, error_response
from openroster.dialects.wps.schemas import BatchReadUsersBody
from openroster.server.dispatch import ExactRoutes
from openroster.server.guard import GuardedHttpTools, RequestLimits
from openroster.store import open_store
from openroster.store.ratelimit import StoreRateLimiter

log = logging.getLogger("openroster")


def open_directory(settings: Settings) -> Directory:
    store = open_store(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    key = MasterKey.load(settings.resolved_master_key_file)
    return Directory(store, key, cache_max_users=settings.cache_max_users)


def _dialect_error(request: Request, status: int, message: str) -> Response:
    if status in (404, 405) and dingtalk.owns(request.url.path):
        return dingtalk.http_error(request, status)
    code = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED}.get(status, Code.INVALID_REQUEST)
    return error_response(code, message)


class ServerApp(FastAPI):
    """The FastAPI app with the control plane's platform-call middleware outermost.

    Outermost, it sees what the client sees (internal-error replies included)
    and can close a connection for a fault rule (see ``control/middleware.py``).
    """

    def build_middleware_stack(self) -> ASGIApp:
        # The request limits outermost of all: nothing reads a body they would refuse. Inside the
        # platform-call middleware, plain routes go straight to their endpoint (server/dispatch.py).
        fastapi_stack = super().build_middleware_stack()
        return RequestLimits(control.wrap(ExactRoutes(self, fastapi_stack), self.state.control))


def _tune_gc() -> None:
    """Keep the collector off the long-lived cache (server processes only).

    The cache holds hundreds of thousands of immutable objects that live as long
    as the process; with the default thresholds full collections walk them over
    and over (about half the cost of a cold DingTalk v2/list of 100 people, see
    docs/benchmarks.md). Objects alive at start-up are frozen out of collection
    and young collections run ten times less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 20, 50)


def create_app(settings: Settings | None = None, *, directory: Directory | None = None) -> FastAPI:
    """The server app. Give ``directory`` to share an open one (tests), else one is opened on start."""
    settings = settings or Settings()
    GuardedHttpTools.configure(head_timeout=settings.head_timeout, body_timeout=settings.body_timeout)

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        own = directory is None
        api.state.directory = directory if directory is not None else open_directory(settings)
        if own:
            _tune_gc()
        try:
            yield
        finally:
            if own:
                api.state.directory.store.dispose()

    api = ServerApp(
        title="openroster",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    if directory is not None:
        api.state.directory = directory

    @api.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return _dialect_error(request, 404, f"no such endpoint: {request.method} {request.url.path}")
        if exc.status_code == 405:
            return _dialect_error(request, 405, f"{request.method} is not allowed on {request.url.path}")
        return _dialect_error(request, exc.status_code, str(exc.detail))

    @api.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return _dialect_error(request, 400, f"invalid request: {exc.errors()[0].get('msg', '')}")

    @api.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # The client left (or was cut off, see server/guard.py) while its body was read: no one to answer.
        return Response(status_code=400)

    @api.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        if dingtalk.owns(request.url.path):
            return dingtalk.internal_error()
        return error_response(Code.INTERNAL, "internal error; the server log has the details")

    # Rate limits are counted in the store, so every process on it shares one budget per app.
    wps.install(
        api, rate_limits=settings.wps_rate_limits, limiter=StoreRateLimiter(lambda: api.state.directory.store)
    )
    dingtalk.install(api)
    control.install(api, admin_token=settings.admin_token or new_secret(), journal_size=settings.journal_size)
    if settings.bare_endpoint_file is not None:
        _install_bare_endpoint(api, settings.bare_endpoint_file.read_bytes())
    return api


def _install_bare_endpoint(api: FastAPI, payload: bytes) -> None:
    """For benchmarks: the same server stack answering fixed bytes (the ceiling).

    ``POST /_bench/bare`` parses a batch_read body with the same model as the real
    endpoint; ``POST /_bench/bare_json`` any JSON object (for the other write and
    read benchmarks); ``GET /_bench/bare`` no body. Like the dialects' endpoints they
    are plain routes, so they take the same short way (``server/dispatch.py``).
    """

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


def app_from_env() -> Any:
    """Factory for uvicorn workers: settings come from the environment."""
    return create_app(Settings.from_env())
