"""Tenant isolation: for every endpoint of both dialects, acme's credentials reach nothing of globex's.

``acme`` calls every route with globex's identifiers: user ids, emails, phones,
external ids, department ids only globex has, attribute ids, roster user ids,
and page tokens globex was handed; and with ids both companies use
(``shared-1``, department 2, attribute ``level``), which must mean acme's own.
Then:

- no reply to acme holds any value of globex's (names, contact data, attribute
  and roster values, department names) that the request did not carry itself;
- globex's rows are byte for byte what they were (every table with a
  ``tenant_id``);
- globex's page tokens are refused;
- the control plane's journal filtered by tenant shows each company its own
  calls only, and forgetting one company's calls keeps the other's;
- an app of acme without the scope (WPS) or permission (DingTalk) a route
  needs, as docs/wps.md and docs/dingtalk.md document it, is refused on that route.

``ISOLATION_CASES`` must name every registered route: a new endpoint without
isolation cases fails ``test_every_route_has_isolation_cases``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import orjson
import pytest

import openroster.dialects.wps.routes  # noqa: F401  (registers the WPS routes listed below)
from openroster.config import Settings
from openroster.dialects.dingtalk.endpoint import ROUTES as DINGTALK_ROUTES
from openroster.dialects.wps.endpoint import ROUTES as WPS_ROUTES
from openroster.server.app import open_directory
from openroster.testing.control import ControlClient
from reliability.replies import check_reply
from reliability.servers import ADMIN_TOKEN, WorldServer, backend_params, world_server
from security.world import WPS_SCOPES, Company, company_rows, secret_of

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Req:
    """One call of acme's: ``path`` may hold a query; ``body`` is JSON (DingTalk: agentid added)."""

    method: str
    path: str
    body: Any = None


@dataclass(frozen=True)
class Ids:
    """What acme aims at: globex's identifiers, ids both companies use, and globex's page tokens."""

    a: Company
    b: Company
    b_only_dept: int
    shared_dept: int
    b_tokens: dict[str, str]

    @property
    def b_users(self) -> list[str]:
        return list(self.b.own_users)


Cases = Callable[[Ids], list[Req]]


def _u(ids: Ids) -> list[str]:
    """User ids to aim at: globex's own, and one both have."""
    return [*ids.b_users, "shared-1"]


def _attr_update(ids: Ids) -> list[Req]:
    b_attr = ids.b.own_attrs[0]
    return [
        Req(
            "POST",
            "/users/custom_attrs/batch_update",
            {"users": [{"user_id": u, "custom_attrs": [{"attr_id": "level", "text": "x"}]}]},
        )
        for u in ids.b_users
    ] + [
        Req(
            "POST",
            "/users/custom_attrs/batch_update",
            {"users": [{"user_id": "shared-1", "custom_attrs": [{"attr_id": b_attr, "text": "x"}]}]},
        ),
        Req(
            "POST",
            "/users/custom_attrs/batch_update",
            {
                "users": [
                    {
                        "user_id": "shared-1",
                        "custom_attrs": [{"attr_id": "level", "relation_depts": [ids.b_only_dept]}],
                    }
                ]
            },
        ),
        Req(
            "POST",
            "/users/custom_attrs/batch_update",
            {
                "users": [
                    {"user_id": "shared-2", "custom_attrs": [{"attr_id": "level", "text": "acme-own-value"}]}
                ]
            },
        ),
    ]


def _dept(ids: Ids) -> list[int]:
    return [ids.b_only_dept, ids.shared_dept]


