"""The Stream connections of one server process, and how the engine pushes events through them.

Each WebSocket the endpoint (``events/stream_socket.py``) accepts is a :class:`StreamConnection`
registered here under its tenant and app. The hub is the engine's :class:`Transport` for the
``dingtalk_stream`` kind: :meth:`StreamHub.ready` says whether this process holds a connection of a
subscription's app (the engine claims that subscription's deliveries only then, leaving them out
of its query otherwise, so a delivery waits in the outbox, unclaimed, while the app has no
connection anywhere, and goes from a process that has one), and
:meth:`StreamHub.send` pushes one EVENT frame to one of them (chosen at random) and waits for its
ACK, in the attempt's own task (no engine pass waits for it: ``events/outcomes.py``). A
connection's row in the store (``store/stream.py``) tells the other processes and the control
plane it is open; the hub's keepalive task pings every connection every :data:`PING_INTERVAL`
seconds (SYSTEM ``ping``) and pushes the row's ``alive_until`` on while it answers, in a job of
the store's writers (never a write transaction on the event loop, which would hold every request
and push of the process while it waits for the writers' lock). The
server's shutdown sends SYSTEM ``disconnect`` first (``server/stream_protocol.py``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from openroster.core.directory import Directory
from openroster.core.runtime.upkeep import BackgroundTask
from openroster.events.channels import channel
from openroster.events.channels.stream import ACK_TIMEOUT, KIND, PING, new_message_id, system_frame
from openroster.events.engine import wall_ms
from openroster.model.changes import ChannelContext, Delivery, Subscription
from openroster.store.tx import WriteTx

log = logging.getLogger(__name__)

#: Seconds between SYSTEM pings to each connection.
PING_INTERVAL = 30.0
#: How long a connection counts as open after its last sign of life (real time, ms).
ALIVE_MS = 90_000

#: ``(code, data)`` of an ACK.
Ack = tuple[int, bytes]


class ConnectionClosed(Exception):
    """The connection closed before the ACK came."""


@dataclass(eq=False)
class StreamConnection:
    """One open WebSocket: ``send`` writes a text frame; ACKs come in through :meth:`acked`."""

    connection_id: str
    tenant: str
    app: str
    send: Callable[[str], Awaitable[None]]
    #: The client asked for EVENTs (a client of CALLBACK topics alone gets none).
    events: bool = True
    pending: dict[str, asyncio.Future[Ack]] = field(default_factory=dict)
    #: Real time (monotonic) of the last ACK of a ping.
    answered: float = field(default_factory=time.monotonic)

    def acked(self, message_id: str, code: int, data: bytes) -> None:
        future = self.pending.get(message_id)
        if future is not None and not future.done():
            future.set_result((code, data))

    def closed(self) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionClosed())

    async def call(self, message_id: str, text: bytes, wait: float) -> Ack:
        """Send a frame and wait for its ACK (TimeoutError, ConnectionClosed)."""
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self.pending[message_id] = future
        try:
            await self.send(text.decode())
            return await asyncio.wait_for(future, wait)
        finally:
            self.pending.pop(message_id, None)


class StreamHub:
    """This process's Stream connections (see module)."""

    kind = KIND

    def __init__(self, directory: Directory, *, worker: str, rng: random.Random | None = None) -> None:
        self.directory = directory
        #: Who holds the connections (the engine's lease owner: host, pid, engine).
        self.worker = worker
        self.rng = rng or random.Random()
        self._by_app: dict[tuple[str, str], list[StreamConnection]] = {}
        #: Called when a connection opens, so waiting deliveries go at once (the engine's ``wake``).
        self.on_open: Callable[[], None] = lambda: None
        self._task = BackgroundTask("openroster-stream", self._keepalive)

    # -- connections ------------------------------------------------------------------------

    def new_id(self) -> str:
        return uuid.uuid4().hex

    def add(self, conn: StreamConnection) -> None:
        self._by_app.setdefault((conn.tenant, conn.app), []).append(conn)
        self.on_open()

    def remove(self, conn: StreamConnection) -> None:
        conns = self._by_app.get((conn.tenant, conn.app), [])
        if conn in conns:
            conns.remove(conn)
        if not conns:
            self._by_app.pop((conn.tenant, conn.app), None)
        conn.closed()

    def connections(self) -> list[StreamConnection]:
        return [c for conns in self._by_app.values() for c in conns]

    # -- the engine's transport -------------------------------------------------------------

    def _takers(self, sub: Subscription) -> list[StreamConnection]:
        return [c for c in self._by_app.get((sub.tenant_id, sub.app), ()) if c.events]

    def ready(self, sub: Subscription) -> bool:
        return bool(self._takers(sub))

    async def send(self, ctx: ChannelContext, delivery: Delivery) -> tuple[int | None, str | None]:
        conns = self._takers(ctx.subscription)
        if not conns:
            return None, "no Stream connection of the app"
        conn = self.rng.choice(conns)
        ch = channel(self.kind)
        query, text = ch.request(ctx, delivery.body)
        try:
            code, data = await conn.call(query["messageId"], text, ch.timeout)
        except TimeoutError:
            return None, f"no ACK within {ch.timeout:g} s"
        except (ConnectionClosed, RuntimeError, OSError) as exc:
            return None, f"the connection closed before the ACK ({type(exc).__name__})"
        return code, ch.judge(ctx, code, data)

    # -- keepalive ----------------------------------------------------------------------------

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def ping(self, conn: StreamConnection, wait: float = ACK_TIMEOUT) -> bool:
        """A SYSTEM ping; True when it was answered within ``wait`` seconds."""
        message_id = new_message_id()
        try:
            await conn.call(message_id, system_frame(PING, {"opaque": message_id}, message_id), wait)
        except (TimeoutError, ConnectionClosed, RuntimeError, OSError):
            return False
        conn.answered = time.monotonic()
        return True

    async def keepalive_once(self, wait: float = ACK_TIMEOUT) -> list[str]:
        """Ping every connection; push on the rows of those that answered and prune the lapsed
        ones. Returns the ids of the connections that answered."""
        conns = self.connections()
        answered = await asyncio.gather(*(self.ping(c, wait) for c in conns))
        alive = [c.connection_id for c, ok in zip(conns, answered, strict=True) if ok]

        def job(tx: WriteTx) -> None:
            tx.stream.keep_alive(alive, wall_ms() + ALIVE_MS)
            tx.stream.prune(now_ms=self.directory.now_ms(), wall_ms=wall_ms())

        # A job of the store's writers, awaited: a write transaction of its own would hold the
        # event loop, every request and every push with it, while it waits for their lock.
        await self.directory.writes.run(job)
        return alive

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(PING_INTERVAL)
            try:
                await self.keepalive_once()
            except Exception:
                log.exception("the Stream keepalive pass failed; trying again")
