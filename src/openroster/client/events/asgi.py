"""What both platforms' receivers share: read a POST, check it, call the handler, answer JSON.

Plain ASGI (no framework), so a receiver mounts in any ASGI server or framework
(uvicorn, Starlette's ``Mount``, FastAPI's ``app.mount``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Generic, TypeVar

import orjson

from openroster.dialects.event_wire import EventError, EventSignatureError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

E = TypeVar("E")

#: What a receiver calls with each verified, decrypted event: a plain or an ``async`` function.
Handler = Callable[[E], Awaitable[None] | None]

#: A receiver reads at most this much of a body (WPS and DingTalk events are far smaller).
MAX_BODY_BYTES = 1 << 20


class RequestRefused(Exception):
    """The request cannot be handled; ``status`` and ``reason`` are what the receiver answers."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def status_for(error: EventError) -> int:
    """401 for a signature that does not match, 400 for every other failed check."""
    return 401 if isinstance(error, EventSignatureError) else 400


async def read_post(scope: Scope, receive: Receive) -> bytes:
    """The body of an HTTP POST; :class:`RequestRefused` for another method or an oversized body."""
    if scope.get("method") != "POST":
        raise RequestRefused(405, "only POST")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestRefused(400, "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestRefused(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def json_object(body: bytes) -> dict[str, Any]:
    """``body`` parsed as a JSON object; :class:`RequestRefused` (400) otherwise."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestRefused(400, "the body is not JSON") from None
    if not isinstance(value, dict):
        raise RequestRefused(400, "the body is not a JSON object")
    return value


async def send_json(send: Send, status: int, value: object) -> None:
    """Answer ``status`` with ``value`` as a JSON body."""
    body = orjson.dumps(value)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def call_handler(handler: Handler[E], event: E) -> None:
    """Call ``handler`` with ``event``, awaiting it when it is a coroutine function."""
    result = handler(event)
    if inspect.isawaitable(result):
        await result


async def answer_lifespan(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer a ``lifespan`` scope (nothing to start); ``True`` when ``scope`` was one."""
    if scope["type"] != "lifespan":
        return False
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return True


class EventReceiver(Generic[E]):
    """An ASGI app that checks each POST with :meth:`open`, hands the event to ``handler`` and
    answers 200 with :meth:`answer`.

    A failed check (:class:`EventError`) is answered 401 (signature) or 400 and the handler is
    not called; a handler that raises is answered 500, so the platform retries. Both are logged
    on the logger of the subclass's module.
    """

    def __init__(self, handler: Handler[E]) -> None:
        self.handler = handler
        self._log = logging.getLogger(type(self).__module__)

    def open(self, query_string: bytes, body: dict[str, Any]) -> E | None:
        """The event in a request, or ``None`` for a probe (answered without the handler)."""
        raise NotImplementedError

    def answer(self, body: dict[str, Any], event: E | None) -> object:
        """The JSON body of the 200 answer to ``body`` (``event`` ``None`` for a probe)."""
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if await answer_lifespan(scope, receive, send):
            return
        try:
            body = json_object(await read_post(scope, receive))
            event = self.open(scope.get("query_string", b""), body)
        except RequestRefused as refused:
            await send_json(send, refused.status, {"error": refused.reason})
            return
        except EventError as error:
            self._log.warning("refused a request: %s", error)
            await send_json(send, status_for(error), {"error": str(error)})
            return
        if event is not None:
            try:
                await call_handler(self.handler, event)
            except Exception:
                self._log.exception("the handler failed")
                await send_json(send, 500, {"error": "the handler failed"})
                return
        await send_json(send, 200, self.answer(body, event))
