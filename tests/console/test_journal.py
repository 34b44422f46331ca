"""The Journal page in a real browser: a platform call made by another client appears within 2 s without
a reload; filters; a call's detail with its request and "copy as curl", secrets redacted."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.console.browser import Console
from tests.console.world import READER, READER_SECRET, make_company, wps_call

from conftest import LiveServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # a browser: the inner loop keeps only the sign-in tests
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


def test_a_call_appears_live_and_its_detail_shows_it_as_curl(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in("/console/journal")
    expect(page.get_by_role("heading", name="Platform calls")).to_be_visible()
    expect(page.get_by_text("No calls yet.")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    assert wps_call(live.base_url, "GET", "/v7/users/ada")["code"] == 0  # another client, over HTTP
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="/v7/users/ada", exact=True))
    expect(row).to_be_visible(timeout=2000)
    expect(row).to_contain_text("console-reader")
    expect(row).to_contain_text("acme")
    expect(page.get_by_role("status").filter(has_text="new calls")).to_have_text(
        re.compile(r"^\d+ new calls$")
    )
    assert page.evaluate("window.notReloaded") is True
    expect(page.get_by_text("No calls yet.")).to_have_count(0)
    console.screenshot("journal")

    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Call \d+: GET /v7/users/ada$"))
    reply = page.get_by_role("region", name="Reply")
    expect(reply).to_contain_text('"user_name": "Ada Lovelace"')  # the reply's body
    command = page.locator("#curl").inner_text()
    assert command.startswith("curl -X GET ")
    assert f"{live.base_url}/v7/users/ada" in command
    assert "'authorization: Bearer [redacted]'" in command  # the token never reaches the page
    console.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.base_url)
    page.get_by_role("button", name="Copy as curl").click()
    expect(page.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == command


def filtered_paths(page: Page) -> list[str]:
    """Submit the journal page's filters; the paths the filtered page lists, read once that page has
    loaded (the click does not wait for it to load: rows read at once may be the page's before it,
    or none, from a page not parsed yet)."""
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"/console/journal\?"))  # the filters are in the query; then "load"
    return page.locator("table.journal tbody td.path").all_inner_texts()


def test_filters_and_secrets(live: LiveServer, console: Console) -> None:
    make_company(live)
    wps_call(live.base_url, "GET", "/v7/users/ada")
    token = httpx.post(  # the newest token call: its reply holds the token
        live.base_url + "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": READER, "client_secret": READER_SECRET},
    ).json()["access_token"]
    page = console.sign_in("/console/journal")
    page.get_by_label("Path (or a glob)").fill("/oauth2/*")
    paths = filtered_paths(page)
    assert paths and set(paths) == {"/oauth2/token"}
    page.get_by_role("link", name=re.compile(r"^\d+$")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("POST /oauth2/token")
    assert READER_SECRET not in page.content()  # the app secret in the token request is redacted
    expect(page.get_by_role("region", name="Reply")).to_contain_text('"access_token": "[redacted]"')
    assert token not in page.content()  # and the token in its reply
    expect(page.locator("#curl")).to_contain_text("[redacted]")

    wps_call(live.base_url, "GET", "/v7/users/nobody")  # a refused call: its platform code
    page.goto(live.base_url + "/console/journal")
    page.get_by_label("Method").fill("GET")
    page.get_by_label("App").fill("console-reader")
    page.get_by_label("Code").fill("40400002")
    assert filtered_paths(page) == ["/v7/users/nobody"]
