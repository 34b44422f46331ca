"""The DingTalk HR roster end to end: seed 002 verbatim, update/list rules, metadata, lists, errors."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import yaml
from dingtalk_support import (
    ADD_PREENTRY,
    AGENTID,
    CORP_ID,
    DIMISSION,
    GROUPLIST,
    LIST,
    META,
    ONJOB,
    PREENTRY,
    SEED_002_BODY,
    UPDATE,
    USER_GET,
    fields_of,
    refused,
    setup_tenant,
    wire,
)

from conftest import LiveServer, ServerProcess
from openroster.core.custom import attributes
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import writes as roster_writes

pytestmark = pytest.mark.e2e

SEED_002_TENANT = """
tenants:
  - id: seed002
    name: 清华示例
    dingtalk_corp_id: dingseed002
    users:
      - id: user456
        user_name: 张三
        phone: "13900000456"
    apps:
      - client_id: seed002-app
        client_secret: seed002-app-secret
        agentid: 23470561
        scopes: [qyapi_hrm_read_user, qyapi_hrm_manager]
"""

EDUCATION = [
    (0, "1", "小学", "清华大学", "2020-09-01"),
    (1, "2", "初中", "清华附中", "2016-09-01"),
    (2, "3", "高中", "清华附小", "2010-09-01"),
]


def _seed_server(live: LiveServer) -> ServerProcess:
    """The shared server with seed 002's tenant, created from the seed through the control plane."""
    (tenant,) = yaml.safe_load(SEED_002_TENANT)["tenants"]
    live.control.create_tenant(tenant["id"], seed=tenant)
    return live.server


def _education(reply: dict[str, Any]) -> list[tuple[int, str, str, str, str]]:
    (entry,) = reply["result"]
    got = fields_of(entry)
    schools = {i: v for i, v, _ in got["sys03-graduateSchool"]}
    times = {i: v for i, v, _ in got["sys03-graduationTime"]}
    return [(i, v, label, schools[i], times[i]) for i, v, label in got["sys03-highestEdu"]]


def _read_education(w: Any) -> list[tuple[int, str, str, str, str]]:
    fields = ["sys03-highestEdu", "sys03-graduateSchool", "sys03-graduationTime"]
    return _education(
        w.ok(LIST, {"agentid": AGENTID, "userid_list": ["user456"], "field_filter_list": fields})
    )


def test_seed_002_example_verbatim_json(live: LiveServer) -> None:
    server = _seed_server(live)
    with wire(server.base_url, appkey="seed002-app", appsecret="seed002-app-secret") as w:
        reply = w.post(UPDATE, raw=SEED_002_BODY.encode())
        assert list(reply) == ["errcode", "errmsg", "result", "success", "request_id"]
        assert (reply["errcode"], reply["errmsg"], reply["result"], reply["success"]) == (0, "ok", True, True)
        assert _read_education(w) == EDUCATION
        # Sent again, the same body edits the three rows it now names: nothing is added.
        assert w.post(UPDATE, raw=SEED_002_BODY.encode())["result"] is True
        assert _read_education(w) == EDUCATION


def test_seed_002_example_verbatim_form(live: LiveServer) -> None:
    """The same example as a form body: ``agentid=23470561&param=<JSON>`` (what the official SDKs send)."""
    server = _seed_server(live)
    body = orjson.loads(SEED_002_BODY)
    with wire(server.base_url, appkey="seed002-app", appsecret="seed002-app-secret") as w:
        reply = w.post_form(UPDATE, {"agentid": body["agentid"], "param": body["param"]})
        assert (reply["errcode"], reply["result"], reply["success"]) == (0, True, True)
        assert _read_education(w) == EDUCATION
        # A form body may carry the token as well (the platform reads it there too).
        fields = {"access_token": w.token, "agentid": "23470561", "userid_list": "user456"}
        fields["field_filter_list"] = "sys03-graduateSchool"
        got = w.http.post(
            LIST, data=fields, headers={"Content-Type": "application/x-www-form-urlencoded"}
        ).json()
        assert [v["value"] for v in got["result"][0]["field_data_list"][0]["field_value_list"]] == [
            "清华大学",
            "清华附中",
            "清华附小",
        ]