#: (method, path) of every WPS route -> the calls acme makes on it.
WPS_CASES: dict[tuple[str, str], Cases] = {
    ("GET", "/companies/user_custom_attrs/batch_read"): lambda i: [
        Req("GET", "/companies/user_custom_attrs/batch_read")
    ],
    ("POST", "/companies/user_custom_attrs/batch_create"): lambda i: [
        Req(
            "POST",
            "/companies/user_custom_attrs/batch_create",
            {"items": [{"name": "acme new attr", "value_type": "text"}]},
        )
    ],
    ("POST", "/users/custom_attrs/batch_update"): _attr_update,
    ("POST", "/users/custom_attrs/batch_read"): lambda i: [
        Req("POST", "/users/custom_attrs/batch_read", {"user_ids": _u(i)})
    ],
    ("POST", "/companies/user_custom_attrs/batch_update"): lambda i: [
        Req(
            "POST",
            "/companies/user_custom_attrs/batch_update",
            {"items": [{"id": i.b.own_attrs[0], "name": "renamed"}]},
        ),
        Req(
            "POST",
            "/companies/user_custom_attrs/batch_update",
            {"items": [{"id": "level", "name": "acme level 2"}]},
        ),
    ],
    ("POST", "/companies/user_custom_attrs/batch_delete"): lambda i: [
        Req("POST", "/companies/user_custom_attrs/batch_delete", {"attr_ids": [i.b.own_attrs[0]]}),
    ],
    ("POST", "/users/batch_read"): lambda i: [
        Req(
            "POST",
            "/users/batch_read",
            {
                "user_ids": _u(i),
                "status": ["active", "notactive", "disabled", "dimission"],
                "with_dept": True,
            },
        )
    ],
    ("POST", "/users/create"): lambda i: [
        Req("POST", "/users/create", {"user_name": "n", "dept_ids": [i.b_only_dept]}),
        Req("POST", "/users/create", {"user_name": "n", "dept_ids": [1], "leader_id": i.b_users[0]}),
        # globex's email and phone are no one's in acme: acme may give them to its own person.
        Req(
            "POST",
            "/users/create",
            {"user_name": "acme twin", "dept_ids": [1], "email": i.b.emails[2], "phone": i.b.phones[2]},
        ),
    ],
    ("POST", "/depts/create"): lambda i: [
        Req("POST", "/depts/create", {"name": "n", "parent_id": i.b_only_dept}),
        Req("POST", "/depts/create", {"name": "n2", "parent_id": 1, "leaders": [{"user_id": i.b_users[0]}]}),
        Req("POST", "/depts/create", {"name": "n3", "parent_id": 1, "ex_dept_id": i.b.ex_dept_ids[0]}),
    ],
    ("GET", "/depts/root"): lambda i: [Req("GET", "/depts/root")],
    ("POST", "/depts/batch_read"): lambda i: [Req("POST", "/depts/batch_read", {"dept_ids": _dept(i)})],
    ("POST", "/depts/by_ex_dept_ids"): lambda i: [
        Req("POST", "/depts/by_ex_dept_ids", {"ex_dept_ids": list(i.b.ex_dept_ids)})
    ],
    ("GET", "/depts/{dept_id}"): lambda i: [Req("GET", f"/depts/{d}") for d in _dept(i)],
    ("GET", "/depts/{dept_id}/children"): lambda i: [
        *(Req("GET", f"/depts/{d}/children?recursive=true") for d in (*_dept(i), 1)),
        Req("GET", f"/depts/1/children?page_size=1&page_token={i.b_tokens['children']}"),
    ],
    ("GET", "/depts/{dept_id}/members"): lambda i: [
        *(Req("GET", f"/depts/{d}/members?recursive=true&with_user_detail=true") for d in (*_dept(i), 1)),
        Req("GET", f"/depts/{i.shared_dept}/members?page_size=1&page_token={i.b_tokens['members']}"),
    ],
    ("POST", "/depts/{dept_id}/members/batch_read"): lambda i: [
        Req(
            "POST",
            f"/depts/{d}/members/batch_read",
            {"user_ids": _u(i), "status": ["active"], "with_user_detail": True},
        )
        for d in _dept(i)
    ],
    ("POST", "/depts/{dept_id}/update"): lambda i: [
        Req("POST", f"/depts/{i.b_only_dept}/update", {"name": "taken over"}),
        Req("POST", f"/depts/{i.shared_dept}/update", {"parent_id": i.b_only_dept}),
        Req("POST", f"/depts/{i.shared_dept}/update", {"leaders": [{"user_id": i.b_users[0]}]}),
    ],
    ("POST", "/depts/{dept_id}/delete"): lambda i: [Req("POST", f"/depts/{i.b_only_dept}/delete")],
    ("GET", "/users"): lambda i: [
        Req("GET", "/users?with_dept=true&page_size=50"),
        Req("GET", f"/users?page_size=2&page_token={i.b_tokens['users']}"),
    ],
    ("POST", "/users/by_emails"): lambda i: [Req("POST", "/users/by_emails", {"emails": list(i.b.emails)})],
    ("POST", "/users/by_phones"): lambda i: [Req("POST", "/users/by_phones", {"phones": list(i.b.phones)})],
    ("POST", "/users/by_ex_user_ids"): lambda i: [
        Req("POST", "/users/by_ex_user_ids", {"ex_user_ids": list(i.b.ex_user_ids)})
    ],
    ("POST", "/users/batch_enable"): lambda i: [Req("POST", "/users/batch_enable", {"user_ids": i.b_users})],
    ("POST", "/users/batch_disable"): lambda i: [
        Req("POST", "/users/batch_disable", {"user_ids": i.b_users})
    ],
    ("POST", "/users/batch_update_dept"): lambda i: [
        Req("POST", "/users/batch_update_dept", {"user_ids": i.b_users, "dept_ids": [1]}),
        Req("POST", "/users/batch_update_dept", {"user_ids": ["shared-2"], "dept_ids": [i.b_only_dept]}),
    ],
    ("POST", "/users/batch_update_order"): lambda i: [
        Req(
            "POST",
            "/users/batch_update_order",
            {"user_order_list": [{"user_id": u, "dept_id": i.shared_dept, "order": 3}]},
        )
        for u in i.b_users
    ],
    ("GET", "/users/{user_id}"): lambda i: [Req("GET", f"/users/{u}?with_dept=true") for u in _u(i)],
    ("GET", "/users/{user_id}/depts"): lambda i: [Req("GET", f"/users/{u}/depts") for u in _u(i)],
    ("POST", "/users/{user_id}/update"): lambda i: [
        *(Req("POST", f"/users/{u}/update", {"title": "taken over"}) for u in i.b_users),
        Req("POST", "/users/shared-1/update", {"leader_id": i.b_users[0]}),
        Req("POST", "/users/shared-1/update", {"def_dept_id": i.b_only_dept}),
    ],
    ("POST", "/users/{user_id}/delete"): lambda i: [Req("POST", f"/users/{u}/delete") for u in i.b_users],
}

