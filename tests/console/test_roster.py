"""A person's DingTalk roster on the Person page, in a real browser: rows written through the DingTalk
roster API (a client written from the protocol notes) shown by group, options by their labels."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from tests.console.browser import Console
from tests.console.world import TENANT, make_company

from conftest import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

APPKEY, APPSECRET, AGENTID = "acme-ding", "acme-ding-secret", 1000001


def roster_update(live: LiveServer, user_id: str, groups: list[dict[str, Any]]) -> None:
    """``POST /topapi/smartwork/hrm/employee/v2/update`` as the protocol notes give it."""
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        token = http.get("/gettoken", params={"appkey": APPKEY, "appsecret": APPSECRET}).json()[
            "access_token"
        ]
        reply = http.post(
            "/topapi/smartwork/hrm/employee/v2/update",
            params={"access_token": token},
            json={"agentid": AGENTID, "param": {"userid": user_id, "groups": groups}},
        ).json()
    assert reply["errcode"] == 0, reply


def test_the_roster_groups_and_their_rows(live: LiveServer, console: Console) -> None:
    make_company(live)
    live.control.add_app(
        TENANT,
        client_id=APPKEY,
        client_secret=APPSECRET,
        platform="dingtalk",
        signing="none",
        agentid=AGENTID,
        scopes=["qyapi_hrm_manager", "qyapi_hrm_read_user"],
    )
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
    console.screenshot("roster")
