"""The Tenants and Apps pages in a real browser: create, reset, delete a tenant, download its snapshot;
create an app (its secret shown once and working) and rotate its secret."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import expect
from tests.console.browser import Console
from tests.console.world import TENANT, make_company, wps_reply

from conftest import LiveServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # a browser: the inner loop keeps only the sign-in tests
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


def token_status(live: LiveServer, client_id: str, secret: str) -> int:
    """The WPS token endpoint's answer to an app's credentials: 0 when it gives a token."""
    reply = httpx.post(
        live.base_url + "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=30,
    ).json()
    return 0 if "access_token" in reply else int(reply["code"])


def test_create_a_tenant_and_a_refused_id(live: LiveServer, console: Console) -> None:
    page = console.sign_in()
    page.get_by_label("Tenant ID").fill("bad id!")
    page.get_by_label("Name", exact=True).fill("Globex")
    page.get_by_role("button", name="Create tenant").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was changed")
    expect(page.get_by_label("Tenant ID")).to_have_attribute("aria-invalid", "true")
    assert live.control.tenants() == []
    page.get_by_label("Tenant ID").fill("globex")
    page.get_by_label("WPS company ID").fill("globex-wps")
    page.get_by_label("DingTalk corp ID").fill("dingglobex")
    page.get_by_role("button", name="Create tenant").click()
    expect(page.get_by_role("status")).to_have_text("Tenant created.")
    expect(page.get_by_role("cell", name="Globex", exact=True)).to_be_visible()
    assert [
        (t["id"], t["name"], t["wps_company_id"], t["dingtalk_corp_id"]) for t in live.control.tenants()
    ] == [("globex", "Globex", "globex-wps", "dingglobex")]


def test_reset_download_and_delete_a_tenant(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in()
    with page.expect_download() as download:
        page.get_by_role("link", name=f"Download snapshot · {TENANT}").click()
    document = json.loads(download.value.path().read_bytes())
    [tenant] = document["tenants"]
    assert tenant["id"] == TENANT and len(tenant["tables"]["users"]) == 5

    page.get_by_role("link", name=f"Reset · {TENANT}").click()
    page.get_by_role("button", name="Reset to empty").click()
    expect(page.get_by_role("status")).to_have_text("Reset to empty.")
    assert wps_reply(live.base_url, "ada")["code"] != 0  # the people went, the reader app stayed
    page.get_by_role("link", name=f"Reset · {TENANT}").click()
    page.get_by_role("button", name="Reset to its seed").click()
    expect(page.get_by_role("status")).to_have_text("Reset to its seed.")
    assert wps_reply(live.base_url, "ada")["data"]["user_name"] == "Ada Lovelace"

    page.get_by_role("link", name=f"Delete · {TENANT}").click()
    expect(page.get_by_text("Delete Acme 科技 and everything in it")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("Deleted.")
    assert live.control.tenants() == []


def test_create_an_app_and_rotate_its_secret(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(f"/console/tenants/{TENANT}/apps")
    expect(page.get_by_role("row").filter(has_text="console-reader")).to_have_count(1)
    page.get_by_label("Client ID").fill("hr-sync")
    page.get_by_label("App name").fill("HR sync")
    page.get_by_label("Scopes").fill("kso.contact.read, kso.user_email.read")
    page.get_by_label("Request signing").select_option("none")
    page.get_by_role("button", name="Create app").click()
    expect(page.get_by_role("status")).to_contain_text("App hr-sync created.")
    first = page.locator("#secret").inner_text()
    assert token_status(live, "hr-sync", first) == 0
    console.screenshot("apps")

    page.get_by_role("button", name="Rotate secret · hr-sync").click()
    expect(page.get_by_role("status")).to_contain_text("App hr-sync has a new secret.")
    second = page.locator("#secret").inner_text()
    assert second != first
    assert token_status(live, "hr-sync", second) == 0
    assert token_status(live, "hr-sync", first) != 0

    page.goto(live.base_url + f"/console/tenants/{TENANT}/apps")  # the secret is shown once only
    expect(page.locator("#secret")).to_have_count(0)
    page.get_by_label("Client ID").fill("hr-sync")
    page.get_by_role("button", name="Create app").click()
    expect(page.get_by_role("alert")).to_contain_text("already exists")
    expect(page.get_by_label("Client ID")).to_have_attribute("aria-invalid", "true")
