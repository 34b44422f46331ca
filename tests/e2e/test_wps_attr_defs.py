"""WPS v7 custom attribute definitions end to end: batch_update (names, options) and batch_delete."""

from __future__ import annotations

from typing import Any

import pytest
from wps_contacts_support import READ_ONLY_APP, TENANT, client, person, refused, setup_tenant

from conftest import LiveServer, ServerProcess
from openroster.client import WpsClient
from openroster.core.people import users

pytestmark = pytest.mark.e2e

INVALID_VALUE = 40000002
MISSING_FIELD = 40000003
TOO_MANY = 40000004
UNKNOWN_ATTRIBUTE = 40000007
RULE_VIOLATION = 40000010
SCOPE_MISSING = 40300001
CONFLICT = 40900001

DEFS = "/v7/companies/user_custom_attrs"


def _values(c: WpsClient, *user_ids: str) -> dict[str, dict[str, dict[str, Any]]]:
    """``{user: {attr name: value}}``."""
    got = c.request("POST", "/v7/users/custom_attrs/batch_read", json={"user_ids": list(user_ids)})["users"]
    return {u["user_id"]: {a["attr_name"]: a for a in u["custom_attrs"]} for u in got}


def _setup(live: LiveServer) -> tuple[ServerProcess, dict[str, Any]]:
    setup_tenant(live.directory)
    users.create_many(
        live.directory,
        tenant_id=TENANT,
        items=[person("alice"), person("bob"), person("carol")],
        field_prefix="",
    )
    server = live.server
    with client(server) as c:
        created = c.request(
            "POST",
            f"{DEFS}/batch_create",
            json={
                "items": [
                    {
                        "name": "Level",
                        "value_type": "option",
                        "options": [
                            {"key": "a", "name": "A"},
                            {"key": "b", "name": "B"},
                            {"key": "c", "name": "C"},
                        ],
                    },
                    {"name": "Motto", "value_type": "text"},
                ]
            },
        )["items"]
        ids = {d["name"]: d["id"] for d in created}
        c.request(
            "POST",
            "/v7/users/custom_attrs/batch_update",
            json={
                "users": [
                    {"user_id": "alice", "custom_attrs": [{"attr_id": ids["Level"], "option": "b"}]},
                    {"user_id": "bob", "custom_attrs": [{"attr_id": ids["Level"], "option": "c"}]},
                    {
                        "user_id": "carol",
                        "custom_attrs": [
                            {"attr_id": ids["Level"], "option": "a"},
                            {"attr_id": ids["Motto"], "text": "carpe diem"},
                        ],
                    },
                ]
            },
        )
    return server, ids


