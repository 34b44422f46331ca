"""The attempts under way to one receiver (an origin: scheme, host, port) are capped however many
subscriptions share it, so those waiting for one of the sender's connections to it are sent well
within their lease; a receiver of its own is not held back by it (both backends).

The sender here answers nothing until the test releases it, and counts the requests it holds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Mapping

from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.events.engine import EventEngine
from openroster.events.sender import UNDER_WAY_PER_ORIGIN, Sender
from openroster.model.changes import RenderedEvent, Subscription

APP_ID, APP_SECRET = "acme-kso", "acme-kso-secret"
SHARED = "http://127.0.0.1:9"


class HeldSender(Sender):
    """Holds every POST until released; counts those held per origin, and the most at once."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.held: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.answered = 0

    async def post(
        self, url: str, query: Mapping[str, str], content: bytes, *, answer_within: float
    ) -> tuple[int, bytes]:
        origin = url.rsplit("/", 1)[0]
        self.held[origin] += 1
        self.most[origin] = max(self.most[origin], self.held[origin])
        await self.release.wait()
        self.held[origin] -= 1
        self.answered += 1
        return 200, b""


def _subscribe_with_backlog(d: Directory, sub_id: str, url: str, n: int) -> None:
    sub = Subscription(sub_id, "acme", "wps", APP_ID, url)
    events = [
        RenderedEvent(i, uuid.uuid4().hex, "kso.user", "update", (f"user:{sub_id}{i}",), b"{}")
        for i in range(n)
    ]
    with d.writer() as tx:
        tx.outbox.insert_subscription(sub, token_sealed=None, aes_key_sealed=None)
        tx.outbox.insert_deliveries(sub, events, d.now_ms())


def test_subscriptions_sharing_a_receiver_share_its_cap_of_attempts_under_way(directory: Directory) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    per_sub = UNDER_WAY_PER_ORIGIN // 2 + 5  # three of them: well past the receiver's cap together
    for name in ("a", "b", "c"):
        _subscribe_with_backlog(directory, name, f"{SHARED}/{name}", per_sub)
    _subscribe_with_backlog(directory, "own", "http://127.0.0.1:10/own", 5)
    engine = EventEngine(directory, poll_interval=60)
    sender = HeldSender()

    async def scenario() -> tuple[Counter[str], tuple[int, int]]:
        await engine.deliver_due(sender)  # claims what it may; every attempt is held
        await asyncio.sleep(0.05)  # (the attempts' tasks reach the sender)
        held = Counter(sender.held)
        sender.release.set()
        return held, await engine.flush(sender)  # the rest, as attempts end and make room

    held, flushed = asyncio.run(scenario())
    assert held == {SHARED: UNDER_WAY_PER_ORIGIN, "http://127.0.0.1:10": 5}  # one cap for three
    assert flushed == (3 * per_sub + 5 - sum(held.values()), 0)
    assert sender.answered == 3 * per_sub + 5
    assert sender.most[SHARED] == UNDER_WAY_PER_ORIGIN  # never more at once, while the rest went


def test_a_receivers_older_backlog_leaves_the_others_their_claims_in_the_same_pass(
    directory: Directory,
) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    _subscribe_with_backlog(directory, "busy", f"{SHARED}/busy", 500)  # older, past a claim's page
    _subscribe_with_backlog(directory, "own", "http://127.0.0.1:10/own", 5)
    engine = EventEngine(directory, poll_interval=60)
    sender = HeldSender()

    async def scenario() -> tuple[Counter[str], tuple[int, int]]:
        await engine.deliver_due(sender)
        await asyncio.sleep(0.05)
        held = Counter(sender.held)
        sender.release.set()
        return held, await engine.flush(sender)

    held, flushed = asyncio.run(scenario())
    assert held == {SHARED: UNDER_WAY_PER_ORIGIN, "http://127.0.0.1:10": 5}  # not behind the backlog
    assert flushed == (505 - sum(held.values()), 0)
    assert sender.most[SHARED] == UNDER_WAY_PER_ORIGIN
