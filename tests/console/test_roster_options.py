"""The options of the DingTalk roster's select fields in a real browser: an option added and one
removed, read back through both DingTalk generations' field lists (a client written from the
protocol notes); refused changes show the service's message and change nothing."""

from __future__ import annotations

import html
import re
from typing import Any

import orjson
import pytest
from playwright.sync_api import Locator, Page, expect
from tests.console.browser import Console
from tests.console.world import (
    AGENTID,
    TENANT,
    add_dingtalk_app,
    make_company,
    signed_in_http,
    topapi,
    v1_call,
)

from conftest import LiveServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # a browser: the inner loop keeps only the sign-in tests
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

PAGE = f"/console/tenants/{TENANT}/roster-options"
MARRIAGE = "sys02-marriage"


def v1_options(live: LiveServer) -> dict[str, list[tuple[str, str]]]:
    """Every select field's ``(value, label)`` options, from RosterMetaAvailableFieldList (``/v1.0``)."""
    reply = v1_call(live.base_url, "GET", f"/v1.0/hrm/rosters/meta/authorities/fields?appAgentId={AGENTID}")
    assert reply.status_code == 200, reply.text
    return {
        f["fieldCode"]: [(o["value"], o["label"]) for o in orjson.loads(f["optionText"])]
        for f in reply.json()["result"]
        if f.get("optionText")
    }


def topapi_options(live: LiveServer) -> dict[str, list[tuple[str, str]]]:
    """The same from ``/topapi/smartwork/hrm/roster/meta/get`` (the old generation)."""
    groups: list[dict[str, Any]] = topapi(live, "/topapi/smartwork/hrm/roster/meta/get", {})
    return {
        f["field_code"]: [(o["value"], o["label"]) for o in orjson.loads(f["option_text"])]
        for g in groups
        for f in g["field_meta_info_list"]
        if f.get("option_text")
    }


def read_back(live: LiveServer) -> dict[str, list[tuple[str, str]]]:
    """The options both generations list (they must agree)."""
    v1 = v1_options(live)
    assert topapi_options(live) == v1
    return v1


def opened(page: Page, field: str) -> Locator:
    """The field's part of the page, opened."""
    part = page.get_by_role("group", name=field, exact=True)
    if part.get_attribute("open") is None:
        part.locator("summary").click()
    return part


def test_add_and_remove_options_read_back_through_both_dingtalk_apis(
    live: LiveServer, console: Console
) -> None:
    make_company(live)
    add_dingtalk_app(live)
    custom = v1_call(
        live.base_url,
        "POST",
        "/v1.0/hrm/customRosterField/add",
        {
            "groupId": "custom0000001",
            "fieldName": "T恤尺码",
            "fieldType": "DDSelectField",
            "optionText": orjson.dumps([{"label": "S"}, {"label": "M", "value": "m"}]).decode(),
            "required": False,
            "visibleByEmp": True,
            "hiddenFromEmployeeFlag": False,
            "editFromEmployeeFlag": True,
        },
    ).json()["result"]["fieldCode"]
    before = read_back(live)
    page = console.sign_in(PAGE)
    expect(page.get_by_role("link", name="Roster options")).to_have_attribute("aria-current", "page")

    marriage = opened(page, "婚姻状况")
    marriage.get_by_label("New option").fill("分居")
    marriage.get_by_role("button", name="Add option").click()
    expect(page.get_by_role("status")).to_have_text("Option added to 婚姻状况.")
    marriage = page.get_by_role("group", name="婚姻状况", exact=True)
    expect(marriage.get_by_role("row").last).to_have_text(re.compile(r"分居\s*6"))
    assert read_back(live)[MARRIAGE] == [*before[MARRIAGE], ("6", "分居")]

    marriage.get_by_role("button", name="Remove · 离异").click()
    expect(page.get_by_role("status")).to_have_text("Option removed from 婚姻状况.")
    marriage = page.get_by_role("group", name="婚姻状况", exact=True)
    expect(marriage).to_contain_text("Removed: 离异")
    after = read_back(live)
    assert after[MARRIAGE] == [o for o in before[MARRIAGE] if o[1] != "离异"] + [("6", "分居")]

    marriage.get_by_label("New option").fill("已婚")  # already an option: refused, nothing changes
    marriage.get_by_role("button", name="Add option").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Nothing was changed: 婚姻状况: option[0]: '已婚' is already an option of sys02-marriage"
    )
    new_option = page.get_by_role("group", name="婚姻状况", exact=True).get_by_label("New option")
    expect(new_option).to_have_attribute("aria-invalid", "true")
    expect(new_option).to_have_value("已婚")
    console.screenshot("roster-options", at=page.get_by_role("group", name="婚姻状况", exact=True))
    new_option.fill("  ")  # an empty label: refused
    page.get_by_role("group", name="婚姻状况", exact=True).get_by_role("button", name="Add option").click()
    expect(page.get_by_role("alert")).to_contain_text("婚姻状况: option[0]")
    assert read_back(live) == after

    shirt = opened(page, "T恤尺码")  # a custom field: its attribute's options
    shirt.get_by_role("button", name="Remove · S").click()
    expect(page.get_by_role("status")).to_have_text("Option removed from T恤尺码.")
    assert read_back(live)[custom] == [("m", "M")]
    page.get_by_role("group", name="T恤尺码", exact=True).get_by_role("button", name="Remove · M").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Nothing was changed: T恤尺码: option: a select field keeps at least one option"
    )
    assert read_back(live)[custom] == [("m", "M")]

    gender = opened(page, "性别")  # a profile field: its options are shown, with no form
    expect(gender).to_contain_text("cannot change")
    expect(gender.get_by_role("button")).to_have_count(0)


def test_a_field_whose_options_cannot_change_is_refused_by_name(live: LiveServer) -> None:
    make_company(live)
    add_dingtalk_app(live)
    before = read_back(live)
    http, csrf = signed_in_http(live)
    try:
        for code, group in (("sys02-sexType", "sys02"), ("sys00-name", "sys00")):
            reply = http.post(
                f"{PAGE}/{code}", data={"csrf": csrf, "op": "add", "group": group, "label": "other"}
            )
            assert reply.status_code == 200
            alert = re.search(r'<p role="alert"[^>]*>([^<]*)</p>', reply.text)
            assert alert, reply.text
            assert re.fullmatch(
                rf"Nothing was changed: (.+): field: the options of '{code}' \(\1\) cannot change \(.+\)",
                html.unescape(alert[1]),
            ), alert[1]
    finally:
        http.close()
    assert read_back(live) == before
