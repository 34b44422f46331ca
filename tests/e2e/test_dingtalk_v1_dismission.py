"""The ``/v1.0`` dismission calls through the official SDK, read back through ``/topapi`` and WPS:
the reason catalogue, a pending dismission (start, edit, revoke), a termination and its edit, the
records (and their old twin ``employee/listdimission``), and the leave log. Expected values and error
codes are the protocol file's (/work/shared/protocol/dingtalk-v1.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alibabacloud_dingtalk.contact_1_0 import models as contact_models
from alibabacloud_dingtalk.contact_1_0.client import Client as ContactClient
from alibabacloud_dingtalk.hrm_1_0 import models as hrm
from alibabacloud_dingtalk.hrm_1_0.client import Client as HrmClient
from alibabacloud_tea_util.models import RuntimeOptions
from dingtalk_support import AGENTID, DIMISSION, LIST, ONJOB, TENANT, USER_GET, wire
from dingtalk_v1_support import sdk, tenant_with_token
from Tea.exceptions import TeaException
from wps_contacts_support import APP, SCOPES, client

from conftest import LiveServer
from openroster.core.people import users
from openroster.core.tenancy import apps
from openroster.testing.plugin import OpenrosterTenant

pytestmark = pytest.mark.e2e

LISTDIMISSION = "/topapi/smartwork/hrm/employee/listdimission"
DAY = int(datetime(2026, 3, 31, 16, tzinfo=UTC).timestamp() * 1000)  # 2026-04-01 in China
R = RuntimeOptions()


class Hrm:
    """The SDK's hrm_1_0 client with the token: ``call("emp_start_dismission", **fields)``."""

    def __init__(self, live: LiveServer, token: str) -> None:
        self.client = sdk(HrmClient, live.base_url)
        self.token = token

    def call(self, name: str, request: Any = None) -> Any:
        model = "".join(w.title() for w in name.split("_"))
        headers = getattr(hrm, f"{model}Headers")(x_acs_dingtalk_access_token=self.token)
        method: Callable[..., Any] = getattr(self.client, f"{name}_with_options")
        args = (headers, R) if request is None else (request, headers, R)
        return method(*args).body

    def refused(self, name: str, request: Any, code: str, status: int, *words: str) -> None:
        with pytest.raises(TeaException) as err:
            self.call(name, request)
        assert (err.value.code, err.value.statusCode) == (code, status), err.value.message
        for w in words:
            assert w in err.value.message


@pytest.fixture
def acme(live: LiveServer) -> Hrm:
    token = tenant_with_token(live.base_url, live.directory)
    users.update(live.directory, tenant_id=TENANT, user_id="alice", changes={"role": "super-admin"})
    # A WPS app of the same company, to read the people back through WPS.
    apps.create(live.directory, tenant_id=TENANT, client_id=APP, secret=f"{APP}-secret", scopes=SCOPES)
    return Hrm(live, token)


def _infos(h: Hrm, *ids: str) -> list[Any]:
    request = hrm.QueryHrmEmployeeDismissionInfoRequest(user_id_list=list(ids))
    return list(h.call("query_hrm_employee_dismission_info", request).result)


def test_official_sdk_lists_the_default_dismission_reasons(acme: Hrm) -> None:
    body = acme.call("get_all_dismission_reasons")
    assert body.success is True and body.request_id
    voluntary = [(x.id, x.name) for x in body.result.voluntary_list]
    passive = [(x.id, x.name) for x in body.result.passive_list]
    assert voluntary[:2] == [("1", "家庭原因"), ("2", "个人原因")] and len(voluntary) == 6
    assert passive[0] == ("7", "无法胜任工作") and len(passive) == 4


