"""What every connection and request is held to before a dialect sees it.

uvicorn reads a request's head and body for as long as the client cares to take
and keeps any number of header bytes: a client sending a byte every few seconds
(slowloris) holds a connection open for ever, and a few thousand such clients
hold the server. Two guards close that door.

- :class:`GuardedHttpTools`, the HTTP protocol ``openroster serve`` runs:
  uvicorn's httptools protocol with deadlines. A request's head (request line
  and headers) must arrive within ``head_timeout`` seconds of the connection
  opening or of its first byte, and hold at most ``head_max_bytes``; its body
  must arrive whole within ``body_timeout`` seconds of the head. A request that
  breaks a rule is answered 408 (late) or 431 (head too large), a malformed one
  400, in the envelope of the path's dialect, and the connection is closed (after
  a short linger, so the client can read the reply while it is still sending). An
  idle connection that never sent a byte is closed without a reply.
- :class:`RequestLimits`, ASGI middleware outermost in the app: a declared
  ``Content-Length`` above the limit is answered 413 at once, before any of the
  body is read; a body sent without one (chunked) is cut off with a 413 as soon
  as it passes the limit; a query string with more than ``QUERY_PARAMS_MAX``
  parameters is answered 400, and so is a request that sends a header its
  dialect reads once (``Authorization``, ``Content-Type``, a signature) twice.
  The rest of a refused body is read and dropped as it arrives (never kept),
  the body deadline closes the connection of a client that stops sending it, and
  the keep-alive timeout one that sent it all and nothing more.

The numbers live in ``core/runtime/limits.py``; docs/security.md says how they were chosen.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import httptools
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from openroster.console.refused import refusal_page
from openroster.control.calls import CONSOLE_PREFIX, CONTROL_PREFIX
from openroster.core.runtime import limits
from openroster.dialects import raw, registry
from openroster.dialects.arrival import ARRIVED_SCOPE_KEY
from openroster.dialects.base import Refusal
from openroster.dialects.pieces import EXTENSION as PIECES_EXTENSION
from openroster.server.middleware import HttpMiddleware
from openroster.server.writev import PiecesCycle

#: Seconds a refused connection stays open for reading (and dropping) what the client still sends.
LINGER_SECONDS = 2.0
#: Control-plane calls that take a whole snapshot as their body (admin only; read after the token check).
SNAPSHOT_PATHS_SUFFIX = "/snapshot"

_CONTROL_CODES: dict[int, str] = {
    400: "invalid",
    408: "request_timeout",
    413: "body_too_large",
    431: "headers_too_large",
}
#: A URL under the console (whose refusals are a page for a person, not a platform's envelope).
_CONSOLE_START = CONSOLE_PREFIX.encode() + b"/"
_CONSOLE_START_LEN = len(_CONSOLE_START)
_REASONS: dict[int, bytes] = {
    200: b"OK",
    400: b"Bad Request",
    408: b"Request Timeout",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
}


def refusal(path: str, status: int, message: str) -> Refusal:
    """The reply refusing a request to ``path``: in the control plane's envelope, the console's
    page, or its dialect's."""
    if path.startswith(CONSOLE_PREFIX + "/") or path == CONSOLE_PREFIX:
        return refusal_page(status, _REASONS[status].decode(), message)
    if path.startswith(CONTROL_PREFIX + "/") or path == CONTROL_PREFIX:
        code = _CONTROL_CODES[status]
        return Refusal(status, orjson.dumps({"error": {"code": code, "message": message, "field": None}}))
    return registry.owner(path).refusal(path, status, message)


def body_limit(path: str, method: str) -> int:
    """The largest body a request may carry: 1 MiB, more for a snapshot import (admin only)."""
    if method == "PUT" and path.startswith(CONTROL_PREFIX + "/") and path.endswith(SNAPSHOT_PATHS_SUFFIX):
        return limits.SNAPSHOT_BODY_MAX_BYTES
    return limits.BODY_MAX_BYTES


