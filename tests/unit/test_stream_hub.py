"""The Stream hub of one process: SYSTEM pings answered by ACKs keep a connection listed, and
a connection that stops answering, or whose process died, drops out (both backends).

The WebSocket is replaced by a function that sees each frame the hub sends and answers as the
protocol file says a client does (an ACK with the frame's messageId and code 200); the tickets and
connection rows are the store's.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from openroster.core.directory import Directory
from openroster.events.stream_hub import StreamConnection, StreamHub

WALL_FAR = 1 << 60


def taken(d: Directory, ticket: str, connection_id: str) -> None:
    with d.store.write() as tx:
        tx.stream.insert_ticket(ticket, tenant="acme", app="key", topics=[], expires_at=d.now_ms() + 90_000)
        assert tx.stream.take_ticket(
            ticket, now_ms=d.now_ms(), connection_id=connection_id, worker="w", alive_until=1
        ) == ("acme", "key", [])


def listed(d: Directory) -> list[str]:
    with d.store.read() as tx:
        return [c.connection_id for c in tx.stream.connections("acme", 2)]


def test_a_ping_answered_keeps_the_connection_listed_and_a_silent_one_lapses(
    directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = StreamHub(directory, worker="w")
    frames: list[dict[str, object]] = []

    def client(answers: bool) -> Callable[[str], Awaitable[None]]:
        async def send(text: str) -> None:
            frame = orjson.loads(text)
            frames.append(frame)
            if answers:  # the SDK acks a SYSTEM frame echoing its data
                talking.acked(frame["headers"]["messageId"], 200, frame["data"].encode())

        return send

    talking = StreamConnection("c-talks", "acme", "key", client(answers=True))
    silent = StreamConnection("c-silent", "acme", "key", client(answers=False))
    taken(directory, "t1", talking.connection_id)
    taken(directory, "t2", silent.connection_id)
    assert listed(directory) == []  # alive_until 1: lapsed until a ping is answered
    hub.add(talking)
    hub.add(silent)
    on_loop, write = threading.get_ident(), directory.store.write

    def writers_only(*args: Any, **kwargs: Any) -> Any:  # the keepalive's write is a writers' job
        assert threading.get_ident() != on_loop, "a write transaction on the event loop"
        return write(*args, **kwargs)

    monkeypatch.setattr(directory.store, "write", writers_only)
    alive = asyncio.run(hub.keepalive_once(wait=0.2))
    assert alive == ["c-talks"] and listed(directory) == ["c-talks"]
    pings = [f for f in frames if f["type"] == "SYSTEM"]
    assert len(pings) == 2
    for f in pings:
        headers = f["headers"]
        assert isinstance(headers, dict) and headers["topic"] == "ping"
        assert isinstance(f["data"], str) and orjson.loads(f["data"])["opaque"]
    assert not silent.pending and not talking.pending  # no answer waits forever


def test_a_closed_connection_is_unlisted_and_its_rows_pruned(directory: Directory) -> None:
    taken(directory, "t1", "c1")
    with directory.store.write() as tx:
        tx.stream.keep_alive(["c1"], WALL_FAR)
    assert listed(directory) == ["c1"]
    with directory.store.write() as tx:
        tx.stream.close("c1", directory.now_ms())
        tx.stream.insert_ticket("t2", tenant="acme", app="key", topics=[], expires_at=0)  # expired unused
        assert (
            tx.stream.take_ticket(
                "t2", now_ms=directory.now_ms(), connection_id="c2", worker="w", alive_until=1
            )
            is None
        )
        assert tx.stream.prune(now_ms=directory.now_ms(), wall_ms=2) == 2
    assert listed(directory) == []
