"""SCIM end to end: the tenant's custom attributes in openroster's User extension (docs/scim.md),
typed as their definitions in /Schemas and /ResourceTypes, read and written by GET, POST, PUT,
PATCH and filters; a value its definition refuses is an invalidValue naming it and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from scim_support import ERROR, PATCH, USER, scim_tenant

from conftest import LiveServer
from openroster.core.custom import attributes

pytestmark = pytest.mark.e2e

#: openroster's User extension of custom attributes (docs/scim.md).
CUSTOM = "urn:openroster:params:scim:schemas:extension:custom:2.0:User"


@pytest.fixture
def scim(live: LiveServer) -> Iterator[httpx.Client]:
    with scim_tenant(live) as c:
        attributes.create_definitions(
            live.directory,
            tenant_id="acme",
            items=[
                attributes.NewDefinition(id="desk", name="Desk", value_type="text"),
                attributes.NewDefinition(
                    id="level", name="Level", value_type="option", options=(("senior", "S"), ("junior", "J"))
                ),
                attributes.NewDefinition(id="site", name="Site", value_type="url"),
                attributes.NewDefinition(id="mentor", name="Mentor", value_type="relation_user"),
                attributes.NewDefinition(id="teams", name="Teams", value_type="relation_depts"),
            ],
        )
        yield c


def _invalid(r: httpx.Response, scim_type: str, *words: str) -> None:
    assert r.status_code == 400, r.text
    body: dict[str, Any] = r.json()
    assert body["schemas"] == [ERROR] and body["scimType"] == scim_type
    assert all(w in body["detail"] for w in words), body["detail"]


def _patch(c: httpx.Client, uid: str, *ops: dict[str, Any]) -> httpx.Response:
    return c.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": list(ops)})


def test_the_extension_is_described_by_the_definitions(scim: httpx.Client) -> None:
    user_type = scim.get("/ResourceTypes/User").json()
    assert {"schema": CUSTOM, "required": False} in user_type["schemaExtensions"]
    described = scim.get(f"/Schemas/{CUSTOM}").json()
    assert described["id"] == CUSTOM and described["meta"]["resourceType"] == "Schema"
    attrs = {a["name"]: a for a in described["attributes"]}
    assert list(attrs) == ["desk", "level", "site", "mentor", "teams"]
    assert (attrs["desk"]["type"], attrs["desk"]["multiValued"]) == ("string", False)
    assert attrs["level"]["canonicalValues"] == ["senior", "junior"]
    assert {s["name"] for s in attrs["site"]["subAttributes"]} == {"title", "link"}
    assert attrs["mentor"]["type"] == "complex" and not attrs["mentor"]["multiValued"]
    assert attrs["teams"]["type"] == "complex" and attrs["teams"]["multiValued"]
    assert CUSTOM in [s["id"] for s in scim.get("/Schemas").json()["Resources"]]


def test_values_are_written_read_patched_filtered_and_cleared(scim: httpx.Client) -> None:
    mentor = scim.post("/Users", json={"schemas": [USER], "userName": "m@acme.test"}).json()["id"]
    values = {
        "desk": "B-2",
        "level": "senior",
        "site": {"title": "Home", "link": "https://acme.test/ann"},
        "mentor": {"value": mentor},
        "teams": [{"value": "1"}],
    }
    made = scim.post("/Users", json={"schemas": [USER, CUSTOM], "userName": "ann@acme.test", CUSTOM: values})
    assert made.status_code == 201, made.text
    uid = made.json()["id"]
    shown = scim.get(f"/Users/{uid}").json()
    assert CUSTOM in shown["schemas"]
    assert shown[CUSTOM]["desk"] == "B-2" and shown[CUSTOM]["level"] == "senior"
    assert shown[CUSTOM]["site"] == {"title": "Home", "link": "https://acme.test/ann"}
    assert shown[CUSTOM]["mentor"]["value"] == mentor and shown[CUSTOM]["mentor"]["$ref"].endswith(mentor)
    assert [t["value"] for t in shown[CUSTOM]["teams"]] == ["1"]

    r = _patch(scim, uid, {"op": "Replace", "path": f"{CUSTOM}:level", "value": "junior"})
    assert r.status_code == 200 and r.json()[CUSTOM]["level"] == "junior", r.text
    found = scim.get("/Users", params={"filter": f'{CUSTOM}:level eq "junior"'}).json()
    assert [u["id"] for u in found["Resources"]] == [uid]
    assert (
        scim.get("/Users", params={"filter": f'{CUSTOM}:desk pr and userName sw "m"'}).json()["totalResults"]
        == 0
    )

    r = scim.put(f"/Users/{uid}", json={"schemas": [USER], "userName": "ann@acme.test", "title": "CTO"})
    assert r.status_code == 200, r.text
    assert CUSTOM not in r.json() and CUSTOM not in r.json()["schemas"]  # PUT replaces: all cleared


@pytest.mark.parametrize(
    ("values", "named", "patched"),
    [
        ({"level": "boss"}, "level", "invalidValue"),
        ({"desk": ["not", "text"]}, "desk", "invalidValue"),
        ({"site": {"title": "x", "link": "ftp://acme.test"}}, "site", "invalidValue"),
        ({"mentor": {"value": "nobody"}}, "mentor", "invalidValue"),
        ({"teams": [{"value": "999"}]}, "teams", "invalidValue"),
        # a PATCH names attributes by path: one of no schema is an invalidPath (RFC 7644 §3.5.2)
        ({"shoe_size": "42"}, "shoe_size", "invalidPath"),
    ],
)
def test_a_value_its_definition_refuses_changes_nothing(
    scim: httpx.Client, values: dict[str, Any], named: str, patched: str
) -> None:
    uid = scim.post("/Users", json={"schemas": [USER], "userName": "bo@acme.test", "title": "Dev"}).json()[
        "id"
    ]
    before = scim.get(f"/Users/{uid}").json()
    r = _patch(
        scim,
        uid,
        {"op": "replace", "path": "title", "value": "Boss"},
        {"op": "add", "value": {CUSTOM: values}},
    )
    _invalid(r, patched, named)
    assert scim.get(f"/Users/{uid}").json() == before
    _invalid(
        scim.post("/Users", json={"schemas": [USER], "userName": "cy@acme.test", CUSTOM: values}),
        "invalidValue",
    )
    assert scim.get("/Users", params={"filter": 'userName eq "cy@acme.test"'}).json()["totalResults"] == 0


def test_a_path_to_no_custom_attribute_is_an_invalid_path(scim: httpx.Client) -> None:
    uid = scim.post("/Users", json={"schemas": [USER], "userName": "di@acme.test"}).json()["id"]
    _invalid(_patch(scim, uid, {"op": "add", "path": f"{CUSTOM}:shoe_size", "value": "42"}), "invalidPath")