def too_large_message(limit: int) -> str:
    return f"request body is larger than {limit} bytes"


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a head that is too large."""


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with head and body deadlines and a head size limit (see module);
    its requests' cycles send a reply given in pieces with one vectored write (``server/writev.py``)."""

    head_timeout: ClassVar[float] = limits.HEAD_TIMEOUT_SECONDS
    body_timeout: ClassVar[float] = limits.BODY_TIMEOUT_SECONDS
    head_max_bytes: ClassVar[int] = limits.HEAD_MAX_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        #: A deadline the parser's callbacks asked for, armed once the chunk being parsed is taken
        #: (see :meth:`_want`).
        self._wanted: tuple[float, Any] | None = None
        #: When the connection's last reply ended, while no request has begun since (see
        #: :meth:`on_response_complete`).
        self._idle_since: float | None = None
        self._head_bytes = 0  # of the URL and headers the parser handed over
        self._reading_head = True
        self._head_raw = 0  # bytes received while the head was incomplete
        self._milestones = 0  # heads and messages the parser has completed on this connection
        self._refused = False
        self._too_large = False
        self._console_url = False  # a URL too large to keep began under /console/

    @classmethod
    def configure(cls, *, head_timeout: float, body_timeout: float) -> None:
        cls.head_timeout = head_timeout
        cls.body_timeout = body_timeout

    # -- deadlines ------------------------------------------------------------------------

    def _arm(self, seconds: float, expired: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, expired)

    def _want(self, seconds: float, expired: Any) -> None:
        """:meth:`_arm`, once :meth:`data_received` has parsed the chunk under way: a request whose
        head and body come in one chunk (the usual case) asks for its head's and its body's
        deadline and cancels both before the chunk is taken, so neither timer is ever made."""
        self._disarm()
        self._wanted = (seconds, expired)

    def _disarm(self) -> None:
        self._wanted = None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_late(self) -> None:
        self._deadline = None
        if self._head_bytes == 0 and not getattr(self, "url", b""):
            self._close()  # an idle connection: nothing to answer
            return
        self._refuse(408, f"the request head did not arrive within {self.head_timeout:g} s")

    def _body_late(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            self._refuse(408, f"the request body did not arrive within {self.body_timeout:g} s")
        else:  # answered already (e.g. 413 before the body): stop waiting for the rest
            self._close()

    # -- the protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.head_timeout, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        super().connection_lost(exc)

    # -- keep-alive: one timer a connection, not one a reply -------------------------------
    # Copied from and leaning on uvicorn 0.54.0's code: tests/unit/test_guard_deadlines.py pins
    # the source of the methods concerned, and says what to re-check when uvicorn changes them.

    def _unset_keepalive_if_required(self) -> None:
        # uvicorn cancels its keep-alive timer here, when data arrives, and makes another after the
        # next reply: the timer stays instead and, when it fires, finds the connection busy.
        self._idle_since = None

    def on_response_complete(self) -> None:
        # uvicorn's (0.54), but the keep-alive timer is made only when none is running: one made
        # for an earlier reply checks the idle time when it fires (``_keep_alive_due``).
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle()

    def _idle(self) -> None:
        """Note that the connection is idle from now, and make the keep-alive timer if none runs."""
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self._keep_alive_due)

    def _keep_alive_due(self) -> None:
        """Close the connection if it has been idle for ``timeout_keep_alive`` since its last reply;
        if it has been idle for less, look again when that time is up; if it is busy, the next
        reply makes the timer again."""
        self.timeout_keep_alive_task = None
        if self._idle_since is None:
            return
        left = self._idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(left, self._keep_alive_due)
        else:
            self.timeout_keep_alive_handler()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        milestones_before = self._milestones
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if self._too_large:
                self._refuse(431, f"the request head is larger than {self.head_max_bytes} bytes")
            else:
                self._refuse(400, "the request is not valid HTTP/1.1")
        else:
            # The parser keeps a header it has not seen the end of, so count what arrives too, but only
            # while one head is still incomplete: in a chunk that completed a head or a message (a whole
            # keep-alive request, a head and its body, a body's end and the next head's start) the bytes
            # are not all head; the parser callbacks count the heads there (and the rest of a head
            # begun in such a chunk is counted as it arrives).
            if self._milestones != milestones_before:
                self._head_raw = 0
            elif self._reading_head:
                self._head_raw += len(data)
                if self._head_raw > self.head_max_bytes:
                    self._refuse(431, f"the request head is larger than {self.head_max_bytes} bytes")
        finally:
            if self._wanted is not None:  # the deadline the chunk's last callback asked for
                self._arm(*self._wanted)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[ARRIVED_SCOPE_KEY] = time.monotonic()  # type: ignore[literal-required]
        self.scope.setdefault("extensions", {})[PIECES_EXTENSION] = {}  # replies in pieces: server/writev.py
        self._head_bytes = 0
        if self._deadline is None:
            self._want(self.head_timeout, self._head_late)

    def _count(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > self.head_max_bytes:
            self._too_large = True
            raise _HeadTooLarge

    def on_url(self, url: bytes) -> None:
        try:
            self._count(len(url))
        except _HeadTooLarge:
            self._console_url = (self.url + url[:_CONSOLE_START_LEN]).startswith(_CONSOLE_START)
            raise
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._reading_head = False
        self._milestones += 1
        super().on_headers_complete()
        if type(self.cycle) is RequestResponseCycle:  # the request's new cycle: one taking pieces
            self.cycle.__class__ = PiecesCycle
        self._want(self.body_timeout, self._body_late)

    def on_message_complete(self) -> None:
        self._disarm()
        self._reading_head = True
        self._milestones += 1
        super().on_message_complete()
        # Answered before the body's end (a 413 at the head, any early reply): the reply's idle time
        # ended when the rest arrived, so the connection is idle from the body's end.
        cycle = self.cycle
        if (
            cycle is not None
            and cycle.response_complete
            and not self.pipeline
            and not self.transport.is_closing()
        ):
            self._idle()

    # -- refusing -------------------------------------------------------------------------

    def _close(self) -> None:
        self._refused = True
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, status: int, message: str) -> None:
        """Answer in the dialect's envelope, stop sending, and close after a linger."""
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        raw = getattr(self, "url", b"") or (_CONSOLE_START if self._console_url else b"/")
        path = raw.split(b"?", 1)[0].decode("latin-1")
        code, body, media_type, headers = refusal(path, status, message)
        head = b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\n" % (
            code,
            _REASONS.get(code, b"Error"),
            media_type.encode("latin-1"),
        )
        head += b"".join(b"%s: %s\r\n" % header for header in headers)
        head += b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        self.transport.write(head + body)
        # Closing with unread input would reset the connection, and the client might never see the
        # reply: half-close, drop what still arrives (data_received ignores it), close after a linger.
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._arm(LINGER_SECONDS, self._close)
        else:
            self._close()


