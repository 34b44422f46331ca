"""WPS v7 users end to end: get, list, look up, update, delete, batch status, departments and order."""

from __future__ import annotations

from typing import Any

import pytest
from wps_contacts_support import (
    READ_ONLY_APP,
    TENANT,
    Org,
    bulk_users,
    client,
    person,
    refused,
    setup_tenant,
    small_tree,
    walk,
)

from conftest import LiveServer, ServerProcess
from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.model.entities import AttributeUpdate as Set
from openroster.model.entities import UserAttributeUpdate

pytestmark = pytest.mark.e2e

INVALID_VALUE = 40000002
MISSING_FIELD = 40000003
TOO_MANY = 40000004
BROKEN_REFERENCE = 40000009
RULE_VIOLATION = 40000010
SCOPE_MISSING = 40300001
USER_NOT_FOUND = 40400002
CONFLICT = 40900001


def _people(d: Directory, org: Org) -> None:
    users.create_many(
        d,
        tenant_id=TENANT,
        items=[
            person(
                "alice",
                org.eng,
                org.backend,
                email="Alice@Acme.test",
                phone="13800000001",
                employee_id="E1",
                ex_user_id="hr-1",
                login_name="alice",
                gender="female",
                title="CTO",
            ),
            person("bob", org.backend, email="bob@acme.test", phone="13800000002", leader_id="alice"),
            person("carol", org.sales, status="disabled", ex_user_id="hr-3"),
            person("dave", org.sales, status="notactive", employee_id="E4"),
        ],
        field_prefix="",
    )


def _server(live: LiveServer) -> tuple[ServerProcess, Org]:
    setup_tenant(live.directory)
    org = small_tree(live.directory)
    _people(live.directory, org)
    return live.server, org


def test_get_user_and_user_depts(live: LiveServer) -> None:
    server, org = _server(live)
    with client(server) as c:
        alice = c.request("GET", "/v7/users/alice", params={"with_dept": "true"})
        assert alice["user_name"] == "Alice"
        assert alice["email"] == "alice@acme.test"  # the app holds the email scope
        assert alice["gender"] == "female"
        assert alice["def_dept_id"] == str(org.eng)
        assert [x["abs_path"] for x in alice["depts"]] == ["/Acme/Eng", "/Acme/Eng/Backend"]
        assert "depts" not in c.request("GET", "/v7/users/alice")
        with refused(USER_NOT_FOUND, "user_id", "'nobody'"):
            c.request("GET", "/v7/users/nobody")
        with refused(INVALID_VALUE, "with_dept"):
            c.request("GET", "/v7/users/alice", params={"with_dept": "maybe"})

        items = c.request("GET", "/v7/users/alice/depts")["items"]
        assert [(x["id"], x["name"], x["parent_id"]) for x in items] == [
            (str(org.eng), "Eng", "1"),
            (str(org.backend), "Backend", str(org.eng)),
        ]
        assert items[0]["ex_dept_id"] == "x-eng"
        with refused(USER_NOT_FOUND, "nobody"):
            c.request("GET", "/v7/users/nobody/depts")
    # The gateway prefixes of private deployments name the same endpoints.
    for prefix in ("/openapi", "/graph"):
        with client(server, prefix=prefix) as c:
            assert c.request("GET", "/v7/users/alice/depts")["items"][0]["name"] == "Eng"
    with client(server, READ_ONLY_APP, signing=None) as ro:
        bob = ro.request("GET", "/v7/users/bob")
        assert "email" not in bob and "phone" not in bob  # no field scopes
        assert bob["leader_id"] == "alice"


