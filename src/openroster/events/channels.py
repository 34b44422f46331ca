"""What a channel is, and every channel the engine delivers through.

A channel is a renderer plus a transport's rules: it turns the change records of a subscription
into events (:meth:`Channel.render`: topic, operation, entity keys, the body to store and
send, a stable event id), says how a stored body goes on the wire (:meth:`Channel.request`) and
judges the receiver's reply (:meth:`Channel.judge`). The engine owns everything else — the
outbox, order, leases, retries — so a new channel (DingTalk's Stream mode) is one object here.
Adding one is one line in :data:`CHANNELS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from openroster.dialects.dingtalk.events import CHANNEL as DINGTALK
from openroster.dialects.wps.events import CHANNEL as WPS
from openroster.model.changes import ChannelContext, RenderedEvent, StoredChange


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

    def render(self, ctx: ChannelContext, changes: Sequence[StoredChange]) -> list[RenderedEvent]:
        """The events ``changes`` (whole transactions, in commit order) raise for ``ctx.subscription``."""
        ...

    def request(self, ctx: ChannelContext, body: bytes) -> tuple[dict[str, str], bytes]:
        """The query parameters and the content to POST for a stored body."""
        ...

    def judge(self, ctx: ChannelContext, status: int, content: bytes) -> str | None:
        """``None`` when the reply means received, else why it does not."""
        ...


#: Every channel, by subscription kind.
CHANNELS: dict[str, Channel] = {c.kind: c for c in (WPS, DINGTALK)}


def channel(kind: str) -> Channel:
    """The channel of a subscription kind (KeyError for an unknown one)."""
    return CHANNELS[kind]
