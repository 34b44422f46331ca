"""The pure ASGI middleware in front of every platform call: request ids, fault rules, the journal.

It sits outermost, so it sees exactly what the client sees (internal errors
included) and can close a connection. Its cost on a call when no fault rule
is set is a few attribute reads and two small closures; the journal keeps raw
references and does its parsing when it is read (see ``journal.py``).

Every platform reply carries ``X-Request-Id`` (unless the dialect set one);
the id is also in the ASGI scope as ``openroster.request_id`` for dialects
that repeat it in their body.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openroster.control.calls import RawCall, dialect_of, is_platform
from openroster.control.faults import Fault, FaultBook
from openroster.control.journal import REPLY_HEAD_BYTES, Journal
from openroster.dialects import pieces
from openroster.dialects.ids import hex_ids

log = logging.getLogger("openroster.control")

REQUEST_ID_SCOPE_KEY = "openroster.request_id"
_REQUEST_ID = b"x-request-id"


class InjectedDisconnect(ConnectionAbortedError):
    """A ``close`` fault where the server cannot reach the connection (in-process transports)."""


class PlatformCalls:
    """ASGI middleware: see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        journal: Journal,
        faults: FaultBook,
        app_of: Callable[[RawCall], str | None],
        tenant_of: Callable[[str | None], str | None],
        clock: Callable[[], Callable[[], float]],
        sync: Callable[[Scope], None] | None = None,
    ) -> None:
        self.app = app
        self._sync = sync
        self.journal = journal
        self.faults = faults
        self._app_of = app_of
        self._tenant_of = tenant_of
        self._clock_of = clock
        self._now: Callable[[], float] | None = None
        #: 13 lowercase hex characters: a random per-process prefix and a counter.
        self._ids = hex_ids()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_platform(scope["path"]):
            await self.app(scope, receive, send)
            return
        request_id = self._ids()
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        rid = request_id.encode()
        if self._sync is not None:
            self._sync(scope)  # the fault rules and the clock as every process shares them
        journal = self.journal
        if not journal.enabled and not self.faults.rules:
            await self.app(scope, receive, _with_request_id(send, rid))
            return
        now = self._now
        if now is None:  # the server's clock, once the server has started
            now = self._now = self._clock_of()
        started = time.perf_counter()
        at = now()
        body: list[bytes] = []
        size = 0
        fault: Fault | None = None
        consumed = False  # whether a fault rule already read the body (then it is in ``body``)
        if self.faults.rules:
            fault, receive, consumed, body, size = await self._fault_for(scope, receive)
            if fault is not None:
                if fault.latency_ms:
                    await asyncio.sleep(fault.latency_ms / 1000)
                if fault.action != "latency":
                    acted: tuple[int, bytes] = (0, b"")
                    try:
                        acted = await self._act(fault, scope, body, request_id, send)
                    finally:
                        if journal.enabled:
                            journal.record(
                                scope,
                                at,
                                started,
                                body,
                                size,
                                *acted,
                                request_id,
                                fault.id,
                                time.perf_counter(),
                            )
                    return
            if not journal.enabled:
                await self.app(scope, receive, _with_request_id(send, rid))
                return

        status = 0
        head = b""
        body_max = journal.body_max

        async def receive_recorded() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                if chunk:
                    if size < body_max:
                        body.append(chunk if size + len(chunk) <= body_max else chunk[: body_max - size])
                    size += len(chunk)
            return message

        fault_id = fault.id if fault is not None else None
        recorded = False

        def keep(status: int) -> None:
            nonlocal recorded
            recorded = True
            journal.record(
                scope, at, started, body, size, status, head, request_id, fault_id, time.perf_counter()
            )

        async def send_recorded(message: Message) -> None:
            nonlocal status, head
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                message = _add_request_id(message, rid)
            elif kind == "http.response.body":
                if not head:
                    head = pieces.head(message, REPLY_HEAD_BYTES)
                if not message.get("more_body", False) and not recorded:
                    # kept before the reply's last bytes leave: a client that reads the journal
                    # as soon as it has the reply finds the call there
                    keep(status)
            await send(message)

        try:
            await self.app(scope, receive if consumed else receive_recorded, send_recorded)
        except BaseException:
            if not recorded:
                keep(status or 500)
            raise
        if not recorded:
            keep(status)

    async def _fault_for(
        self, scope: Scope, receive: Receive
    ) -> tuple[Fault | None, Receive, bool, list[bytes], int]:
        """``(fault, receive, consumed, body, size)``: the rule that fires for this call, if any.

        When some rule's request line matches, the body is read first (rules may look at it and the
        journal keeps it); ``receive`` then replays it to the app.
        """
        path = scope["path"]
        method = scope["method"]
        candidates = self.faults.candidates(method, path, dialect_of(path))
        if not candidates:
            return None, receive, False, [], 0
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        whole = b"".join(chunks)
        call = RawCall(method, path, scope["query_string"], scope["headers"], whole)
        fault = self.faults.fire(candidates, call, app_of=self._app_of, tenant_of=self._tenant_of)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        kept = whole[: self.journal.body_max]
        return fault, replay, True, [kept] if kept else [], len(whole)

    async def _act(
        self, fault: Fault, scope: Scope, body: list[bytes], request_id: str, send: Send
    ) -> tuple[int, bytes]:
        """Carry out an ``error``, ``http`` or ``close`` fault; ``(status, reply head)`` for the journal."""
        if fault.action == "close":
            await _close_connection(send, fault.id)
            return 0, b""
        call = RawCall(
            scope["method"], scope["path"], scope["query_string"], scope["headers"], b"".join(body)
        )
        status, headers, payload = fault.reply(call, request_id)
        headers.append((_REQUEST_ID, request_id.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload, "more_body": False})
        return status, payload[:REPLY_HEAD_BYTES]


def _add_request_id(message: Message, rid: bytes) -> Message:
    headers = message.get("headers") or ()
    for key, _value in headers:
        if key == _REQUEST_ID:
            return message
    return {**message, "headers": [*headers, (_REQUEST_ID, rid)]}


def _with_request_id(send: Send, rid: bytes) -> Send:
    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = _add_request_id(message, rid)
        await send(message)

    return send_with_id


async def _close_connection(send: Send, fault_id: str) -> None:
    """Close the client's connection without a reply.

    uvicorn's ``send`` is a method of the request's cycle, which holds the
    connection's transport: closing it ends the connection at once, and
    uvicorn, seeing the peer gone, sends nothing more. Anywhere else (an
    in-process transport) the call raises :class:`InjectedDisconnect`.
    """
    cycle: Any = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        raise InjectedDisconnect(f"fault {fault_id}: connection closed")
    transport.close()
    for _ in range(20):  # let the loop run connection_lost, so uvicorn knows the peer is gone
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)
    log.debug("fault %s: closed the connection, uvicorn did not notice yet", fault_id)
