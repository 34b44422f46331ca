"""The Departments page in a real browser: the ARIA tree, loaded a level at a time, driven by mouse and
keyboard; renaming, moving and creating a department (read back through the WPS API)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from tests.console.browser import Console
from tests.console.world import TENANT, make_company, wps_call, wps_dept

from conftest import LiveServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # a browser: the inner loop keeps only the sign-in tests
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

DEPARTMENTS = f"/console/tenants/{TENANT}/departments"


def item(page: Page, name: str) -> Locator:
    return page.get_by_role("tree").get_by_role("treeitem", name=re.compile(rf"^{re.escape(name)} "))


def focused_name(page: Page) -> str:
    return str(
        page.evaluate(
            "document.getElementById(document.activeElement.getAttribute('aria-labelledby')).textContent"
        )
    )


def test_the_tree_loads_each_level_when_it_is_opened(live: LiveServer, console: Console) -> None:
    make_company(live)
    fetched: list[str] = []
    console.context.on("request", lambda r: fetched.append(r.url) if "/children" in r.url else None)
    page = console.sign_in(DEPARTMENTS)
    tree = page.get_by_role("tree", name="Departments")
    expect(tree).to_be_visible()
    expect(item(page, "Acme 科技")).to_have_attribute("aria-expanded", "true")
    expect(item(page, "研发部")).to_have_attribute("aria-expanded", "false")
    expect(item(page, "研发部")).to_contain_text("people: 1")  # Alan; Ada is in 平台组
    expect(item(page, "销售部")).to_contain_text("people: 3")
    expect(item(page, "销售部")).not_to_have_attribute("aria-expanded", re.compile(".*"))  # a leaf
    expect(item(page, "平台组")).to_have_count(0)  # not loaded yet
    assert fetched == []

    item(page, "研发部").locator(".count").first.click()
    expect(item(page, "平台组")).to_be_visible()
    expect(item(page, "平台组")).to_contain_text("people: 1")
    expect(item(page, "平台组")).to_have_attribute("aria-level", "3")
    expect(item(page, "研发部")).to_have_attribute("aria-expanded", "true")
    assert len(fetched) == 1
    item(page, "研发部").locator(".count").first.click()  # closes; opening again fetches nothing
    expect(item(page, "平台组")).to_be_hidden()
    item(page, "研发部").locator(".count").first.click()
    expect(item(page, "平台组")).to_be_visible()
    assert len(fetched) == 1
    console.screenshot("departments")


def test_the_tree_works_with_the_keyboard(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(DEPARTMENTS)
    page.get_by_role("link", name="Departments").first.focus()
    for _ in range(20):  # Tab until the tree's one tab stop
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('role')") == "treeitem":
            break
    assert focused_name(page).startswith("Acme 科技")
    page.keyboard.press("ArrowDown")
    assert focused_name(page).startswith("研发部")
    page.keyboard.press("ArrowRight")  # opens
    expect(item(page, "研发部")).to_have_attribute("aria-expanded", "true")
    expect(item(page, "平台组")).to_be_visible()
    page.keyboard.press("ArrowRight")  # into the first child
    assert focused_name(page).startswith("平台组")
    page.keyboard.press("ArrowLeft")  # back to the parent
    assert focused_name(page).startswith("研发部")
    page.keyboard.press("ArrowLeft")  # closes
    expect(item(page, "研发部")).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("End")
    assert focused_name(page).startswith("销售部")
    page.keyboard.press("Home")
    assert focused_name(page).startswith("Acme 科技")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("研发部")
    assert page.locator('[role="treeitem"][tabindex="0"]').count() == 0  # another page now


def test_rename_move_and_create_a_department(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(DEPARTMENTS)
    page.get_by_role("link", name="销售部").click()
    expect(page).to_have_url(re.compile(r"/departments/\d+"))
    sales = re.search(r"/departments/(\d+)", page.url)
    assert sales
    page.get_by_label("Name", exact=True).fill("销售与市场部")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    assert wps_dept(live.base_url, sales[1])["name"] == "销售与市场部"

    page.get_by_label("New department name").fill("华东区")
    page.get_by_role("button", name="Create department").click()
    expect(page.get_by_role("status")).to_have_text("Created.")
    expect(page.get_by_role("heading", level=1)).to_have_text("华东区")
    east = re.search(r"/departments/(\d+)", page.url)
    assert east
    assert wps_dept(live.base_url, east[1])["abs_path"] == "/Acme 科技/销售与市场部/华东区"

    # Moving a department under its own child is refused, on the field, and changes nothing.
    page.goto(live.base_url + f"{DEPARTMENTS}/{sales[1]}")
    page.get_by_label("Parent department ID").fill(east[1])
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was changed")
    expect(page.get_by_label("Parent department ID")).to_have_attribute("aria-invalid", "true")
    assert wps_dept(live.base_url, sales[1])["parent_id"] == "1"

    page.get_by_label("Parent department ID").fill("1")
    page.goto(live.base_url + f"{DEPARTMENTS}/{east[1]}")
    page.get_by_label("Parent department ID").fill("1")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    assert wps_dept(live.base_url, east[1])["abs_path"] == "/Acme 科技/华东区"


def test_a_departments_people_link_filters_the_people_page(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(DEPARTMENTS)
    item(page, "研发部").locator(".count").first.click()
    page.get_by_role("link", name="平台组").click()
    page.get_by_role("link", name="people: 1").click()
    expect(page.get_by_label("Department")).to_have_value(re.compile(r"^\d+$"))
    expect(page.get_by_label("Department").locator("option:checked")).to_have_text("/Acme 科技/研发部/平台组")
    expect(page.locator("table.people tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()


def test_delete_a_department_only_when_it_is_empty(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(DEPARTMENTS)
    page.get_by_role("link", name="销售部").click()
    page.get_by_role("link", name="Delete department").click()
    expect(page.get_by_text("Delete /Acme 科技/销售部?")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_contain_text("is not empty")  # three people are in it
    page.get_by_label("New department name").fill("临时组")
    page.get_by_role("button", name="Create department").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("临时组")
    temporary = re.search(r"/departments/(\d+)", page.url)
    assert temporary
    assert wps_dept(live.base_url, temporary[1])["name"] == "临时组"
    page.get_by_role("link", name="Delete department").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("Deleted.")
    expect(page.get_by_role("heading", level=1)).to_have_text("销售部")  # its parent's page
    gone = wps_call(live.base_url, "POST", "/v7/depts/batch_read", {"dept_ids": [temporary[1]]})
    assert gone["code"] != 0 or gone["data"]["items"] == []


def test_set_leaders_and_the_order_and_see_the_members(live: LiveServer, console: Console) -> None:
    make_company(live)
    rd = str(wps_call(live.base_url, "GET", "/v7/users/alan?with_dept=true")["data"]["depts"][0]["id"])
    page = console.sign_in(f"{DEPARTMENTS}/{rd}")
    members = page.get_by_role("region", name="Members")
    expect(members.get_by_role("row")).to_have_count(2)  # the head, and Alan (Ada is in 平台组 below)
    expect(members.get_by_role("link", name="Alan Turing")).to_be_visible()

    leaders = page.get_by_role("combobox", name="Leaders")
    matches = page.get_by_role("listbox", name="Matches")
    leaders.press_sequentially("Ada")
    matches.get_by_role("option", name="Ada Lovelace").click()
    leaders.press_sequentially("alan")
    expect(matches.get_by_role("option")).to_have_text(["Alan Turing alan"])
    leaders.press("ArrowDown")
    leaders.press("Enter")
    expect(leaders).to_have_value("ada, alan, ")
    page.get_by_label("Order among its siblings").fill("7")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    dept = wps_dept(live.base_url, rd)
    assert (dept["order"], [x["user_id"] for x in dept["leaders"]]) == (7, ["ada", "alan"])
    expect(members.get_by_role("link", name="Ada Lovelace")).to_be_visible()  # a leader became a member
    expect(members.get_by_role("row", name="Ada Lovelace")).to_contain_text("(leader)")
    expect(page.get_by_role("combobox", name="Leaders")).to_have_value("ada, alan")

    page.get_by_role("combobox", name="Leaders").fill("ada, nobody")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("nobody")
    expect(page.get_by_role("combobox", name="Leaders")).to_have_attribute("aria-invalid", "true")
    assert [x["user_id"] for x in wps_dept(live.base_url, rd)["leaders"]] == ["ada", "alan"]
