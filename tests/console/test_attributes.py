"""Custom attributes in a real browser: definitions with their options, and a person's values by type,
read back through the WPS API; a refused value changes nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.console.browser import Console
from tests.console.world import TENANT, make_company, wps_call

from conftest import LiveServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # a browser: the inner loop keeps only the sign-in tests
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


def values_of(live: LiveServer, user_id: str) -> dict[str, object]:
    reply = wps_call(live.base_url, "POST", "/v7/users/custom_attrs/batch_read", {"user_ids": [user_id]})
    assert reply["code"] == 0, reply
    [user] = reply["data"]["users"]
    out: dict[str, object] = {}
    for a in user["custom_attrs"]:
        kind = a["attr_value_type"]
        out[a["attr_name"]] = a.get(kind)
    return out


def define(console: Console, name: str, value_type: str, options: str = "") -> None:
    page = console.page
    page.get_by_label("Attribute name").last.fill(name)
    page.get_by_label("Value type").select_option(label=value_type)
    if options:
        page.get_by_label("Options").last.fill(options)
    page.get_by_role("button", name="Create attribute").click()
    expect(page.get_by_role("status")).to_have_text("Created.")


def test_define_attributes_then_set_a_persons_values(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(f"/console/tenants/{TENANT}/attributes")
    expect(page.get_by_text("This tenant has no custom attributes yet.")).to_be_visible()
    define(console, "昵称", "text")
    define(console, "职级", "option", "P5\np6: P6 级")
    define(console, "主页", "link")
    define(console, "导师", "a person")
    expect(page.get_by_role("group", name="职级 (option", exact=False)).to_be_visible()

    page.goto(live.base_url + f"/console/tenants/{TENANT}/people/ada")
    page.get_by_label("昵称", exact=True).fill("Countess")
    page.get_by_label("职级", exact=True).select_option(label="P6 级")
    page.get_by_label("主页: title", exact=True).fill("Notes")
    page.get_by_label("主页: link", exact=True).fill("https://ada.example/notes")
    page.get_by_label("导师", exact=True).fill("alan")
    page.get_by_role("button", name="Save attributes").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    assert values_of(live, "ada") == {
        "昵称": "Countess",
        "职级": "p6",
        "主页": {"title": "Notes", "link": "https://ada.example/notes"},
        "导师": "alan",
    }

    page.get_by_label("导师", exact=True).fill("nobody")
    page.get_by_label("昵称", exact=True).fill("Changed")
    page.get_by_role("button", name="Save attributes").click()
    expect(page.get_by_role("alert")).to_contain_text("nobody")
    expect(page.get_by_label("导师", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("昵称", exact=True)).not_to_have_attribute("aria-invalid", "true")
    assert values_of(live, "ada")["昵称"] == "Countess"  # nothing changed

    page.goto(live.base_url + f"/console/tenants/{TENANT}/attributes")
    page.get_by_role("button", name="Delete · 昵称").click()
    expect(page.get_by_role("status")).to_have_text("Deleted.")
    assert "昵称" not in values_of(live, "ada")