def test_list_users_paging_filters_and_totals(live: LiveServer) -> None:
    setup_tenant(live.directory)
    org = small_tree(live.directory)
    _people(live.directory, org)
    bulk_users(live.directory, 23, prefix="p", dept_id=org.sales)
    server = live.server
    every = sorted(["alice", "bob", "carol", "dave", *(f"p{n:05d}" for n in range(23))])
    with client(server) as c:
        first = c.request("GET", "/v7/users")
        assert len(first["items"]) == 10  # the default page size
        assert first["next_page_token"]
        assert "total" not in first

        def page(token: str | None, **extra: Any) -> dict[str, Any]:
            params: list[tuple[str, Any]] = [("page_size", 7), ("with_total", "true"), *extra.items()]
            if token:
                params.append(("page_token", token))
            data: dict[str, Any] = c.request("GET", "/v7/users", params=params)
            assert data["total"] == len(every)
            return data

        assert [u["id"] for u in walk(page)] == every

        active = walk(
            lambda t: c.request(
                "GET",
                "/v7/users",
                params=[("status", "active"), ("page_size", 50), ("with_dept", "true")]
                + ([("page_token", t)] if t else []),
            )
        )
        assert [u["id"] for u in active] == [x for x in every if x not in ("carol", "dave")]
        assert active[0]["depts"][0]["name"] == "Eng"
        two = c.request(
            "GET",
            "/v7/users",
            params=[("status", "disabled"), ("status", "notactive"), ("with_total", "true")],
        )
        assert [u["id"] for u in two["items"]] == ["carol", "dave"]
        assert two["total"] == 2 and two["next_page_token"] == ""

        with refused(INVALID_VALUE, "page_size", "50"):
            c.request("GET", "/v7/users", params={"page_size": 51})
        with refused(INVALID_VALUE, "page_size"):
            c.request("GET", "/v7/users", params={"page_size": 0})
        with refused(INVALID_VALUE, "page_size"):
            c.request("GET", "/v7/users", params={"page_size": "ten"})
        with refused(INVALID_VALUE, "status[0]", "'gone'"):
            c.request("GET", "/v7/users", params={"status": "gone"})


def test_lookups_by_email_phone_and_ex_user_id(live: LiveServer) -> None:
    server, org = _server(live)
    with client(server) as c:
        found = c.request(
            "POST",
            "/v7/users/by_emails",
            json={"emails": ["BOB@acme.test", "nobody@x.test", "alice@acme.test"]},
        )["items"]
        assert [u["id"] for u in found] == ["bob", "alice"]  # the order asked, case-insensitive
        found = c.request(
            "POST",
            "/v7/users/by_phones",
            json={"phones": ["13800000001", "13800000002"], "status": ["active"], "with_dept": True},
        )["items"]
        assert [u["id"] for u in found] == ["alice", "bob"]
        assert found[1]["depts"] == [
            {"abs_path": "/Acme/Eng/Backend", "id": str(org.backend), "name": "Backend"}
        ]
        found = c.request("POST", "/v7/users/by_ex_user_ids", json={"ex_user_ids": ["hr-3", "hr-1"]})["items"]
        assert [u["id"] for u in found] == ["carol", "alice"]
        found = c.request(
            "POST", "/v7/users/by_ex_user_ids", json={"ex_user_ids": ["hr-3", "hr-1"], "status": ["active"]}
        )["items"]
        assert [u["id"] for u in found] == ["alice"]  # carol is disabled

        with refused(TOO_MANY, "emails", "100"):
            c.request("POST", "/v7/users/by_emails", json={"emails": [f"{n}@x.test" for n in range(101)]})
        with refused(MISSING_FIELD, "phones"):
            c.request("POST", "/v7/users/by_phones", json={"status": ["active"]})
        with refused(INVALID_VALUE, "status[1]"):
            c.request("POST", "/v7/users/by_emails", json={"emails": ["a@b.c"], "status": ["active", "x"]})


