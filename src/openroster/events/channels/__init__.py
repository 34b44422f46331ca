"""What a channel is, and every channel the engine delivers through.

A channel is a renderer plus a transport's rules: it turns the change records of a subscription
into events (:meth:`Channel.render`: topic, operation, entity keys, the body to store and
send, a stable event id), says how a stored body goes on the wire (:meth:`Channel.request`) and
judges the receiver's reply (:meth:`Channel.judge`). The engine owns everything else — the
outbox, order, leases, retries — so a new channel is one object here. Adding one is one line in
:data:`CHANNELS`.

The WPS and DingTalk HTTP channels POST to the subscription's URL. DingTalk's Stream mode
(``channels/stream.py``) pushes over WebSocket connections the subscriber opened: its kind is in
:data:`PUSHED`, and the engine sends its events through a :class:`Transport` (the server's Stream
hub, ``events/stream_hub.py``), only from a process holding one of the app's connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from openroster.dialects.dingtalk.events import CHANNEL as DINGTALK
from openroster.dialects.event_batches import Shared
from openroster.dialects.wps.events import CHANNEL as WPS
from openroster.events.channels.stream import CHANNEL as STREAM
from openroster.model.changes import ChannelContext, Delivery, RenderedEvent, StoredChange, Subscription


class Channel(Protocol):
    """One way events reach a subscriber."""

    @property
    def kind(self) -> str:
        """The subscription kind it serves (``wps``, ``dingtalk``)."""
        ...

    @property
    def timeout(self) -> float:
        """Seconds the receiver has to answer."""
        ...

    @property
    def topics(self) -> tuple[str, ...]:
        """Every topic or event type it can send (what a subscription may ask for)."""
        ...

    def render(
        self,
        ctx: ChannelContext,
        changes: Sequence[StoredChange],
        memo: Shared | None = None,
        held: frozenset[str] = frozenset(),
    ) -> list[RenderedEvent]:
        """The events ``changes`` (whole transactions, in commit order) raise for ``ctx.subscription``.
        With ``memo`` (one per list of records), what the subscriptions rendering these records
        have in common (batches, a payload's plaintext) is made once for all of them; each event
        is still sealed with the subscription's own keys and a nonce or id of its own. The
        entities ``held`` (keys an open delivery of the subscription lists) are in events of their
        own (``event_batches.batches``)."""
        ...

    def request(self, ctx: ChannelContext, body: bytes) -> tuple[dict[str, str], bytes]:
        """The query parameters and the content to POST for a stored body."""
        ...

    def judge(self, ctx: ChannelContext, status: int, content: bytes) -> str | None:
        """``None`` when the reply means received, else why it does not."""
        ...


class Transport(Protocol):
    """How the events of a :data:`PUSHED` channel leave a process: over the connections its
    subscribers opened to this process."""

    def ready(self, sub: Subscription) -> bool:
        """True when this process holds a connection the subscription's events can go to."""
        ...

    async def send(self, ctx: ChannelContext, delivery: Delivery) -> tuple[int | None, str | None]:
        """Make one attempt: ``(the reply's status or None, None when received else why not)``."""
        ...


#: Every channel, by subscription kind.
CHANNELS: dict[str, Channel] = {c.kind: c for c in (WPS, DINGTALK, STREAM)}
#: The kinds whose events go over connections the subscriber opens (no URL), through a Transport.
PUSHED = frozenset({STREAM.kind})


def channel(kind: str) -> Channel:
    """The channel of a subscription kind (KeyError for an unknown one)."""
    return CHANNELS[kind]