def test_batch_update_names_and_options(live: LiveServer) -> None:
    server, ids = _setup(live)
    with client(server) as c:
        updated = c.request(
            "POST",
            f"{DEFS}/batch_update",
            json={
                "items": [
                    {
                        "id": ids["Level"],
                        "name": "Grade",
                        # a renamed by key, b kept by its name, c dropped, d new.
                        "options": [{"key": "a", "name": "Alpha"}, {"name": "B"}, {"key": "d", "name": "D"}],
                    },
                    {"attr_id": ids["Motto"], "name": "Slogan", "value_type": "text"},
                ]
            },
        )["items"]
        assert updated[0] == {
            "id": ids["Level"],
            "name": "Grade",
            "value_type": "option",
            "options": [{"key": "a", "name": "Alpha"}, {"key": "b", "name": "B"}, {"key": "d", "name": "D"}],
        }
        listed = {d["id"]: d for d in c.request("GET", f"{DEFS}/batch_read")["items"]}
        assert listed[ids["Motto"]]["name"] == "Slogan"
        values = _values(c, "alice", "bob", "carol")
        assert values["alice"]["Grade"]["option"] == "b"  # kept
        assert values["carol"]["Grade"]["option"] == "a"  # kept through the rename
        assert values["carol"]["Slogan"]["text"] == "carpe diem"
        assert values["bob"] == {}  # option c is gone, and so is the value that pointed at it
        with refused(40000008, "option"):  # and it cannot be set again
            c.request(
                "POST",
                "/v7/users/custom_attrs/batch_update",
                json={
                    "users": [{"user_id": "bob", "custom_attrs": [{"attr_id": ids["Level"], "option": "c"}]}]
                },
            )

        # Refusals name the item and change nothing (all or none).
        with refused(RULE_VIOLATION, "items[0].value_type", "cannot change"):
            c.request(
                "POST", f"{DEFS}/batch_update", json={"items": [{"id": ids["Motto"], "value_type": "url"}]}
            )
        with refused(UNKNOWN_ATTRIBUTE, "items[1].id", "'ghost'"):
            c.request(
                "POST",
                f"{DEFS}/batch_update",
                json={"items": [{"id": ids["Motto"], "name": "Renamed"}, {"id": "ghost", "name": "x"}]},
            )
        with refused(CONFLICT, "items[0].name", "'Grade'"):
            c.request("POST", f"{DEFS}/batch_update", json={"items": [{"id": ids["Motto"], "name": "Grade"}]})
        with refused(INVALID_VALUE, "items[0].options", "only option attributes"):
            c.request(
                "POST",
                f"{DEFS}/batch_update",
                json={"items": [{"id": ids["Motto"], "options": [{"name": "x"}]}]},
            )
        with refused(MISSING_FIELD, "items[0].options"):
            c.request("POST", f"{DEFS}/batch_update", json={"items": [{"id": ids["Level"], "options": []}]})
        with refused(CONFLICT, "items[0].options[1].key", "twice"):
            c.request(
                "POST",
                f"{DEFS}/batch_update",
                json={
                    "items": [
                        {
                            "id": ids["Level"],
                            "options": [{"key": "a", "name": "1"}, {"key": "a", "name": "2"}],
                        }
                    ]
                },
            )
        with refused(MISSING_FIELD, "items"):
            c.request("POST", f"{DEFS}/batch_update", json={"items": []})
        with refused(TOO_MANY, "items", "50"):
            c.request("POST", f"{DEFS}/batch_update", json={"items": [{"id": ids["Motto"]}] * 51})
        assert {d["name"] for d in c.request("GET", f"{DEFS}/batch_read")["items"]} == {"Grade", "Slogan"}
    with (
        client(server, READ_ONLY_APP, signing=None) as ro,
        refused(SCOPE_MISSING, "kso.user_custom_attr.readwrite"),
    ):
        ro.request("POST", f"{DEFS}/batch_update", json={"items": [{"id": ids["Motto"], "name": "x"}]})


def test_batch_delete_removes_definitions_and_values(live: LiveServer) -> None:
    server, ids = _setup(live)
    with client(server) as c:
        with refused(UNKNOWN_ATTRIBUTE, "attr_ids[1]", "'ghost'"):
            c.request("POST", f"{DEFS}/batch_delete", json={"attr_ids": [ids["Level"], "ghost"]})
        assert _values(c, "alice")["alice"]["Level"]["option"] == "b"  # all or none
        with refused(MISSING_FIELD, "attr_ids"):
            c.request("POST", f"{DEFS}/batch_delete", json={"attr_ids": []})
        with refused(TOO_MANY, "attr_ids", "50"):
            c.request("POST", f"{DEFS}/batch_delete", json={"attr_ids": [f"a{n}" for n in range(51)]})

        assert c.request("POST", f"{DEFS}/batch_delete", json={"attr_ids": [ids["Level"]]}) is None
        assert [d["name"] for d in c.request("GET", f"{DEFS}/batch_read")["items"]] == ["Motto"]
        values = _values(c, "alice", "bob", "carol")
        assert values["alice"] == {} and values["bob"] == {}
        assert list(values["carol"]) == ["Motto"]
        with refused(UNKNOWN_ATTRIBUTE, "attr_id"):
            c.request(
                "POST",
                "/v7/users/custom_attrs/batch_update",
                json={
                    "users": [
                        {"user_id": "alice", "custom_attrs": [{"attr_id": ids["Level"], "option": "a"}]}
                    ]
                },
            )
        # The name is free again.
        again = c.request(
            "POST",
            f"{DEFS}/batch_create",
            json={"items": [{"name": "Level", "value_type": "option", "options": [{"name": "X"}]}]},
        )["items"][0]
        assert again["id"] != ids["Level"]
