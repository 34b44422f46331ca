"""The People and Person pages in a real browser: search, filters, paging, edit and save (read back
through the WPS API), a refused value, create, disable and enable, delete, and user data shown as text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from tests.console.browser import Console
from tests.console.world import (
    PEOPLE,
    TENANT,
    XSS_NAME,
    make_company,
    signed_in_http,
    wps_call,
    wps_dept,
    wps_reply,
    wps_user,
)

from conftest import LiveServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # a browser: the inner loop keeps only the sign-in tests
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

PEOPLE_PAGE = f"/console/tenants/{TENANT}/people"


def names_listed(page: Page) -> list[str]:
    """The names in the people table, in order (the first cell of each row)."""
    return [n.strip() for n in page.locator("table.people tbody tr td:first-child").all_inner_texts()]


def search(page: Page, text: str) -> list[str]:
    page.get_by_label("Search people").fill(text)
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    return names_listed(page)


def test_search_by_the_start_of_a_name_or_a_whole_email_phone_or_employee_id(
    live: LiveServer, console: Console
) -> None:
    make_company(live)
    page = console.sign_in(PEOPLE_PAGE)
    assert sorted(names_listed(page)) == sorted(p["user_name"] for p in PEOPLE)
    assert search(page, "A") == ["Ada Lovelace", "Alan Turing"]
    console.screenshot("people-search")
    assert search(page, "Ada") == ["Ada Lovelace"]
    assert search(page, "王") == ["王小明"]
    assert search(page, "ALAN@acme.test") == ["Alan Turing"]  # emails compare case-insensitively
    assert search(page, "13800000004") == ["王小明"]
    assert search(page, "E001") == ["Ada Lovelace"]
    assert search(page, "ada@acme") == []  # an email matches whole
    expect(page.get_by_role("status")).to_have_text("No one matches.")
    assert search(page, "Hopper") == []  # a name matches by its start
    assert search(page, "Grace") == ["Grace Hopper"]
    assert search(page, "wang") == ["王小明"]  # a user ID matches whole


def test_filter_by_department_and_status(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(PEOPLE_PAGE)
    page.get_by_label("Department").select_option(label="/Acme 科技/销售部")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.people tbody tr")).to_have_count(3)
    assert sorted(names_listed(page)) == sorted(["Grace Hopper", "王小明", XSS_NAME])
    page.get_by_label("Status").select_option(label="Disabled")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.people tbody tr")).to_have_count(1)
    assert names_listed(page) == ["Grace Hopper"]
    assert search(page, "王") == []  # still the disabled people of 销售部 only


def test_filter_by_a_department_with_the_departments_below(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(PEOPLE_PAGE)
    rows = page.locator("table.people tbody tr")
    page.get_by_label("Department").select_option(label="/Acme 科技/研发部")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    assert names_listed(page) == ["Alan Turing"]  # Ada is in 平台组, below 研发部
    page.get_by_label("Include the levels below").check()
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(2)
    assert sorted(names_listed(page)) == ["Ada Lovelace", "Alan Turing"]
    expect(page.get_by_label("Include the levels below")).to_be_checked()
    assert sorted(search(page, "A")) == ["Ada Lovelace", "Alan Turing"]  # a search keeps the filter
    page.get_by_label("Search people").fill("")
    page.get_by_label("Department").select_option(label="/Acme 科技")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(5)  # the root with everything below: everyone


def test_keyset_pages_list_everyone_once(live: LiveServer, console: Console) -> None:
    make_company(live, extra_people=55)
    page = console.sign_in(PEOPLE_PAGE)
    first = names_listed(page)
    assert len(first) == 50
    page.get_by_role("link", name="Next page").click()
    second = names_listed(page)
    assert len(second) == len(PEOPLE) + 55 - 50
    assert sorted(first + second) == sorted(
        [p["user_name"] for p in PEOPLE] + [f"Member {i:03d}" for i in range(55)]
    )
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    # A search pages the same way, by name.
    assert len(search(page, "Member")) == 50
    page.get_by_role("link", name="Next page").click()
    assert names_listed(page) == [f"Member {i:03d}" for i in range(50, 55)]


def test_edit_and_save_then_read_back_through_the_wps_api(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(PEOPLE_PAGE)
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Ada Lovelace")
    expect(page.get_by_label("Employee ID")).to_have_value("E001")
    page.get_by_label("Title").fill("Analyst")
    page.get_by_label("Email").fill("countess@acme.test")
    page.get_by_label("Phone", exact=True).fill("13900000009")
    page.get_by_label("Gender").select_option(label="Female")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_label("Title")).to_have_value("Analyst")
    console.screenshot("person-saved")
    ada = wps_user(live.base_url, "ada")
    assert (ada["title"], ada["email"], ada["phone"], ada["gender"], ada["employee_id"]) == (
        "Analyst",
        "countess@acme.test",
        "13900000009",
        "female",
        "E001",
    )


def test_a_bad_value_is_shown_on_its_field_and_changes_nothing(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(f"{PEOPLE_PAGE}/ada")
    page.get_by_label("Title").fill("Changed too")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Save", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed")
    expect(alert).to_contain_text("email")
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email")).to_have_value("not-an-email")  # what was typed stays to fix
    expect(page.get_by_label("Title")).not_to_have_attribute("aria-invalid", "true")
    console.screenshot("person-bad-value")
    ada = wps_user(live.base_url, "ada")
    assert (ada["title"], ada["email"]) == ("Engineer", "ada@acme.test")
    # Taken by someone else: refused the same way, through the same rule as the API's.
    page.get_by_label("Email").fill("alan@acme.test")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("already used")
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    assert wps_user(live.base_url, "ada")["email"] == "ada@acme.test"


def test_a_name_that_looks_like_markup_is_shown_as_text(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(PEOPLE_PAGE)
    link = page.get_by_role("link", name=XSS_NAME, exact=True)
    expect(link).to_have_text(XSS_NAME)
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(XSS_NAME)
    expect(page.get_by_label("Title")).to_have_value(XSS_NAME)
    assert page.locator("main img").count() == 0
    assert page.title().startswith(XSS_NAME)
    # The fixture fails the test if a dialog opened (alert(1)) or the page logged an error.


def test_create_disable_enable_and_delete_a_person(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(PEOPLE_PAGE)
    page.get_by_role("link", name="New person").click()
    department = page.get_by_role("combobox", name="Department")
    department.fill("平台")
    page.get_by_role("listbox", name="Matches").get_by_role("option", name="平台组").click()
    page.get_by_label("Name", exact=True).fill("Katherine Johnson")
    page.get_by_label("Email").fill("kj@acme.test")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_have_text("Created.")
    user_id = re.search(r"/people/([^/?]+)", page.url)
    assert user_id
    created = wps_user(live.base_url, user_id[1])
    assert (created["user_name"], created["email"], created["status"]) == (
        "Katherine Johnson",
        "kj@acme.test",
        "active",
    )

    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_have_text("Disabled.")
    assert wps_user(live.base_url, user_id[1])["status"] == "disabled"
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_have_text("Enabled.")
    assert wps_user(live.base_url, user_id[1])["status"] == "active"

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_text("Delete Katherine Johnson? This cannot be undone.")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("Deleted.")
    assert "Katherine Johnson" not in names_listed(page)
    assert wps_reply(live.base_url, user_id[1])["code"] != 0  # gone for the API too


def test_a_new_person_without_a_name_is_refused(live: LiveServer, console: Console) -> None:
    make_company(live)
    page = console.sign_in(f"/console/tenants/{TENANT}/new-person")
    page.get_by_label("Email").fill("nobody@acme.test")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("alert")).to_contain_text("user_name")
    expect(page.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email")).to_have_value("nobody@acme.test")


def test_an_unknown_tenant_or_person_or_a_forged_page_link_is_an_error_page(live: LiveServer) -> None:
    make_company(live)
    http, _ = signed_in_http(live)
    try:
        assert http.get("/console/tenants/nobody/people").status_code == 404
        missing = http.get(f"{PEOPLE_PAGE}/nobody")
        assert missing.status_code == 404
        assert "nobody" in missing.text
        forged = http.get(PEOPLE_PAGE, params={"page": "eyJ4IjoxfQ.forged"})
        assert forged.status_code == 400
        assert "not a token this server issued" in forged.text
    finally:
        http.close()


def test_change_a_persons_departments(live: LiveServer, console: Console) -> None:
    make_company(live)
    sales = wps_call(live.base_url, "GET", "/v7/users/grace?with_dept=true")["data"]["depts"][0]["id"]
    rd = wps_call(live.base_url, "GET", "/v7/users/alan?with_dept=true")["data"]["depts"][0]["id"]
    page = console.sign_in(f"{PEOPLE_PAGE}/ada")
    page.get_by_label("Department IDs").fill(f"{sales}, {rd}")
    page.get_by_label("Main department ID").fill(rd)
    page.get_by_role("button", name="Save departments").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    ada = wps_call(live.base_url, "GET", "/v7/users/ada?with_dept=true")["data"]
    assert (sorted(x["id"] for x in ada["depts"]), ada["def_dept_id"]) == (sorted([sales, rd]), rd)

    page.get_by_label("Department IDs").fill(f"{sales}, 999999")
    page.get_by_role("button", name="Save departments").click()
    expect(page.get_by_role("alert")).to_contain_text("999999")
    expect(page.get_by_label("Department IDs")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Department IDs")).to_have_value(f"{sales}, 999999")
    assert len(wps_call(live.base_url, "GET", "/v7/users/ada?with_dept=true")["data"]["depts"]) == 2

    page.get_by_label("Department IDs").fill(f"{sales}, {rd}")
    page.get_by_label("Leads").fill(sales)
    page.get_by_role("button", name="Save departments").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    assert [x["user_id"] for x in wps_dept(live.base_url, sales)["leaders"]] == ["ada"]
    expect(page.get_by_role("listitem").filter(has_text="销售部")).to_contain_text("(leader)")
    page.get_by_label("Leads").fill(f"{sales}, 1")  # not one of hers
    page.get_by_role("button", name="Save departments").click()
    expect(page.get_by_role("alert")).to_contain_text("leader_of")
    expect(page.get_by_label("Leads")).to_have_attribute("aria-invalid", "true")
    assert [x["user_id"] for x in wps_dept(live.base_url, sales)["leaders"]] == ["ada"]


def test_the_keyboard_reaches_everything_in_order(live: LiveServer, console: Console) -> None:
    """The skip link comes first and moves focus to the page's content; the search form's controls
    follow in reading order, each with its name; Enter in the search box searches."""
    make_company(live)
    page = console.sign_in(PEOPLE_PAGE)
    page.locator("body").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))  # the hash changes after the key is handled
    names = []
    for _ in range(6):
        page.keyboard.press("Tab")
        names.append(
            page.evaluate(
                "document.activeElement.labels?.[0]?.textContent || document.activeElement.textContent"
            )
        )
    assert [n.strip() for n in names] == [
        "Search people",
        "Department",
        "Include the levels below",
        "Status",
        "Search",
        "New person",
    ]
    page.get_by_label("Search people").focus()
    page.keyboard.type("Ada")
    page.keyboard.press("Enter")
    expect(page.locator("table.people tbody tr")).to_have_count(1)