# -- ASGI ------------------------------------------------------------------------------------


class RequestLimits(HttpMiddleware):
    """ASGI middleware: body size (declared or streamed) and query parameter count (see module)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        query: bytes = scope["query_string"]
        if query and query.count(b"&") >= limits.QUERY_PARAMS_MAX:
            message = f"the query string has more than {limits.QUERY_PARAMS_MAX} parameters"
            await _reply(send, path, 400, message)
            return
        if (twice := raw.repeated(scope["headers"], registry.SINGLE_HEADERS)) is not None and (
            ambiguous := _ambiguous(path, twice)
        ):
            await _reply(send, path, 400, ambiguous)
            return
        limit = body_limit(path, scope["method"])
        declared: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = int(value) if value.isdigit() else None
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        if declared is not None and declared > limit:
            await _reply(send, path, 413, too_large_message(limit))
            return
        if not chunked:  # the server delivers at most the declared length
            await self.app(scope, receive, send)
            return
        await _CappedBody(self.app, path, limit)(scope, receive, send)


def _ambiguous(path: str, name: bytes) -> str | None:
    """Why a request to ``path`` sending header ``name`` twice is refused, or None when the path's
    reader does not care (the control plane has its own rule for ``Authorization``)."""
    if path.startswith(CONTROL_PREFIX + "/") or name not in registry.owner(path).single_headers:
        return None
    return f"{raw.header_name(name)}: the header is sent more than once; send it once"


class _CappedBody:
    """One chunked request: a 413 (and a disconnect for the app) once the body passes ``limit``."""

    def __init__(self, app: ASGIApp, path: str, limit: int) -> None:
        self.app = app
        self.path = path
        self.limit = limit
        self.size = 0
        self.started = False
        self.refused = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def capped_receive() -> Message:
            if self.refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.size += len(message.get("body", b""))
                if self.size > self.limit:
                    self.refused = True
                    if not self.started:
                        self.started = True
                        await _reply(send, self.path, 413, too_large_message(self.limit))
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if self.refused:
                return  # the client has had its answer
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        await self.app(scope, capped_receive, guarded_send)


async def _reply(send: Send, path: str, status: int, message: str) -> None:
    """Refuse before the app ran. No ``connection: close``: closing with the body unread would reset
    the connection under a client still sending it; the server drops the rest as it arrives."""
    code, body, media_type, headers = refusal(path, status, message)
    await send(
        {
            "type": "http.response.start",
            "status": code,
            "headers": [
                (b"content-type", media_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
