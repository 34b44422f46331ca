"""The pickers' answers: the people and departments a typed text finds, as listbox options (user data
as text), for a signed-in console only."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect
from tests.console.browser import Console
from tests.console.test_attributes import define, values_of
from tests.console.world import TENANT, XSS_NAME, make_company, signed_in_http, wps_call

from conftest import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def options(html: str) -> list[tuple[str, str]]:
    """``(value, text)`` of each option of a picker's answer."""
    found = re.findall(r'<li role="option" aria-selected="false" data-value="([^"]*)">(.*?)</li>', html, re.S)
    return [(value, re.sub(r"<[^>]+>", "", text).strip()) for value, text in found]


def dept_id(live: LiveServer, name: str) -> str:
    """A department's ID by its name, through the WPS API's department search."""
    reply = wps_call(live.base_url, "GET", "/v7/depts/root")
    assert reply["code"] == 0, reply
    root = str(reply["data"]["id"])
    children = wps_call(live.base_url, "GET", f"/v7/depts/{root}/children?page_size=50")
    [found] = [str(d["id"]) for d in children["data"]["items"] if d["name"] == name]
    return found


def test_people_by_name_start_email_and_id(live: LiveServer) -> None:
    make_company(live)
    http, _ = signed_in_http(live)
    try:
        by_name = http.get(f"/console/tenants/{TENANT}/pick/people", params={"q": "A"})
        assert by_name.status_code == 200
        assert options(by_name.text) == [("ada", "Ada Lovelace ada"), ("alan", "Alan Turing alan")]
        by_email = http.get(f"/console/tenants/{TENANT}/pick/people", params={"q": "grace@acme.test"})
        assert options(by_email.text) == [("grace", "Grace Hopper grace")]  # a disabled person too
        by_id = http.get(f"/console/tenants/{TENANT}/pick/people", params={"q": "wang"})
        assert options(by_id.text) == [("wang", "王小明 wang")]
        xss = http.get(f"/console/tenants/{TENANT}/pick/people", params={"q": "<img"})
        assert "<img" not in xss.text and "&lt;img src=x onerror=alert(1)&gt;" in xss.text
        assert options(xss.text) == [("xss", f"{XSS_NAME.replace('<', '&lt;').replace('>', '&gt;')} xss")]
        nobody = http.get(f"/console/tenants/{TENANT}/pick/people", params={"q": "zzz"})
        assert options(nobody.text) == [] and "No matches" in nobody.text
        assert options(http.get(f"/console/tenants/{TENANT}/pick/people", params={"q": " "}).text) == []
    finally:
        http.close()


def test_departments_by_a_word_of_the_name_and_by_id(live: LiveServer) -> None:
    make_company(live)
    rd = dept_id(live, "研发部")
    http, _ = signed_in_http(live)
    try:
        by_word = http.get(f"/console/tenants/{TENANT}/pick/departments", params={"q": "发"})
        assert [text for _, text in options(by_word.text)] == ["研发部 /Acme 科技/研发部"]
        by_id = http.get(f"/console/tenants/{TENANT}/pick/departments", params={"q": rd})
        assert options(by_id.text)[0] == (rd, "研发部 /Acme 科技/研发部")
        by_part = http.get(f"/console/tenants/{TENANT}/pick/departments", params={"q": "部"})
        assert len(options(by_part.text)) == 2  # 研发部, 销售部 (平台组 holds no 部)
    finally:
        http.close()


def test_pickers_and_the_change_feed_need_a_session(live: LiveServer) -> None:
    make_company(live)
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        for path in ("pick/people", "pick/departments", "changes/stream"):
            reply = http.get(f"/console/tenants/{TENANT}/{path}", params={"q": "A"})
            assert reply.status_code == 303 and reply.headers["location"].startswith("/console/login")


@pytest.mark.slow  # a browser
def test_choose_people_and_departments_by_typing_with_mouse_and_keyboard(
    live: LiveServer, console: Console
) -> None:
    make_company(live)
    rd, sales = dept_id(live, "研发部"), dept_id(live, "销售部")
    page = console.sign_in(f"/console/tenants/{TENANT}/attributes")
    define(console, "导师", "a person")
    define(console, "协作部门", "departments")

    page.goto(live.base_url + f"/console/tenants/{TENANT}/people/ada")
    matches = page.get_by_role("listbox", name="Matches")  # the one open picker's
    mentor = page.get_by_role("combobox", name="导师")
    mentor.fill("Ala")
    expect(matches.get_by_role("option")).to_have_count(1)
    expect(mentor).to_have_attribute("aria-expanded", "true")
    mentor.press("ArrowDown")
    expect(matches.get_by_role("option", name="Alan Turing")).to_have_attribute("aria-selected", "true")
    mentor.press("Enter")  # chooses; the form is not sent
    expect(mentor).to_have_value("alan")
    expect(mentor).to_have_attribute("aria-expanded", "false")

    teams = page.get_by_role("combobox", name="协作部门")
    teams.fill("销售")
    expect(matches.get_by_role("option", name="销售部")).to_be_visible()
    console.screenshot("picker", page.get_by_role("button", name="Save departments"))
    matches.get_by_role("option", name="销售部").click()
    expect(teams).to_have_value(f"{sales}, ")
    teams.press_sequentially("研发")
    matches.get_by_role("option", name="研发部").click()
    expect(teams).to_have_value(f"{sales}, {rd}, ")
    teams.press_sequentially("nothing like it")
    expect(matches).to_contain_text("No matches")
    teams.press("Escape")
    expect(matches).to_be_hidden()
    teams.fill(f"{sales}, {rd}, ")
    page.get_by_role("button", name="Save attributes").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    saved = values_of(live, "ada")
    assert saved["导师"] == "alan"
    assert sorted(str(x) for x in saved["协作部门"]) == sorted([sales, rd])  # type: ignore[union-attr]

    leader = page.get_by_role("combobox", name="Leader ID")
    leader.fill("王")
    matches.get_by_role("option", name="王小明").click()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    assert wps_call(live.base_url, "GET", "/v7/users/ada")["data"]["leader_id"] == "wang"

    departments = page.get_by_role("combobox", name="Department IDs")
    departments.fill("")
    departments.press_sequentially("销售")
    matches.get_by_role("option", name="销售部").click()
    main = page.get_by_role("combobox", name="Main department ID")
    main.fill(sales)
    matches.get_by_role("option", name="销售部").click()
    page.get_by_role("button", name="Save departments").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    ada = wps_call(live.base_url, "GET", "/v7/users/ada?with_dept=true")["data"]
    assert ([str(x["id"]) for x in ada["depts"]], str(ada["def_dept_id"])) == ([sales], sales)
