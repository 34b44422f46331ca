"""The DingTalk ``/v1.0`` dialect over a real server: tokens shared with ``/gettoken``, the header rules
and the error envelope on the wire (written from the protocol file), and the calls through the official
``alibabacloud-dingtalk`` SDK, unchanged, pointed at the server by its configuration alone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
import pytest
from alibabacloud_dingtalk.contact_1_0 import models as contact_models
from alibabacloud_dingtalk.contact_1_0.client import Client as ContactClient
from alibabacloud_dingtalk.hrm_1_0 import models as hrm_models
from alibabacloud_dingtalk.hrm_1_0.client import Client as HrmClient
from alibabacloud_dingtalk.oauth2_1_0 import models as oauth_models
from alibabacloud_dingtalk.oauth2_1_0.client import Client as OAuthClient
from alibabacloud_tea_util.models import RuntimeOptions
from dingtalk_support import (
    AGENTID,
    ALL_PERMISSIONS,
    APPKEY,
    APPSECRET,
    CORP_ID,
    LIST,
    ONJOB,
    PREENTRY,
    TENANT,
    UPDATE,
    USER_GET,
    setup_tenant,
    wire,
)
from dingtalk_v1_support import (
    ACCESS_TOKEN,
    ROSTER_QUERY,
    TOKEN_HEADER,
    V1_PERMISSIONS,
    access_token,
    error_of,
    sdk,
    tenant_with_token,
)
from Tea.exceptions import TeaException

from conftest import LiveServer
from openroster.core.people import users
from openroster.core.tenancy import apps

pytestmark = pytest.mark.e2e


def test_tokens_are_shared_with_gettoken_both_ways(live: LiveServer) -> None:
    setup_tenant(live.directory)
    with httpx.Client(base_url=live.base_url, timeout=30) as http, wire(live.base_url) as w:
        got = http.post(ACCESS_TOKEN, json={"appKey": APPKEY, "appSecret": APPSECRET})
        assert got.status_code == 200 and list(got.json()) == ["accessToken", "expireIn"]
        token = got.json()["accessToken"]
        assert got.json()["expireIn"] == 7200
        # One token per app per window, whichever call issued it.
        assert w.gettoken()["access_token"] == token
        assert access_token(http) == token
        corp = http.post(
            f"/v1.0/oauth2/{CORP_ID}/token",
            json={"client_id": APPKEY, "client_secret": APPSECRET, "grant_type": "client_credentials"},
        )
        assert corp.status_code == 200 and corp.json() == {"access_token": token, "expires_in": 7200}
        # It works in both generations.
        assert w.post(LIST, {"agentid": AGENTID, "userid_list": "alice"}, token=token)["errcode"] == 0
        body = {"appAgentId": AGENTID, "userIdList": ["alice"]}
        assert http.post(ROSTER_QUERY, json=body, headers={TOKEN_HEADER: token}).status_code == 200
        # Rotating the secret revokes it in both.
        apps.rotate_secret(live.directory, client_id=APPKEY, secret="a-brand-new-secret")
        error_of(
            http.post(ROSTER_QUERY, json=body, headers={TOKEN_HEADER: token}), 400, "InvalidAuthentication"
        )
        assert w.post(LIST, {"agentid": AGENTID, "userid_list": "alice"}, token=token)["errcode"] != 0
        fresh = access_token(http, appsecret="a-brand-new-secret")
        assert fresh != token
        assert http.post(ROSTER_QUERY, json=body, headers={TOKEN_HEADER: fresh}).status_code == 200


def test_token_call_refusals(live: LiveServer) -> None:
    setup_tenant(live.directory)
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        wrong = http.post(ACCESS_TOKEN, json={"appKey": APPKEY, "appSecret": "wrong-secret"})
        assert error_of(wrong, 400, "invalidClientIdOrSecret")["message"].startswith(
            "无效的clientId或者clientSecret"
        )
        error_of(http.post(ACCESS_TOKEN), 400, "Missingbody")
        form = http.post(
            ACCESS_TOKEN,
            content=f"appKey={APPKEY}&appSecret={APPSECRET}",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        error_of(form, 400, "Missingbody")
        other_corp = http.post(
            "/v1.0/oauth2/dingother/token",
            json={"client_id": APPKEY, "client_secret": APPSECRET, "grant_type": "client_credentials"},
        )
        error_of(other_corp, 400, "invalidClientIdOrSecret")


def test_header_rules_and_error_envelope(live: LiveServer) -> None:
    setup_tenant(live.directory, permissions=("qyapi_get_member",))
    body = {"appAgentId": AGENTID, "userIdList": ["alice"]}
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        token = access_token(http)
        missing = error_of(http.post(ROSTER_QUERY, json=body), 400, "AuthenticationFailed.MissingParameter")
        assert missing["message"].startswith("缺少参数：x-acs-dingtalk-access-token")
        # The token in the query or in Authorization is not looked at.
        error_of(
            http.post(ROSTER_QUERY, json=body, params={"access_token": token}),
            400,
            "AuthenticationFailed.MissingParameter",
        )
        error_of(
            http.post(ROSTER_QUERY, json=body, headers={"Authorization": f"Bearer {token}"}),
            400,
            "AuthenticationFailed.MissingParameter",
        )
        unknown = http.post(ROSTER_QUERY, json=body, headers={TOKEN_HEADER: "no-such-token"})
        assert error_of(unknown, 400, "InvalidAuthentication")["message"].startswith("不合法的access_token")
        # The app lacks the call's permission: 403 with the scope it needs.
        denied = error_of(
            http.post(ROSTER_QUERY, json=body, headers={TOKEN_HEADER: token}),
            403,
            "Forbidden.AccessDenied.AccessTokenPermissionDenied",
        )
        assert denied["accessdenieddetail"] == {"requiredScopes": ["qyapi_hrm_read_user"]}
        # An unknown path, or a known one with another method.
        not_found = "Specified api is not found, please check your url and method."
        for method, path in (("POST", "/v1.0/hrm/no/such/call"), ("GET", ROSTER_QUERY), ("PUT", "/v1.0/")):
            reply = http.request(method, path, headers={TOKEN_HEADER: token})
            assert error_of(reply, 404, "InvalidAction.NotFound")["message"] == not_found


def test_journal_and_faults_name_the_dialect(live: LiveServer) -> None:
    setup_tenant(live.directory)
    live.control.add_fault(
        "error", match={"dialect": "dingtalk_v1", "path": ROSTER_QUERY}, code=90018, times=1
    )
    body = {"appAgentId": AGENTID, "userIdList": ["alice"]}
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        token = access_token(http)
        error_of(
            http.post(ROSTER_QUERY, json=body, headers={TOKEN_HEADER: token}),
            403,
            "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        )
        assert http.post(ROSTER_QUERY, json=body, headers={TOKEN_HEADER: token}).status_code == 200
    calls = live.control.journal(dialect="dingtalk_v1")
    assert [c["path"] for c in calls][-3:] == [ACCESS_TOKEN, ROSTER_QUERY, ROSTER_QUERY]
    assert {c["app"] for c in calls[-3:]} == {APPKEY}  # the token call by its body's appKey
    # The journal shows /v1.0's string codes, and filters on them.
    refused = live.control.journal(code="Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
    assert [(c["path"], c["status"], c["code"]) for c in refused] == [
        (ROSTER_QUERY, 403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
    ]


def test_official_sdk_tokens_and_roster(live: LiveServer) -> None:
    setup_tenant(live.directory, permissions=(*ALL_PERMISSIONS, *V1_PERMISSIONS))
    oauth = sdk(OAuthClient, live.base_url)
    got = oauth.get_access_token(oauth_models.GetAccessTokenRequest(app_key=APPKEY, app_secret=APPSECRET))
    assert got.status_code == 200 and got.body.expire_in == 7200
    token = got.body.access_token
    corp = oauth.get_token(
        CORP_ID,
        oauth_models.GetTokenRequest(
            client_id=APPKEY, client_secret=APPSECRET, grant_type="client_credentials"
        ),
    )
    assert (corp.body.access_token, corp.body.expires_in) == (token, 7200)
    with pytest.raises(TeaException) as refused:
        oauth.get_access_token(oauth_models.GetAccessTokenRequest(app_key=APPKEY, app_secret="wrong"))
    assert (refused.value.code, refused.value.statusCode) == ("invalidClientIdOrSecret", 400)

    hrm = sdk(HrmClient, live.base_url)
    headers = hrm_models.GetEmployeeRosterByFieldHeaders(x_acs_dingtalk_access_token=token)
    request = hrm_models.GetEmployeeRosterByFieldRequest(
        app_agent_id=AGENTID, user_id_list=["alice", "bob"], field_filter_list=["sys00-name", "sys00-dept"]
    )
    roster = hrm.get_employee_roster_by_field_with_options(request, headers, RuntimeOptions())
    people = roster.body.result
    assert [p.user_id for p in people] == ["alice", "bob"]
    assert {p.corp_id for p in people} == {CORP_ID}
    alice = {f.field_code: f for f in people[0].field_data_list}
    assert list(alice) == ["sys00-name", "sys00-dept"]
    assert [v.value for v in alice["sys00-name"].field_value_list] == ["Alice"]
    assert alice["sys00-name"].field_value_list[0].item_index == 0
    # The reply left in pieces (dialects/pieces.py): the journal keeps its first bytes all the same.
    kept = live.control.journal(path=ROSTER_QUERY)[-1]
    assert kept["status"] == 200 and kept["reply"].startswith('{"result":[{"')  # past the first piece
    # The same people as /topapi's v2/list reads them.
    with wire(live.base_url) as w:
        filtered = {
            "agentid": AGENTID,
            "userid_list": "alice,bob",
            "field_filter_list": "sys00-name,sys00-dept",
        }
        old = w.post(LIST, filtered, token=token)
    assert [
        [(f["field_code"], [v["value"] for v in f["field_value_list"]]) for f in p["field_data_list"]]
        for p in old["result"]
    ] == [[(f.field_code, [v.value for v in f.field_value_list]) for f in p.field_data_list] for p in people]

    # Unknown userIds are left out, as in v2/list; an empty or an over-long list is refused.
    ghost = hrm_models.GetEmployeeRosterByFieldRequest(app_agent_id=AGENTID, user_id_list=["alice", "ghost"])
    reply = hrm.get_employee_roster_by_field_with_options(ghost, headers, RuntimeOptions())
    assert [p.user_id for p in reply.body.result] == ["alice"]
    for ids in ([], [f"u{i}" for i in range(101)]):
        with pytest.raises(TeaException) as bad:
            hrm.get_employee_roster_by_field_with_options(
                hrm_models.GetEmployeeRosterByFieldRequest(app_agent_id=AGENTID, user_id_list=ids),
                headers,
                RuntimeOptions(),
            )
        assert (bad.value.code, bad.value.statusCode) == ("invalidParameter", 400)
        assert "userIdList" in bad.value.message


def test_official_sdk_field_list_and_dismissions(live: LiveServer) -> None:
    token = tenant_with_token(live.base_url, live.directory)
    hrm = sdk(HrmClient, live.base_url)
    fields = hrm.roster_meta_available_field_list_with_options(
        hrm_models.RosterMetaAvailableFieldListRequest(app_agent_id=AGENTID),
        hrm_models.RosterMetaAvailableFieldListHeaders(x_acs_dingtalk_access_token=token),
        RuntimeOptions(),
    ).body.result
    by_code = {f.field_code: f for f in fields}
    assert by_code["sys00-name"].field_type == "TextField"
    assert {f.field_type for f in fields} <= {"TextField", "DDSelectField", "DDDateField", "DDPhotoField"}
    status = by_code["sys01-employeeStatus"]
    assert status.field_type == "DDSelectField"
    assert {o["value"] for o in orjson.loads(status.option_text)} >= {"2", "3", "5"}
    with pytest.raises(TeaException) as wrong_agent:
        hrm.roster_meta_available_field_list_with_options(
            hrm_models.RosterMetaAvailableFieldListRequest(app_agent_id=AGENTID + 1),
            hrm_models.RosterMetaAvailableFieldListHeaders(x_acs_dingtalk_access_token=token),
            RuntimeOptions(),
        )
    assert (wrong_agent.value.code, wrong_agent.value.statusCode) == ("invalidAgentId", 400)

    page = hrm.query_dismission_staff_id_list_with_options(
        hrm_models.QueryDismissionStaffIdListRequest(next_token=0, max_results=50),
        hrm_models.QueryDismissionStaffIdListHeaders(x_acs_dingtalk_access_token=token),
        RuntimeOptions(),
    ).body
    assert (page.user_id_list, page.has_more, page.next_token) == (["erin"], False, None)
    with pytest.raises(TeaException) as too_many:
        hrm.query_dismission_staff_id_list_with_options(
            hrm_models.QueryDismissionStaffIdListRequest(next_token=0, max_results=51),
            hrm_models.QueryDismissionStaffIdListHeaders(x_acs_dingtalk_access_token=token),
            RuntimeOptions(),
        )
    assert (too_many.value.code, too_many.value.statusCode) == ("invalidParameter", 400)
    # Without the token header the SDK gets the platform's refusal, as a TeaException.
    with pytest.raises(TeaException) as no_token:
        hrm.roster_meta_available_field_list_with_options(
            hrm_models.RosterMetaAvailableFieldListRequest(app_agent_id=AGENTID),
            hrm_models.RosterMetaAvailableFieldListHeaders(),
            RuntimeOptions(),
        )
    assert (no_token.value.code, no_token.value.statusCode) == ("AuthenticationFailed.MissingParameter", 400)


def test_official_sdk_search_users_and_departments(live: LiveServer) -> None:
    token = tenant_with_token(live.base_url, live.directory)
    contact = sdk(ContactClient, live.base_url)

    def search_users(**fields: Any) -> Any:
        headers = contact_models.SearchUserHeaders(x_acs_dingtalk_access_token=token)
        request = contact_models.SearchUserRequest(**fields)
        return contact.search_user_with_options(request, headers, RuntimeOptions()).body

    # Members whose name holds "a" (case ignored), in userId order: Carol's account is disabled but
    # she is a member; Dave (a pre-hire) and Erin (left) are not; Bob has no "a".
    found = search_users(query_word="A", offset=0, size=10)
    assert (found.list, found.total_count, found.has_more) == (["alice", "carol"], 2, False)
    page = search_users(query_word="a", offset=0, size=1)
    assert (page.list, page.total_count, page.has_more) == (["alice"], 2, True)
    assert search_users(query_word="Alice", offset=0, size=10, full_match_field=1).list == ["alice"]
    assert search_users(query_word="Ali", offset=0, size=10, full_match_field=1).list == []
    assert search_users(query_word="Erin", offset=0, size=10).total_count == 0
    for bad in ({"query_word": "", "offset": 0, "size": 10}, {"query_word": "a", "offset": 0, "size": 0}):
        with pytest.raises(TeaException) as refused:
            search_users(**bad)
        assert (refused.value.code, refused.value.statusCode) == ("parameter.error", 400)

    depts = contact.search_department_with_options(
        contact_models.SearchDepartmentRequest(query_word="end", offset=0, size=10),
        contact_models.SearchDepartmentHeaders(x_acs_dingtalk_access_token=token),
        RuntimeOptions(),
    ).body
    # The same department ids as /topapi's department calls.
    with wire(live.base_url) as w:
        backend = w.post("/topapi/v2/department/get", {"dept_id": depts.list[0]}, token=token)["result"]
    assert (depts.list, depts.total_count, backend["name"]) == ([backend["dept_id"]], 1, "Backend")


def test_a_call_without_its_permission_is_refused_with_the_scope_it_needs(live: LiveServer) -> None:
    setup_tenant(live.directory)  # the /topapi permissions only
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        token = access_token(http)
    contact = sdk(ContactClient, live.base_url)
    with pytest.raises(TeaException) as denied:
        contact.search_user_with_options(
            contact_models.SearchUserRequest(query_word="a", offset=0, size=10),
            contact_models.SearchUserHeaders(x_acs_dingtalk_access_token=token),
            RuntimeOptions(),
        )
    assert (denied.value.code, denied.value.statusCode) == (
        "Forbidden.AccessDenied.AccessTokenPermissionDenied",
        403,
    )
    assert denied.value.data["accessdenieddetail"] == {"requiredScopes": ["qyapi_addresslist_search"]}


def test_official_sdk_adds_a_preentry_read_back_through_topapi(live: LiveServer) -> None:
    token = tenant_with_token(live.base_url, live.directory)
    hrm = sdk(HrmClient, live.base_url)
    headers = hrm_models.AddHrmPreentryHeaders(x_acs_dingtalk_access_token=token)
    joins = int(datetime(2026, 1, 5, 9, 30, tzinfo=timezone(timedelta(hours=8))).timestamp() * 1000)
    school = hrm_models.AddHrmPreentryRequestGroupsSectionsEmpFieldVOList(
        field_code="sys03-graduateSchool", value="清华大学"
    )
    request = hrm_models.AddHrmPreentryRequest(
        name="Frank",
        mobile="13900000009",
        pre_entry_time=joins,
        groups=[
            hrm_models.AddHrmPreentryRequestGroups(
                group_id="sys03",
                sections=[hrm_models.AddHrmPreentryRequestGroupsSections(emp_field_volist=[school])],
            )
        ],
    )
    tmp = hrm.add_hrm_preentry_with_options(request, headers, RuntimeOptions()).body.tmp_user_id
    assert tmp
    with wire(live.base_url) as w:
        waiting = w.post(PREENTRY, {"offset": 0, "size": 50}, token=token)["result"]["data_list"]
        assert tmp in waiting
        rows = w.post(
            LIST,
            {
                "agentid": AGENTID,
                "userid_list": tmp,
                "field_filter_list": "sys00-name,sys03-graduateSchool,sys00-confirmJoinTime",
            },
            token=token,
        )["result"][0]["field_data_list"]
    name, school_read, joined = ([v["value"] for v in f["field_value_list"]] for f in rows)
    assert (name, school_read) == (["Frank"], ["清华大学"])
    assert joined[0].startswith("2026-01-05")  # preEntryTime's day in China
    with live.directory.reader() as r:
        frank = users.get(r, tenant_id=TENANT, user_id=tmp)
    assert (frank.status, frank.phone) == ("notactive", "13900000009")
    # The same mobile again: refused, nothing written.
    with pytest.raises(TeaException) as taken:
        hrm.add_hrm_preentry_with_options(
            hrm_models.AddHrmPreentryRequest(name="Frank again", mobile="13900000009"),
            headers,
            RuntimeOptions(),
        )
    assert (taken.value.code, taken.value.statusCode) == ("invalidParameter", 400)
    with pytest.raises(TeaException) as unknown_field:
        bad = hrm_models.AddHrmPreentryRequestGroupsSectionsEmpFieldVOList(field_code="sys03-nope", value="x")
        hrm.add_hrm_preentry_with_options(
            hrm_models.AddHrmPreentryRequest(
                name="Gina",
                mobile="13900000010",
                groups=[
                    hrm_models.AddHrmPreentryRequestGroups(
                        group_id="sys03",
                        sections=[hrm_models.AddHrmPreentryRequestGroupsSections(emp_field_volist=[bad])],
                    )
                ],
            ),
            headers,
            RuntimeOptions(),
        )
    assert (unknown_field.value.code, unknown_field.value.statusCode) == ("invalidParameter", 400)
    assert "groups[0].sections[0].empFieldVOList[0].fieldCode" in unknown_field.value.message
    with wire(live.base_url) as w:
        waiting = w.post(PREENTRY, {"offset": 0, "size": 50}, token=token)["result"]["data_list"]
    assert len(waiting) == 2  # dave and Frank: Gina's refused roster left no person behind


def test_official_sdk_regularizes_a_person_on_probation(live: LiveServer) -> None:
    token = tenant_with_token(live.base_url, live.directory)
    probation = {
        "group_id": "sys01",
        "sections": [{"section": [{"field_code": "sys01-employeeStatus", "value": "2"}]}],
    }
    with wire(live.base_url) as w:
        w.ok(UPDATE, {"agentid": AGENTID, "param": {"userid": "bob", "groups": [probation]}})
    hrm = sdk(HrmClient, live.base_url)
    headers = hrm_models.HrmProcessRegularHeaders(x_acs_dingtalk_access_token=token)
    day = int(datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=8))).timestamp() * 1000)

    def regular(user_id: str, operator: str = "alice") -> Any:
        request = hrm_models.HrmProcessRegularRequest(
            user_id=user_id, regular_date=day, operation_id=operator
        )
        return hrm.hrm_process_regular_with_options(request, headers, RuntimeOptions())

    assert regular("bob").body.result is True
    with wire(live.base_url) as w:
        on_job = w.ok(ONJOB, {"status_list": "3", "offset": 0, "size": 50})["result"]["data_list"]
        rows = w.ok(
            LIST,
            {
                "agentid": AGENTID,
                "userid_list": "bob",
                "field_filter_list": "sys01-employeeStatus,sys01-regularTime",
            },
        )["result"][0]["field_data_list"]
    assert on_job == ["bob"]
    assert [[v["value"] for v in f["field_value_list"]] for f in rows] == [["3"], ["2026-03-01"]]
    with live.directory.reader() as r:
        assert users.get(r, tenant_id=TENANT, user_id="bob").employment_status == "regular"  # WPS reads this
    # Regular already, an unknown person, an unknown operator: each refused.
    for user_id, operator, named in (
        ("bob", "alice", "userId"),
        ("ghost", "alice", "userId"),
        ("bob", "ghost", "operationId"),
    ):
        with pytest.raises(TeaException) as refused:
            regular(user_id, operator)
        assert (refused.value.code, refused.value.statusCode) == ("invalidParameter", 400)
        assert named in refused.value.message


def test_official_sdk_batch_gets_members_as_topapi_shows_them(live: LiveServer) -> None:
    token = tenant_with_token(live.base_url, live.directory)
    contact = sdk(ContactClient, live.base_url)
    headers = contact_models.BatchGetUserHeaders(x_acs_dingtalk_access_token=token)

    def batch_get(ids: list[str] | None) -> Any:
        request = contact_models.BatchGetUserRequest(user_id_list=ids)
        return contact.batch_get_user_with_options(request, headers, RuntimeOptions()).body

    got = batch_get(["alice", "dave", "ghost", "bob", "erin"])  # a pre-hire, nobody, someone who left
    assert [u.userid for u in got.user_list] == ["alice", "bob"]
    assert got.unauthorized_user_id_list == []
    with wire(live.base_url) as w:
        alice = w.post(USER_GET, {"userid": "alice"}, token=token)["result"]
    first = got.user_list[0]
    assert (first.name, first.mobile, first.job_number, first.unionid, first.state_code, first.senior) == (
        alice["name"],
        alice["mobile"],
        alice["job_number"],
        alice["unionid"],
        alice["state_code"],
        alice["senior"],
    )
    for ids in (None, [], [f"u{i}" for i in range(101)]):
        with pytest.raises(TeaException) as refused:
            batch_get(ids)
        assert (refused.value.code, refused.value.statusCode) == ("invalidParameter", 400)
        assert "userIdList" in refused.value.message
