"""A person's DingTalk roster on the Person page, in a real browser: rows written through the DingTalk
roster API (a client written from the protocol notes) shown by group, options by their labels."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from tests.console.browser import Console
from tests.console.world import TENANT, add_dingtalk_app, make_company, topapi, v1_call

from conftest import LiveServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # a browser: the inner loop keeps only the sign-in tests
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


def roster_update(live: LiveServer, user_id: str, groups: list[dict[str, Any]]) -> None:
    topapi(live, "/topapi/smartwork/hrm/employee/v2/update", {"param": {"userid": user_id, "groups": groups}})


def roster_values(live: LiveServer, user_id: str, code: str) -> list[tuple[int, str]]:
    """``(row, value)`` of one field, from ``POST /topapi/smartwork/hrm/employee/v2/list``."""
    [person] = topapi(live, "/topapi/smartwork/hrm/employee/v2/list", {"userid_list": user_id})
    [found] = [f for f in person["field_data_list"] if f["field_code"] == code]
    return sorted((v["item_index"], v.get("value", "")) for v in found["field_value_list"])


def test_the_roster_groups_and_their_rows(live: LiveServer, console: Console) -> None:
    make_company(live)
    add_dingtalk_app(live)
    school = [{"field_code": "sys03-highestEdu", "value": "6"}, {"field_code": "sys03-graduateSchool"}]
    roster_update(
        live,
        "ada",
        [
            {
                "group_id": "sys03",
                "sections": [
                    {"section": [school[0], {**school[1], "value": "北京大学"}]},
                    {
                        "section": [
                            {"field_code": "sys03-highestEdu", "value": "7"},
                            {**school[1], "value": "<b>MIT</b>"},
                        ]
                    },
                ],
            }
        ],
    )
    page = console.sign_in(f"/console/tenants/{TENANT}/people/ada")
    roster = page.get_by_role("region", name="Roster (DingTalk)")
    education = roster.locator("details").filter(has_text="学历信息")
    expect(education).to_have_attribute("open", "")
    table = education.get_by_role("table", name="学历信息")
    expect(table.get_by_role("row")).to_have_count(3)  # the header and two rows
    expect(table.get_by_role("row").nth(1)).to_contain_text("本科")
    expect(table.get_by_role("row").nth(1)).to_contain_text("北京大学")
    expect(table.get_by_role("row").nth(2)).to_contain_text("硕士")
    expect(table.get_by_role("cell", name="<b>MIT</b>")).to_be_visible()  # text, not markup
    basics = roster.locator("details").filter(has_text="基本信息")
    expect(basics).to_contain_text("Ada Lovelace")
    console.screenshot("roster", at=education)


def test_change_the_roster_a_group_at_a_time(live: LiveServer, console: Console) -> None:
    make_company(live)
    add_dingtalk_app(live)
    page = console.sign_in(f"/console/tenants/{TENANT}/people/ada")
    roster = page.get_by_role("region", name="Roster (DingTalk)")
    education = roster.locator("details").filter(has_text="学历信息")
    education.locator("summary").click()
    new_row = education.get_by_role("group", name="A new row")
    new_row.get_by_label("最高学历").select_option(label="博士")
    new_row.get_by_label("毕业院校").fill("剑桥大学")
    new_row.get_by_label("毕业时间").fill("1840-06-30")
    education.get_by_role("button", name="Save 学历信息").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    education = (
        page.get_by_role("region", name="Roster (DingTalk)").locator("details").filter(has_text="学历信息")
    )
    expect(education.get_by_role("table", name="学历信息").get_by_role("row").nth(1)).to_contain_text("博士")
    assert roster_values(live, "ada", "sys03-graduateSchool") == [(0, "剑桥大学")]
    assert roster_values(live, "ada", "sys03-highestEdu") == [(0, "8")]

    row_one = education.get_by_role("group", name="Row 1")
    row_one.get_by_label("毕业时间").fill("June 1840")  # not a date: refused on its field, nothing written
    row_one.get_by_label("毕业院校").fill("Trinity")
    education.get_by_role("button", name="Save 学历信息").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was changed")
    education = (
        page.get_by_role("region", name="Roster (DingTalk)").locator("details").filter(has_text="学历信息")
    )
    expect(education.get_by_role("group", name="Row 1").get_by_label("毕业时间")).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(education.get_by_role("table", name="学历信息")).to_contain_text("剑桥大学")
    expect(education.get_by_role("table", name="学历信息")).not_to_contain_text("Trinity")
    assert roster_values(live, "ada", "sys03-graduateSchool") == [(0, "剑桥大学")]


def delete_option(live: LiveServer, code: str, label: str) -> None:
    """RosterMetaFieldOptionsUpdate as the `/v1.0` protocol notes give it (the token in a header)."""
    reply = v1_call(
        live.base_url,
        "PUT",
        "/v1.0/hrm/rosters/meta/fields/options",
        {
            "groupId": code.partition("-")[0],
            "fieldCode": code,
            "labels": [label],
            "modifyType": "OPTIONS_DELETE",
        },
    )
    assert reply.status_code == 200, reply.text


def test_a_deleted_option_a_person_holds_stays_through_an_unchanged_save(
    live: LiveServer, console: Console
) -> None:
    make_company(live)
    add_dingtalk_app(live)
    roster_update(
        live,
        "ada",
        [
            {
                "group_id": "sys03",
                "sections": [{"section": [{"field_code": "sys03-highestEdu", "value": "7"}]}],
            }
        ],
    )
    delete_option(live, "sys03-highestEdu", "硕士")
    page = console.sign_in(f"/console/tenants/{TENANT}/people/ada")
    education = (
        page.get_by_role("region", name="Roster (DingTalk)").locator("details").filter(has_text="学历信息")
    )
    held = education.get_by_role("group", name="Row 1").get_by_label("最高学历")
    expect(held).to_have_value("7")  # offered with its label, though no longer a choice for others
    expect(education.get_by_role("group", name="A new row").get_by_label("最高学历")).not_to_contain_text(
        "硕士"
    )
    education.get_by_role("button", name="Save 学历信息").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    assert roster_values(live, "ada", "sys03-highestEdu") == [(0, "7")]
