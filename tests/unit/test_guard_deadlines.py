"""The guarded protocol's timers (``server/guard.py``): the head and body deadlines, armed for a
request that is still arriving, never made for one whose head and body come in one chunk; the
keep-alive timeout, one timer a connection that closes it once idle that long after a reply."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from openroster.server.guard import GuardedHttpTools

BODY = b'{"a":1}'
HEAD = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(
    BODY
)


class _Loop(asyncio.SelectorEventLoop):
    """A real event loop that notes the timers the protocol sets on it."""

    def __init__(self) -> None:
        super().__init__()
        self.timers: list[str] = []
        self.handles: list[asyncio.TimerHandle] = []
        self.keep_alive: list[asyncio.TimerHandle] = []

    def call_later(  # type: ignore[override]
        self, delay: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        name = getattr(callback, "__name__", "?")
        if isinstance(getattr(callback, "__self__", None), GuardedHttpTools):  # not asyncio.sleep's
            self.timers.append(name)
        handle = super().call_later(delay, callback, *args, context=context)
        if name.endswith("_late"):
            self.handles.append(handle)
        elif name == "_keep_alive_due":
            self.keep_alive.append(handle)
        return handle

    def deadline_pending(self) -> bool:
        return any(not h.cancelled() and h.when() > self.time() for h in self.handles)


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.closed_by_server = False  # closed before the connection was lost
        self.timers: list[str] = []  # every timer made while the connection was open
        self.keep_alive_after_lost = False  # a keep-alive timer still due once the connection was lost

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def writelines(self, pieces: list[bytes]) -> None:
        self.writes.append(b"".join(pieces))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def set_write_buffer_limits(self, *_a: Any, **_k: Any) -> None: ...

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 80)}.get(name, default)


async def _app(scope: Any, receive: Any, send: Any) -> None:
    message = await receive()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"%d" % len(message["body"]))],
        }
    )
    await send({"type": "http.response.body", "body": message["body"]})


def _run(
    chunks: list[bytes], *, pause: float = 0.0, keep_alive: int = 30, last_pause: float | None = None
) -> tuple[list[list[str]], _Transport, list[bool]]:
    """Feed ``chunks`` one by one, ``pause`` seconds apart (``last_pause`` after the last one, if
    given); the timers made while each was taken, what was written, whether a head or body
    deadline was pending after each."""
    loop = _Loop()
    try:
        config = uvicorn.Config(
            _app, lifespan="off", log_level="warning", access_log=False, timeout_keep_alive=keep_alive
        )
        config.load()
        protocol = GuardedHttpTools(config, ServerState(), {}, loop)
        transport = _Transport()
        protocol.connection_made(transport)  # type: ignore[arg-type]
        loop.timers.clear()  # the first request's head deadline, set at the connection, stays in handles
        made: list[list[str]] = []
        pending: list[bool] = []

        async def feed() -> None:
            for i, chunk in enumerate(chunks):
                before = len(loop.timers)
                protocol.data_received(chunk)
                made.append(loop.timers[before:])
                for _ in range(5):  # the request's task answers
                    await asyncio.sleep(0)
                pending.append(loop.deadline_pending())
                last = i == len(chunks) - 1
                await asyncio.sleep(last_pause if last and last_pause is not None else pause)

        loop.run_until_complete(feed())
        transport.closed_by_server = transport.closed
        transport.timers = list(loop.timers)
        protocol.connection_lost(None)
        due = [h for h in loop.keep_alive if not h.cancelled() and h.when() > loop.time()]
        transport.keep_alive_after_lost = protocol.timeout_keep_alive_task is not None or bool(due)
        return made, transport, pending
    finally:
        loop.close()


def test_a_request_in_one_chunk_sets_no_deadline_and_is_answered() -> None:
    made, transport, pending = _run([HEAD + BODY, HEAD + BODY])
    assert made == [[], []]
    assert pending == [False, False]
    assert b"".join(transport.writes).count(b"HTTP/1.1 200") == 2


def test_a_request_that_arrives_in_parts_has_its_head_then_its_body_deadline() -> None:
    made, transport, pending = _run([HEAD[:20], HEAD[20:], BODY])
    # the first request's head deadline was set at the connection; the body's once the head is in
    assert made == [[], ["_body_late"], []]
    assert pending == [True, True, False]
    assert b"".join(transport.writes).count(b"HTTP/1.1 200") == 1


def test_the_next_request_begun_in_a_chunk_gets_its_head_deadline() -> None:
    made, _transport, pending = _run([HEAD + BODY + HEAD[:10], HEAD[10:] + BODY])
    assert made == [["_head_late"], []]
    assert pending == [True, False]


def test_the_keep_alive_timer_is_made_once_for_replies_that_follow_each_other() -> None:
    made, transport, _pending = _run([HEAD + BODY] * 4, pause=0.01)
    assert made == [[], [], [], []]
    # made after the first reply, then kept: none for the next replies (uvicorn made one a reply)
    assert transport.timers == ["_keep_alive_due"]
    assert b"".join(transport.writes).count(b"HTTP/1.1 200") == 4
    assert not transport.closed_by_server


def test_a_connection_idle_for_the_keep_alive_timeout_after_its_last_reply_is_closed() -> None:
    # 1 s: replies 0.4 s apart keep it open past the first timer's second, which looks again
    _made, busy, _pending = _run([HEAD + BODY] * 4, pause=0.4, keep_alive=1)
    assert b"".join(busy.writes).count(b"HTTP/1.1 200") == 4
    assert not busy.closed_by_server  # 1.6 s in all, the last reply 0.4 s ago
    assert busy.timers == ["_keep_alive_due", "_keep_alive_due"]
    # the timer that looked again closes it about the timeout after the last reply: not before,
    # not much after (margins a loaded machine's stalls cannot cross: its timer and this test's
    # sleep run on one loop, so a stall past both would show the close at the earlier look)
    _made, busy, _pending = _run([HEAD + BODY] * 4, pause=0.4, keep_alive=1, last_pause=0.6)
    assert not busy.closed_by_server
    _made, busy, _pending = _run([HEAD + BODY] * 4, pause=0.4, keep_alive=1, last_pause=1.6)
    assert busy.closed_by_server
    _made, idle, _pending = _run([HEAD + BODY, HEAD + BODY], pause=0.7, keep_alive=1)
    assert not idle.closed_by_server  # 0.7 s after the second reply
    _made, gone, _pending = _run([HEAD + BODY], pause=1.3, keep_alive=1)
    assert gone.closed_by_server


def test_a_lost_connection_leaves_no_keep_alive_timer() -> None:
    _made, transport, _pending = _run([HEAD + BODY] * 2)
    assert transport.timers == ["_keep_alive_due"]
    assert not transport.keep_alive_after_lost


#: The source (sha256, first 16 hex digits) of uvicorn 0.54.0's methods the guarded protocol copies
#: or leans on: ``on_response_complete`` (copied, with the keep-alive timer made only when none
#: runs), ``_unset_keepalive_if_required`` (overridden: it no longer cancels the timer, so every
#: caller of it must be one the guard overrides or follows), ``connection_lost`` (calls it: the
#: guard cancels the timer itself), ``data_received`` (rewritten with the head count) and
#: ``on_message_complete`` (extended: the connection idle from a late body's end).
UVICORN_SOURCES = {
    "on_response_complete": "64e254f28e389e76",
    "_unset_keepalive_if_required": "00a6a4e47214e68e",
    "connection_lost": "c91a4c9bf2e29c55",
    "data_received": "010a7ae59a5d3b1a",
    "on_message_complete": "1fbad42dc31fc01f",
}


def test_the_uvicorn_code_the_guard_copies_is_the_one_it_was_written_against() -> None:
    changed = [
        name
        for name, digest in UVICORN_SOURCES.items()
        if hashlib.sha256(inspect.getsource(getattr(HttpToolsProtocol, name)).encode()).hexdigest()[:16]
        != digest
    ]
    assert not changed, (
        f"uvicorn {uvicorn.__version__} changed HttpToolsProtocol.{', '.join(changed)}: "
        "re-check GuardedHttpTools (server/guard.py) against it: its copy of on_response_complete, "
        "the override of "
        "_unset_keepalive_if_required (which must not cancel the keep-alive timer, and whose every "
        "caller must be one the guard overrides or whose timer it cancels, as in connection_lost), "
        "data_received and on_message_complete; then update UVICORN_SOURCES"
    )
