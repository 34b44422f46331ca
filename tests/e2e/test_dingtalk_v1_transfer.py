"""HrmProcessTransfer through the official SDK: a person moves to other departments, title and position
level in one write, read back through ``/topapi`` and WPS; each refusal names its field and changes
nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from alibabacloud_dingtalk.hrm_1_0 import models as hrm
from alibabacloud_dingtalk.hrm_1_0.client import Client as HrmClient
from alibabacloud_tea_util.models import RuntimeOptions
from dingtalk_support import AGENTID, ALL_PERMISSIONS, LIST, USER_GET, setup_tenant, wire
from dingtalk_v1_support import V1_PERMISSIONS, access_token, sdk
from Tea.exceptions import TeaException
from wps_contacts_support import APP, SCOPES, client

from conftest import LiveServer
from openroster.core.tenancy import apps

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(live: LiveServer) -> tuple[Any, Any, Any]:
    org = setup_tenant(live.directory, permissions=(*ALL_PERMISSIONS, *V1_PERMISSIONS))
    apps.create(live.directory, tenant_id="acme", client_id=APP, secret=f"{APP}-secret", scopes=SCOPES)
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        token = access_token(http)
    client_ = sdk(HrmClient, live.base_url)

    def call(**fields: Any) -> Any:
        request = hrm.HrmProcessTransferRequest(**{"user_id": "bob", "operate_user_id": "alice", **fields})
        headers = hrm.HrmProcessTransferHeaders(x_acs_dingtalk_access_token=token)
        return client_.hrm_process_transfer_with_options(request, headers, RuntimeOptions()).body

    return org, call, token


def test_official_sdk_transfers_a_person_read_back_everywhere(
    live: LiveServer, world: tuple[Any, Any, Any]
) -> None:
    org, call, _ = world
    body = call(
        dept_ids_after_transfer=[org.sales, org.eng],
        main_dept_id_after_transfer=org.sales,
        position_name_after_transfer="Account manager",
        position_level_after_transfer="P6",
    )
    assert body.result is True
    with wire(live.base_url) as w:
        got = w.ok(USER_GET, {"userid": "bob"})["result"]
        rows = w.ok(
            LIST, {"agentid": AGENTID, "userid_list": "bob", "field_filter_list": "sys01-positionLevel"}
        )
    assert (sorted(got["dept_id_list"]), got["title"]) == (sorted([org.sales, org.eng]), "Account manager")
    assert rows["result"][0]["field_data_list"][0]["field_value_list"][0]["value"] == "P6"
    with client(live.server, APP) as wps:
        user = wps.get_user("bob")
        assert (user.def_dept_id, user.title) == (str(org.sales), "Account manager")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"user_id": "ghost"}, "userId"),
        ({"user_id": "erin"}, "userId"),  # left the company
        ({"operate_user_id": "ghost"}, "operateUserId"),
        ({"dept_ids_after_transfer": [999_999]}, "deptIdsAfterTransfer[0]"),
        ({"dept_ids_after_transfer": []}, "deptIdsAfterTransfer"),
        ({"main_dept_id_after_transfer": 999_999}, "mainDeptIdAfterTransfer"),
        ({"position_name_after_transfer": "x" * 300}, "positionNameAfterTransfer"),
    ],
)
def test_a_refused_transfer_changes_nothing(
    live: LiveServer, world: tuple[Any, Any, Any], fields: dict[str, Any], named: str
) -> None:
    org, call, _ = world
    with pytest.raises(TeaException) as err:
        call(position_level_after_transfer="P9", **fields)
    assert (err.value.code, err.value.statusCode) == ("invalidParameter", 400)
    assert named in err.value.message
    with wire(live.base_url) as w:
        got = w.ok(USER_GET, {"userid": "bob"})["result"]
    assert (got["dept_id_list"], got.get("title", "")) == ([org.backend], "")
