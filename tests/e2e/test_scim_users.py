"""SCIM 2.0 end to end, raw HTTP written from RFC 7643 / RFC 7644: the bearer, the discovery
endpoints, and /Users with filters, paging, sorting, PUT, PATCH, ETags and DELETE."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from scim_support import ENTERPRISE, ERROR, LIST, PATCH, SCIM_JSON, SEARCH, SECRET, TENANT, USER, scim_tenant

from conftest import LiveServer
from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.tenancy import apps, tenants
from openroster.dialects.scim import users as scim_users
from openroster.server.app import create_app
from openroster.testing import serve_asgi

pytestmark = pytest.mark.e2e


@pytest.fixture
def scim(live: LiveServer) -> Iterator[httpx.Client]:
    with scim_tenant(live) as c:
        yield c


def _error(r: httpx.Response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(SCIM_JSON)
    body: dict[str, Any] = r.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"]
    return body


def _user(name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": name, "displayName": name.split("@", maxsplit=1)[0], **extra}


def _create(c: httpx.Client, name: str, **extra: Any) -> dict[str, Any]:
    r = c.post("/Users", json=_user(name, **extra))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _list(c: httpx.Client, **params: Any) -> dict[str, Any]:
    r = c.get("/Users", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["schemas"] == [LIST]
    return body


def _names(page: dict[str, Any]) -> list[str]:
    return [u["userName"] for u in page["Resources"]]


def test_bearer_is_an_app_secret_with_the_scim_scope(live: LiveServer, scim: httpx.Client) -> None:
    base = live.base_url + "/scim/v2"
    _error(httpx.get(base + "/Users"), 401)
    _error(httpx.get(base + "/Users", headers={"Authorization": "Bearer wrong-secret"}), 401)
    apps.create(live.directory, tenant_id=TENANT, client_id="acme-wps", secret="acme-wps-secret")
    _error(httpx.get(base + "/Users", headers={"Authorization": "Bearer acme-wps-secret"}), 401)
    assert scim.get("/Users").status_code == 200
    # rotating the secret revokes the old bearer
    apps.rotate_secret(live.directory, client_id="acme-scim", secret="acme-scim-secret-2")
    _error(scim.get("/Users"), 401)
    assert (
        httpx.get(base + "/Users", headers={"Authorization": "Bearer acme-scim-secret-2"}).status_code == 200
    )


def test_tenants_are_apart(live: LiveServer, scim: httpx.Client) -> None:
    d = live.directory
    tenants.create(d, tenant_id="other", name="Other")
    apps.create(d, tenant_id="other", client_id="other-scim", secret="other-scim-secret", scopes=("scim",))
    mine = _create(scim, "ann@acme.test")
    other = {"Authorization": "Bearer other-scim-secret"}
    base = live.base_url + "/scim/v2"
    assert httpx.get(base + "/Users", headers=other).json()["totalResults"] == 0
    _error(httpx.get(base + f"/Users/{mine['id']}", headers=other), 404)


def test_discovery_describes_what_is_supported(scim: httpx.Client) -> None:
    r = scim.get("/ServiceProviderConfig")
    assert r.status_code == 200 and r.headers["content-type"].startswith(SCIM_JSON)
    spc = r.json()
    assert spc["patch"]["supported"] is True and spc["bulk"]["supported"] is False
    assert spc["filter"] == {"supported": True, "maxResults": 1000}
    assert spc["sort"]["supported"] and spc["etag"]["supported"]
    assert not spc["changePassword"]["supported"]
    assert spc["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert spc["meta"]["resourceType"] == "ServiceProviderConfig"
    types = scim.get("/ResourceTypes").json()
    user_type = next(t for t in types["Resources"] if t["id"] == "User")
    assert user_type["endpoint"] == "/Users" and user_type["schema"] == USER
    assert user_type["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert user_type["meta"]["location"].endswith("/scim/v2/ResourceTypes/User")
    assert scim.get("/ResourceTypes/User").json()["id"] == "User"
    schemas = {s["id"]: s for s in scim.get("/Schemas").json()["Resources"]}
    assert set(schemas) >= {USER, ENTERPRISE}
    attrs = {a["name"]: a for a in schemas[USER]["attributes"]}
    assert attrs["userName"]["required"] and attrs["userName"]["uniqueness"] == "server"
    assert attrs["userName"]["caseExact"] is False and attrs["externalId"]["caseExact"] is True
    assert attrs["groups"]["mutability"] == "readOnly"
    assert {s["name"] for s in attrs["emails"]["subAttributes"]} == {"value", "type", "primary"}
    assert scim.get(f"/Schemas/{USER}").json()["meta"]["resourceType"] == "Schema"
    _error(scim.get("/Schemas/urn:nope"), 404)


def test_create_read_and_the_mapping(live: LiveServer, scim: httpx.Client) -> None:
    boss = _create(scim, "boss@acme.test")
    body = _user(
        "Ann@Acme.test",
        externalId="hr-1",
        title="Engineer",
        phoneNumbers=[{"value": "13800000001", "type": "mobile"}, {"value": "010-1234", "type": "work"}],
        active=False,
        **{ENTERPRISE: {"employeeNumber": "E1", "manager": {"value": boss["id"]}}},
    )
    r = scim.post("/Users", json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert r.headers["location"] == made["meta"]["location"] and made["meta"]["location"].endswith(made["id"])
    assert r.headers["etag"] == made["meta"]["version"] and made["meta"]["version"].startswith('W/"')
    assert made["userName"] == "ann@acme.test"  # as the directory keeps emails
    assert made["externalId"] == "hr-1" and made["title"] == "Engineer" and made["active"] is False
    assert made["name"]["formatted"] == "Ann" == made["displayName"]
    assert made["emails"] == [{"value": "ann@acme.test", "type": "work", "primary": True}]
    assert made[ENTERPRISE]["employeeNumber"] == "E1" and made[ENTERPRISE]["manager"]["value"] == boss["id"]
    assert made["groups"] == [
        {"value": "1", "$ref": f"{live.base_url}/scim/v2/Groups/1", "display": "Acme", "type": "direct"}
    ]
    assert made[ENTERPRISE]["department"] == "Acme"
    assert made["meta"]["resourceType"] == "User"
    # the same person through core
    with live.directory.reader() as rd:
        u = users.get(rd, tenant_id=TENANT, user_id=made["id"])
    assert (u.email, u.ex_user_id, u.phone, u.telephone, u.status.value) == (
        "ann@acme.test",
        "hr-1",
        "13800000001",
        "010-1234",
        "disabled",
    )
    got = scim.get(f"/Users/{made['id']}")
    assert got.json() == made and got.headers["etag"] == made["meta"]["version"]
    _error(scim.get("/Users/nobody"), 404)
    _error(scim.post("/Users", json=_user("ANN@acme.test")), 409, "uniqueness")
    _error(scim.post("/Users", json={"schemas": [USER], "displayName": "x"}), 400, "invalidValue")
    _error(scim.post("/Users", content=b"{not json"), 400, "invalidSyntax")
    ok = scim.post("/Users", json=_user("plain@acme.test"), headers={"Content-Type": "application/json"})
    assert ok.status_code == 201


def test_filters_the_whole_grammar(scim: httpx.Client) -> None:
    _create(scim, "ann@acme.test", externalId="A-1", title="Engineer")
    _create(scim, "bob@acme.test", externalId="B-2", title="Manager", active=False)
    _create(scim, "cyd@other.test", externalId="C-3")

    def hits(f: str) -> list[str]:
        return sorted(_names(_list(scim, filter=f)))

    assert hits('userName eq "ANN@acme.test"') == ["ann@acme.test"]  # userName is caseExact false
    assert hits('externalId eq "a-1"') == []  # externalId is caseExact true
    assert hits('externalId eq "A-1"') == ["ann@acme.test"]
    assert hits('emails.value eq "bob@acme.test"') == ["bob@acme.test"]
    assert hits('emails[type eq "work" and value ew "@acme.test"]') == ["ann@acme.test", "bob@acme.test"]
    assert hits('userName sw "c"') == ["cyd@other.test"]
    assert hits('title co "gine"') == ["ann@acme.test"]
    assert hits("title pr") == ["ann@acme.test", "bob@acme.test"]
    assert hits('not (title pr) or userName eq "bob@acme.test"') == ["bob@acme.test", "cyd@other.test"]
    assert hits('(title eq "Engineer" or title eq "Manager") and active eq true') == ["ann@acme.test"]
    assert hits("active eq false") == ["bob@acme.test"]
    assert hits('userName gt "b" and userName lt "c"') == ["bob@acme.test"]
    assert hits('userName ne "ann@acme.test"') == ["bob@acme.test", "cyd@other.test"]
    assert hits('meta.created ge "2000-01-01T00:00:00Z"') == [
        "ann@acme.test",
        "bob@acme.test",
        "cyd@other.test",
    ]
    assert hits(f'{USER}:userName eq "ann@acme.test"') == ["ann@acme.test"]
    for bad in (
        "userName eq",
        'userName zz "x"',
        '(userName eq "x"',
        "userName eq x",
        "active gt true",
        "x eq 1 y",
    ):
        _error(scim.get("/Users", params={"filter": bad}), 400, "invalidFilter")


def test_paging_sorting_and_attributes(scim: httpx.Client) -> None:
    for n in "edcba":
        _create(scim, f"{n}@acme.test")
    page = _list(scim, startIndex=2, count=2, sortBy="userName")
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert _names(page) == ["b@acme.test", "c@acme.test"]
    assert _names(_list(scim, sortBy="userName", sortOrder="descending", count=1)) == ["e@acme.test"]
    unsorted = _list(scim, startIndex=4, count=10)
    assert unsorted["totalResults"] == 5 and unsorted["itemsPerPage"] == 2
    assert _list(scim, count=0)["Resources"] == []
    # Okta's probe: filter=userName eq with startIndex=1&count=100
    okta = _list(scim, filter='userName eq "c@acme.test"', startIndex=1, count=100)
    assert okta["totalResults"] == 1 and _names(okta) == ["c@acme.test"]
    thin = _list(scim, attributes="userName", count=1)["Resources"][0]
    assert set(thin) == {"schemas", "id", "userName"}
    lean = _list(scim, excludedAttributes="groups,meta", count=1)["Resources"][0]
    assert "groups" not in lean and "meta" not in lean and "userName" in lean


def test_put_replaces(scim: httpx.Client) -> None:
    u = _create(scim, "ann@acme.test", title="Engineer", externalId="A-1")
    r = scim.put(f"/Users/{u['id']}", json=_user("ann@acme.test", displayName="Ann Lee", active=False))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["displayName"] == "Ann Lee" and got["active"] is False
    assert "title" not in got and "externalId" not in got  # a PUT replaces: absent attributes clear
    assert got["meta"]["version"] != u["meta"]["version"]


def test_patch_as_entra_and_okta_send_it(scim: httpx.Client) -> None:
    u = _create(scim, "ann@acme.test", title="Engineer", externalId="A-1")
    url = f"/Users/{u['id']}"

    def patch(*ops: dict[str, Any], status: int = 200) -> dict[str, Any]:
        r = scim.patch(url, json={"schemas": [PATCH], "Operations": list(ops)})
        assert r.status_code == status, r.text
        body: dict[str, Any] = r.json()
        return body

    assert patch({"op": "Replace", "path": "active", "value": "False"})["active"] is False
    assert patch({"op": "replace", "value": {"active": True, "title": "Lead"}})["title"] == "Lead"
    got = patch({"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "13800000009"})
    assert got["phoneNumbers"] == [{"value": "13800000009", "type": "mobile"}]
    assert "title" not in patch({"op": "Replace", "path": "title", "value": ""})
    assert "externalId" not in patch({"op": "remove", "path": "externalId"})
    got = patch({"op": "add", "path": f"{ENTERPRISE}:employeeNumber", "value": "E7"})
    assert got[ENTERPRISE]["employeeNumber"] == "E7"
    got = patch({"op": "replace", "value": {"name.formatted": "Ann B"}})
    assert got["displayName"] == "Ann B"
    assert "phoneNumbers" not in patch({"op": "remove", "path": 'phoneNumbers[type eq "mobile"]'})
    # Entra's default mapping sends attributes openroster does not keep, and the read-only department
    before = scim.get(url).json()
    after = patch(
        {"op": "Replace", "path": "preferredLanguage", "value": "zh-CN"},
        {"op": "Add", "path": 'addresses[type eq "work"].formatted', "value": "Beijing"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Sales"},
        {"op": "Replace", "value": {"nickName": "A", f"{ENTERPRISE}:costCenter": "C1"}},
    )
    assert after == before
    for op, scim_type in (
        ({"op": "remove"}, "noTarget"),
        ({"op": "replace", "path": "id", "value": "x"}, "mutability"),
        ({"op": "replace", "path": "nope", "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": 'emails[type eq "home"', "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": 'emails[type sw "h"].value', "value": "x"}, "noTarget"),
        ({"op": "move", "path": "title", "value": "x"}, "invalidSyntax"),
    ):
        r = scim.patch(url, json={"schemas": [PATCH], "Operations": [op]})
        _error(r, 400, scim_type)
    # all or nothing: a failing operation leaves the earlier ones unapplied
    r = scim.patch(
        url,
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "title", "value": "X"}, {"op": "remove"}],
        },
    )
    _error(r, 400, "noTarget")
    assert "title" not in scim.get(url).json()


def test_if_match_and_delete(scim: httpx.Client) -> None:
    u = _create(scim, "ann@acme.test")
    url, version = f"/Users/{u['id']}", u["meta"]["version"]
    body = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "A"}]}
    _error(scim.patch(url, json=body, headers={"If-Match": 'W/"stale"'}), 412)
    r = scim.patch(url, json=body, headers={"If-Match": version})
    assert r.status_code == 200 and r.headers["etag"] != version
    _error(scim.delete(url, headers={"If-Match": version}), 412)
    assert scim.delete(url).status_code == 204
    _error(scim.get(url), 404)
    _error(scim.delete(url), 404)


@pytest.mark.slow
def test_a_filter_no_index_answers_is_bounded_and_pages_go_by_position(
    directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``SCAN_MAX`` Users a filter no index answers, or a sort, is ``tooMany`` (RFC 7644 §3.12:
    more than the server is willing to process); ``eq`` on an indexed attribute and plain pages are
    served at any size. A server of its own, so the bound can be small."""
    monkeypatch.setattr(scim_users, "SCAN_MAX", 3)
    tenants.create(directory, tenant_id=TENANT, name="Acme")
    apps.create(directory, tenant_id=TENANT, client_id="acme-scim", secret=SECRET, scopes=("scim",))
    people = [
        users.NewUser(id=f"p{i}", user_name=f"P{i}", email=f"p{i}@acme.test", dept_ids=(1,)) for i in range(4)
    ]
    users.create_many(directory, tenant_id=TENANT, items=people)
    headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": SCIM_JSON}
    with (
        serve_asgi(create_app(Settings(), directory=directory)) as base,
        httpx.Client(base_url=base + "/scim/v2", headers=headers, timeout=60) as c,
    ):
        for params in ({"filter": 'userName sw "p"'}, {"sortBy": "userName"}):
            assert "more than 3 Users" in _error(c.get("/Users", params=params), 400, "tooMany")["detail"]
        search = {"schemas": [SEARCH], "filter": 'title pr or userName ew "test"'}
        _error(c.post("/Users/.search", json=search), 400, "tooMany")
        _error(c.post("/.search", json=search), 400, "tooMany")
        found = _list(c, filter='userName eq "p2@acme.test" or externalId eq "none"')
        assert found["totalResults"] == 1 and _names(found) == ["p2@acme.test"]
        page = _list(c, startIndex=2, count=2)
        assert (page["totalResults"], [u["id"] for u in page["Resources"]]) == (4, ["p1", "p2"])
        assert [u["id"] for u in _list(c, startIndex=4, count=9)["Resources"]] == ["p3"]
        assert _list(c, startIndex=5)["Resources"] == []
