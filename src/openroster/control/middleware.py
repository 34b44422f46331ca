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
import os
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openroster.control.calls import RawCall, dialect_of, is_platform
from openroster.control.faults import Fault, FaultBook
from openroster.control.journal import REPLY_HEAD_BYTES, Entry, Journal

log = logging.getLogger("openroster.control")

REQUEST_ID_SCOPE_KEY = "openroster.request_id"
_REQUEST_ID = b"x-request-id"


class RequestIds:
    """13 lowercase hex characters: a random per-process prefix and a counter (cheap and unique)."""

    __slots__ = ("_n", "_prefix")

    def __init__(self) -> None:
        self._prefix = os.urandom(3).hex()[:5]
        self._n = 0

    def __call__(self) -> str:
        self._n += 1
        return f"{self._prefix}{self._n & 0xFFFFFFFF:08x}"


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
        clock: Callable[[], float],
    ) -> None:
        self.app = app
        self.journal = journal
        self.faults = faults
        self._app_of = app_of
        self._tenant_of = tenant_of
        self._clock = clock
        self._ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_platform(scope["path"]):
            await self.app(scope, receive, send)
            return
        request_id = self._ids()
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        started = time.perf_counter()
        at = self._clock()
        journal = self.journal
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
                            self._record(scope, at, started, body, size, *acted, request_id, fault.id)
                    return

        status = 0
        head = b""
        recording = journal.enabled
        body_max = journal.body_max
        rid = request_id.encode()

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

        async def send_with_id(message: Message) -> None:
            nonlocal status, head
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                headers = message.get("headers") or []
                if not any(k == _REQUEST_ID for k, _ in headers):
                    message = {**message, "headers": [*headers, (_REQUEST_ID, rid)]}
            elif kind == "http.response.body" and not head:
                chunk = message.get("body", b"")
                head = chunk if len(chunk) <= REPLY_HEAD_BYTES else chunk[:REPLY_HEAD_BYTES]
            await send(message)

        fault_id = fault.id if fault is not None else None
        try:
            await self.app(scope, receive_recorded if recording and not consumed else receive, send_with_id)
        except BaseException:
            if recording:
                self._record(scope, at, started, body, size, status or 500, head, request_id, fault_id)
            raise
        if recording:
            self._record(scope, at, started, body, size, status, head, request_id, fault_id)

    def _record(
        self,
        scope: Scope,
        at: float,
        started: float,
        body: list[bytes],
        size: int,
        status: int,
        head: bytes,
        request_id: str,
        fault: str | None,
    ) -> None:
        journal = self.journal
        journal.append(
            Entry(
                seq=journal.next_seq(),
                time=at,
                method=scope["method"],
                path=scope["path"],
                query=scope["query_string"],
                headers=scope["headers"],
                body=body,
                body_size=size,
                status=status,
                reply_head=head,
                latency=time.perf_counter() - started,
                request_id=request_id,
                fault=fault,
            )
        )

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
