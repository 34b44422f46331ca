"""SCIM Groups are departments, end to end over raw HTTP (RFC 7643 §4.2, RFC 7644): members are the
direct members, externalId the ex_dept_id, the parent in openroster's extension; Entra's and Okta's
member PATCHes with hundreds of members; a person never left in no department."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from scim_support import DEPARTMENT as DEPT
from scim_support import ERROR, GROUP, PATCH, SEARCH, TENANT, USER, scim_tenant

from conftest import LiveServer
from openroster.core.people import depts, users

pytestmark = pytest.mark.e2e


@pytest.fixture
def scim(live: LiveServer) -> Iterator[httpx.Client]:
    with scim_tenant(live) as c:
        yield c


def _people(live: LiveServer, n: int, *dept_ids: int, prefix: str = "p") -> list[str]:
    made = users.create_many(
        live.directory,
        tenant_id=TENANT,
        items=[
            users.NewUser(id=f"{prefix}{i:04d}", user_name=f"P{i}", dept_ids=dept_ids or (1,))
            for i in range(n)
        ],
    )
    return [u.id for u in made]


def _patch(c: httpx.Client, gid: str, *ops: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = c.patch(f"/Groups/{gid}", json={"schemas": [PATCH], "Operations": list(ops)})
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def _member_ids(g: dict[str, Any]) -> list[str]:
    return sorted(m["value"] for m in g.get("members", []))


def test_create_read_list_and_the_mapping(live: LiveServer, scim: httpx.Client) -> None:
    ann, _ = _people(live, 2)
    body = {"schemas": [GROUP], "displayName": "Eng", "externalId": "x-eng", "members": [{"value": ann}]}
    r = scim.post("/Groups", json=body)
    assert r.status_code == 201, r.text
    eng = r.json()
    assert r.headers["location"] == eng["meta"]["location"] and eng["meta"]["resourceType"] == "Group"
    assert eng["displayName"] == "Eng" and eng["externalId"] == "x-eng"
    assert eng["members"] == [{"value": ann, "type": "User", "$ref": f"{live.base_url}/scim/v2/Users/{ann}"}]
    assert eng[DEPT]["parent"] == {"value": "1", "$ref": f"{live.base_url}/scim/v2/Groups/1"}
    sub = {"schemas": [GROUP], "displayName": "Backend", DEPT: {"parent": {"value": eng["id"]}}}
    backend = scim.post("/Groups", json=sub).json()
    with live.directory.reader() as rd:
        dept = depts.get(rd, tenant_id=TENANT, dept_id=int(backend["id"]))
        assert (dept.parent_id, dept.abs_path) == (int(eng["id"]), "/Acme/Eng/Backend")
        assert users.get(rd, tenant_id=TENANT, user_id=ann).dept_ids == (1, int(eng["id"]))
    assert scim.get(f"/Groups/{eng['id']}").json() == eng
    page = scim.get(
        "/Groups", params={"filter": 'displayName eq "eng"', "excludedAttributes": "members"}
    ).json()
    assert [g["id"] for g in page["Resources"]] == [eng["id"]] and "members" not in page["Resources"][0]
    page = scim.get("/Groups", params={"filter": f'members[value eq "{ann}"]'}).json()
    assert sorted(g["id"] for g in page["Resources"]) == sorted(["1", eng["id"]])
    assert scim.get("/Groups", params={"filter": 'externalId eq "x-eng"'}).json()["totalResults"] == 1
    either = f'id eq "{backend["id"]}" or displayName eq "nothing" or displayName eq "ENG"'
    page = scim.get("/Groups", params={"filter": either, "excludedAttributes": "members"}).json()
    assert sorted(g["id"] for g in page["Resources"]) == sorted([eng["id"], backend["id"]])
    assert (
        scim.get("/Groups", params={"filter": 'displayName eq "Eng" and id eq "x"'}).json()["totalResults"]
        == 0
    )
    r = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "Eng"})
    assert r.status_code == 409 and r.json()["scimType"] == "uniqueness"  # a sibling's name
    r = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "X", "members": [{"value": "nobody"}]})
    assert r.status_code == 400 and r.json()["scimType"] == "invalidValue"
    assert scim.get("/Groups/999").status_code == 404 and scim.get("/Groups/abc").status_code == 404


def test_member_patches_as_entra_and_okta_send_them(live: LiveServer, scim: httpx.Client) -> None:
    ids = _people(live, 300)
    gid = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "All"}).json()["id"]
    # Entra adds members in one operation with many values, ops capitalised
    got = _patch(scim, gid, {"op": "Add", "path": "members", "value": [{"value": i} for i in ids]})
    assert _member_ids(got) == ids
    # Entra removes with a value list (RFC 7644 read strictly refuses a remove with a value)
    got = _patch(scim, gid, {"op": "Remove", "path": "members", "value": [{"value": i} for i in ids[:200]]})
    assert _member_ids(got) == ids[200:]
    # Okta removes through a value filter, and renames with the id in the value object
    got = _patch(
        scim,
        gid,
        {"op": "remove", "path": f'members[value eq "{ids[200]}"]'},
        {"op": "replace", "value": {"id": gid, "displayName": "Everyone"}},
    )
    assert _member_ids(got) == ids[201:] and got["displayName"] == "Everyone"
    # Okta's PUT with the whole member list
    body = {"schemas": [GROUP], "displayName": "Everyone", "members": [{"value": i} for i in ids[:3]]}
    r = scim.put(f"/Groups/{gid}", json=body)
    assert r.status_code == 200 and _member_ids(r.json()) == ids[:3]


def test_a_person_never_left_in_no_department(live: LiveServer, scim: httpx.Client) -> None:
    gid = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "Solo"}).json()["id"]
    (only,) = _people(live, 1, int(gid))
    (other,) = _people(live, 1, 1, int(gid), prefix="q")
    before = scim.get(f"/Groups/{gid}").json()
    r = scim.patch(
        f"/Groups/{gid}",
        json={
            "schemas": [PATCH],
            "Operations": [
                {"op": "remove", "path": f'members[value eq "{other}"]'},
                {"op": "remove", "path": f'members[value eq "{only}"]'},
            ],
        },
    )
    assert r.status_code == 400 and r.json()["schemas"] == [ERROR] and r.json()["scimType"] == "invalidValue"
    assert "no department" in r.json()["detail"] and only in r.json()["detail"]
    assert scim.get(f"/Groups/{gid}").json() == before  # all or nothing: other is still a member
    r = scim.delete(f"/Groups/{gid}")
    assert r.status_code == 400  # not empty
    _patch(scim, gid, {"op": "replace", "path": f"{DEPT}:parent.value", "value": "1"})
    empty = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "Empty"}).json()["id"]
    assert scim.delete(f"/Groups/{empty}").status_code == 204
    assert scim.get(f"/Groups/{empty}").status_code == 404


def test_root_search_finds_users_and_groups(live: LiveServer, scim: httpx.Client) -> None:
    _people(live, 1)
    scim.post("/Groups", json={"schemas": [GROUP], "displayName": "P0 team"})
    search = {
        "schemas": [SEARCH],
        "filter": 'displayName sw "p0"',
        "attributes": ["displayName"],
        "sortBy": "displayName",
    }
    r = scim.post("/.search", json=search)
    assert r.status_code == 200, r.text
    found = r.json()["Resources"]
    assert [(x["schemas"][0], x["displayName"]) for x in found] == [
        (USER, "P0"),
        (GROUP, "P0 team"),
    ]
    assert all(set(x) == {"schemas", "id", "displayName"} for x in found)
