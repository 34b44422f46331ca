"""The short way to a platform endpoint: a request naming a plain route exactly goes straight to it.

Every dialect endpoint is a plain coroutine ``(request) -> Response``: no path
parameters, no dependencies, no body model for FastAPI to fill (each dialect
reads and validates its own body, to answer in its own envelope). For such a
route FastAPI's router and request handler do nothing but cost: a linear scan
of some 200 routes, dependency solving, an exit stack and three middlewares,
about a third of the server's time on a ``batch_read`` of 100 people (see
docs/benchmarks.md). :class:`ExactRoutes` looks those routes up by method and
path in a dict and calls the endpoint itself; anything else (a path with
parameters, ``HEAD``, the control plane's typed routes, 404 and 405) goes
through FastAPI as before. An exception from the endpoint is answered by the
app's own exception handler for it, as FastAPI would.

The index is built from the app's routes when the middleware stack is built
(on the first request), so it holds exactly the routes FastAPI would match.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


def plain(route: object) -> bool:
    """Whether FastAPI would call this route's endpoint with the request alone and nothing else."""
    if not isinstance(route, APIRoute) or route.param_convertors:
        return False
    dep = route.dependant
    return (
        dep.request_param_name is not None
        and not dep.dependencies
        and not dep.path_params
        and not dep.query_params
        and not dep.header_params
        and not dep.cookie_params
        and not dep.body_params
        and dep.websocket_param_name is None
        and dep.response_param_name is None
        and dep.background_tasks_param_name is None
    )


class ExactRoutes:
    """ASGI: plain routes by ``(method, path)``; every other request to ``fallback`` (see module)."""

    def __init__(self, api: FastAPI, fallback: ASGIApp) -> None:
        self.api = api
        self.fallback = fallback
        self.index: dict[tuple[str, str], Endpoint] = {}
        for route in api.routes:
            if plain(route):
                assert isinstance(route, APIRoute)
                for method in route.methods or ():
                    # The first route FastAPI would match wins, as in its own scan.
                    self.index.setdefault((method, route.path), route.endpoint)

    def _handler(self, exc: Exception) -> ExceptionHandler | None:
        handlers: dict[Any, Any] = self.api.exception_handlers
        for cls in type(exc).__mro__:
            if cls in handlers:
                handler: ExceptionHandler = handlers[cls]
                return handler
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = (
            self.index.get((scope["method"], scope["path"]))
            if scope["type"] == "http" and not scope.get("root_path")
            else None
        )
        if endpoint is None:
            await self.fallback(scope, receive, send)
            return
        scope["app"] = self.api
        scope["path_params"] = {}
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)
