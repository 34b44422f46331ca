"""SortUser through the official SDK: the members among the userIds in the pinyin order of their names
(0 ascending, 1 descending; the platform's page), pre-hires, people who left and unknown ids left out."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_dingtalk.contact_1_0 import models as contact_models
from alibabacloud_dingtalk.contact_1_0.client import Client as ContactClient
from alibabacloud_tea_util.models import RuntimeOptions
from dingtalk_support import TENANT
from dingtalk_v1_support import sdk, tenant_with_token
from Tea.exceptions import TeaException

from conftest import LiveServer
from openroster.core.people import users

pytestmark = pytest.mark.e2e

#: Alice, Bob, Carol (on the job), dave (a pre-hire), erin (left), and three Chinese names.
ASKED = ["zs", "ls", "ww", "alice", "bob", "carol", "dave", "erin", "ghost"]
#: By pinyin: alice, bob, carol, li si, wang wu, zhang san (code-point order would put 张 first).
ASCENDING = ["alice", "bob", "carol", "ls", "ww", "zs"]


def _sort(live: LiveServer, token: str, **fields: Any) -> Any:
    client = sdk(ContactClient, live.base_url)
    request = contact_models.SortUserRequest(**fields)
    headers = contact_models.SortUserHeaders(x_acs_dingtalk_access_token=token)
    return client.sort_user_with_options(request, headers, RuntimeOptions()).body


@pytest.fixture
def token(live: LiveServer) -> str:
    made = tenant_with_token(live.base_url, live.directory)
    people = [("zs", "张三"), ("ls", "李四"), ("ww", "王五")]
    items = [users.NewUser(id=uid, user_name=name, dept_ids=(1,)) for uid, name in people]
    users.create_many(live.directory, tenant_id=TENANT, items=items, field_prefix="")
    return made


@pytest.mark.parametrize(("sort_type", "expected"), [(None, ASCENDING), (0, ASCENDING), (1, ASCENDING[::-1])])
def test_official_sdk_sorts_members_by_the_pinyin_of_their_names(
    live: LiveServer, token: str, sort_type: int | None, expected: list[str]
) -> None:
    assert _sort(live, token, user_id_list=ASKED, sort_type=sort_type).user_id_list == expected


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"user_id_list": ["zs"], "sort_type": 2}, "sortType"),
        ({"user_id_list": []}, "userIdList"),
        ({"user_id_list": [f"u{i}" for i in range(101)]}, "userIdList"),
        ({}, "userIdList is required"),
    ],
)
def test_sort_refusals(live: LiveServer, token: str, fields: dict[str, Any], named: str) -> None:
    with pytest.raises(TeaException) as err:
        _sort(live, token, **fields)
    assert (err.value.code, err.value.statusCode) == ("invalidParameter", 400)
    assert named in err.value.message
