"""The DingTalk SDK against a running server: roster, employee lists, contacts, tokens, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import sdk_support
from sdk_support import Sandbox, Tenant

from openroster.client import (
    AsyncDingTalkClient,
    DingTalkClient,
    InvalidRequestError,
    NotFoundError,
    WpsClient,
)
from openroster.client.dingtalk_models import PreEntry, RosterGroup, RosterSection, RosterUpdate, RosterValue
from openroster.core.people import batch_writes
from openroster.model.entities import UserStatus

pytestmark = pytest.mark.e2e
sandbox, org = sdk_support.sandbox, sdk_support.org


def dingtalk(sandbox: Sandbox, org: Tenant, agentid: int | None = None) -> DingTalkClient:
    creds = org.dingtalk
    assert creds is not None
    return DingTalkClient(
        sandbox.base_url, appkey=creds.client_id, appsecret=creds.secret, agentid=agentid or creds.agentid
    )


@pytest.fixture
def dt(sandbox: Sandbox, org: Tenant) -> Iterator[DingTalkClient]:
    with dingtalk(sandbox, org) as c:
        yield c


@pytest.fixture
def wps(sandbox: Sandbox, org: Tenant) -> Iterator[WpsClient]:
    creds = org.wps["kso1"]
    with WpsClient(sandbox.base_url, client_id=creds.client_id, client_secret=creds.secret) as c:
        yield c


def test_roster_update_and_list(dt: DingTalkClient, wps: WpsClient) -> None:
    dept = wps.create_dept(name="研发部", parent_id="1")
    user = wps.create_user(user_name="王小明", dept_ids=[dept.id], employee_id="E100")
    assert dt.update_employee_roster(
        RosterUpdate(
            userid=user.id,
            groups=[
                RosterGroup(
                    group_id="sys02",
                    sections=[
                        RosterSection(
                            section=[RosterValue(field_code="sys02-certNo", value="110101199001011234")]
                        )
                    ],
                ),
                RosterGroup(
                    group_id="sys03",
                    sections=[
                        RosterSection(section=[RosterValue(field_code="sys03-major", value="计算机")]),
                        RosterSection(section=[RosterValue(field_code="sys03-major", value="数学")]),
                    ],
                ),
            ],
        )
    )
    # old_index 0 edits the first education row (the client keeps a zero index).
    dt.update_employee_roster(
        user.id,
        [
            {
                "group_id": "sys03",
                "sections": [
                    {"old_index": 0, "section": [{"field_code": "sys03-major", "value": "软件工程"}]}
                ],
            }
        ],
    )
    dt.update_employee_roster(
        user.id,
        [
            {
                "group_id": "sys00",
                "sections": [{"section": [{"field_code": "sys00-position", "value": "架构师"}]}],
            }
        ],
    )
    [record] = dt.list_employee_rosters([user.id])
    assert record.userid == user.id
    assert record.value("sys02-certNo") == "110101199001011234"
    assert [v.value for v in record.values("sys03-major")] == ["软件工程", "数学"]
    assert record.value("sys00-name") == "王小明" and record.value("sys00-jobNumber") == "E100"
    [only] = dt.list_employee_rosters([user.id], field_codes=["sys00-position"])
    assert [f.field_code for f in only.field_data_list] == ["sys00-position"]
    assert wps.get_user(user.id).title == "架构师"  # one person, two APIs


def test_roster_metadata(dt: DingTalkClient) -> None:
    meta = {g.group_id: g for g in dt.get_roster_meta()}
    assert meta["sys03"].detail and not meta["sys02"].detail
    sex = next(f for f in meta["sys02"].field_meta_info_list if f.field_code == "sys02-sexType")
    assert {"label": "男", "value": "1"} in sex.options()
    groups = {g.group_id: g for g in dt.list_roster_field_groups()}
    assert groups["sys06"].has_detail
    types = {f.field_code: f.field_type for g in groups.values() for f in g.field_list}
    assert types["sys02-birthTime"] == "DDDateField" and types["sys02-sexType"] == "DDSelectField"


def test_employee_lists_follow_next_cursor(
    sandbox: Sandbox, org: Tenant, dt: DingTalkClient, wps: WpsClient
) -> None:
    made = [wps.create_user(user_name=f"员工{i}", dept_ids=["1"]).id for i in range(7)]
    wps.batch_disable_users(made[:1])  # disabled accounts are still on the job
    assert sorted(dt.iter_onjob_employees(status_list=["2", "3", "5", "-1"], size=3)) == sorted(made)
    page = dt.query_onjob_employees(size=3)
    assert len(page.items) == 3 and page.next == 3
    pre = dt.add_preentry_employee(PreEntry(name="新同学", mobile="13700000001"))
    also = dt.add_preentry_employee(name="另一位", mobile="13700000002")
    assert sorted(dt.iter_preentry_employees(size=1)) == sorted([pre, also])
    batch_writes.set_status(
        sandbox.directory, tenant_id=org.id, user_ids=made[1:3], status=UserStatus.DIMISSION
    )
    assert sorted(dt.iter_dimission_employees(size=1)) == sorted(made[1:3])
    assert sorted(dt.iter_onjob_employees()) == sorted([made[0], *made[3:]])


def test_contacts(dt: DingTalkClient, wps: WpsClient) -> None:
    dept = wps.create_dept(name="市场部", parent_id="1")
    sub = wps.create_dept(name="品牌组", parent_id=dept.id)
    lead = wps.create_user(user_name="李经理", dept_ids=[dept.id], phone="13600000000", title="经理")
    member = wps.create_user(user_name="赵员工", dept_ids=[sub.id], leader_id=lead.id)
    got = dt.get_user(member.id)
    assert (got.name, got.manager_userid, got.dept_id_list) == ("赵员工", lead.id, [int(sub.id)])
    assert dt.get_user(lead.id).mobile == "13600000000"
    assert dt.list_user_ids(int(dept.id)) == [lead.id]
    assert [d.dept_id for d in dt.list_sub_depts(int(dept.id))] == [int(sub.id)]
    assert [d.name for d in dt.list_sub_depts()] == ["市场部"]
    assert dt.get_dept(int(sub.id)).parent_id == int(dept.id)


def test_errors_carry_errcode_and_request_id(sandbox: Sandbox, org: Tenant, dt: DingTalkClient) -> None:
    with pytest.raises(NotFoundError) as missing:
        dt.get_user("nobody")
    assert missing.value.platform == "dingtalk" and missing.value.request_id
    with pytest.raises(InvalidRequestError) as bad_agent, dingtalk(sandbox, org, agentid=1) as wrong:
        wrong.get_roster_meta()
    assert bad_agent.value.code in (52019, 70003)
    with pytest.raises(NotFoundError) as bad_user:
        dt.update_employee_roster(
            "nobody",
            [
                {
                    "group_id": "sys02",
                    "sections": [{"section": [{"field_code": "sys02-certNo", "value": "1"}]}],
                }
            ],
        )
    assert bad_user.value.code == 33012 and bad_user.value.reply["errcode"] == 33012


def test_async_client_shares_one_token_and_refreshes_a_rejected_one(sandbox: Sandbox, org: Tenant) -> None:
    creds = org.dingtalk
    assert creds is not None
    gettoken: list[str] = []
    tampered: list[bool] = []

    async def hook(request: httpx.Request) -> None:
        if request.url.path == "/gettoken":
            gettoken.append(request.url.params["appkey"])
        elif not tampered:
            tampered.append(True)
            request.url = request.url.copy_set_param("access_token", "revoked")

    async def run() -> list[int]:
        http = httpx.AsyncClient(base_url=sandbox.base_url, event_hooks={"request": [hook]})
        async with AsyncDingTalkClient(
            appkey=creds.client_id, appsecret=creds.secret, agentid=creds.agentid, http=http
        ) as client:
            first = await client.list_sub_depts()  # the first call's token is refused: one refresh
            depts = await asyncio.gather(*[client.list_sub_depts() for _ in range(20)])
        await http.aclose()
        return [len(first), *[len(d) for d in depts]]

    assert asyncio.run(run()) == [0] * 21
    assert len(gettoken) == 2 and tampered == [True]
