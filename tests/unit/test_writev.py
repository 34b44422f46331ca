"""A reply in pieces reaches the transport as the pieces themselves, in one ``writelines``."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import Any

import pytest
import uvicorn
from starlette.responses import Response
from uvicorn.protocols.http.flow_control import FlowControl

from openroster.dialects import pieces as pieces_module
from openroster.dialects.pieces import EXTENSION, PIECES, Pieces, PiecesResponse, head
from openroster.server.guard import GuardedHttpTools
from openroster.server.writev import PiecesCycle


class _Transport:
    def __init__(self) -> None:
        self.writes: list[Any] = []

    def write(self, data: bytes) -> None:
        if data:  # as asyncio's and uvloop's transports: nothing to write is no write
            self.writes.append(data)

    def writelines(self, pieces: list[bytes]) -> None:
        self.writes.append(list(pieces))

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


def _cycle(transport: _Transport, method: str = "POST") -> tuple[PiecesCycle, list[str]]:
    done: list[str] = []
    scope: Any = {"type": "http", "method": method, "extensions": {EXTENSION: {}}}
    cycle = PiecesCycle(
        scope=scope,
        transport=transport,  # type: ignore[arg-type]
        flow=FlowControl(transport),  # type: ignore[arg-type]
        logger=logging.getLogger("test"),
        access_logger=logging.getLogger("test"),
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=True,
        on_response=lambda: done.append("complete"),
    )
    return cycle, done


def test_pieces_go_to_the_transport_uncopied() -> None:
    pieces = [b'{"result":[', b"1," * 5000 + b"2", b"]}"]
    transport = _Transport()
    cycle, done = _cycle(transport)
    asyncio.run(PiecesResponse(pieces, media_type="application/json")(cycle.scope, cycle.receive, cycle.send))
    (written,) = transport.writes  # the head and the pieces in one writelines
    status_line, *sent = written
    assert status_line.startswith(b"HTTP/1.1 200 OK\r\n") and status_line.endswith(b"\r\n\r\n")
    assert b"content-length: %d\r\n" % sum(map(len, pieces)) in status_line
    assert sent == pieces and all(a is b for a, b in zip(sent, pieces, strict=True))  # the same objects
    assert done == ["complete"] and cycle.response_complete
    # A HEAD sends the head alone; the length still counts.
    transport = _Transport()
    cycle, done = _cycle(transport, "HEAD")
    asyncio.run(PiecesResponse(pieces, media_type="application/json")(cycle.scope, cycle.receive, cycle.send))
    assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert done == ["complete"]


def test_a_held_head_goes_first_when_a_plain_body_follows() -> None:
    transport = _Transport()
    cycle, done = _cycle(transport)

    async def send() -> None:
        head = [(b"content-length", b"5")]
        await cycle.send({"type": "http.response.start", "status": 200, "headers": head, PIECES: True})
        assert transport.writes == []  # held for the pieces
        await cycle.send({"type": "http.response.body", "body": b"[1,2]"})

    asyncio.run(send())
    status_line, body = transport.writes
    assert status_line.startswith(b"HTTP/1.1 200 OK\r\n") and body == b"[1,2]"
    assert done == ["complete"]


def test_pieces_longer_than_the_declared_length_are_refused() -> None:
    transport = _Transport()
    cycle, done = _cycle(transport)

    async def send() -> None:
        await cycle.send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"3")]}
        )
        await cycle.send({"type": "http.response.body", "body": b"", "openroster.pieces": [b"ab", b"cd"]})

    with pytest.raises(RuntimeError, match="longer than Content-Length"):
        asyncio.run(send())
    assert len(transport.writes) == 1 and not done


def test_without_the_extension_the_pieces_are_one_body() -> None:
    messages: list[Any] = []

    async def send(message: Any) -> None:
        messages.append(message)

    asyncio.run(PiecesResponse([b"[1,", b"2]"], media_type="application/json")({"type": "http"}, None, send))  # type: ignore[arg-type]
    assert messages[1] == {"type": "http.response.body", "body": b"[1,2]"}
    assert (b"content-length", b"5") in messages[0]["headers"]


def test_head_reads_across_pieces() -> None:
    message = {"type": "http.response.body", "body": b"", "openroster.pieces": [b"ab", b"cde", b"fg"]}
    assert head(message, 4) == b"abcd"
    assert head(message, 100) == b"abcdefg"
    assert head({"body": b"abcdef"}, 3) == b"abc"


@pytest.mark.parametrize("media_type", ["application/json", "text/plain", "text/html; charset=gbk"])
@pytest.mark.parametrize("status", [200, 204, 404])
def test_the_response_head_is_starlettes_for_the_same_length_and_media_type(
    media_type: str, status: int
) -> None:
    parts = [b'{"result":[', b"1," * 500 + b"2", b"]}"]
    length = sum(map(len, parts))
    starlettes = Response(None, status, {"content-length": str(length)}, media_type)
    for pieces in (parts, Pieces(parts), Pieces(parts, length)):
        ours = PiecesResponse(pieces, media_type=media_type, status_code=status)
        assert ours.raw_headers == starlettes.raw_headers
        assert (ours.status_code, ours.body, ours.background) == (status, b"", None)


def test_a_held_head_is_dropped_when_the_client_went_away() -> None:
    # A real server (uvicorn, uvloop, the guarded protocol): its closed transport raises on a write.
    errors: list[BaseException] = []
    finished = threading.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        head = [(b"content-length", b"5")]
        await send({"type": "http.response.start", "status": 200, "headers": head, PIECES: True})
        assert (await receive())["type"] == "http.disconnect"  # the client closed its end
        try:
            await send({"type": "http.response.body", "body": b"hello"})
        except BaseException as error:
            errors.append(error)
        finally:
            finished.set()

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, loop="uvloop", http=GuardedHttpTools, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]})
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        with socket.create_connection(listener.getsockname()) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert finished.wait(10)
    finally:
        server.should_exit = True
        thread.join()
        listener.close()
    assert errors == []


def test_under_the_tests_a_pieces_size_that_is_wrong_fails_the_reply() -> None:
    # tests/conftest.py turns the check on: a renderer's wrong size cannot pass unnoticed
    assert pieces_module.CHECK_SIZES
    grown = Pieces([b'{"a":', b"1}"])
    grown.append(b" ")  # a list change: size not counted again
    with pytest.raises(AssertionError, match=r"Pieces\.size is 7, its pieces hold 8 bytes"):
        PiecesResponse(grown, media_type="application/json")
    with pytest.raises(AssertionError, match="its pieces hold"):
        PiecesResponse(Pieces([b"[1]"], 2), media_type="application/json")
    # changed after the response was made: the server's send refuses it before writing anything
    later = Pieces([b'{"a":', b"1}"])
    response = PiecesResponse(later, media_type="application/json")
    later += [b" "]
    transport = _Transport()
    cycle, done = _cycle(transport)
    with pytest.raises(AssertionError, match="its pieces hold"):
        asyncio.run(response(cycle.scope, cycle.receive, cycle.send))
    assert transport.writes == [] and not done
