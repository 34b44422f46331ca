"""Stream mode across the server's life: an unacknowledged event survives ``kill -9``, and a
shutdown tells the connected clients first (SYSTEM ``disconnect``). Servers of the test's own.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): what survives ``kill -9`` is what each
backend committed, and the unacknowledged event's lease is claimed with PostgreSQL's own row locks.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import orjson
import pytest
from dingtalk_support import APPKEY, APPSECRET
from stream_support import raw_stream, world
from websockets.exceptions import ConnectionClosed
from wps_contacts_support import TENANT, client

from conftest import ServerProcess
from openroster.core.directory import Directory
from openroster.model.changes import DeliveryStatus
from openroster.testing import ControlClient
from openroster.testing.stream import StreamListener

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.both_stores]

Factory = Callable[..., ServerProcess]
ADMIN = "stream-admin-token"
#: The shortest lease (``serve --events-lease``, real time): the killed server's claim runs out soon.
LEASE = ("--events-lease", "5")
#: The SDK waits 10 s before it reconnects, then the lease and a busy machine.
WAIT = 60.0


def test_an_unacked_event_survives_kill_9_and_reaches_the_reconnected_sdk(
    directory: Directory, server_factory: Factory
) -> None:
    world(directory)
    server = server_factory("--admin-token", ADMIN, *LEASE)
    port = urlsplit(server.base_url).port
    with StreamListener(server.base_url, APPKEY, APPSECRET, silent=1).running() as sdk:
        with ControlClient(server.base_url, ADMIN) as control:
            sdk.wait_connected(control, TENANT)
        with client(server) as wps:
            made = wps.create_user(user_name="Ann", dept_ids=["1"]).id
        (unanswered,) = sdk.wait_for("user_add_org")  # the server waits for its ACK, holding the lease
        server.kill()
        with directory.store.read() as tx:
            (d,) = tx.outbox.list_deliveries(TENANT)
        assert (d.status, d.attempts, d.event_id) == (DeliveryStatus.PENDING, 0, unanswered["eventId"])
        again = server_factory("--admin-token", ADMIN, *LEASE, port=port)
        got = sdk.wait_for("user_add_org", 2, timeout=WAIT)  # the SDK reconnected by itself
        assert got[1]["eventId"] == unanswered["eventId"] and got[1]["ack"] == "ok"
        assert got[1]["data"]["userId"] == [made]
        with ControlClient(again.base_url, ADMIN) as control:
            StreamListener.wait_until(
                lambda: control.deliveries(TENANT)[0]["status"] == "delivered", "not delivered", WAIT
            )


def test_a_shutdown_sends_system_disconnect_before_closing(
    directory: Directory, server_factory: Factory
) -> None:
    world(directory)
    server = server_factory("--admin-token", ADMIN)
    with raw_stream(server.base_url) as ws:
        ws.ping().wait(5)
        server.stop()
        frame = orjson.loads(ws.recv(timeout=30))
        assert (frame["type"], frame["headers"]["topic"]) == ("SYSTEM", "disconnect")
        assert all(isinstance(v, str) for v in frame["headers"].values())
        assert isinstance(orjson.loads(frame["data"])["reason"], str)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=30)
