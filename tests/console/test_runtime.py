"""The Faults and clock page in a real browser: a fault rule the next platform call meets, a refused rule,
removing one; setting, advancing and resetting the clock (read back through the control API)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.console.browser import Console
from tests.console.world import make_company, wps_call

from conftest import LiveServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # a browser: the inner loop keeps only the sign-in tests
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

PAGE = "/console/faults-and-clock"


def test_a_fault_rule_answers_the_next_call_then_goes(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(PAGE)
    expect(page.get_by_text("No fault rules")).to_be_visible()
    page.get_by_label("Action").select_option("error")
    page.get_by_label("Path (or a glob)").fill("/v7/users/ada")
    page.get_by_label("Platform code").fill("abc")
    page.get_by_role("button", name="Add fault rule").click()
    expect(page.get_by_role("alert")).to_contain_text("code: 'abc' is not a number")
    expect(page.get_by_label("Platform code")).to_have_attribute("aria-invalid", "true")
    assert live.control.faults() == []

    page.get_by_label("Platform code").fill("42900001")
    page.get_by_label("Error message").fill("slow down")
    page.get_by_label("Method", exact=True).fill("GET")
    page.get_by_label("Times (empty: until removed)").fill("1")
    page.get_by_role("button", name="Add fault rule").click()
    expect(page.get_by_role("status")).to_have_text("Fault rule added.")
    [rule] = live.control.faults()
    assert (rule["action"], rule["code"], rule["match"]["path"], rule["remaining"]) == (
        "error",
        42900001,
        "/v7/users/ada",
        1,
    )
    assert (rule["message"], rule["match"]["method"]) == ("slow down", "GET")
    assert wps_call(live.base_url, "GET", "/v7/users/ada") == {
        "code": 42900001,
        "msg": "slow down",
        "data": None,
    }
    assert wps_call(live.base_url, "GET", "/v7/users/ada")["code"] == 0  # it fired its one time

    page.get_by_label("Action").select_option("http")  # http needs a status: the control API's own check
    page.get_by_role("button", name="Add fault rule").click()
    expect(page.get_by_role("alert")).to_contain_text("status")
    page.get_by_label("HTTP status").fill("503")
    page.get_by_role("button", name="Add fault rule").click()
    expect(page.get_by_role("status")).to_have_text("Fault rule added.")
    http_rule = next(r for r in live.control.faults() if r["action"] == "http")
    page.get_by_role("button", name=f"Remove · {http_rule['id']}").click()
    expect(page.get_by_role("status")).to_have_text("Fault rule removed.")
    assert all(r["action"] != "http" for r in live.control.faults())


def test_set_advance_and_reset_the_clock(live: LiveServer, console: Console) -> None:
    page = console.sign_in(PAGE)
    page.get_by_label("Advance by (seconds)").fill("3600")
    page.get_by_role("button", name="Advance clock").click()
    expect(page.get_by_role("status")).to_have_text("The clock is changed.")
    assert round(live.control.clock()["offset_seconds"]) == 3600
    page.get_by_label("Set the clock to").fill("not a time")
    page.get_by_role("button", name="Set clock").click()
    expect(page.get_by_role("alert")).to_contain_text("neither seconds since the epoch nor an ISO 8601 time")
    expect(page.get_by_label("Set the clock to")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Set the clock to").fill("2031-05-01T09:00:00Z")
    page.get_by_role("button", name="Set clock").click()
    expect(page.get_by_role("status")).to_have_text("The clock is changed.")
    assert live.control.clock()["now"].startswith("2031-05-01T09:00")
    expect(page.get_by_text("The server's clock says 2031-05-01T09:00")).to_be_visible()
    page.get_by_role("button", name="Back to real time").click()
    assert live.control.clock()["offset_seconds"] == 0