HRM = "/topapi/smartwork/hrm"


def _roster_update(userid: str, group: str, code: str, value: str) -> Req:
    section = {"section": [{"field_code": code, "value": value}]}
    return Req(
        "POST",
        f"{HRM}/employee/v2/update",
        {"param": {"userid": userid, "groups": [{"group_id": group, "sections": [section]}]}},
    )


#: Path of every DingTalk route -> the calls acme makes on it.
DINGTALK_CASES: dict[str, Cases] = {
    "/topapi/v2/user/get": lambda i: [Req("POST", "/topapi/v2/user/get", {"userid": u}) for u in _u(i)],
    "/topapi/user/listid": lambda i: [
        Req("POST", "/topapi/user/listid", {"dept_id": d}) for d in (*_dept(i), 1)
    ],
    "/topapi/v2/department/listsub": lambda i: [
        Req("POST", "/topapi/v2/department/listsub", {"dept_id": d}) for d in (*_dept(i), 1)
    ],
    "/topapi/v2/department/get": lambda i: [
        Req("POST", "/topapi/v2/department/get", {"dept_id": d}) for d in _dept(i)
    ],
    f"{HRM}/employee/v2/update": lambda i: [
        *(_roster_update(u, "sys02", "sys02-certNo", "1") for u in i.b_users),
        _roster_update("shared-1", "custom0000001", i.b.own_attrs[0], "x"),
        _roster_update("shared-1", "sys00", "sys00-mainDeptId", str(i.b_only_dept)),
    ],
    f"{HRM}/employee/v2/list": lambda i: [Req("POST", f"{HRM}/employee/v2/list", {"userid_list": _u(i)})],
    f"{HRM}/roster/meta/get": lambda i: [Req("POST", f"{HRM}/roster/meta/get", {})],
    f"{HRM}/employee/field/grouplist": lambda i: [Req("POST", f"{HRM}/employee/field/grouplist", {})],
    f"{HRM}/employee/queryonjob": lambda i: [
        Req("POST", f"{HRM}/employee/queryonjob", {"status_list": "2,3,5,-1", "offset": 0, "size": 50})
    ],
    f"{HRM}/employee/querypreentry": lambda i: [
        Req("POST", f"{HRM}/employee/querypreentry", {"offset": 0, "size": 50})
    ],
    f"{HRM}/employee/querydimission": lambda i: [
        Req("POST", f"{HRM}/employee/querydimission", {"offset": 0, "size": 50})
    ],
    f"{HRM}/employee/listdimission": lambda i: [
        Req("POST", f"{HRM}/employee/listdimission", {"userid_list": _u(i)})
    ],
    f"{HRM}/employee/addpreentry": lambda i: [
        Req("POST", f"{HRM}/employee/addpreentry", {"param": {"name": "acme hire", "mobile": i.b.phones[3]}}),
        Req(
            "POST",
            f"{HRM}/employee/addpreentry",
            {"param": {"name": "n", "mobile": "13712345678", "extend_info": {"depts": str(i.b_only_dept)}}},
        ),
    ],
}


