"""The one way a dialect's route is served: read body, authenticate, admit, authorize, parse, handle, render.

Every route of every dialect in the registry is mounted here as a plain
endpoint ``(request) -> Response`` (so ``server/dispatch.py`` can call it
straight), running the dialect's steps in order inside one read transaction::

    read_body -> credentials -> authenticate -> admission -> authorize -> parse -> handler -> render

A route with a rate kept in the store (an admission) takes its token in a job on the store's
writers, between authenticate and authorize, with the read transaction closed meanwhile.
A route declared as a write (``Route.writes``) runs its handler as a job on the store's writers
instead (``Directory.write``, ``store/writer.py``): committed with the group of writes queued
beside it, in its own savepoint, while the event loop goes on serving others. The reply is
rendered after the group's commit, so an acknowledged write is committed; a handler that returns
an ``AfterCommit`` has the rest of its work (a reply's decoded values put into bytes) done then
too, on the loop, instead of inside the job while its group holds the store's write lock. A read
route's handler may return one as well: it is finished the same way, after its read transaction.

The dialect's own error and a ``CoreError`` raised by any step or the handler
become the dialect's error reply; any other exception is the app's internal
error, answered by the dialect that owns the path (``server/app.py``). The
request limits and the control plane's middleware (journal, fault rules) stay
outside, around the whole app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.runtime.throttle import RateLimiter
from openroster.dialects import arrival
from openroster.dialects.base import Admission, AfterCommit, Dialect, Exchange, P, R

Endpoint = Callable[[Request], Awaitable[Response]]


def endpoint(dialect: Dialect[P, R], route: R, admission: Admission | None = None) -> Endpoint:
    """The endpoint serving ``route`` of ``dialect`` (see module)."""
    # The steps, looked up once: this runs on every call.
    answered = dialect.error_types
    request_id, read_body, credentials = dialect.request_id, dialect.read_body, dialect.credentials
    authenticate, authorize, parse = dialect.authenticate, dialect.authorize, dialect.parse
    call, handler, render, error_reply = dialect.call, route.handler, dialect.render, dialect.error_reply
    actor = dialect.actor
    writes = route.writes

    async def serve(request: Request) -> Response:
        arrived = arrival.arrived(request.scope)  # reads see every write acknowledged before this
        # By key: ``state.directory`` fails the plain look-up first (an AttributeError made and dropped).
        d: Directory = request.app.state["directory"]
        x = Exchange(request, route, request_id())
        try:
            x.body = await read_body(x)
            creds = credentials(x)
            principal: Any = None
            if admission is not None:
                # A rate kept in the store: the call's token is taken by a writers' job (in a
                # savepoint of its group), never by a write transaction on the loop.
                with d.reader(fresh_after=arrived) as reader:
                    principal = authenticate(x, creds, reader)
                await d.write(lambda _r: admission(principal, d))
            with d.reader(fresh_after=arrived) as reader:
                if admission is None:
                    principal = authenticate(x, creds, reader)
                authorize(x, principal)
                parsed = parse(x, principal)
                if not writes:
                    result = handler(call(x, d, reader, principal), parsed)
            if writes:
                # A job on the store's writers, committed with its group; the loop only waits.
                result = await d.write(
                    lambda r: handler(call(x, d, r, principal), parsed),
                    weight=len(x.body),
                    actor=actor(principal),
                )
            if type(result) is AfterCommit:  # the rest of the handler's work, off the lock
                result = result.finish()
            return render(x, result)
        except answered as exc:
            return error_reply(x, exc)

    serve.__name__ = handler.__name__
    return serve


def mount(api: FastAPI, dialect: Dialect[Any, Any], *, settings: Settings, limiter: RateLimiter) -> None:
    """Add ``dialect``'s own endpoints, then each of its routes under each of its mounts.

    Only a route's first mount is listed in the OpenAPI document; the others are aliases.
    """
    dialect.mount_own(api)
    admissions = dialect.admissions(settings, limiter)
    for route in dialect.routes:
        extra = dialect.openapi(route)
        for i, prefix in enumerate(dialect.mounts):
            api.add_api_route(
                prefix + route.path,
                endpoint(dialect, route, admissions.get((route.method, route.path))),
                methods=[route.method],
                include_in_schema=i == 0,
                openapi_extra=extra,
                summary=route.summary,
                tags=[dialect.name],
                name=f"{dialect.name}{prefix}{route.path}",
            )
