"""Helpers for the DingTalk Stream mode tests: a tenant with a DingTalk app, and a raw client.

The raw client is written from the protocol file (``events.md`` §3) with the ``websockets``
library, not with openroster's code: it opens a connection (``connections/open``, then the
WebSocket with ``?ticket=``), reads JSON text frames and answers them with ACKs it builds itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote_plus

import httpx
import orjson
from dingtalk_support import AGENTID, APPKEY, APPSECRET
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from wps_contacts_support import setup_tenant

from openroster.core.directory import Directory
from openroster.core.tenancy import apps

OPEN_PATH = "/v1.0/gateway/connections/open"
PERMISSIONS = ("qyapi_hrm_read_user", "qyapi_hrm_manager", "qyapi_get_member")
EVENT_TOPICS = [{"type": "EVENT", "topic": "*"}]


def world(d: Directory) -> None:
    """Tenant acme with its WPS app (KSO-1) and a DingTalk app."""
    setup_tenant(d)
    apps.create(d, tenant_id="acme", client_id=APPKEY, secret=APPSECRET, agentid=AGENTID, scopes=PERMISSIONS)


def open_connection(base_url: str, **body: Any) -> httpx.Response:
    """``POST connections/open`` as the SDK sends it (the app's credentials unless ``body`` says)."""
    fields = {
        "clientId": APPKEY,
        "clientSecret": APPSECRET,
        "subscriptions": EVENT_TOPICS,
        "ua": "dingtalk-sdk-python/v0.24.3-union",
        "localIp": "127.0.0.1",
        **body,
    }
    return httpx.post(
        base_url + OPEN_PATH, content=orjson.dumps(fields),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )  # fmt: skip


def ticket_url(base_url: str, **body: Any) -> str:
    """The WebSocket URL with a fresh ticket, as the SDK makes it."""
    resp = open_connection(base_url, **body)
    assert resp.status_code == 200, resp.text
    reply = resp.json()
    return f"{reply['endpoint']}?ticket={quote_plus(reply['ticket'])}"


@contextmanager
def raw_stream(base_url: str) -> Iterator[ClientConnection]:
    with connect(ticket_url(base_url), open_timeout=10, close_timeout=2) as ws:
        yield ws


def next_frame(ws: ClientConnection, kind: str = "EVENT", timeout: float = 10.0) -> dict[str, Any]:
    """The next frame of this type (SYSTEM pings on the way are answered)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = orjson.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        if frame["type"] == kind:
            return dict(frame)
        if frame["type"] == "SYSTEM":
            ack(ws, frame)


def frames_within(ws: ClientConnection, seconds: float, *, but: str) -> list[dict[str, Any]]:
    """The frames that came within ``seconds``, but those of type ``but`` (answered, if SYSTEM)."""
    deadline, got = time.monotonic() + seconds, []
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = orjson.loads(ws.recv(timeout=left))
        except TimeoutError:
            break
        if frame["type"] != but:
            got.append(dict(frame))
        elif but == "SYSTEM":
            ack(ws, frame)
    return got


def ack(ws: ClientConnection, frame: dict[str, Any], code: int = 200, data: Any = None) -> None:
    """The ACK of a frame: its messageId, ``code``, ``data`` (default: the frame's own, as the SDK)."""
    reply = {
        "code": code,
        "headers": {"messageId": frame["headers"]["messageId"], "contentType": "application/json"},
        "message": "OK" if code == 200 else "later",
        "data": frame["data"] if data is None else orjson.dumps(data).decode(),
    }
    ws.send(orjson.dumps(reply).decode())


@contextmanager
def acking_stream(base_url: str) -> Iterator[list[str]]:
    """A raw client connected to ``base_url`` that ACKs every EVENT frame with 200, in a thread of
    its own: the ``eventId`` of each frame pushed to it, in arrival order."""
    pushed: list[str] = []
    stop = threading.Event()

    def run(ws: ClientConnection) -> None:
        while not stop.is_set():
            try:
                frame = next_frame(ws, timeout=0.2)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            pushed.append(frame["headers"]["eventId"])
            ack(ws, frame)

    with raw_stream(base_url) as ws:
        reader = threading.Thread(target=run, args=(ws,), daemon=True)
        reader.start()
        try:
            yield pushed
        finally:
            stop.set()
            reader.join(5)
