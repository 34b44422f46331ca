"""The Events page in a real browser: a change made in the console is delivered to a subscriber
(a receiver written from the protocol notes, tests/event_receivers.py) and listed with its attempts;
pause, resume and replay a subscription, read back through the control API."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

import httpx
import pytest
from playwright.sync_api import expect
from tests.console.browser import Console
from tests.console.world import READER, READER_SECRET, TENANT, make_company, signed_in_http
from websockets.sync.client import connect

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
        [listed] = live.control.subscriptions(TENANT)
        subs = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Cursor"))
        cells = subs.locator("tbody tr").filter(has_text=sub["id"]).locator("td")
        headers = subs.locator("thead th").all_inner_texts()
        expect(cells.nth(headers.index("Cursor"))).to_have_text(str(listed["cursor"]))
        expect(cells.nth(headers.index("Missed"))).to_have_text("0")  # nothing aged past the retention
        page.get_by_label("Delivery state").select_option(label="dead")
        page.get_by_role("button", name="Show deliveries").click()
        deliveries = page.get_by_role("region", name="Deliveries")
        expect(deliveries.get_by_role("table")).to_have_count(0)
        page.get_by_label("Delivery state").select_option(label="delivered")
        page.get_by_label("Subscription", exact=True).select_option(sub["id"])
        page.get_by_role("button", name="Show deliveries").click()
        expect(deliveries.locator("tbody tr")).to_have_count(1)
        expect(page.get_by_label("Delivery state")).to_have_value("delivered")

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


DING_APP, DING_TOKEN, DING_AES_KEY = (
    "console-ding",
    "console-callback-token",
    "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7",
)


def test_subscribe_after_the_url_check_and_unsubscribe(live: LiveServer, console: Console) -> None:
    make_company(live)
    live.control.add_app(TENANT, client_id=DING_APP, platform="dingtalk", agentid=1)
    wps_receiver = ind.serve(ind.WpsReceiver(READER, READER_SECRET))
    ding_receiver = ind.serve(ind.DingTalkReceiver(DING_TOKEN, DING_AES_KEY, DING_APP))
    with wps_receiver as wps_rx, ding_receiver as ding_rx:
        page = console.sign_in(f"/console/tenants/{TENANT}/events")
        wps = page.get_by_role("region", name="Subscribe a WPS receiver")
        expect(wps.get_by_label("App")).to_have_value(READER)
        wps.get_by_label("Receiver URL").fill(wps_rx.url)
        wps.get_by_label("kso.user").check()
        wps.get_by_role("button", name="Subscribe").click()
        expect(page.get_by_role("status")).to_have_text(re.compile(r"^Subscribed: sub_\w+\.$"))
        [made] = live.control.subscriptions(TENANT)
        assert (made["kind"], made["app"], made["url"], made["topics"]) == (
            "wps",
            READER,
            wps_rx.url,
            ["kso.user"],
        )
        assert [r.event for r in wps_rx.requests] == [None]  # the challenge, answered, came first

        # A receiver that fails DingTalk's check_url (another token): its answer, on the URL field.
        ding = page.get_by_role("region", name="Subscribe a DingTalk receiver")
        ding.get_by_label("Receiver URL").fill(ding_rx.url)
        ding.get_by_label("Token").fill("not-the-receivers-token")
        ding.get_by_label("AES key").fill(DING_AES_KEY)
        ding.get_by_label("user_add_org").check()
        ding.get_by_role("button", name="Subscribe").click()
        ding = page.get_by_role("region", name="Subscribe a DingTalk receiver")
        expect(ding.get_by_role("alert")).to_contain_text("signature mismatch")
        expect(ding.get_by_label("Receiver URL")).to_have_attribute("aria-invalid", "true")
        assert len(live.control.subscriptions(TENANT)) == 1  # nothing was created
        expect(ding.get_by_label("user_add_org")).to_be_checked()  # what was typed is kept
        ding.get_by_label("Token").fill(DING_TOKEN)
        ding.get_by_label("Payload style").select_option("current")
        ding.get_by_role("button", name="Subscribe").click()
        expect(page.get_by_role("status")).to_have_text(re.compile(r"^Subscribed: sub_\w+\.$"))
        subs = {s["kind"]: s for s in live.control.subscriptions(TENANT)}
        assert (subs["dingtalk"]["app"], subs["dingtalk"]["events"]) == (DING_APP, ["user_add_org"])
        assert "token" not in subs["dingtalk"] and DING_TOKEN not in page.content()

        page.get_by_role("link", name=f"Unsubscribe · {made['id']}").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Unsubscribe: {made['id']}")
        page.get_by_role("button", name="Unsubscribe").click()
        expect(page.get_by_role("status")).to_have_text("Unsubscribed.")
        assert [s["kind"] for s in live.control.subscriptions(TENANT)] == ["dingtalk"]


def test_a_stream_subscription_made_in_the_form_and_its_connected_client(
    live: LiveServer, console: Console
) -> None:
    make_company(live)
    secret = live.control.add_app(TENANT, client_id=DING_APP, platform="dingtalk", agentid=1)["client_secret"]
    page = console.sign_in(f"/console/tenants/{TENANT}/events")
    clients = page.get_by_role("region", name="Connected Stream clients")
    expect(clients).to_contain_text("No Stream client is connected.")
    stream = page.get_by_role("region", name="Subscribe DingTalk Stream clients")
    expect(stream.get_by_label("Receiver URL")).to_have_count(0)  # its clients connect: no receiver
    expect(stream.get_by_label("App")).to_have_value(DING_APP)
    stream.get_by_label("user_add_org").check()
    stream.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^Subscribed: sub_\w+\.$"))
    [made] = live.control.subscriptions(TENANT)
    assert (made["kind"], made["app"], made["events"]) == ("dingtalk_stream", DING_APP, ["user_add_org"])
    row = page.get_by_role("region", name="Subscriptions").locator("tbody tr").filter(has_text=made["id"])
    expect(row).to_contain_text("dingtalk_stream")
    expect(row.locator("td.path")).to_have_text("")

    # A Stream client of the app, as the protocol file has it: connections/open, then the ticket's socket.
    events = [{"type": "EVENT", "topic": "*"}]
    opened = httpx.post(
        live.base_url + "/v1.0/gateway/connections/open",
        json={"clientId": DING_APP, "clientSecret": secret, "subscriptions": events},
    )
    assert opened.status_code == 200, opened.text
    endpoint = f"{opened.json()['endpoint']}?ticket={quote_plus(opened.json()['ticket'])}"
    with connect(endpoint, open_timeout=10, close_timeout=2):
        [client] = live.control.stream_connections(TENANT)
        page.reload()
        listed = clients.get_by_role("row").filter(has_text=client["connection_id"])
        expect(listed).to_contain_text(DING_APP)
        expect(listed).to_contain_text(client["worker"])
        expect(clients.get_by_role("columnheader")).to_have_text(
            ["App", "Connection ID", "Connected since", "Server process"]
        )
    assert [s["id"] for s in live.control.subscriptions(TENANT)] == [made["id"]]  # the form's, no other


def test_the_change_records_feed_shows_changes_as_they_commit(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(f"/console/tenants/{TENANT}/events")
    changes = page.get_by_role("region", name="Change records")
    expect(changes.get_by_text("No changes since this page opened.")).to_be_visible()
    http, csrf = signed_in_http(live)  # another client changes a person
    try:
        saved = http.post(f"/console/tenants/{TENANT}/people/ada", data={"csrf": csrf, "title": "Analyst"})
        assert saved.status_code == 303
    finally:
        http.close()
    row = changes.get_by_role("row").filter(has_text="ada")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("update")
    expect(row).to_contain_text("title")
    expect(changes).to_contain_text("1 new changes")
    expect(changes.get_by_text("No changes since this page opened.")).to_have_count(0)
