"""The Events page in a real browser: a change made in the console is delivered to a subscriber
(a receiver written from the protocol notes, tests/event_receivers.py) and listed with its attempts;
pause, resume and replay a subscription, read back through the control API."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.console.browser import Console
from tests.console.world import READER, READER_SECRET, TENANT, make_company

import event_receivers as ind
from conftest import LiveServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # a browser: the inner loop keeps only the sign-in tests
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


def test_a_change_is_delivered_listed_paused_and_replayed(live: LiveServer, console: Console) -> None:
    make_company(live)
    with ind.serve(ind.WpsReceiver(READER, READER_SECRET)) as receiver:
        sub = live.control.subscribe(TENANT, "wps", READER, receiver.url)
        page = console.sign_in(f"/console/tenants/{TENANT}/people/ada")
        page.get_by_label("Title").fill("Analyst")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        receiver.wait_for(lambda events: len(events) >= 1)

        page.get_by_role("link", name="Events").click()
        page.get_by_role("button", name="Deliver what is due now").click()
        expect(page.get_by_role("status")).to_have_text("Everything due was delivered.")
        delivered = page.locator("table.journal tbody tr").filter(has_text="delivered")
        expect(delivered).to_have_count(1)
        expect(delivered).to_contain_text(sub["id"])

        page.get_by_role("button", name=f"Pause · {sub['id']}").click()
        expect(page.get_by_role("status")).to_contain_text("Subscription paused")
        assert [s["status"] for s in live.control.subscriptions(TENANT)] == ["paused"]
        page.get_by_role("button", name=f"Resume · {sub['id']}").click()
        expect(page.get_by_role("status")).to_have_text("Subscription resumed.")
        assert [s["status"] for s in live.control.subscriptions(TENANT)] == ["active"]

        page.get_by_label("Since").fill("not a time")
        page.get_by_role("button", name=f"Replay · {sub['id']}").click()
        expect(page.get_by_role("alert")).to_contain_text("since")
        expect(page.get_by_label("Since")).to_have_attribute("aria-invalid", "true")
        page.get_by_label("Since").fill("2000-01-01T00:00:00Z")
        page.get_by_role("button", name=f"Replay · {sub['id']}").click()
        expect(page.get_by_role("status")).to_have_text("1 deliveries queued again.")
        receiver.wait_for(lambda events: len(events) >= 2)  # the same event again
        first, again = receiver.events[:2]
        assert first == again