@pytest.fixture(scope="module", params=backend_params())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldServer]:
    with world_server(request, tmp_path_factory, str(request.param)) as w:
        yield w


def _rows(world: WorldServer, tenant_id: str) -> dict[str, list[tuple[object, ...]]]:
    d = open_directory(Settings(data_dir=world.data_dir, database_url=world.database_url))
    try:
        rows = company_rows(d, tenant_id)
        rows.pop("dingtalk_tokens", None)  # globex's own token calls extend its token; nothing of acme's
        return rows
    finally:
        d.store.dispose()


class Caller:
    """Calls as one app of one company (an unsigned WPS app, or a DingTalk app)."""

    def __init__(
        self, http: httpx.Client, company: Company, wps_kind: str = "wps", ding_kind: str = "ding"
    ) -> None:
        self.http = http
        self.company = company
        self.wps_app = company.app(wps_kind)
        self.ding_app = company.app(ding_kind)
        self._wps: str | None = None
        self._ding: str | None = None

    def wps(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, bytes]:
        if self._wps is None:
            resp = self.http.post(
                "/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.wps_app,
                    "client_secret": secret_of(self.wps_app),
                },
            )
            self._wps = str(resp.json()["access_token"])
        sent = orjson.dumps(body) if body is not None else b""
        headers = {"Authorization": f"Bearer {self._wps}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        resp = self.http.request(method, "/v7" + path, content=sent or None, headers=headers)
        check_reply("/v7" + path, resp.status_code, resp.headers, resp.content)
        return resp.status_code, resp.content, path.encode() + sent

    def ding(self, path: str, body: dict[str, Any]) -> tuple[int, bytes, bytes]:
        if self._ding is None:
            reply = self.http.get(
                "/gettoken", params={"appkey": self.ding_app, "appsecret": secret_of(self.ding_app)}
            ).json()
            self._ding = str(reply["access_token"])
        sent = orjson.dumps({"agentid": self.company.agentid, **body})
        resp = self.http.post(
            path,
            params={"access_token": self._ding},
            content=sent,
            headers={"Content-Type": "application/json"},
        )
        reply = check_reply(path, resp.status_code, resp.headers, resp.content)
        return int(reply["errcode"]), resp.content, sent


def _b_tokens(http: httpx.Client, globex: Company, shared_dept: int) -> dict[str, str]:
    """Page tokens globex was handed (acme then tries them)."""
    b = Caller(http, globex)
    out = {}
    for name, path in (
        ("users", "/users?page_size=2"),
        ("children", "/depts/1/children?page_size=1"),
        ("members", f"/depts/{shared_dept}/members?page_size=1&recursive=true"),
    ):
        _status, content, _sent = b.wps("GET", path)
        token = orjson.loads(content)["data"]["next_page_token"]
        assert token, (name, content)
        out[name] = token
    return out


def test_every_route_has_isolation_cases() -> None:
    assert {(r.method, r.path) for r in WPS_ROUTES} == set(WPS_CASES)
    assert {r.path for r in DINGTALK_ROUTES} == set(DINGTALK_CASES)


@pytest.mark.e2e
def test_no_endpoint_lets_one_company_reach_another(world: WorldServer) -> None:
    acme, globex = world.acme, world.globex
    shared = acme.depts["backend"]
    assert globex.depts["backend"] == shared  # the same id names a department in each company
    b_only = globex.depts["only-1"]
    assert b_only not in acme.depts.values()
    with (
        httpx.Client(base_url=world.base_url, timeout=30) as http,
        ControlClient(world.base_url, ADMIN_TOKEN) as control,
    ):
        control.clear_journal()
        ids = Ids(acme, globex, b_only, shared, _b_tokens(http, globex, shared))
        before = _rows(world, globex.id)
        a = Caller(http, acme)
        leaks: list[str] = []
        calls = 0
        # A value counts as leaked unless acme itself sent it, in this call or an earlier one (acme
        # may give its own people an email or external id globex also uses).
        said = b""
        for cases in WPS_CASES.values():
            for req in cases(ids):
                _status, content, sent = a.wps(req.method, req.path, req.body)
                said += sent
                calls += 1
                if found := globex.leaked_in(content, said):
                    leaks.append(f"{req.method} {req.path}: {found} in {content[:300]!r}")
                if "page_token=" in req.path:
                    assert orjson.loads(content)["code"] == 40000002, (req.path, content)
        for cases in DINGTALK_CASES.values():
            for req in cases(ids):
                _errcode, content, sent = a.ding(req.path, req.body)
                said += sent
                calls += 1
                if found := globex.leaked_in(content, said):
                    leaks.append(f"{req.path}: {found} in {content[:300]!r}")
        assert not leaks, "\n".join(leaks)
        # The search would see a leak: globex reading its own person shows its values.
        body = {"user_ids": ids.b_users[:1], "status": ["active"], "with_dept": True}
        assert len(globex.leaked_in(Caller(http, globex).wps("POST", "/users/batch_read", body)[1])) >= 4
        assert calls >= len(WPS_CASES) + len(DINGTALK_CASES)
        assert _rows(world, globex.id) == before, "acme's calls changed globex's rows"
        # The journal, filtered by tenant, shows each company its own calls only.
        ours = control.journal(tenant=acme.id)
        theirs = control.journal(tenant=globex.id)
        assert len(ours) >= calls and len(theirs) >= 3
        assert {e["app"] for e in ours} <= {acme.app("wps"), acme.app("ding")}, {e["app"] for e in ours}
        assert {e["app"] for e in theirs} <= {globex.app("wps"), globex.app("ding")}
        assert not [e for e in theirs if "acme" in orjson.dumps(e).decode()]
        control.clear_journal(tenant=acme.id)
        assert control.journal(tenant=acme.id) == []
        assert len(control.journal(tenant=globex.id)) == len(theirs)


READ = ("kso.contact.read", "kso.contact.readwrite")
WRITE = ("kso.contact.readwrite",)
ATTRS = ("kso.user_custom_attr.readwrite",)
#: The scopes docs/wps.md documents for each route (any one of them is enough), written out so a
#: route that asks for the wrong scope fails here.
DOCUMENTED_SCOPES: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/users/batch_read"): READ,
    ("GET", "/users/{user_id}"): READ,
    ("GET", "/users"): READ,
    ("POST", "/users/by_emails"): READ,
    ("POST", "/users/by_phones"): READ,
    ("POST", "/users/by_ex_user_ids"): READ,
    ("POST", "/users/create"): WRITE,
    ("POST", "/users/{user_id}/update"): WRITE,
    ("POST", "/users/{user_id}/delete"): WRITE,
    ("POST", "/users/batch_enable"): WRITE,
    ("POST", "/users/batch_disable"): WRITE,
    ("POST", "/users/batch_update_dept"): WRITE,
    ("POST", "/users/batch_update_order"): WRITE,
    ("GET", "/users/{user_id}/depts"): READ,
    ("GET", "/depts/root"): READ,
    ("GET", "/depts/{dept_id}"): READ,
    ("GET", "/depts/{dept_id}/children"): READ,
    ("POST", "/depts/batch_read"): READ,
    ("POST", "/depts/by_ex_dept_ids"): READ,
    ("POST", "/depts/create"): WRITE,
    ("POST", "/depts/{dept_id}/update"): WRITE,
    ("POST", "/depts/{dept_id}/delete"): WRITE,
    ("GET", "/depts/{dept_id}/members"): READ,
    ("POST", "/depts/{dept_id}/members/batch_read"): READ,
    ("GET", "/companies/user_custom_attrs/batch_read"): ("kso.user_custom_attr.read", *ATTRS),
    ("POST", "/companies/user_custom_attrs/batch_create"): ATTRS,
    ("POST", "/companies/user_custom_attrs/batch_update"): ATTRS,
    ("POST", "/companies/user_custom_attrs/batch_delete"): ATTRS,
    ("POST", "/users/custom_attrs/batch_read"): ATTRS,
    ("POST", "/users/custom_attrs/batch_update"): ATTRS,
}
#: The permission docs/dingtalk.md documents for each route.
DOCUMENTED_PERMISSIONS: dict[str, str] = {
    "/topapi/v2/user/get": "qyapi_get_member",
    "/topapi/user/listid": "qyapi_get_member",
    "/topapi/v2/department/listsub": "qyapi_get_department_list",
    "/topapi/v2/department/get": "qyapi_get_department_list",
    "/topapi/smartwork/hrm/employee/v2/update": "qyapi_hrm_manager",
    "/topapi/smartwork/hrm/employee/addpreentry": "qyapi_hrm_manager",
    "/topapi/smartwork/hrm/employee/v2/list": "qyapi_hrm_read_user",
    "/topapi/smartwork/hrm/roster/meta/get": "qyapi_hrm_read_user",
    "/topapi/smartwork/hrm/employee/field/grouplist": "qyapi_hrm_read_user",
    "/topapi/smartwork/hrm/employee/queryonjob": "qyapi_hrm_read_user",
    "/topapi/smartwork/hrm/employee/querypreentry": "qyapi_hrm_read_user",
    "/topapi/smartwork/hrm/employee/querydimission": "qyapi_hrm_read_user",
    "/topapi/smartwork/hrm/employee/listdimission": "qyapi_hrm_read_user",
}
EVERY_PERMISSION = tuple(sorted(set(DOCUMENTED_PERMISSIONS.values())))


