"""WPS v7 departments end to end: the tree, lookups, create/update/delete and its rules, members, leaders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from wps_contacts_support import (
    READ_ONLY_APP,
    TENANT,
    Org,
    client,
    person,
    refused,
    setup_tenant,
    small_tree,
    walk,
)

from conftest import LiveServer, ServerProcess
from openroster.core.custom import attributes
from openroster.core.people import depts, users
from openroster.model.entities import AttributeUpdate, UserAttributeUpdate

pytestmark = pytest.mark.e2e

INVALID_VALUE = 40000002
MISSING_FIELD = 40000003
TOO_MANY = 40000004
BROKEN_REFERENCE = 40000009
RULE_VIOLATION = 40000010
SCOPE_MISSING = 40300001
DEPT_NOT_FOUND = 40400003
CONFLICT = 40900001


def _server(live: LiveServer) -> tuple[ServerProcess, Org]:
    setup_tenant(live.directory)
    org = small_tree(live.directory)
    users.create_many(
        live.directory,
        tenant_id=TENANT,
        items=[
            person("alice", org.eng, email="alice@acme.test"),
            person("bob", org.backend, org.sales),
            person("carol", org.backend, status="disabled"),
            person("dave", org.sales),
        ],
        field_prefix="",
    )
    return live.server, org


def test_root_get_batch_read_and_ex_ids(live: LiveServer) -> None:
    server, org = _server(live)
    with client(server) as c:
        root = c.request("GET", "/v7/depts/root")
        assert (root["id"], root["name"], root["abs_path"], root["parent_id"]) == ("1", "Acme", "/Acme", "")
        eng = c.request("GET", f"/v7/depts/{org.eng}")
        assert eng == {
            "id": str(org.eng),
            "name": "Eng",
            "parent_id": "1",
            "abs_path": "/Acme/Eng",
            "ex_dept_id": "x-eng",
            "order": 1,
            "ctime": eng["ctime"],
            "leaders": [],
        }
        with refused(DEPT_NOT_FOUND, "dept_id", "999"):
            c.request("GET", "/v7/depts/999")
        with refused(INVALID_VALUE, "dept_id", "'abc'"):
            c.request("GET", "/v7/depts/abc")

        items = c.request(
            "POST", "/v7/depts/batch_read", json={"dept_ids": [str(org.sales), 999, org.eng, org.sales]}
        )
        assert [d["name"] for d in items["items"]] == [
            "Sales",
            "Eng",
        ]  # asked order, unknown left out, once each
        with refused(TOO_MANY, "dept_ids", "100"):
            c.request("POST", "/v7/depts/batch_read", json={"dept_ids": list(range(1, 102))})
        with refused(MISSING_FIELD, "dept_ids"):
            c.request("POST", "/v7/depts/batch_read", json={"dept_ids": []})
        with refused(INVALID_VALUE, "dept_ids[1]"):
            c.request("POST", "/v7/depts/batch_read", json={"dept_ids": [1, "-4"]})

        found = c.request("POST", "/v7/depts/by_ex_dept_ids", json={"ex_dept_ids": ["nope", "x-eng"]})[
            "items"
        ]
        assert [d["id"] for d in found] == [str(org.eng)]
        with refused(MISSING_FIELD, "ex_dept_ids"):
            c.request("POST", "/v7/depts/by_ex_dept_ids", json={})


def test_children_paging_recursive_and_totals(live: LiveServer) -> None:
    setup_tenant(live.directory)
    org = small_tree(live.directory)
    for n in range(12):
        depts.create(
            live.directory,
            tenant_id=TENANT,
            item=depts.NewDepartment(name=f"Team {n}", parent_id=org.backend),
        )
    server = live.server
    with client(server) as c:
        top = c.request("GET", "/v7/depts/1/children", params={"with_total": "true"})
        assert [d["name"] for d in top["items"]] == ["Eng", "Sales"]  # by order
        assert top["total"] == 2 and top["next_page_token"] == ""

        def children(dept: int, **extra: Any) -> Callable[[str | None], dict[str, Any]]:
            def fetch(token: str | None) -> dict[str, Any]:
                params = {"page_size": 5, "with_total": "true", **extra}
                if token:
                    params["page_token"] = token
                data: dict[str, Any] = c.request("GET", f"/v7/depts/{dept}/children", params=params)
                return data

            return fetch

        teams = walk(children(org.backend))
        assert [d["name"] for d in teams] == [f"Team {n}" for n in range(12)]
        everything = walk(children(1, recursive="true"))
        assert len(everything) == 15  # Eng, Backend, Sales and the 12 teams
        assert len({d["id"] for d in everything}) == 15
        assert all(d["abs_path"].startswith("/Acme/") for d in everything)
        assert (
            c.request("GET", "/v7/depts/1/children", params={"recursive": "true", "with_total": "true"})[
                "total"
            ]
            == 15
        )

        # A token belongs to its listing: another department or recursive flag is refused.
        token = c.request("GET", f"/v7/depts/{org.backend}/children", params={"page_size": 5})[
            "next_page_token"
        ]
        with refused(INVALID_VALUE, "page_token", "another listing"):
            c.request("GET", "/v7/depts/1/children", params={"page_size": 5, "page_token": token})
        with refused(INVALID_VALUE, "page_token", "another listing"):
            c.request(
                "GET",
                f"/v7/depts/{org.backend}/children",
                params={"page_size": 5, "page_token": token, "recursive": "true"},
            )
        with refused(DEPT_NOT_FOUND, "dept_id"):
            c.request("GET", "/v7/depts/999/children")


def test_create_update_move_and_delete(live: LiveServer) -> None:
    server, org = _server(live)
    with client(server) as c:
        ops = c.request(
            "POST",
            "/v7/depts/create",
            json={
                "name": "Ops",
                "parent_id": str(org.eng),
                "order": 7,
                "leaders": [{"user_id": "dave", "order": 2}],
            },
        )
        assert ops["abs_path"] == "/Acme/Eng/Ops" and ops["order"] == 7
        assert ops["leaders"] == [{"user_id": "dave", "order": 2}]
        ops_id = int(ops["id"])
        # A leader who was not a member became one.
        assert str(ops_id) in [d["id"] for d in c.request("GET", "/v7/users/dave/depts")["items"]]
        with refused(CONFLICT, "name", "'Ops'"):
            c.request("POST", "/v7/depts/create", json={"name": "Ops", "parent_id": str(org.eng)})
        with refused(BROKEN_REFERENCE, "leaders[0].user_id", "'ghost'"):
            c.request(
                "POST",
                "/v7/depts/create",
                json={"name": "QA", "parent_id": 1, "leaders": [{"user_id": "ghost"}]},
            )
        assert c.request("POST", "/v7/depts/by_ex_dept_ids", json={"ex_dept_ids": ["nope"]})["items"] == []
        assert "QA" not in [
            d["name"] for d in c.request("GET", "/v7/depts/1/children")["items"]
        ]  # all or nothing

        # Rename and move: the abs_path of the whole subtree follows, in users' replies too (bob's
        # reply with departments, rendered now, must not be reused after the move).
        bob = c.request("GET", "/v7/users/bob", params={"with_dept": "true"})
        assert "/Acme/Sales/Backend" not in [d["abs_path"] for d in bob["depts"]]
        assert c.request("POST", f"/v7/depts/{org.eng}/update", json={"name": "Engineering"}) is None
        paths = {d["id"]: d["abs_path"] for d in walk(lambda t: _recursive(c, 1, t))}
        assert paths[str(org.backend)] == "/Acme/Engineering/Backend"
        assert paths[str(ops_id)] == "/Acme/Engineering/Ops"
        c.request("POST", f"/v7/depts/{org.backend}/update", json={"parent_id": str(org.sales), "order": 3})
        backend = c.request("GET", f"/v7/depts/{org.backend}")
        assert (backend["parent_id"], backend["abs_path"], backend["order"]) == (
            str(org.sales),
            "/Acme/Sales/Backend",
            3,
        )
        bob = c.request("GET", "/v7/users/bob", params={"with_dept": "true"})
        batch = c.request(
            "POST",
            "/v7/users/batch_read",
            json={"user_ids": ["bob"], "status": ["active"], "with_dept": True},
        )
        assert bob["depts"] == batch["items"][0]["depts"]
        assert "/Acme/Sales/Backend" in [
            d["abs_path"] for d in bob["depts"]
        ]  # users see the new path at once

        # The tree rules.
        with refused(RULE_VIOLATION, "parent_id", "own descendant"):
            c.request("POST", f"/v7/depts/{org.sales}/update", json={"parent_id": str(org.backend)})
        with refused(RULE_VIOLATION, "parent_id", "own descendant"):
            c.request("POST", f"/v7/depts/{org.sales}/update", json={"parent_id": str(org.sales)})
        with refused(RULE_VIOLATION, "parent_id", "root"):
            c.request("POST", "/v7/depts/1/update", json={"parent_id": str(org.sales)})
        with refused(DEPT_NOT_FOUND, "parent_id", "999"):
            c.request("POST", f"/v7/depts/{org.sales}/update", json={"parent_id": "999"})
        with refused(CONFLICT, "name", "'Ops'"):
            c.request(
                "POST", f"/v7/depts/{org.backend}/update", json={"name": "Ops", "parent_id": str(org.eng)}
            )
        with refused(CONFLICT, "ex_dept_id", "'x-eng'"):
            c.request("POST", f"/v7/depts/{org.sales}/update", json={"ex_dept_id": "x-eng"})
        with refused(INVALID_VALUE, "name", "'/'"):
            c.request("POST", f"/v7/depts/{org.sales}/update", json={"name": "a/b"})
        with refused(INVALID_VALUE, "order"):
            c.request("POST", f"/v7/depts/{org.sales}/update", json={"order": -1})
        with refused(DEPT_NOT_FOUND, "dept_id"):
            c.request("POST", "/v7/depts/999/update", json={"name": "x"})
        assert c.request("GET", f"/v7/depts/{org.sales}")["abs_path"] == "/Acme/Sales"

        # Leaders: replaced as a list; former leaders stay members.
        c.request(
            "POST",
            f"/v7/depts/{org.sales}/update",
            json={"leaders": [{"user_id": "dave", "order": 1}, {"user_id": "bob", "order": 0}]},
        )
        assert c.request("GET", f"/v7/depts/{org.sales}")["leaders"] == [
            {"user_id": "bob", "order": 0},
            {"user_id": "dave", "order": 1},
        ]
        c.request(
            "POST", f"/v7/depts/{org.sales}/update", json={"leaders": [{"user_id": "dave", "order": 1}]}
        )
        members = c.request("GET", f"/v7/depts/{org.sales}/members")["items"]
        assert {m["user_id"]: m["is_leader"] for m in members} == {"bob": False, "dave": True}
        with refused(INVALID_VALUE, "leaders[1].user_id", "twice"):
            c.request(
                "POST",
                f"/v7/depts/{org.sales}/update",
                json={"leaders": [{"user_id": "dave"}, {"user_id": "dave"}]},
            )

        # Delete: only an empty department; never the root.
        with refused(RULE_VIOLATION, "dept_id", "not empty", "1 child", "member"):
            c.request("POST", f"/v7/depts/{org.sales}/delete")
        with refused(RULE_VIOLATION, "dept_id", "root"):
            c.request("POST", "/v7/depts/1/delete")
        c.request("POST", "/v7/users/dave/delete")
        assert c.request("POST", f"/v7/depts/{ops_id}/delete") is None
        with refused(DEPT_NOT_FOUND, "dept_id"):
            c.request("GET", f"/v7/depts/{ops_id}")
        with refused(DEPT_NOT_FOUND, "dept_id"):
            c.request("POST", f"/v7/depts/{ops_id}/delete")
    with client(server, READ_ONLY_APP, signing=None) as ro, refused(SCOPE_MISSING):
        ro.request("POST", f"/v7/depts/{org.sales}/update", json={"name": "x"})


def _recursive(c: Any, dept: int, token: str | None) -> dict[str, Any]:
    params = {"recursive": "true", "page_size": 50}
    if token:
        params["page_token"] = token
    data: dict[str, Any] = c.request("GET", f"/v7/depts/{dept}/children", params=params)
    return data


def test_delete_dept_drops_it_from_relation_depts_values(live: LiveServer) -> None:
    server, org = _server(live)
    spare = depts.create(
        live.directory, tenant_id=TENANT, item=depts.NewDepartment(name="Spare", parent_id=1)
    )
    covers = attributes.create_definitions(
        live.directory,
        tenant_id=TENANT,
        items=[attributes.NewDefinition(name="Covers", value_type="relation_depts")],
    )[0]
    attributes.update_values(
        live.directory,
        tenant_id=TENANT,
        updates=[
            UserAttributeUpdate(
                "alice", (AttributeUpdate(attr_id=covers.id, relation_depts=(str(spare.id), str(org.sales))),)
            ),
            UserAttributeUpdate(
                "bob", (AttributeUpdate(attr_id=covers.id, relation_depts=(str(spare.id),)),)
            ),
        ],
    )
    with client(server) as c:
        c.request("POST", f"/v7/depts/{spare.id}/delete")
        got = c.request("POST", "/v7/users/custom_attrs/batch_read", json={"user_ids": ["alice", "bob"]})[
            "users"
        ]
        assert got[0]["custom_attrs"][0]["relation_depts"] == [str(org.sales)]
        assert got[1]["custom_attrs"] == []  # no department left: the value is cleared


def test_members_paging_recursive_status_and_detail(live: LiveServer) -> None:
    server, org = _server(live)
    with client(server) as c:
        direct = c.request("GET", f"/v7/depts/{org.backend}/members", params={"with_total": "true"})
        assert [m["user_id"] for m in direct["items"]] == ["bob", "carol"]
        assert direct["total"] == 2 and direct["next_page_token"] == ""
        assert set(direct["items"][0]) == {"ctime", "dept_id", "is_leader", "mtime", "order", "user_id"}

        def members(**extra: Any) -> Callable[[str | None], dict[str, Any]]:
            def fetch(token: str | None) -> dict[str, Any]:
                params = {"page_size": 1, "recursive": "true", **extra}
                if token:
                    params["page_token"] = token
                data: dict[str, Any] = c.request("GET", f"/v7/depts/{org.eng}/members", params=params)
                return data

            return fetch

        everyone = walk(members())
        assert [m["user_id"] for m in everyone] == ["alice", "bob", "carol"]  # once each, by id
        assert [m["dept_id"] for m in everyone] == [str(org.eng), str(org.backend), str(org.backend)]
        active = walk(members(status="active", with_user_detail="true"))
        assert [m["user_id"] for m in active] == ["alice", "bob"]
        assert active[0]["user_info"]["email"] == "alice@acme.test"
        assert active[0]["user_info"]["id"] == "alice"
        total = c.request(
            "GET",
            f"/v7/depts/{org.eng}/members",
            params=[
                ("recursive", "true"),
                ("status", "active"),
                ("status", "disabled"),
                ("with_total", "true"),
            ],
        )["total"]
        assert total == 3
        token = c.request(
            "GET", f"/v7/depts/{org.eng}/members", params={"page_size": 1, "recursive": "true"}
        )["next_page_token"]
        with refused(INVALID_VALUE, "page_token", "another listing"):
            c.request(
                "GET",
                f"/v7/depts/{org.eng}/members",
                params={"page_size": 1, "recursive": "true", "status": "active", "page_token": token},
            )
        with refused(DEPT_NOT_FOUND, "dept_id"):
            c.request("GET", "/v7/depts/999/members")

        got = c.request(
            "POST",
            f"/v7/depts/{org.backend}/members/batch_read",
            json={
                "user_ids": ["carol", "alice", "bob"],
                "status": ["active", "disabled"],
                "with_user_detail": True,
            },
        )["items"]
        assert [m["user_id"] for m in got] == ["carol", "bob"]  # alice is not in Backend
        assert got[0]["user_info"]["status"] == "disabled"
        got = c.request(
            "POST",
            f"/v7/depts/{org.backend}/members/batch_read",
            json={"user_ids": ["carol", "bob"], "status": ["active"]},
        )["items"]
        assert [m["user_id"] for m in got] == ["bob"] and "user_info" not in got[0]
        with refused(MISSING_FIELD, "status"):
            c.request(
                "POST",
                f"/v7/depts/{org.backend}/members/batch_read",
                json={"user_ids": ["bob"], "status": []},
            )
        with refused(TOO_MANY, "user_ids", "100"):
            c.request(
                "POST",
                f"/v7/depts/{org.backend}/members/batch_read",
                json={"user_ids": [f"u{n}" for n in range(101)], "status": ["active"]},
            )
        with refused(DEPT_NOT_FOUND, "dept_id"):
            c.request(
                "POST", "/v7/depts/999/members/batch_read", json={"user_ids": ["bob"], "status": ["active"]}
            )