def test_official_sdk_starts_edits_and_revokes_a_dismission(live: LiveServer, acme: Hrm) -> None:
    start = hrm.EmpStartDismissionRequest(
        user_id="bob", last_work_date=DAY, termination_reason_voluntary=["2"], remark="moving"
    )
    body = acme.call("emp_start_dismission", start)
    assert (body.success, body.result) == (True, True)
    with wire(live.base_url) as w:
        assert w.ok(ONJOB, {"status_list": "5", "offset": 0, "size": 50})["result"]["data_list"] == ["bob"]
        rows = w.ok(
            LIST, {"agentid": AGENTID, "userid_list": "bob", "field_filter_list": "sys01-employeeStatus"}
        )
        assert rows["result"][0]["field_data_list"][0]["field_value_list"][0]["value"] == "5"
        old = w.ok(LISTDIMISSION, {"userid_list": ["bob", "carol", "ghost"]})["result"]
    assert [(x["userid"], x["status"]) for x in old] == [("bob", 1), ("carol", 3)]
    assert old[0]["voluntary_reason"] == ["2"] and old[0]["reason_memo"] == "moving"
    with client(live.server, APP) as wps:
        got = wps.get_user("bob")
        assert (got.employment_status, got.status) == ("leaving", "active")
    edit = hrm.UpdateEmpDismissionInfoRequest(
        user_id="bob",
        last_work_date=DAY + 86_400_000,
        termination_reason_passive=["8"],
        dismission_memo="later",
    )
    assert acme.call("update_emp_dismission_info", edit).result is True
    [info] = _infos(acme, "bob")
    assert (info.status, info.pre_status, info.last_work_day) == (1, 3, DAY + 86_400_000)
    assert (info.voluntary_reason, info.passive_reason, info.reason_memo) == (["2"], ["8"], "later")
    assert [(d.dept_path, info.main_dept_name) for d in info.dept_list] == [("Acme/Eng/Backend", "Backend")]
    acme.refused("emp_start_dismission", start, "businessError", 401, "userId", "leaving")
    assert acme.call("revoke_termination", hrm.RevokeTerminationRequest(user_id="bob")).result is True
    assert _infos(acme, "bob")[0].status == 3
    with client(live.server, APP) as wps:
        assert wps.get_user("bob").employment_status == ""
    acme.refused("revoke_termination", hrm.RevokeTerminationRequest(user_id="bob"), "businessError", 401)
    acme.refused("update_emp_dismission_info", edit, "businessError", 401, "no pending dismission")


@pytest.mark.parametrize(
    ("fields", "code", "status", "named"),
    [
        ({"user_id": "dave"}, "businessError", 401, "userId"),  # a pre-hire is not on the job
        ({"user_id": "ghost"}, "invalidParameter", 400, "userId"),
        ({"user_id": None}, "invalidParameter", 400, "userId is required"),
        ({"last_work_date": None}, "invalidParameter", 400, "lastWorkDate is required"),
        ({"termination_reason_voluntary": ["7"]}, "invalidParameter", 400, "terminationReasonVoluntary[0]"),
        ({"termination_reason_passive": ["no"]}, "invalidParameter", 400, "terminationReasonPassive[0]"),
    ],
)
def test_a_refused_start_changes_nothing(
    live: LiveServer, acme: Hrm, fields: dict[str, Any], code: str, status: int, named: str
) -> None:
    request = hrm.EmpStartDismissionRequest(**{"user_id": "bob", "last_work_date": DAY, **fields})
    acme.refused("emp_start_dismission", request, code, status, named)
    assert [x.status for x in _infos(acme, "bob", "dave")] == [3, 3]


def test_official_sdk_terminates_a_person_read_back_everywhere(live: LiveServer, acme: Hrm) -> None:
    terminate = hrm.HrmProcessTerminationAndHandoverRequest(
        user_id="bob",
        opt_user_id="alice",
        last_work_date=DAY,
        dismission_memo="contract ended",
        termination_reason_passive=["8"],
        direct_subordinates_handover_user_id="alice",
    )
    assert acme.call("hrm_process_termination_and_handover", terminate).result is True
    with wire(live.base_url) as w:
        assert w.post(USER_GET, {"userid": "bob"})["errcode"] == 60121
        assert w.ok(DIMISSION, {"offset": 0, "size": 50})["result"]["data_list"] == ["bob", "erin"]
        old = w.ok(LISTDIMISSION, {"userid_list": "bob"})["result"][0]
    assert (old["status"], old["pre_status"], old["handover_userid"], old["passive_reason"]) == (
        2,
        3,
        "alice",
        ["8"],
    )
    assert old["dept_list"] == [{"dept_id": old["main_dept_id"], "dept_path": "Acme/Eng/Backend"}]
    with client(live.server, APP) as wps:
        assert wps.get_user("bob").status == "dimission"
    later = hrm.HrmProcessUpdateTerminationInfoRequest(
        user_id="bob", last_work_date=DAY + 1000, dismission_memo="x"
    )
    assert acme.call("hrm_process_update_termination_info", later).result is True
    records = acme.call("get_dismission_record", hrm.GetDismissionRecordRequest(next_token=0, size=10))
    assert records.success is True and records.result.has_more is False
    assert [(x.staff_id, x.last_work_day) for x in records.result.list] == [("bob", DAY + 1000)]
    assert _infos(acme, "bob")[0].reason_memo == "x"
    # Someone who left is terminated no more; someone on the job has no termination to edit.
    acme.refused("hrm_process_termination_and_handover", terminate, "businessError", 400, "not on the job")
    carol = hrm.HrmProcessUpdateTerminationInfoRequest(
        user_id="carol", last_work_date=DAY, dismission_memo="x"
    )
    acme.refused("hrm_process_update_termination_info", carol, "businessError", 400, "has not left")