def test_update_rules_over_the_wire(live: LiveServer) -> None:
    setup_tenant(live.directory)
    server = live.server

    def update(groups: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return w.post(UPDATE, {"agentid": AGENTID, "param": {"userid": "bob", "groups": groups}, **extra})

    def sys06() -> list[tuple[int, str, str]]:
        reply = w.ok(
            LIST,
            {
                "agentid": AGENTID,
                "userid_list": "bob",
                "field_filter_list": "sys06-urgentContactsName,sys06-urgentContactsPhone",
            },
        )
        got = fields_of(reply["result"][0])
        phones = {i: v for i, v, _ in got["sys06-urgentContactsPhone"]}
        return [(i, v, phones[i]) for i, v, _ in got["sys06-urgentContactsName"]]

    with wire(server.base_url) as w:
        contact = [
            {"field_code": "sys06-urgentContactsName", "value": "妈妈"},
            {"field_code": "sys06-urgentContactsPhone", "value": "13500000001"},
        ]
        assert update([{"group_id": "sys06", "sections": [{"section": contact}]}])["result"] is True
        assert update([{"group_id": "sys06", "sections": [{"section": contact[:1]}]}])["result"] is True
        assert sys06() == [(0, "妈妈", "13500000001"), (1, "妈妈", "")]  # a new row: unsent fields empty
        # old_index as a numeric string edits only the fields sent; null clears.
        edit = [{"field_code": "sys06-urgentContactsPhone", "value": "13500000002"}]
        assert (
            update([{"group_id": "sys06", "sections": [{"old_index": "1", "section": edit}]}])["errcode"] == 0
        )
        clear = [{"field_code": "sys06-urgentContactsPhone", "value": None}]
        assert (
            update([{"group_id": "sys06", "sections": [{"old_index": 0, "section": clear}]}])["errcode"] == 0
        )
        assert sys06() == [(0, "妈妈", ""), (1, "妈妈", "13500000002")]
        # The user named outside param (a known client quirk) works too.
        body = {
            "agentid": str(AGENTID),
            "user_id": "bob",
            "param": {
                "groups": [
                    {
                        "group_id": "sys02",
                        "sections": [{"section": [{"field_code": "sys02-nationType", "value": "1"}]}],
                    }
                ]
            },
        }
        assert w.post(UPDATE, body)["result"] is True
        got = fields_of(
            w.ok(
                LIST, {"agentid": AGENTID, "userid_list": ["bob"], "field_filter_list": ["sys02-nationType"]}
            )["result"][0]
        )
        assert got == {"sys02-nationType": [(0, "1", "汉族")]}

        before = w.ok(LIST, {"agentid": AGENTID, "userid_list": ["bob"]})["result"]
        good = {
            "group_id": "sys02",
            "sections": [{"section": [{"field_code": "sys02-address", "value": "上海"}]}],
        }

        def bad(group: str, code: str, value: Any, old_index: Any = None) -> dict[str, Any]:
            section: dict[str, Any] = {"section": [{"field_code": code, "value": value}]}
            if old_index is not None:
                section["old_index"] = old_index
            return update([good, {"group_id": group, "sections": [section]}])

        where = "param.groups[1].sections[0]"
        refused(
            bad("sys03", "sys03-highestEdu", "42"),
            400002,
            f"{where}.section[0].value",
            "'42' is not an option",
        )
        refused(bad("sys03", "sys03-graduationTime", "2020.09.01"), 400002, "yyyy-MM-dd")
        refused(
            bad("sys00", "sys00-reportManager", "alice"),
            400002,
            f"{where}.section[0].field_code",
            "cannot be updated",
        )
        refused(bad("sys00", "sys00-dept", "x"), 400002, "sys00-dept", "cannot be updated")
        refused(bad("sys00", "sys00-nope", "x"), 400002, "'sys00-nope' is not a field of group 'sys00'")
        refused(bad("sys99", "sys99-x", "x"), 400002, "param.groups[1].group_id", "no roster group 'sys99'")
        refused(
            bad("sys06", "sys06-urgentContactsName", "x", 7), 400002, f"{where}.old_index", "has no row 7"
        )
        refused(bad("sys02", "sys02-address", "x", 1), 400002, "exactly one row")
        refused(
            bad("sys00", "sys00-mobile", "13800000001"),
            400002,
            "sys00-mobile",
            "already used by user 'alice'",
        )
        refused(bad("sys00", "sys00-name", ""), 40035, "sys00-name is required")
        assert w.ok(LIST, {"agentid": AGENTID, "userid_list": ["bob"]})["result"] == before  # all or nothing

        refused(
            w.post(UPDATE, {"agentid": AGENTID, "param": {"userid": "ghost", "groups": [good]}}),
            33012,
            "param.userid",
            "'ghost'",
        )
        refused(w.post(UPDATE, {"agentid": AGENTID}), 40035, "param")
        refused(w.post(UPDATE, {"agentid": AGENTID, "param": {"userid": "bob"}}), 40035, "param.groups")
        refused(w.post(UPDATE, {"agentid": AGENTID, "param": {"groups": [good]}}), 40035, "param.userid")
        refused(
            w.post(
                UPDATE,
                {
                    "agentid": AGENTID,
                    "param": {
                        "userid": "bob",
                        "groups": [
                            {
                                "group_id": "sys02",
                                "sections": [{"section": [{"field_code": "sys02-address"}]}],
                            }
                        ],
                    },
                },
            ),
            40035,
            "param.groups[0].sections[0].section[0].value",
        )
        refused(
            w.post(
                UPDATE,
                {
                    "agentid": AGENTID,
                    "param": {
                        "userid": "bob",
                        "groups": [{"group_id": "sys02", "sections": [{"old_index": True, "section": []}]}],
                    },
                },
            ),
            400002,
            "old_index",
        )
        refused(w.post(UPDATE, {"agentid": AGENTID, "param": "{not json"}), 400002, "param")
        refused(w.post(UPDATE, raw=b"{not json"), 400002, "not valid JSON")
        refused(w.post(UPDATE, raw=b"[1, 2]"), 400002, "must be a JSON object")


def test_list_rules(live: LiveServer) -> None:
    setup_tenant(live.directory)
    attributes.create_definitions(
        live.directory,
        tenant_id="acme",
        items=[
            attributes.NewDefinition(id="lvl", name="职级", value_type="option", options=(("P1", "P1 级"),)),
        ],
    )
    roster_writes.update(
        live.directory,
        tenant_id="acme",
        user_id="alice",
        groups=[
            roster_writes.GroupWrite(
                roster_catalogue.CUSTOM_GROUP_ID,
                (roster_writes.SectionWrite((roster_writes.FieldWrite("lvl", "P1"),)),),
            )
        ],
    )
    server = live.server
    with wire(server.base_url) as w:
        reply = w.ok(LIST, {"agentid": AGENTID, "userid_list": "alice,ghost,bob"})
        assert list(reply) == ["errcode", "errmsg", "result", "success", "request_id"]
        alice, bob = reply["result"]
        assert (alice["userid"], bob["userid"]) == ("alice", "bob")  # unknown ids are left out
        assert list(alice) == ["corp_id", "field_data_list", "unionid", "userid"]
        assert alice["corp_id"] == CORP_ID and len(alice["unionid"]) == 27
        codes = [f["field_code"] for f in alice["field_data_list"]]
        assert codes[:3] == ["sys00-name", "sys00-email", "sys00-deptIds"]
        assert codes[-1] == "lvl" and len(codes) == len(set(codes)) == len(roster_catalogue.SYSTEM_FIELDS) + 1
        first = alice["field_data_list"][0]
        assert list(first) == ["field_code", "field_name", "group_id", "field_value_list"]
        got = fields_of(alice)
        assert got["sys00-name"] == [(0, "Alice", "Alice")]
        assert got["sys02-sexType"] == [(0, "2", "女")]
        assert got["lvl"] == [(0, "P1", "P1 级")]
        assert got["sys00-dept"] == [(0, "Eng", "Eng"), (0, "Backend", "Backend")]
        assert got["sys03-highestEdu"] == []  # no rows
        assert fields_of(bob)["sys00-reportManager"] == [(0, "Alice", "Alice")]
        # A filter: its order, unknown codes skipped.
        reply = w.ok(
            LIST,
            {
                "agentid": AGENTID,
                "userid_list": ["bob"],
                "field_filter_list": ["sys00-mobile", "nope", "sys00-name"],
            },
        )
        assert [f["field_code"] for f in reply["result"][0]["field_data_list"]] == [
            "sys00-mobile",
            "sys00-name",
        ]
        assert w.ok(LIST, {"agentid": AGENTID, "userid_list": ["ghost"]})["result"] == []

        refused(w.post(LIST, {"agentid": AGENTID}), 40035, "userid_list")
        refused(w.post(LIST, {"agentid": AGENTID, "userid_list": []}), 40035, "userid_list")
        refused(
            w.post(LIST, {"agentid": AGENTID, "userid_list": [f"u{i}" for i in range(101)]}),
            400002,
            "userid_list has 101",
            "limit is 100",
        )
        refused(
            w.post(
                LIST,
                {
                    "agentid": AGENTID,
                    "userid_list": ["bob"],
                    "field_filter_list": [f"f{i}" for i in range(101)],
                },
            ),
            400002,
            "limit is 100",
        )
        refused(w.post(LIST, {"agentid": AGENTID, "userid_list": {"a": 1}}), 400002, "userid_list")


def test_meta_and_grouplist(live: LiveServer) -> None:
    setup_tenant(live.directory)
    attributes.create_definitions(
        live.directory,
        tenant_id="acme",
        items=[attributes.NewDefinition(id="desk", name="工位", value_type="text")],
    )
    server = live.server
    with wire(server.base_url) as w:
        meta = w.ok(META, {"agentid": AGENTID})
        assert meta["success"] is True
        groups = {g["group_id"]: g for g in meta["result"]}
        assert list(groups) == [*(f"sys0{i}" for i in range(10)), roster_catalogue.CUSTOM_GROUP_ID]
        assert [g["group_id"] for g in meta["result"] if g["detail"]] == ["sys03", "sys06", "sys07"]
        assert list(groups["sys00"]) == ["group_id", "group_name", "detail", "field_meta_info_list"]
        nation = next(
            f for f in groups["sys02"]["field_meta_info_list"] if f["field_code"] == "sys02-nationType"
        )
        assert nation["field_type"] == "DDSelectField" and nation["derived"] is False
        options = orjson.loads(nation["option_text"])
        assert len(options) == 56 and options[0] == {"label": "汉族", "value": "1"}
        dept = next(f for f in groups["sys00"]["field_meta_info_list"] if f["field_code"] == "sys00-dept")
        assert dept["derived"] is True and "option_text" not in dept
        assert groups[roster_catalogue.CUSTOM_GROUP_ID]["field_meta_info_list"] == [
            {"derived": False, "field_code": "desk", "field_name": "工位", "field_type": "TextField"}
        ]
        grouplist = w.ok(GROUPLIST, {"agentid": str(AGENTID)})["result"]
        assert [(g["group_id"], g["has_detail"]) for g in grouplist][3] == ("sys03", True)
        photo = next(
            f for g in grouplist for f in g["field_list"] if f["field_code"] == "sys08-personalPhoto"
        )
        assert photo == {
            "field_code": "sys08-personalPhoto",
            "field_name": "员工照片",
            "field_type": "DDPhotoField",
        }


def test_employee_lists_and_pre_entry(live: LiveServer) -> None:
    setup_tenant(live.directory)
    server = live.server
    with wire(server.base_url) as w:
        page = w.ok(ONJOB, {"status_list": "2,3,5,-1", "offset": 0, "size": 2})
        assert page["success"] is True and page["result"] == {"data_list": ["alice", "bob"], "next_cursor": 2}
        page = w.ok(ONJOB, {"status_list": "2,3,5,-1", "offset": "2", "size": "2"})
        assert page["result"] == {"data_list": ["carol"]}  # a disabled account is still on the job
        assert w.ok(ONJOB, {"status_list": "3", "offset": 0, "size": 50})["result"] == {"data_list": []}
        assert w.ok(PREENTRY, {"offset": 0, "size": 50})["result"] == {"data_list": ["dave"]}
        assert w.ok(DIMISSION, {"offset": 0, "size": 50})["result"] == {"data_list": ["erin"]}
        refused(
            w.post(ONJOB, {"status_list": "2", "offset": 0, "size": 51}),
            400002,
            "size must be between 1 and 50",
        )
        refused(
            w.post(ONJOB, {"status_list": "4", "offset": 0, "size": 5}),
            400002,
            "'4' is not an employee status",
        )
        refused(w.post(ONJOB, {"offset": 0, "size": 5}), 40035, "status_list")
        refused(w.post(PREENTRY, {"size": 5}), 40035, "offset")
        refused(w.post(DIMISSION, {"offset": -1, "size": 5}), 400002, "offset")

        param = {
            "name": "新同事",
            "mobile": "13700000000",
            "pre_entry_time": "2030-03-01 09:00:00",
            "extend_info": orjson.dumps({"depts": "1", "position": "工程师", "employeeType": "1"}).decode(),
        }
        reply = w.ok(ADD_PREENTRY, {"param": param})
        assert list(reply) == ["errcode", "errmsg", "userid", "success", "request_id"]
        new_id = reply["userid"]
        assert new_id in w.ok(PREENTRY, {"offset": 0, "size": 50})["result"]["data_list"]
        got = fields_of(w.ok(LIST, {"agentid": AGENTID, "userid_list": [new_id]})["result"][0])
        assert got["sys00-position"] == [(0, "工程师", "工程师")]
        assert got["sys00-confirmJoinTime"] == [(0, "2030-03-01", "2030-03-01")]
        assert got["sys01-employeeType"] == [(0, "1", "全职")]
        refused(w.post(USER_GET, {"userid": new_id}), 60121)  # not a member until they join
        refused(w.post(ADD_PREENTRY, {"param": {**param, "name": "重复"}}), 60104, "param.mobile")
        refused(w.post(ADD_PREENTRY, {"param": {"name": "x"}}), 40035, "param.mobile")
        refused(
            w.post(
                ADD_PREENTRY, {"param": {**param, "mobile": "13600000000", "extend_info": {"depts": "999"}}}
            ),
            60003,
            "999",
        )
        refused(
            w.post(
                ADD_PREENTRY, {"param": {**param, "mobile": "13600000000", "extend_info": {"depts": "a|b"}}}
            ),
            400002,
            "param.extend_info.depts",
        )
