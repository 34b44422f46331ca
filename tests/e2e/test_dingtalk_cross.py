"""One person, two APIs: roster writes read back by the WPS client, WPS writes read back by DingTalk."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from dingtalk_support import AGENTID, LIST, ONJOB, PREENTRY, UPDATE, USER_GET, Wire, fields_of, wire
from wps_contacts_support import client
from wps_contacts_support import setup_tenant as setup_wps

from conftest import LiveServer
from openroster.client import WpsClient
from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import batch_writes, users
from openroster.core.tenancy import apps
from openroster.model.entities import UserStatus

pytestmark = pytest.mark.e2e

TENANT = "acme"
PERMISSIONS = ("qyapi_hrm_read_user", "qyapi_hrm_manager", "qyapi_get_member")


def _setup(d: Directory) -> None:
    setup_wps(d)
    apps.create(
        d,
        tenant_id=TENANT,
        client_id="acme-dingtalk",
        secret="acme-dingtalk-secret",
        agentid=AGENTID,
        scopes=PERMISSIONS,
    )
    users.create(
        d,
        tenant_id=TENANT,
        item=users.NewUser(id="zhang", user_name="张三", dept_ids=(1,), phone="13800000011"),
    )
    attributes.create_definitions(
        d,
        tenant_id=TENANT,
        items=[
            attributes.NewDefinition(id="desk", name="工位", value_type="text"),
            attributes.NewDefinition(
                id="lvl", name="职级", value_type="option", options=(("P1", "P1 级"), ("P2", "P2 级"))
            ),
        ],
    )


@contextmanager
def _clients(live: LiveServer) -> Iterator[tuple[Wire, WpsClient]]:
    """The tenant, and a DingTalk wire client and a WPS client of the same people."""
    _setup(live.directory)
    server = live.server
    with (
        wire(server.base_url, appkey="acme-dingtalk", appsecret="acme-dingtalk-secret") as dt,
        client(server) as wps,
    ):
        yield dt, wps


def test_roster_writes_read_back_by_wps(live: LiveServer) -> None:
    with _clients(live) as (dt, wps):
        groups = [
            {"group_id": "sys00", "sections": [{"old_index": 0, "section": [
                {"field_code": "sys00-mobile", "value": "13900000022"},
                {"field_code": "sys00-position", "value": "产品经理"},
            ]}]},
            {"group_id": "sys02", "sections": [{"section": [{"field_code": "sys02-sexType", "value": "2"}]}]},
            {"group_id": "sys01", "sections": [{"section": [
                {"field_code": "sys01-employeeType", "value": "2"},
                {"field_code": "sys01-employeeStatus", "value": "3"},
            ]}]},
            {"group_id": "custom0000001", "sections": [{"section": [
                {"field_code": "desk", "value": "7F-001"},
                {"field_code": "lvl", "value": "P2"},
            ]}]},
        ]  # fmt: skip
        assert (
            dt.post(UPDATE, {"agentid": AGENTID, "param": {"userid": "zhang", "groups": groups}})["result"]
            is True
        )
        (u,) = wps.batch_read_users(["zhang"], status=["active"])
        assert (u.phone, u.title, u.gender, u.employment_type, u.employment_status) == (
            "13900000022",
            "产品经理",
            "female",
            "part_time",
            "regular",
        )
        (attrs,) = wps.read_custom_attrs(["zhang"])
        assert {a.attr_id: a.value for a in attrs.custom_attrs} == {"desk": "7F-001", "lvl": "P2"}


def test_wps_writes_read_back_by_dingtalk(live: LiveServer) -> None:
    with _clients(live) as (dt, wps):
        codes = [
            "sys00-name",
            "sys00-mobile",
            "sys00-position",
            "sys02-sexType",
            "sys01-employeeType",
            "desk",
            "lvl",
        ]

        def roster() -> dict[str, list[tuple[int, str, str]]]:
            reply = dt.ok(LIST, {"agentid": AGENTID, "userid_list": ["zhang"], "field_filter_list": codes})
            return fields_of(reply["result"][0])

        assert roster()["sys00-position"] == []  # read once, so the roster record is cached
        wps.update_user(
            "zhang",
            user_name="张三丰",
            phone="13900000033",
            title="掌门",
            gender="male",
            employment_type="intern",
        )
        wps.request(
            "POST",
            "/v7/users/custom_attrs/batch_update",
            json={
                "users": [
                    {
                        "user_id": "zhang",
                        "custom_attrs": [
                            {"attr_id": "desk", "text": "1F-1"},
                            {"attr_id": "lvl", "option": "P1"},
                        ],
                    }
                ]
            },
        )
        assert roster() == {
            "sys00-name": [(0, "张三丰", "张三丰")],
            "sys00-mobile": [(0, "13900000033", "13900000033")],
            "sys00-position": [(0, "掌门", "掌门")],
            "sys02-sexType": [(0, "1", "男")],
            "sys01-employeeType": [(0, "3", "实习")],
            "desk": [(0, "1F-1", "1F-1")],
            "lvl": [(0, "P1", "P1 级")],
        }
        got = dt.ok(USER_GET, {"userid": "zhang"})["result"]
        assert (got["name"], got["mobile"], got["title"], got["active"]) == (
            "张三丰",
            "13900000033",
            "掌门",
            True,
        )
        # The WPS account status decides the DingTalk lists.
        onjob = {"status_list": "2,3,5,-1", "offset": 0, "size": 50}
        assert "zhang" in dt.ok(ONJOB, onjob)["result"]["data_list"]
        wps.batch_disable_users(["zhang"])
        assert "zhang" in dt.ok(ONJOB, onjob)["result"]["data_list"]
        assert dt.ok(USER_GET, {"userid": "zhang"})["result"]["active"] is False
        batch_writes.set_status(
            live.directory, tenant_id=TENANT, user_ids=["zhang"], status=UserStatus.NOTACTIVE
        )
        assert "zhang" not in dt.ok(ONJOB, onjob)["result"]["data_list"]
        assert dt.ok(PREENTRY, {"offset": 0, "size": 50})["result"]["data_list"] == ["zhang"]
