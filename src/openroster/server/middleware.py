"""What every ASGI middleware of the server's own starts with: the wrapped app, and anything but an HTTP
request (the lifespan, a websocket) passed straight through."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    """ASGI middleware acting on HTTP requests only: a subclass's :meth:`http` sees each one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request; by default passed on unchanged."""
        await self.app(scope, receive, send)