def test_update_user_and_its_rules(live: LiveServer) -> None:
    server, org = _server(live)
    with client(server) as c:
        assert (
            c.request("POST", "/v7/users/bob/update", json={"title": "Engineer", "email": "", "city": None})
            is None
        )
        bob = c.request("GET", "/v7/users/bob")
        assert bob["title"] == "Engineer" and bob["email"] == "" and bob["phone"] == "13800000002"
        assert bob["leader_id"] == "alice"  # untouched
        c.request("POST", "/v7/users/bob/update", json={"email": "Robert@Acme.test", "gender": "male"})
        assert c.request("GET", "/v7/users/bob")["email"] == "robert@acme.test"

        # Unique within the tenant, on update too; the error names the field.
        for field, value in (
            ("email", "ALICE@acme.test"),
            ("phone", "13800000001"),
            ("employee_id", "E1"),
            ("ex_user_id", "hr-1"),
            ("login_name", "alice"),
        ):
            with refused(CONFLICT, field, "'alice'"):
                c.request("POST", "/v7/users/bob/update", json={field: value})
        # Keeping one's own value is no conflict.
        c.request("POST", "/v7/users/alice/update", json={"email": "alice@acme.test", "employee_id": "E1"})

        with refused(BROKEN_REFERENCE, "leader_id", "'ghost'"):
            c.request("POST", "/v7/users/bob/update", json={"leader_id": "ghost"})
        with refused(INVALID_VALUE, "leader_id", "own leader"):
            c.request("POST", "/v7/users/bob/update", json={"leader_id": "bob"})
        with refused(RULE_VIOLATION, "leader_id", "loop"):
            c.request("POST", "/v7/users/alice/update", json={"leader_id": "bob"})
        with refused(INVALID_VALUE, "def_dept_id", str(org.sales)):
            c.request("POST", "/v7/users/bob/update", json={"def_dept_id": str(org.sales)})
        c.request("POST", "/v7/users/alice/update", json={"def_dept_id": str(org.backend)})
        assert c.request("GET", "/v7/users/alice")["def_dept_id"] == str(org.backend)
        with refused(INVALID_VALUE, "email"):
            c.request("POST", "/v7/users/bob/update", json={"email": "not-an-email"})
        with refused(INVALID_VALUE, "role"):
            c.request("POST", "/v7/users/bob/update", json={"role": "emperor"})
        with refused(MISSING_FIELD, "user_name"):
            c.request("POST", "/v7/users/bob/update", json={"user_name": "  "})
        with refused(INVALID_VALUE, "title"):
            c.request("POST", "/v7/users/bob/update", json={"title": 7})
        with refused(USER_NOT_FOUND, "nobody"):
            c.request("POST", "/v7/users/nobody/update", json={"title": "x"})
        assert c.request("GET", "/v7/users/bob")["title"] == "Engineer"  # nothing refused was written
    with client(server, READ_ONLY_APP, signing=None) as ro, refused(SCOPE_MISSING, "kso.contact.readwrite"):
        ro.request("POST", "/v7/users/bob/update", json={"title": "x"})


def test_delete_user_clears_what_pointed_at_them(live: LiveServer) -> None:
    server, _org = _server(live)
    mentor = attributes.create_definitions(
        live.directory,
        tenant_id=TENANT,
        items=[attributes.NewDefinition(name="Mentor", value_type="relation_user")],
    )[0]
    attributes.update_values(
        live.directory,
        tenant_id=TENANT,
        updates=[UserAttributeUpdate("carol", (Set(attr_id=mentor.id, relation_user="alice"),))],
    )
    with client(server) as c:
        assert c.request("POST", "/v7/users/alice/delete") is None
        with refused(USER_NOT_FOUND, "alice"):
            c.request("GET", "/v7/users/alice")
        assert c.request("GET", "/v7/users/bob")["leader_id"] == ""  # alice led bob
        carol = c.request("POST", "/v7/users/custom_attrs/batch_read", json={"user_ids": ["carol"]})["users"][
            0
        ]
        assert carol["custom_attrs"] == []  # no value left naming a deleted user
        with refused(USER_NOT_FOUND, "alice"):
            c.request("POST", "/v7/users/alice/delete")
        assert c.request("POST", "/v7/users/by_emails", json={"emails": ["alice@acme.test"]})["items"] == []


def test_batch_enable_and_disable(live: LiveServer) -> None:
    server, _org = _server(live)
    with client(server) as c:

        def status(uid: str) -> str:
            return str(c.request("GET", f"/v7/users/{uid}")["status"])

        assert (
            c.request("POST", "/v7/users/batch_disable", json={"user_ids": ["alice", "bob", "alice"]}) is None
        )
        assert (status("alice"), status("bob")) == ("disabled", "disabled")
        c.request("POST", "/v7/users/batch_enable", json={"user_ids": ["bob", "dave"]})
        assert (status("bob"), status("dave")) == ("active", "active")
        # All or none: one unknown id and nobody changes.
        with refused(USER_NOT_FOUND, "user_ids[1]", "'ghost'"):
            c.request("POST", "/v7/users/batch_enable", json={"user_ids": ["alice", "ghost"]})
        assert status("alice") == "disabled"
        with refused(MISSING_FIELD, "user_ids"):
            c.request("POST", "/v7/users/batch_disable", json={"user_ids": []})
        with refused(TOO_MANY, "user_ids", "100"):
            c.request("POST", "/v7/users/batch_disable", json={"user_ids": [f"u{n}" for n in range(101)]})


