"""DingTalk contacts end to end: members and departments, numeric ids, root 1."""

from __future__ import annotations

import pytest
from dingtalk_support import (
    CORP_ID,
    DEPT_GET,
    DEPT_LISTSUB,
    UPDATE,
    USER_GET,
    USER_LISTID,
    refused,
    setup_tenant,
    wire,
)

from conftest import LiveServer

pytestmark = pytest.mark.e2e


def test_members_and_departments(live: LiveServer) -> None:
    org = setup_tenant(live.directory)
    server = live.server
    with wire(server.base_url) as w:
        alice = w.ok(USER_GET, {"userid": "alice", "language": "zh_CN"})
        assert list(alice) == ["errcode", "errmsg", "result", "request_id"]  # no "success" on contacts
        a = alice["result"]
        assert (a["userid"], a["name"], a["mobile"], a["email"], a["job_number"], a["title"]) == (
            "alice",
            "Alice",
            "13800000001",
            "alice@acme.test",
            "E1",
            "CTO",
        )
        assert a["dept_id_list"] == [org.eng, org.backend]
        assert a["leader_in_dept"] == [
            {"dept_id": org.eng, "leader": True},
            {"dept_id": org.backend, "leader": False},
        ]
        assert a["active"] is True and a["corp_id"] == CORP_ID and "manager_userid" not in a
        assert "hired_date" not in a
        # The roster's join date shows as hired_date (ms, midnight in China).
        join = {"field_code": "sys00-confirmJoinTime", "value": "2021-03-01"}
        assert (
            w.post(
                UPDATE,
                {
                    "agentid": 23470561,
                    "param": {
                        "userid": "bob",
                        "groups": [{"group_id": "sys00", "sections": [{"section": [join]}]}],
                    },
                },
            )["errcode"]
            == 0
        )
        bob = w.ok(USER_GET, {"userid": "bob"})["result"]
        assert bob["manager_userid"] == "alice" and bob["hired_date"] == 1614528000000
        assert (
            w.ok(USER_GET, {"userid": "carol"})["result"]["active"] is False
        )  # disabled: a member, inactive
        refused(w.post(USER_GET, {"userid": "dave"}), 60121, "'dave'")  # pre-entry
        refused(w.post(USER_GET, {"userid": "erin"}), 60121)  # left
        refused(w.post(USER_GET, {"userid": "ghost"}), 60121)
        refused(w.post(USER_GET, {}), 40035, "userid")

        assert w.ok(USER_LISTID, {"dept_id": org.backend})["result"] == {"userid_list": ["alice", "bob"]}
        assert w.ok(USER_LISTID, {"dept_id": str(org.sales)})["result"] == {"userid_list": ["carol"]}
        assert w.ok(USER_LISTID, {"dept_id": 1})["result"] == {"userid_list": []}  # direct members only
        refused(w.post(USER_LISTID, {"dept_id": 999}), 60003, "999")
        refused(w.post(USER_LISTID, {"dept_id": "x"}), 400002, "dept_id")

        root_children = w.ok(DEPT_LISTSUB, {"dept_id": 1})["result"]
        assert [(d["dept_id"], d["name"], d["parent_id"]) for d in root_children] == [
            (org.eng, "Eng", 1),
            (org.sales, "Sales", 1),
        ]
        assert w.ok(DEPT_LISTSUB, {})["result"] == root_children  # the root when dept_id is left out
        assert [d["dept_id"] for d in w.ok(DEPT_LISTSUB, {"dept_id": org.eng})["result"]] == [org.backend]
        assert w.ok(DEPT_LISTSUB, {"dept_id": org.backend})["result"] == []
        refused(w.post(DEPT_LISTSUB, {"dept_id": 999}), 60003)

        eng = w.ok(DEPT_GET, {"dept_id": org.eng})["result"]
        assert (eng["dept_id"], eng["name"], eng["parent_id"], eng["dept_manager_userid_list"]) == (
            org.eng,
            "Eng",
            1,
            ["alice"],
        )
        root = w.ok(DEPT_GET, {"dept_id": 1})["result"]
        assert root["dept_id"] == 1 and root["name"] == "Acme" and "parent_id" not in root
        refused(w.post(DEPT_GET, {"dept_id": 999}), 60003, "999")
        refused(w.post(DEPT_GET, {}), 40035, "dept_id")
