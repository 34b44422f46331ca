"""The WPS SDK against a running server: every typed method, signing, tokens, paging, retries, errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sdk_support
from sdk_support import SIGNINGS, Credentials, Sandbox, Tenant

from openroster.client import (
    AsyncWpsClient,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
    ThrottledError,
    WpsClient,
)
from openroster.client.wps_models import AttrValueIn, NewDept, NewUser, UrlIn, UserAttrsUpdate, UserUpdate

pytestmark = pytest.mark.e2e
sandbox, org = sdk_support.sandbox, sdk_support.org


def client(sandbox: Sandbox, creds: Credentials, **kw: Any) -> WpsClient:
    return WpsClient(
        sandbox.base_url,
        client_id=creds.client_id,
        client_secret=creds.secret,
        signing=creds.signing,
        **kw,
    )


@pytest.fixture
def wps(sandbox: Sandbox, org: Tenant) -> Iterator[WpsClient]:
    with client(sandbox, org.wps["kso1"]) as c:
        yield c


@pytest.mark.parametrize("signing", SIGNINGS)
@pytest.mark.parametrize("prefix", ["", "/openapi", "/graph"])
def test_every_signing_scheme_and_gateway_prefix(
    sandbox: Sandbox, org: Tenant, signing: str | None, prefix: str
) -> None:
    with client(sandbox, org.wps[signing], prefix=prefix) as c:
        dept = c.create_dept(name=f"部门{prefix.strip('/') or 'v7'}", parent_id="1")
        user = c.create_user(
            NewUser(user_name="张三", dept_ids=[dept.id], email=f"z{prefix[1:]}@example.com")
        )
        [read] = c.batch_read_users([user.id], with_dept=True)
    assert read.user_name == "张三" and read.email == user.email
    assert read.depts is not None and read.depts[0].abs_path == f"/{org.name}/{dept.name}"


def test_users_typed_methods(wps: WpsClient, org: Tenant) -> None:
    eng = wps.create_dept(NewDept(name="研发", parent_id="1", ex_dept_id="ex-eng"))
    ops = wps.create_dept(name="运营", parent_id="1")
    boss = wps.create_user(user_name="王总", dept_ids=[eng.id], employee_id="E1", email="boss@example.com")
    ann = wps.create_user(
        NewUser(
            user_name="李安",
            dept_ids=[eng.id, ops.id],
            def_dept_id=ops.id,
            email="Ann@Example.com",
            phone="13800000001",
            ex_user_id="ext-ann",
            leader_id=boss.id,
            gender="female",
            title="工程师",
        )
    )
    assert (ann.email, ann.def_dept_id, ann.leader_id, ann.gender) == (
        "ann@example.com",
        ops.id,
        boss.id,
        "female",
    )

    got = wps.get_user(ann.id, with_dept=True)
    assert got.depts is not None and {d.id for d in got.depts} == {eng.id, ops.id}
    assert [u.id for u in wps.get_users_by_emails(["ANN@example.com"])] == [ann.id]
    assert [u.id for u in wps.get_users_by_phones(["13800000001"])] == [ann.id]
    assert [u.id for u in wps.get_users_by_ex_user_ids(["ext-ann", "nobody"])] == [ann.id]
    assert {d.id for d in wps.get_user_depts(ann.id)} == {eng.id, ops.id}

    wps.update_user(ann.id, UserUpdate(title="高级工程师", telephone="8001"))
    wps.update_user(ann.id, work_place="北京")
    after = wps.get_user(ann.id)
    assert (after.title, after.telephone, after.work_place) == ("高级工程师", "8001", "北京")

    wps.batch_disable_users([ann.id])
    assert wps.batch_read_users([ann.id]) == []
    assert wps.batch_read_users([ann.id], status=["disabled"])[0].status == "disabled"
    wps.batch_enable_users([ann.id])
    assert wps.get_user(ann.id).status == "active"

    wps.batch_update_user_depts([{"user_id": ann.id, "dept_ids": [eng.id], "def_dept_id": eng.id}])
    assert [d.id for d in wps.get_user_depts(ann.id)] == [eng.id]
    wps.batch_update_user_orders([{"user_id": ann.id, "dept_id": eng.id, "order": 7}])
    [member] = wps.batch_read_dept_members(eng.id, [ann.id])
    assert member.order == 7

    wps.delete_user(ann.id)
    with pytest.raises(NotFoundError) as err:
        wps.get_user(ann.id)
    assert err.value.code == 40400002 and ann.id in err.value.message


def test_departments_typed_methods(wps: WpsClient, org: Tenant) -> None:
    root = wps.get_root_dept()
    assert root.id == "1" and root.abs_path == f"/{org.name}"
    hq = wps.create_dept(name="总部", parent_id=root.id, ex_dept_id="hq")
    rd = wps.create_dept(name="研发中心", parent_id=hq.id)
    platform = wps.create_dept(name="平台组", parent_id=rd.id)
    assert platform.abs_path == f"/{org.name}/总部/研发中心/平台组"
    assert wps.get_dept(platform.id).name == "平台组"
    assert [d.id for d in wps.list_dept_children(hq.id).items] == [rd.id]
    everything = wps.list_dept_children(root.id, recursive=True, with_total=True)
    assert {d.id for d in everything.items} == {hq.id, rd.id, platform.id} and everything.total == 3
    assert {d.id for d in wps.iter_dept_children(root.id, recursive=True, page_size=1)} == {
        hq.id,
        rd.id,
        platform.id,
    }
    assert [d.id for d in wps.batch_read_depts([platform.id, hq.id, "999"])] == [platform.id, hq.id]
    assert [d.id for d in wps.get_depts_by_ex_dept_ids(["hq"])] == [hq.id]

    lead = wps.create_user(user_name="组长", dept_ids=[platform.id])
    wps.update_dept(platform.id, name="基础平台组", leaders=[{"user_id": lead.id, "order": 1}])
    renamed = wps.get_dept(platform.id)
    assert renamed.abs_path.endswith("/研发中心/基础平台组")
    assert [(x.user_id, x.order) for x in renamed.leaders] == [(lead.id, 1)]

    members = [wps.create_user(user_name=f"成员{i}", dept_ids=[rd.id]) for i in range(3)]
    page = wps.list_dept_members(rd.id, page_size=2, with_total=True, status=["active"])
    assert len(page.items) == 2 and page.next and page.total == 3
    everyone = list(wps.iter_dept_members(rd.id, recursive=True, with_user_detail=True, page_size=2))
    assert {m.user_id for m in everyone} == {lead.id, *(m.id for m in members)}
    assert all(m.user_info is not None and m.user_info.id == m.user_id for m in everyone)

    with pytest.raises(InvalidRequestError):
        wps.delete_dept(rd.id)  # it has members and children
    wps.delete_user(lead.id)
    wps.delete_dept(platform.id)
    with pytest.raises(NotFoundError):
        wps.get_dept(platform.id)


def test_custom_attribute_typed_methods(wps: WpsClient) -> None:
    dept = wps.create_dept(name="市场", parent_id="1")
    user = wps.create_user(user_name="赵六", dept_ids=[dept.id])
    desk, level, site = wps.create_custom_attr_definitions(
        [
            {"name": "工位", "value_type": "text"},
            {"name": "职级", "value_type": "option", "options": [{"key": "P5", "name": "P5 级"}]},
            {"name": "主页", "value_type": "url"},
        ]
    )
    assert [a.id for a in wps.list_custom_attr_definitions()] == [desk.id, level.id, site.id]
    [updated] = wps.update_custom_attr_definitions([{"id": desk.id, "name": "座位"}])
    assert updated.name == "座位"

    wps.update_custom_attrs(
        [
            UserAttrsUpdate(
                user_id=user.id,
                custom_attrs=[
                    AttrValueIn(attr_id=desk.id, text="A-101"),
                    AttrValueIn(attr_id=level.id, option="P5"),
                    AttrValueIn(attr_id=site.id, url=UrlIn(title="主页", link="https://example.com/zl")),
                ],
            )
        ]
    )
    [values] = wps.read_custom_attrs([user.id])
    by_id = {v.attr_id: v for v in values.custom_attrs}
    assert by_id[desk.id].value == "A-101" and by_id[level.id].value == "P5"
    assert by_id[site.id].url.link == "https://example.com/zl"

    wps.delete_custom_attr_definitions([site.id])
    assert [a.id for a in wps.list_custom_attr_definitions()] == [desk.id, level.id]
    [values] = wps.read_custom_attrs([user.id])
    assert {v.attr_id for v in values.custom_attrs} == {desk.id, level.id}


def test_iterator_follows_page_tokens(sandbox: Sandbox, org: Tenant) -> None:
    pages_seen: list[str] = []

    def note(request: httpx.Request) -> None:
        if request.url.path == "/v7/users":
            pages_seen.append(request.url.params.get("page_token", ""))

    http = httpx.Client(base_url=sandbox.base_url, event_hooks={"request": [note]})
    with client(sandbox, org.wps["kso1"], http=http) as wps:
        made = {wps.create_user(user_name=f"员工{i:02d}", dept_ids=["1"]).id for i in range(23)}
        seen = [u.id for u in wps.iter_users(page_size=5, status=["active"])]
    http.close()
    assert sorted(seen) == sorted(made) and len(seen) == 23
    assert len(pages_seen) == 5 and pages_seen[0] == "" and all(pages_seen[1:])


def test_async_client_has_the_same_methods(sandbox: Sandbox, org: Tenant) -> None:
    creds = org.wps["wps4"]

    async def run() -> tuple[list[str], list[str]]:
        async with AsyncWpsClient(
            sandbox.base_url, client_id=creds.client_id, client_secret=creds.secret, signing="wps4"
        ) as wps:
            dept = await wps.create_dept(name="异步部", parent_id="1")
            made = await asyncio.gather(
                *[wps.create_user(user_name=f"异步{i}", dept_ids=[dept.id]) for i in range(7)]
            )
            listed = [u.id async for u in wps.iter_users(page_size=3, with_dept=True)]
            return sorted(u.id for u in made), sorted(listed)

    made, listed = asyncio.run(run())
    assert made == listed


def test_concurrent_calls_fetch_exactly_one_token(sandbox: Sandbox, org: Tenant) -> None:
    creds = org.wps["kso1"]
    token_requests: list[str] = []

    async def count(request: httpx.Request) -> None:
        if request.url.path.endswith("/oauth2/token"):
            token_requests.append(request.url.path)

    async def run() -> int:
        http = httpx.AsyncClient(base_url=sandbox.base_url, event_hooks={"request": [count]})
        async with AsyncWpsClient(client_id=creds.client_id, client_secret=creds.secret, http=http) as wps:
            results = await asyncio.gather(*[wps.list_custom_attr_definitions() for _ in range(40)])
        await http.aclose()
        return len(results)

    assert asyncio.run(run()) == 40
    assert token_requests == ["/oauth2/token"]


def test_rejected_token_is_refreshed_once(sandbox: Sandbox, org: Tenant) -> None:
    """A token the server no longer accepts (revoked, expired) costs one refresh, not an error."""
    tampered: list[int] = []

    class RevokeFirstToken(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/v7/") and not tampered:
                tampered.append(1)
                request.headers["Authorization"] = "Bearer revoked-token"
            return super().handle_request(request)

    http = httpx.Client(base_url=sandbox.base_url, transport=RevokeFirstToken())
    with client(sandbox, org.wps[None], http=http) as wps:
        assert wps.list_custom_attr_definitions() == []
        assert wps.token_fetches == 2
    http.close()


@pytest.mark.slow  # waits out Retry-After
def test_throttled_calls_wait_for_retry_after_and_succeed(sandbox: Sandbox, org: Tenant) -> None:
    """``GET /v7/depts/root`` is limited to 10 calls/s per app: the client waits as told and gets through."""
    replies: list[tuple[float, int, str | None]] = []

    def note(response: httpx.Response) -> None:
        if response.request.url.path == "/v7/depts/root":
            replies.append((time.monotonic(), response.status_code, response.headers.get("retry-after")))

    http = httpx.Client(base_url=sandbox.base_url, event_hooks={"response": [note]})
    with client(sandbox, org.wps["kso1"], http=http) as wps:
        roots = [wps.get_root_dept() for _ in range(25)]
    http.close()
    assert all(r.id == "1" for r in roots)
    throttled = [i for i, (_, status, _) in enumerate(replies) if status == 429]
    assert throttled, "25 calls in a burst must meet the 10/s limit"
    for i in throttled:
        at, _, retry_after = replies[i]
        assert retry_after is not None
        assert replies[i + 1][0] - at >= float(retry_after) * 0.99


def test_throttling_past_the_budget_raises(sandbox: Sandbox, org: Tenant) -> None:
    with (
        client(sandbox, org.wps["kso1"], retry=RetryPolicy(max_retries=0)) as wps,
        pytest.raises(ThrottledError) as err,
    ):
        for _ in range(30):
            wps.get_root_dept()
    assert err.value.http_status == 429 and str(err.value.code).startswith("429")
    assert err.value.retry_after is not None and err.value.retry_after > 0


def test_errors_carry_platform_code_and_message(sandbox: Sandbox, org: Tenant, wps: WpsClient) -> None:
    wps.create_user(user_name="甲", dept_ids=["1"], email="dup@example.com")
    with pytest.raises(ConflictError) as conflict:
        wps.create_user(user_name="乙", dept_ids=["1"], email="dup@example.com")
    assert conflict.value.code == 40900001 and "email" in conflict.value.message
    assert conflict.value.request_id and conflict.value.request_id in str(conflict.value)  # X-Request-Id
    assert conflict.value.reply["code"] == 40900001
    with pytest.raises(InvalidRequestError) as bad:
        wps.request("POST", "/v7/users/create", json={"dept_ids": ["1"]})
    assert "user_name" in bad.value.message
    assert org.wps_read_only is not None
    with client(sandbox, org.wps_read_only) as ro, pytest.raises(PermissionDeniedError) as denied:
        ro.create_dept(name="x", parent_id="1")
    assert denied.value.code == 40300001
    with (
        WpsClient(
            sandbox.base_url, client_id=org.wps["kso1"].client_id, client_secret="wrong-secret"
        ) as bad_key,
        pytest.raises(AuthenticationError),
    ):
        bad_key.get_root_dept()


def test_raw_request_and_send(wps: WpsClient) -> None:
    data = wps.request("GET", "/v7/users", params={"status": ["active", "disabled"], "page_size": 2})
    assert data["items"] == [] and data["next_page_token"] == ""
    whole = wps.request("GET", "/v7/depts/root", envelope=True)
    assert whole["code"] == 0 and whole["data"]["id"] == "1"
    resp = wps.send("POST", "/v7/users/batch_read", json={"user_ids": ["x"] * 101, "status": ["active"]})
    assert resp.status_code == 400 and resp.json()["code"] == 40000004
