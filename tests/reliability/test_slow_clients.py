"""Slow clients cannot hold the server: head and body deadlines (``server/guard.py``).

The server here runs with short deadlines (``--head-timeout 1 --body-timeout 2``;
the defaults are 10 s and 30 s) so the suite stays quick. Every test talks raw
TCP, as a slow or hostile client would. The keep-alive tests run the guarded
protocol under uvicorn in this process, with a keep-alive timeout of 1 s
(``serve`` fixes it at 30 s).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from openroster.core.runtime import limits
from openroster.server.guard import GuardedHttpTools, RequestLimits
from reliability.replies import check_reply, raw_reply
from reliability.servers import WorldServer, world_server

pytestmark = pytest.mark.slow

HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0
#: How long past a deadline the server may take to close (a loaded 2-core machine).
SLACK = 3.0
#: When a test stops waiting for the server to close a connection (it should have long before).
GIVE_UP_S = 30


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldServer]:
    extra = ("--head-timeout", str(HEAD_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT))
    with world_server(request, tmp_path_factory, "sqlite", *extra) as w:
        yield w


def _connect(world: WorldServer) -> socket.socket:
    host, port = world.base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _wait_for_reply(s: socket.socket, trickle: bytes = b"", every: float = 0.25) -> tuple[bytes, bool]:
    """Send ``trickle`` a byte at a time until the server closes the connection (or 30 s pass).

    ``(all it sent, whether the server closed the connection)``.
    """
    started = time.monotonic()
    s.settimeout(every)
    got = b""
    i = 0
    while time.monotonic() - started < GIVE_UP_S:
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            if i < len(trickle):
                try:
                    s.sendall(trickle[i : i + 1])
                except OSError:
                    break
                i += 1
            continue
        except ConnectionResetError:
            return got, True
        if not chunk:
            return got, True
        got += chunk
    return got, False


def _reply_of(raw: bytes, path: str) -> tuple[int, dict[str, object]]:
    status, headers, body = raw_reply(raw)
    return status, check_reply(path, status, headers, body)


@pytest.mark.e2e
def test_an_idle_connection_is_closed_at_the_head_deadline(world: WorldServer) -> None:
    with _connect(world) as s:
        got, closed = _wait_for_reply(s)
    assert closed and got == b"", got


@pytest.mark.e2e
@pytest.mark.parametrize("path", ["/v7/users/batch_read", "/topapi/smartwork/hrm/employee/v2/list"])
def test_a_slow_head_is_refused_in_the_dialect_envelope(world: WorldServer, path: str) -> None:
    """A head sent a byte every quarter second (slowloris) is cut off at the deadline, with a 408."""
    with _connect(world) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n".encode())
        got, closed = _wait_for_reply(s, trickle=b"X-Slow: " + b"s" * 1000)
    assert closed  # although the trickle went on (it lasts 250 s)
    status, reply = _reply_of(got, path)
    if path.startswith("/topapi"):
        assert (status, reply["errcode"]) == (200, 400002), reply
        assert "did not arrive within 1 s" in str(reply["errmsg"])
    else:
        assert (status, reply["code"]) == (408, 40800001), reply
        assert "head did not arrive within 1 s" in str(reply["msg"])


@pytest.mark.e2e
def test_a_slow_body_is_refused_408_at_the_body_deadline(world: WorldServer) -> None:
    body = orjson.dumps({"user_ids": ["shared-1"], "status": ["active"]})
    with _connect(world) as s:
        s.sendall(
            b"POST /v7/users/batch_read HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + world.wps_token.encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:5]
        )
        got, closed = _wait_for_reply(s, trickle=body[5:-1], every=0.5)
    assert closed  # although the body was still coming (its last byte never is)
    status, reply = _reply_of(got, "/v7/users/batch_read")
    assert (status, reply["code"]) == (408, 40800001), reply
    assert "body did not arrive within 2 s" in str(reply["msg"])


@pytest.mark.e2e
def test_a_request_within_the_deadlines_is_served(world: WorldServer) -> None:
    """A slow but timely client is not refused: head over 0.6 s, body over 1.2 s."""
    body = orjson.dumps({"user_ids": ["shared-1"], "status": ["active"]})
    head = (
        b"POST /v7/users/batch_read HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + world.wps_token.encode() + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
    )
    with _connect(world) as s:
        for part in (head[:20], head[20:60], head[60:]):
            s.sendall(part)
            time.sleep(0.2)
        for i in range(0, len(body), len(body) // 4 + 1):
            s.sendall(body[i : i + len(body) // 4 + 1])
            time.sleep(0.3)
        got, closed = _wait_for_reply(s)
    assert closed  # Connection: close
    status, reply = _reply_of(got, "/v7/users/batch_read")
    assert (status, reply["code"]) == (200, 0), reply


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.e2e
def test_hundreds_of_slow_clients_do_not_hold_the_server(world: WorldServer) -> None:
    """300 slowloris connections: other clients are still served, and the server drops them all."""
    pid = world.server.proc.pid
    baseline = _open_fds(pid)
    slow = [_connect(world) for _ in range(300)]
    stop = threading.Event()

    def trickle() -> None:  # one header byte per connection every 0.2 s
        for s in slow:
            s.sendall(b"GET /v7/users HTTP/1.1\r\nHost: x\r\n")
        while not stop.wait(0.2):
            for s in slow:
                with contextlib.suppress(OSError):
                    s.sendall(b"x")

    feeder = threading.Thread(target=trickle, daemon=True)
    feeder.start()
    try:
        # Served while 300 slow clients wait (how fast is bench/'s question, not this test's).
        headers = {"Authorization": f"Bearer {world.wps_token}"}
        with httpx.Client(base_url=world.base_url, timeout=30, headers=headers) as http:
            for _ in range(40):
                resp = http.post(
                    "/v7/users/batch_read", json={"user_ids": ["shared-1"], "status": ["active"]}
                )
                assert resp.status_code == 200 and resp.json()["code"] == 0
                assert [u["id"] for u in resp.json()["data"]["items"]] == ["shared-1"]
        time.sleep(HEAD_TIMEOUT + SLACK)
        closed = 0
        for s in slow:
            s.settimeout(0.5)
            try:
                data = s.recv(65536)
                closed += data == b"" or data.startswith(b"HTTP/1.1 408")
            except (ConnectionResetError, BrokenPipeError):
                closed += 1
            except TimeoutError:
                pass
        assert closed == len(slow), f"{len(slow) - closed} slow connections still open"
    finally:
        stop.set()
        feeder.join(5)
        for s in slow:
            s.close()
    deadline = time.monotonic() + 10
    while _open_fds(pid) > baseline + 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _open_fds(pid) <= baseline + 5, (baseline, _open_fds(pid))


# -- keep-alive ----------------------------------------------------------------------------

KEEP_ALIVE = 1


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]}
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def keep_alive_server() -> Iterator[tuple[str, int]]:
    """uvicorn with the guarded protocol, ``RequestLimits`` before an echo app, keep-alive 1 s."""
    saved = GuardedHttpTools.head_timeout, GuardedHttpTools.body_timeout
    GuardedHttpTools.configure(head_timeout=HEAD_TIMEOUT, body_timeout=BODY_TIMEOUT)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        RequestLimits(_echo),
        loop="uvloop",
        http=GuardedHttpTools,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        yield sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        GuardedHttpTools.configure(head_timeout=saved[0], body_timeout=saved[1])


def _post(path: str, body: bytes) -> bytes:
    return b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (path.encode(), len(body), body)


def _closed_after(s: socket.socket, since: float) -> float:
    """Seconds from ``since`` until the server closed ``s`` (reading and dropping what it sends)."""
    s.settimeout(KEEP_ALIVE + SLACK)
    try:
        while s.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"still open {time.monotonic() - since:.1f} s after (keep-alive {KEEP_ALIVE} s)")
    return time.monotonic() - since


@pytest.mark.e2e
def test_a_connection_that_served_several_requests_is_closed_the_keep_alive_timeout_after_its_last(
    keep_alive_server: tuple[str, int],
) -> None:
    # replies 0.4 s apart: the timer made after the first fires while the connection is busy and
    # looks again; the connection closes 1 s after the last reply, not after the first or at twice
    with socket.create_connection(keep_alive_server, timeout=10) as s:
        for i in range(4):
            s.sendall(_post("/x", b"%d" % i))
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
            last = time.monotonic()
            time.sleep(0.4 if i < 3 else 0)
        idle = _closed_after(s, last)
    assert 0.9 * KEEP_ALIVE <= idle <= KEEP_ALIVE + SLACK, idle


@pytest.mark.e2e
def test_a_slow_head_after_a_reply_on_a_kept_alive_connection_is_cut_at_the_head_deadline(
    keep_alive_server: tuple[str, int],
) -> None:
    with socket.create_connection(keep_alive_server, timeout=10) as s:
        s.sendall(_post("/x", b"hi"))
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(0.2)
        begun = time.monotonic()
        s.sendall(b"POST /x HTTP/1.1\r\n")
        got, closed = _wait_for_reply(s, trickle=b"X-Slow: " + b"s" * 1000)
    took = time.monotonic() - begun
    assert closed  # although the trickle went on, and the keep-alive timer fired while it did
    assert got.startswith(b"HTTP/1.1 408"), got
    assert 0.9 * HEAD_TIMEOUT <= took <= HEAD_TIMEOUT + SLACK, took


@pytest.mark.e2e
def test_a_body_sent_after_an_early_reply_leaves_the_connection_to_the_keep_alive_timeout(
    keep_alive_server: tuple[str, int],
) -> None:
    """A 413 answered at the head; the client sends the rest of the body after it, then nothing:
    closed the keep-alive timeout after the body's end."""
    body = b"a" * (limits.BODY_MAX_BYTES + 1)
    with socket.create_connection(keep_alive_server, timeout=10) as s:
        s.sendall(_post("/x", body)[: -len(body) + 10])
        assert s.recv(65536).startswith(b"HTTP/1.1 413")
        time.sleep(0.3)
        s.sendall(body[10:])
        idle = _closed_after(s, time.monotonic())
    assert idle >= 0.9 * KEEP_ALIVE, idle
