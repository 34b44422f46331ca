"""The event engine's gathering window after a pass (events/pacing.py), and none after a round
that ended on the caps of attempts under way (a backlog, paced by its outcomes)."""

from __future__ import annotations

import asyncio

import orjson
import pytest

import event_receivers as ind
from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.dialects.wps.event_crypto import seal_envelope
from openroster.events import pacing
from openroster.events.engine import EventEngine
from openroster.events.sender import UNDER_WAY_PER_ORIGIN
from openroster.model.changes import RenderedEvent, Subscription

APP_ID, APP_SECRET = "acme-kso", "acme-kso-secret"


@pytest.mark.parametrize(
    ("last_pass", "window"),
    [
        pytest.param(0.001, 0.01, id="a short pass: the floor"),
        pytest.param(0.02, 0.04, id="a longer pass: twice as long as it took"),
        pytest.param(0.5, 0.1, id="a very long pass: at most a tenth of a second"),
    ],
)
def test_the_next_pass_waits_twice_the_last_one_between_the_floor_and_the_cap(
    last_pass: float, window: float
) -> None:
    assert pacing.window(0.01, last_pass) == pytest.approx(window)


def test_an_engines_own_floor_wins_over_the_cap() -> None:
    # A test engine asks for a 1 s window (tests/unit/test_event_flush.py): it gets it.
    assert pacing.window(1.0, 0.001) == 1.0
    assert pacing.window(0.0, 0.0) == 0.0


def test_a_round_that_ended_on_the_caps_of_attempts_under_way_starts_the_next_at_once() -> None:
    assert pacing.window(1.0, 0.5, capped=True) == 0.0


def test_a_backlog_is_paced_by_its_outcomes_not_by_the_gathering_window(directory: Directory) -> None:
    """A backlog three times a receiver's room: each round ends on the cap of attempts under way
    (``UNDER_WAY_PER_ORIGIN``), and the next starts as the outcomes make room, not after the
    gathering window (30 s here: waited for, the backlog would take a minute)."""
    n = 3 * UNDER_WAY_PER_ORIGIN
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        sub = Subscription("backlog", "acme", "wps", APP_ID, server.url)
        events = [
            RenderedEvent(
                i,
                f"e{i}",
                "kso.user",
                "update",
                (f"user:u{i}",),
                orjson.dumps(seal_envelope(APP_ID, APP_SECRET, "kso.user", "update", {"i": i}, time=1)),
            )
            for i in range(n)
        ]
        with directory.writer() as tx:
            tx.outbox.insert_subscription(sub, token_sealed=None, aes_key_sealed=None)
            tx.outbox.insert_deliveries(sub, events, directory.now_ms())
        engine = EventEngine(directory, poll_interval=60, gather=30.0)

        async def scenario() -> None:
            engine.start()
            try:
                await asyncio.to_thread(server.wait_for, lambda got: len(got) == n, 20)
            finally:
                await engine.stop()

        asyncio.run(scenario())
    assert sorted(e["payload"]["i"] for e in server.events) == list(range(n))
    assert engine.timings.passes.ran.count >= 3  # a round per room's worth at least
