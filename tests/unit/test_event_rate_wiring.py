"""The event engine's background task paces its passes by the change-record rate
(events/pacing.py): driven by commits above ``pacing.RATE_REF`` records a second, the windows it
computes grow with the rate, stay twice the last pass while events are held up, and each record
is counted once (the count starts again every round). A spy on ``pacing.window`` and
``pacing.Rate.add`` records what the engine gave them; the real functions compute the window.
The rate's clock is given, not the machine's: each round that rendered records ends
``records / GIVEN_RATE`` seconds after the last, so the rate the engine sees is
:data:`GIVEN_RATE` however fast the machine runs the commits (their few milliseconds apart only
let the engine's rounds run between them)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import event_receivers as ind
from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.events import pacing, subscriptions
from openroster.events.engine import EventEngine
from openroster.model.changes import ChangeRecord, EntityKind, Operation

APP_ID, APP_SECRET = "acme-kso", "acme-kso-secret"
#: Commits of :data:`PER_COMMIT` records each, a few milliseconds apart: thousands a second.
COMMITS, PER_COMMIT = 40, 25
#: The rate the given clock makes of the records the rounds render: four times the reference.
GIVEN_RATE = 4 * pacing.RATE_REF


class Spy:
    """What the engine's rounds gave ``pacing.window`` (and got) and ``pacing.Rate.add``; the
    latter is given the clock of :data:`GIVEN_RATE` instead of the engine's ``now``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.windows: list[tuple[float, dict[str, Any], float]] = []
        self.added: list[int] = []
        #: The given clock (seconds): moved on by each round's records at :data:`GIVEN_RATE`.
        self.given = 0.0
        #: The real window function, for the test's own figures.
        self.window = window = pacing.window
        add = pacing.Rate.add

        def spied_window(gather: float, last_pass: float, **kw: Any) -> float:
            got = window(gather, last_pass, **kw)
            self.windows.append((last_pass, kw, got))
            return got

        def spied_add(rate: pacing.Rate, records: int, _now: float) -> float:
            self.added.append(records)
            self.given += records / GIVEN_RATE
            return add(rate, records, self.given)

        monkeypatch.setattr(pacing, "window", spied_window)
        monkeypatch.setattr(pacing.Rate, "add", spied_add)


def _write(directory: Directory, people: int) -> int:
    """:data:`COMMITS` commits renaming people ``u0`` ... in turn (``people`` of them)."""
    for c in range(COMMITS):
        with directory.writer() as tx:
            for k in range(PER_COMMIT):
                person = f"u{(c * PER_COMMIT + k) % people}"
                tx.record(ChangeRecord("acme", EntityKind.USER, Operation.UPDATE, person, ("name",)))
        time.sleep(0.005)
    return COMMITS * PER_COMMIT


def _drive(directory: Directory, url: str, people: int) -> EventEngine:
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    subscriptions.create(directory, tenant_id="acme", kind="wps", app=APP_ID, url=url)
    engine = EventEngine(directory, poll_interval=60)

    async def scenario() -> None:
        engine.start()
        try:
            await asyncio.sleep(0.1)
            await asyncio.get_running_loop().run_in_executor(None, _write, directory, people)
            await asyncio.sleep(0.3)  # (rounds after the writes render the last records)
        finally:
            await engine.stop()

    asyncio.run(scenario())
    return engine


def test_above_the_reference_rate_the_engines_window_grows_with_it(
    directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        engine = _drive(directory, server.url, people=COMMITS * PER_COMMIT)
    loaded = [(last, kw) for last, kw, _ in spy.windows if kw.get("rate", 0.0) > pacing.RATE_REF]
    assert loaded, spy.windows
    assert not any(kw.get("held_up", False) for _, kw in loaded)  # (every person renamed once: none waits)
    # The window the engine took is the rate's: longer than the rate-free one wherever that one is
    # between the floor and the cap.
    for last, kw, got in spy.windows:
        plain = spy.window(engine.gather, last, capped=kw["capped"])
        assert got >= plain
        if kw.get("rate", 0.0) > pacing.RATE_REF and engine.gather < plain < pacing.SHARE_MAX:
            assert got > plain
    # Each record counted once, in the round that rendered it: the count starts again each round.
    assert sum(spy.added) + engine.records_rendered == COMMITS * PER_COMMIT
    assert len(spy.added) == len(spy.windows) > 1


def test_while_events_are_held_up_the_engines_window_is_twice_the_last_pass(
    directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five people renamed over and over for a receiver that refuses connections: each one's first
    event is retried later, the rest wait behind it (order per entity)."""
    spy = Spy(monkeypatch)
    engine = _drive(directory, "http://127.0.0.1:9/refused", people=5)
    held = [(last, kw, got) for last, kw, got in spy.windows if kw.get("held_up", False)]
    assert any(kw.get("rate", 0.0) > pacing.RATE_REF for _, kw, _ in held), spy.windows
    for last, kw, got in held:
        assert got == spy.window(engine.gather, last, capped=kw["capped"])
    assert sum(spy.added) + engine.records_rendered == COMMITS * PER_COMMIT