def test_every_route_has_documented_scopes() -> None:
    assert set(DOCUMENTED_SCOPES) == set(WPS_CASES)
    assert set(DOCUMENTED_PERMISSIONS) == set(DINGTALK_CASES)


def _acme_ids(http: httpx.Client, world: WorldServer) -> Ids:
    acme = world.acme
    shared = acme.depts["backend"]
    return Ids(
        acme, world.globex, world.globex.depts["only-1"], shared, _b_tokens(http, world.globex, shared)
    )


def _app_name(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")


#: Every route with what it needs: ``("wps", "METHOD /path")`` or ``("dingtalk", "/path")``.
NEEDS = [
    *(
        pytest.param("wps", f"{m} {p}", id=f"{m} /v7{p} needs {' or '.join(s)}")
        for (m, p), s in DOCUMENTED_SCOPES.items()
    ),
    *(pytest.param("dingtalk", p, id=f"{p} needs {perm}") for p, perm in DOCUMENTED_PERMISSIONS.items()),
]


@pytest.mark.e2e
@pytest.mark.parametrize("world", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("dialect", "route"), NEEDS)
def test_an_app_without_the_scope_or_permission_a_route_needs_is_refused(
    world: WorldServer, dialect: str, route: str
) -> None:
    """An acme app holding every scope (permission) but the ones the route documents: 40300001 (60011)."""
    with (
        httpx.Client(base_url=world.base_url, timeout=30) as http,
        ControlClient(world.base_url, ADMIN_TOKEN) as control,
    ):
        if dialect == "wps":
            method, path = route.split(" ", 1)
            needed = DOCUMENTED_SCOPES[(method, path)]
            cid = "acme-noscope-" + _app_name(route)
            held = [s for s in WPS_SCOPES if s not in needed]
            secret = secret_of(cid)
            control.add_app(world.acme.id, client_id=cid, client_secret=secret, signing="none", scopes=held)
            req = WPS_CASES[(method, path)](_acme_ids(http, world))[0]
            caller = Caller(http, world.acme, wps_kind=cid.removeprefix("acme-"))
            status, content, _ = caller.wps(req.method, req.path, req.body)
            assert (status, orjson.loads(content)["code"]) == (403, 40300001), content
        else:
            i = list(DOCUMENTED_PERMISSIONS).index(route)
            cid, agentid = f"acme-noperm-{i}", 5000 + i
            held = [p for p in EVERY_PERMISSION if p != DOCUMENTED_PERMISSIONS[route]]
            secret = secret_of(cid)
            control.add_app(world.acme.id, client_id=cid, client_secret=secret, agentid=agentid, scopes=held)
            caller = Caller(http, replace(world.acme, agentid=agentid), ding_kind=cid.removeprefix("acme-"))
            req = DINGTALK_CASES[route](_acme_ids(http, world))[0]
            errcode, content, _ = caller.ding(req.path, req.body)
            assert errcode == 60011, content
