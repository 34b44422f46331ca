"""The ASGI application: the dialects mounted over one :class:`Directory`."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp

from openroster import __version__, console, control
from openroster.config import Settings
from openroster.control import api as control_api
from openroster.control import apidocs
from openroster.core.directory import Directory
from openroster.core.runtime.secrets import new_secret
from openroster.core.runtime.throttle import CredentialThrottle, RateLimiter
from openroster.core.runtime.upkeep import ChangeLogPruner
from openroster.dialects import registry
from openroster.dialects.base import routing_message
from openroster.dialects.openapi import DOCS_PAGES
from openroster.events import stream_socket
from openroster.events.channels.stream import KIND as STREAM_KIND
from openroster.events.control_routes import event_routes
from openroster.events.engine import EventEngine
from openroster.events.stream_hub import StreamHub
from openroster.model.rate import Rate
from openroster.server import pipeline
from openroster.server.dispatch import ExactRoutes
from openroster.server.guard import GuardedHttpTools, RequestLimits
from openroster.server.opening import open_directory
from openroster.store.ratelimit import StoreRateLimiter

log = logging.getLogger("openroster")


def credential_throttle(settings: Settings, limiter: RateLimiter) -> CredentialThrottle:
    """The token endpoints' budgets of failed attempts, from the settings (0: no limit)."""
    window = settings.credential_failures_window

    def budget(failures: int) -> Rate | None:
        return Rate(failures, window) if failures > 0 else None

    return CredentialThrottle(
        limiter,
        per_client=budget(settings.credential_failures_per_client),
        per_address=budget(settings.credential_failures_per_address),
    )


def _dialect_error(request: Request, status: int, message: str, detail: str = "") -> Response:
    """A routing or request error in the envelope of the path's owner (the control plane's own)."""
    path = request.url.path
    if path == control.CONTROL_PREFIX or path.startswith(control.CONTROL_PREFIX + "/"):
        return control_api.unrouted(request.app.state.control, request, status, detail or message)
    return registry.owner(path).http_error(request, status, message)


#: FastAPI's own OpenTelemetry instrumentation, off: the server configures no OpenTelemetry provider,
#: and with it on FastAPI asks the OpenTelemetry API on every request whether one was configured
#: since (three environment look-ups and provider checks, about 9 µs a call: docs/benchmarks.md).
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


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


def tune_gc() -> None:
    """Keep the collector off the long-lived cache (the ``gc_tuning`` setting, on by default).

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
        switching = sys.getswitchinterval()
        if own:  # a process of its own: a server, not a test sharing a directory
            if settings.gc_tuning:
                tune_gc()
            sys.setswitchinterval(settings.switch_interval_ms / 1000)  # see limits.SWITCH_INTERVAL_MS
        # Change events: delivered by a background task of each server process (events/engine.py);
        # DingTalk Stream mode's through the connections this process holds (events/stream_hub.py).
        hub = StreamHub(api.state.directory, worker="")
        api.state.events = EventEngine(
            api.state.directory,
            retention_days=settings.events_retention_days,
            dead_retention_days=settings.events_dead_retention_days,
            lease_ms=int(settings.events_lease_seconds * 1000),
            transports={STREAM_KIND: hub},
        )
        hub.worker, hub.on_open = api.state.events.owner, api.state.events.wake
        api.state.stream = hub
        api.state.events.start()
        hub.start()
        pruner = ChangeLogPruner(api.state.directory.writes, settings.change_retention)
        pruner.start()
        control.start(api.state.control)
        try:
            yield
        finally:
            # The event engine's writes are writer jobs: it stops first.
            await api.state.events.stop()
            # The queued writes run and commit before the writers stop (off the loop: they may wait).
            await asyncio.to_thread(api.state.directory.writes.close)
            await control.stop(api.state.control)
            await pruner.stop()
            await hub.stop()
            if own:
                api.state.directory.store.dispose()
                sys.setswitchinterval(switching)

    api = ServerApp(
        title="openroster",
        version=__version__,
        lifespan=lifespan,
        telemetry=NO_TELEMETRY,
        **DOCS_PAGES,
    )
    apidocs.add_docs_page(api)
    if directory is not None:
        api.state.directory = directory

    @api.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        message = routing_message(request.method, request.url.path, exc.status_code, str(exc.detail))
        return _dialect_error(request, exc.status_code, message, str(exc.detail))

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
        return registry.owner(request.url.path).internal_error(request)

    # Rate limits are counted in the store, so every process on it shares one budget per app; a
    # call's token is taken by a writers' job (server/pipeline.py), in a savepoint of its group.
    # (Lambdas: the directory is opened when the server starts, after the routes are mounted.)
    limiter = StoreRateLimiter(
        lambda: api.state["directory"].store,
        lambda: api.state["directory"].writer(),  # noqa: PLW0108
    )
    api.state.credential_throttle = credential_throttle(settings, limiter)
    for dialect in registry.DIALECTS:
        pipeline.mount(api, dialect, settings=settings, limiter=limiter)
    plane = control.install(
        api,
        admin_token=settings.admin_token or new_secret(),
        journal_size=settings.journal_size,
        extra=(event_routes,),
    )
    console.install(api, plane)
    stream_socket.mount(api)
    return api


def app_from_env() -> Any:
    """Factory for uvicorn workers: settings come from the environment."""
    return create_app(Settings.from_env())