def test_batch_update_dept_and_order(live: LiveServer) -> None:
    server, org = _server(live)
    with client(server) as c:
        c.request("POST", f"/v7/depts/{org.eng}/update", json={"leaders": [{"user_id": "alice", "order": 5}]})
        body = {
            "items": [
                {"user_id": "alice", "dept_ids": [str(org.sales), str(org.eng)]},
                {"user_id": "bob", "dept_ids": [org.sales], "def_dept_id": str(org.sales)},
            ]
        }
        assert c.request("POST", "/v7/users/batch_update_dept", json=body) is None
        alice = c.request("GET", "/v7/users/alice", params={"with_dept": "true"})
        assert {x["name"] for x in alice["depts"]} == {"Sales", "Eng"}
        assert alice["def_dept_id"] == str(org.eng)  # kept: still one of her departments
        bob = c.request("GET", "/v7/users/bob")
        assert bob["def_dept_id"] == str(org.sales)
        eng = c.request("POST", "/v7/depts/batch_read", json={"dept_ids": [str(org.eng)]})["items"][0]
        assert eng["leaders"] == [{"user_id": "alice", "order": 5}]  # a kept department keeps the leader flag

        # The same departments for several users.
        c.request(
            "POST", "/v7/users/batch_update_dept", json={"user_ids": ["carol", "dave"], "dept_ids": [org.eng]}
        )
        assert [d["id"] for d in c.request("GET", "/v7/users/dave/depts")["items"]] == [str(org.eng)]

        before = c.request("GET", "/v7/users/alice/depts")
        bad = {
            "items": [
                {"user_id": "alice", "dept_ids": [org.backend]},
                {"user_id": "bob", "dept_ids": [org.eng, 999]},
            ]
        }
        with refused(BROKEN_REFERENCE, "items[1].dept_ids[1]", "999"):
            c.request("POST", "/v7/users/batch_update_dept", json=bad)
        assert c.request("GET", "/v7/users/alice/depts") == before  # all or none
        with refused(USER_NOT_FOUND, "items[0].user_id", "'ghost'"):
            c.request(
                "POST", "/v7/users/batch_update_dept", json={"items": [{"user_id": "ghost", "dept_ids": [1]}]}
            )
        with refused(INVALID_VALUE, "items[0].def_dept_id"):
            c.request(
                "POST",
                "/v7/users/batch_update_dept",
                json={"items": [{"user_id": "bob", "dept_ids": [org.eng], "def_dept_id": org.sales}]},
            )
        with refused(MISSING_FIELD, "items[0].dept_ids"):
            c.request(
                "POST", "/v7/users/batch_update_dept", json={"items": [{"user_id": "bob", "dept_ids": []}]}
            )
        with refused(INVALID_VALUE, "items[0].dept_ids"):
            c.request(
                "POST",
                "/v7/users/batch_update_dept",
                json={"items": [{"user_id": "bob", "dept_ids": [1, 1]}]},
            )
        with refused(MISSING_FIELD, "items"):
            c.request("POST", "/v7/users/batch_update_dept", json={})

        # A member's order within a department.
        order = {"user_order_list": [{"user_id": "bob", "dept_id": str(org.sales), "order": 3}]}
        assert c.request("POST", "/v7/users/batch_update_order", json=order) is None
        members = c.request("GET", f"/v7/depts/{org.sales}/members")["items"]
        assert {m["user_id"]: m["order"] for m in members}["bob"] == 3
        with refused(RULE_VIOLATION, "user_order_list[0].dept_id", "not a member"):
            c.request(
                "POST",
                "/v7/users/batch_update_order",
                json={"user_order_list": [{"user_id": "bob", "dept_id": str(org.backend), "order": 1}]},
            )


def test_batch_read_answers_every_change_made_since_the_last_read(live: LiveServer) -> None:
    """batch_read keeps replies (in the fragment cache): each change shows at once."""
    server, org = _server(live)
    body = {"user_ids": ["alice", "bob", "ghost"], "status": ["active"], "with_dept": True}

    def read(c: Any) -> dict[str, dict[str, Any]]:
        return {u["id"]: u for u in c.request("POST", "/v7/users/batch_read", json=body)["items"]}

    with client(server) as c:
        for _ in range(2):  # the second read is answered from the table
            first = read(c)
            assert list(first) == ["alice", "bob"] and first["bob"]["email"] == "bob@acme.test"
        c.request("POST", "/v7/users/bob/update", json={"title": "Engineer"})
        assert read(c)["bob"]["title"] == "Engineer"
        c.request("POST", f"/v7/depts/{org.backend}/update", json={"name": "Platform"})
        assert {d["abs_path"] for d in read(c)["bob"]["depts"]} == {"/Acme/Eng/Platform"}
        c.request("POST", "/v7/users/bob/delete")
        assert list(read(c)) == ["alice"]
    with client(server, READ_ONLY_APP, signing=None) as ro:  # another scope set: its own table
        seen = read(ro)
        assert list(seen) == ["alice"] and "email" not in seen["alice"]
