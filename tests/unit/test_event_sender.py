"""The event engine's HTTP sender against raw HTTP/1.1 servers on 127.0.0.1 (RFC 9112 framing):
replies by length, by chunks, until close; a kept connection the receiver closed; a receiver
that refuses or never answers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from openroster.events.sender import Sender, SendError


@asynccontextmanager
async def raw_server(
    reply: Callable[[int], bytes], *, close_after: bool = False
) -> AsyncIterator[tuple[str, list[bytes], list[int]]]:
    """A server answering the n-th request (0-based, over all connections) with ``reply(n)``;
    yields its URL, the requests it got and the count of connections it accepted."""
    requests: list[bytes] = []
    connections: list[int] = [0]
    handlers: list[asyncio.Task[None]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                requests.append(head + await reader.readexactly(length))
                writer.write(reply(len(requests) - 1))
                await writer.drain()
                if close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            await closed(writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook?x=1", requests, connections
    finally:
        server.close()
        await asyncio.wait_for(asyncio.gather(*handlers), 5)  # each ends when the sender closes


async def closed(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


@pytest.mark.parametrize(
    ("raw", "body", "kept"),
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsuccess", b"success", True, id="length"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3;x=y\r\nsuc\r\n4\r\ncess\r\n0\r\nT: 1\r\n\r\n",
            b"success",
            True,
            id="chunked-with-extension-and-trailer",
        ),
        pytest.param(b"HTTP/1.1 204 No Content\r\n\r\n", b"", True, id="no-content"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", b"ok", False, id="close"
        ),
        pytest.param(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok", False, id="http-1.0"),
    ],
)
def test_a_reply_is_read_by_its_framing_and_the_connection_kept_when_both_sides_may(
    raw: bytes, body: bytes, kept: bool
) -> None:
    async def scenario() -> None:
        async with raw_server(lambda n: raw, close_after=not kept) as (url, requests, connections):
            sender = Sender()
            try:
                for _ in range(2):
                    assert await sender.post(url, {"s": "a b"}, b'{"k":1}', answer_within=2) == (
                        int(raw.split()[1]),
                        body,
                    )
            finally:
                await sender.aclose()
        assert requests[0].startswith(b"POST /hook?x=1&s=a+b HTTP/1.1\r\n")
        assert b"\r\ncontent-type: application/json\r\n" in requests[0].lower()
        assert requests[0].endswith(b'\r\n\r\n{"k":1}')
        assert connections[0] == (1 if kept else 2)

    asyncio.run(scenario())


def test_a_reply_that_runs_until_close_is_read_whole() -> None:
    async def scenario() -> None:
        async with raw_server(lambda n: b"HTTP/1.1 500 Oops\r\n\r\nbroken", close_after=True) as (url, _, _):
            sender = Sender()
            try:
                assert await sender.post(url, {}, b"{}", answer_within=2) == (500, b"broken")
            finally:
                await sender.aclose()

    asyncio.run(scenario())


def test_a_kept_connection_the_receiver_closed_is_replaced_once() -> None:
    """The receiver closes after each reply although it said nothing: the next request fails on
    the kept connection before any reply byte and goes again on a fresh one."""

    async def scenario() -> None:
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        async with raw_server(lambda n: ok, close_after=True) as (url, requests, connections):
            sender = Sender()
            try:
                for _ in range(3):
                    assert await sender.post(url, {}, b"{}", answer_within=2) == (200, b"")
                    await asyncio.sleep(0.05)  # the server's close reaches the kept connection
            finally:
                await sender.aclose()
        assert (len(requests), connections[0]) == (3, 3)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"SMTP ready\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n", id="header-without-colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", id="cut-short"),
    ],
)
def test_a_malformed_or_cut_reply_fails_the_attempt(raw: bytes) -> None:
    async def scenario() -> None:
        async with raw_server(lambda n: raw, close_after=True) as (url, _, _):
            sender = Sender()
            try:
                with pytest.raises(SendError):
                    await sender.post(url, {}, b"{}", answer_within=2)
            finally:
                await sender.aclose()

    asyncio.run(scenario())


def test_a_refused_connection_and_a_silent_receiver_fail() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]

    async def scenario() -> None:
        sender = Sender()
        try:
            with pytest.raises(SendError, match="ConnectError"):
                await sender.post(f"http://127.0.0.1:{closed_port}/", {}, b"{}", answer_within=2)

            gave_up = asyncio.get_running_loop().create_future()

            async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                try:
                    await reader.read()  # until the sender gives up and closes
                finally:
                    await closed(writer)
                    gave_up.set_result(True)

            silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
            try:
                port = silent.sockets[0].getsockname()[1]
                with pytest.raises(TimeoutError):
                    await sender.post(f"http://127.0.0.1:{port}/", {}, b"{}", answer_within=0.2)
                assert await asyncio.wait_for(gave_up, 5)  # the sender closed its connection
            finally:
                silent.close()
        finally:
            await sender.aclose()

    asyncio.run(scenario())
