"""The demo company: deterministic, idempotent, complete."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from store_state import store_rows

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import depts
from openroster.core.runtime.clock import Clock
from openroster.core.tenancy import apps, tenants
from openroster.dialects.dingtalk import tokens as dingtalk_tokens
from openroster.fixtures import demo
from openroster.model.entities import (
    USER_TEXT_FIELDS,
    Department,
    Gender,
    Platform,
    Signing,
    User,
    UserStatus,
    ValueType,
)

ALL_CONTACT_SCOPES = {
    "kso.contact.read",
    "kso.contact.readwrite",
    "kso.user_email.read",
    "kso.user_phone.read",
    "kso.user_gender.read",
    "kso.user_custom_attr.readwrite",
}
_CJK_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")


def _all_users(d: Directory, tenant_id: str) -> list[User]:
    with d.reader() as r:
        ids = r.tx.users.first_ids(tenant_id, 100_000, status="active")
        for status in ("notactive", "disabled", "dimission"):
            ids += r.tx.users.first_ids(tenant_id, 100_000, status=status)
        return sorted(r.users(tenant_id, ids).values(), key=lambda u: u.employee_id or "")


@pytest.mark.slow
def test_the_demo_company(directory: Directory) -> None:
    assert demo.load(directory) is True
    assert tenants.get(directory, "demo").name == demo.DEMO_COMPANY

    # a tree at least three levels below the root
    tree = depts.list_all(directory, tenant_id="demo")
    depth = max(x.abs_path.count("/") for x in tree)
    assert depth >= 4, [x.abs_path for x in tree]  # "/company/a/b/c"
    by_id = {x.id: x for x in tree}
    assert all(x.parent_id in by_id for x in tree if x.id != 1)

    people = _all_users(directory, "demo")
    assert len(people) == 500
    assert len({u.id for u in people}) == 500
    for field in ("email", "phone", "employee_id", "ex_user_id", "login_name"):
        assert len({getattr(u, field) for u in people}) == 500, field
    # every profile field is filled; only the head of the company has no leader
    for u in people:
        empty = [f for f in USER_TEXT_FIELDS if getattr(u, f) in (None, "")]
        assert empty in ([], ["leader_id"]), (u.id, empty)
        assert u.gender in (Gender.MALE, Gender.FEMALE)
        assert _CJK_NAME.match(u.user_name), u.user_name
        assert u.def_dept_id in u.dept_ids
        assert all(m.dept_id in by_id for m in u.memberships)
    heads = [u for u in people if u.leader_id is None]
    assert len(heads) == 1
    ids = {u.id for u in people}
    assert all(u.leader_id in ids for u in people if u.leader_id is not None)
    assert {u.status for u in people} == set(UserStatus)
    assert sum(u.status is UserStatus.ACTIVE for u in people) > 400
    assert sum(any(m.is_leader for m in u.memberships) for u in people) >= len(tree) - 1

    # five attributes, one of each value type, with a value for every person
    with directory.reader() as r:
        defs = attributes.definitions(r, tenant_id="demo")
        values = {}
        for start in range(0, 500, 50):
            chunk = [u.id for u in people[start : start + 50]]
            values.update(attributes.read_values(r, tenant_id="demo", user_ids=chunk))
    assert sorted(a.value_type for a in defs) == sorted(ValueType)
    for uid, vals in values.items():
        assert {v.attr_id for v in vals} == {a.id for a in defs}, uid

    # the demo apps, as the README documents them
    by_client = {a.client_id: a for a in apps.list_for_tenant(directory, "demo")}
    assert set(by_client) == {"demo-wps", "demo-wps4", "demo-wps-nosign", "demo-dingtalk", "demo-scim"}
    assert by_client["demo-scim"].platform is Platform.SCIM
    assert by_client["demo-scim"].scopes == {"scim"}
    assert by_client["demo-dingtalk"].agentid == 1000001
    assert by_client["demo-dingtalk"].scopes == set(demo.DINGTALK_ALL_PERMISSIONS)
    assert by_client["demo-wps"].signing is Signing.KSO1
    assert by_client["demo-wps4"].signing is Signing.WPS4
    assert by_client["demo-wps-nosign"].signing is Signing.NONE
    assert by_client["demo-wps"].scopes >= ALL_CONTACT_SCOPES
    assert by_client["demo-wps4"].scopes >= ALL_CONTACT_SCOPES
    assert by_client["demo-wps-nosign"].scopes == {"kso.contact.read"}
    # Every demo app's credentials get a token, each at its own platform's token endpoint.
    for cid, app in by_client.items():
        if app.platform is Platform.DINGTALK:
            dingtalk_tokens.issue(directory, appkey=cid, appsecret=f"{cid}-secret")
        elif app.platform is Platform.SCIM:  # no token endpoint: the secret is the bearer token
            assert app.secret == "demo-scim-secret"
        else:
            apps.issue_token(directory, client_id=cid, client_secret=f"{cid}-secret")
    assert by_client["demo-dingtalk"].platform is Platform.DINGTALK

    # loading again changes nothing at all
    before = store_rows(directory)
    assert demo.load(directory) is False
    assert store_rows(directory) == before


def test_the_demo_is_deterministic(directory: Directory) -> None:
    demo.load(directory, users_count=40, tenant_id="first")
    demo.load(directory, users_count=40, tenant_id="second")

    def profile(tenant_id: str) -> list[User]:
        return [replace(u, tenant_id="", ctime=0, mtime=0) for u in _all_users(directory, tenant_id)]

    assert profile("first") == profile("second")
    assert len(profile("first")) == 40


def test_the_demo_is_the_same_at_any_clock_time(directory: Directory) -> None:
    """Loaded a year apart, the demo company is the same, its times included (written as of DEMO_TIME)."""
    a_year_later = Clock()
    a_year_later.advance(365 * 24 * 3600)
    demo.load(directory, users_count=40, tenant_id="first")
    demo.load(directory.at_clock(a_year_later), users_count=40, tenant_id="second")

    def people(tenant_id: str) -> list[User]:
        return [replace(u, tenant_id="") for u in _all_users(directory, tenant_id)]

    def departments(tenant_id: str) -> list[Department]:
        return [replace(x, tenant_id="") for x in depts.list_all(directory, tenant_id=tenant_id)]

    assert people("first") == people("second")
    assert departments("first") == departments("second")
    assert {u.ctime for u in people("first")} == {u.mtime for u in people("first")} == {demo.DEMO_TIME}
    assert {x.ctime for x in departments("first")} == {demo.DEMO_TIME}
    assert tenants.get(directory, "first").ctime == tenants.get(directory, "second").ctime == demo.DEMO_TIME


def test_missing_demo_apps_come_back(directory: Directory) -> None:
    demo.load(directory, users_count=25)
    before = {a.client_id for a in apps.list_for_tenant(directory, "demo")}
    with directory.writer() as tx:
        from openroster.store.schema import apps as app_table

        tx.conn.execute(app_table.delete().where(app_table.c.client_id == "demo-wps4"))
        tx.changed("demo", "app", "demo-wps4")
    assert demo.load(directory, users_count=25) is True
    assert {a.client_id for a in apps.list_for_tenant(directory, "demo")} == before