@pytest.mark.parametrize(
    ("fields", "code", "named"),
    [
        ({"user_id": "ghost"}, "empNotExists", "userId"),
        ({"user_id": "alice"}, "businessError", "main administrator"),
        ({"opt_user_id": "bob"}, "invalidParameter", "optUserId"),
        ({"opt_user_id": "ghost"}, "invalidParameter", "optUserId"),
        ({"aflow_hand_over_user_id": "ghost"}, "invalidParameter", "aflowHandOverUserId"),
        ({"dismission_memo": None}, "invalidParameter", "dismissionMemo is required"),
        ({"last_work_date": 10**15}, "invalidParameter", "lastWorkDate"),
    ],
)
def test_a_refused_termination_changes_nothing(
    acme: Hrm, fields: dict[str, Any], code: str, named: str
) -> None:
    base = {"user_id": "bob", "opt_user_id": "alice", "last_work_date": DAY, "dismission_memo": "m"}
    request = hrm.HrmProcessTerminationAndHandoverRequest(**{**base, **fields})
    acme.refused("hrm_process_termination_and_handover", request, code, 400, named)
    assert [x.status for x in _infos(acme, "bob", "alice")] == [3, 3]


def test_dismission_infos_refuse_an_empty_or_long_list(live: LiveServer, acme: Hrm) -> None:
    for ids in ([], [f"u{i}" for i in range(51)]):
        request = hrm.QueryHrmEmployeeDismissionInfoRequest(user_id_list=ids)
        acme.refused(
            "query_hrm_employee_dismission_info",
            request,
            "invalidParameter",
            400,
            "员工id列表大小不在[1,50]范围",
        )
    with wire(live.base_url) as w:
        assert w.post(LISTDIMISSION, {"userid_list": []})["errcode"] != 0


def test_official_sdk_lists_the_leave_records(live: LiveServer, acme: Hrm) -> None:
    terminate = hrm.HrmProcessTerminationAndHandoverRequest(
        user_id="bob", opt_user_id="alice", last_work_date=DAY, dismission_memo="m"
    )
    acme.call("hrm_process_termination_and_handover", terminate)
    with client(live.server, APP) as wps:
        wps.delete_user("carol")  # through an API: "oapi"
        wps.delete_user("erin")  # had left already: no second row
    contact = sdk(ContactClient, live.base_url)
    headers = contact_models.ListEmpLeaveRecordsHeaders(x_acs_dingtalk_access_token=acme.token)
    now = datetime.now(UTC)
    since = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def page(**fields: Any) -> Any:
        request = contact_models.ListEmpLeaveRecordsRequest(
            **{"start_time": since, "max_results": 50, **fields}
        )
        return contact.list_emp_leave_records_with_options(request, headers, R).body

    every = page()
    assert [(x.user_id, x.leave_reason, x.name) for x in every.records] == [
        ("bob", "leave", "Bob"),
        ("carol", "oapi", "Carol"),
    ]
    assert every.records[0].mobile == "13800000002" and every.records[0].state_code == "86"
    assert abs(
        datetime.strptime(every.records[0].leave_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) - now
    ) < timedelta(minutes=5)
    assert every.next_token is None
    first = page(max_results=1)
    assert [x.user_id for x in first.records] == ["bob"] and first.next_token == "1"
    assert [x.user_id for x in page(max_results=1, next_token="1").records] == ["carol"]
    year_ago = (now - timedelta(days=366)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for fields, named in (
        ({"start_time": year_ago}, "startTime"),
        ({"start_time": "yesterday"}, "startTime"),
        ({"max_results": 51}, "maxResults"),
        ({"next_token": "x"}, "nextToken"),
    ):
        with pytest.raises(TeaException) as err:
            page(**fields)
        assert (err.value.code, err.value.statusCode) == ("invalidParameter", 400)
        assert named in err.value.message


def test_the_plugins_tenant_hands_out_a_configured_sdk_client(openroster_tenant: OpenrosterTenant) -> None:
    client = openroster_tenant.dingtalk_v1_client(HrmClient)
    headers = hrm.GetAllDismissionReasonsHeaders(
        x_acs_dingtalk_access_token=openroster_tenant.dingtalk_v1_token()
    )
    body = client.get_all_dismission_reasons_with_options(headers, R).body
    assert [x.id for x in body.result.passive_list] == ["7", "8", "9", "10"]
