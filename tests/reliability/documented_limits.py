"""The documented limits, written out as tables (not read from the code under test), so that a
wrong limit in the code fails ``test_limits.py``. Sources: docs/wps.md (request bodies, query
strings, every endpoint's list sizes and string lengths), docs/dingtalk.md (the roster's batches)
and docs/security.md (the HTTP layer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ROSTER_UPDATE = "/topapi/smartwork/hrm/employee/v2/update"
ROSTER_LIST = "/topapi/smartwork/hrm/employee/v2/list"

BODY_MAX_BYTES = 1024 * 1024  # 1 MiB: 41300001 / errcode 400002 past it
HEAD_MAX_BYTES = 64 * 1024  # the request line and headers: 431 past it
QUERY_PARAMS_MAX = 100  # query parameters in one request
NAME_MAX = 200  # a user's or department's name, in characters
ATTR_TEXT_MAX = 1000  # a text custom attribute's value, in characters
USER_DEPTS_MAX = 20  # departments of one user
DEPT_LEADERS_MAX = 20  # leaders of one department
ATTR_READ_USERS_MAX = 50  # users/custom_attrs/batch_read
ATTR_UPDATE_USERS_MAX = 100  # users/custom_attrs/batch_update: users
ATTR_UPDATE_ATTRS_PER_USER_MAX = 100  # users/custom_attrs/batch_update: values of one user
ATTR_DEFS_CREATE_MAX = 50  # companies/user_custom_attrs/batch_create
ATTR_DEFS_BATCH_MAX = 50  # companies/user_custom_attrs/batch_update and batch_delete


def _ids(n: int) -> list[str]:
    return [f"u{i}" for i in range(n)]


Body = Callable[[int, int], Any]
#: Every WPS batch, as docs/wps.md names it -> (path, body of n items given acme's Eng department,
#: the documented limit). One item past the limit is refused.
WPS_BATCHES: dict[str, tuple[str, Body, int]] = {
    "users/batch_read": (
        "/v7/users/batch_read",
        lambda n, eng: {"user_ids": _ids(n), "status": ["active"]},
        100,
    ),
    "users/by_emails": (
        "/v7/users/by_emails",
        lambda n, eng: {"emails": [f"{i}@x.test" for i in range(n)]},
        100,
    ),
    "users/by_phones": (
        "/v7/users/by_phones",
        lambda n, eng: {"phones": [f"1380000{i:04d}" for i in range(n)]},
        100,
    ),
    "users/by_ex_user_ids": ("/v7/users/by_ex_user_ids", lambda n, eng: {"ex_user_ids": _ids(n)}, 100),
    "users/batch_enable": ("/v7/users/batch_enable", lambda n, eng: {"user_ids": _ids(n)}, 100),
    "users/batch_disable": ("/v7/users/batch_disable", lambda n, eng: {"user_ids": _ids(n)}, 100),
    "users/batch_update_dept": (
        "/v7/users/batch_update_dept",
        lambda n, eng: {"user_ids": _ids(n), "dept_ids": [eng]},
        100,
    ),
    "users/batch_update_order": (
        "/v7/users/batch_update_order",
        lambda n, eng: {"user_order_list": [{"user_id": u, "dept_id": eng, "order": 1} for u in _ids(n)]},
        100,
    ),
    "depts/batch_read": ("/v7/depts/batch_read", lambda n, eng: {"dept_ids": list(range(1, n + 1))}, 100),
    "depts/by_ex_dept_ids": ("/v7/depts/by_ex_dept_ids", lambda n, eng: {"ex_dept_ids": _ids(n)}, 100),
    "depts/{dept_id}/members/batch_read": (
        "/v7/depts/{eng}/members/batch_read",
        lambda n, eng: {"user_ids": _ids(n), "status": ["active"]},
        100,
    ),
    "users/custom_attrs/batch_update: users": (
        "/v7/users/custom_attrs/batch_update",
        lambda n, eng: {
            "users": [{"user_id": u, "custom_attrs": [{"attr_id": "level", "text": "x"}]} for u in _ids(n)]
        },
        ATTR_UPDATE_USERS_MAX,
    ),
    "users/custom_attrs/batch_update: values of one user": (
        "/v7/users/custom_attrs/batch_update",
        lambda n, eng: {
            "users": [{"user_id": "shared-1", "custom_attrs": [{"attr_id": "level", "text": "x"}] * n}]
        },
        ATTR_UPDATE_ATTRS_PER_USER_MAX,
    ),
    "users/custom_attrs/batch_read": (
        "/v7/users/custom_attrs/batch_read",
        lambda n, eng: {"user_ids": _ids(n)},
        ATTR_READ_USERS_MAX,
    ),
    "companies/user_custom_attrs/batch_create": (
        "/v7/companies/user_custom_attrs/batch_create",
        lambda n, eng: {"items": [{"name": f"n{i}", "value_type": "text"} for i in range(n)]},
        ATTR_DEFS_CREATE_MAX,
    ),
    "companies/user_custom_attrs/batch_update": (
        "/v7/companies/user_custom_attrs/batch_update",
        lambda n, eng: {"items": [{"id": f"a{i}", "name": f"n{i}"} for i in range(n)]},
        ATTR_DEFS_BATCH_MAX,
    ),
    "companies/user_custom_attrs/batch_delete": (
        "/v7/companies/user_custom_attrs/batch_delete",
        lambda n, eng: {"attr_ids": _ids(n)},
        ATTR_DEFS_BATCH_MAX,
    ),
    "users/create: dept_ids": (
        "/v7/users/create",
        lambda n, eng: {"user_name": "N", "dept_ids": list(range(1, n + 1))},
        USER_DEPTS_MAX,
    ),
    "depts/{dept_id}/update: leaders": (
        "/v7/depts/{eng}/update",
        lambda n, eng: {"leaders": [{"user_id": u} for u in _ids(n)]},
        DEPT_LEADERS_MAX,
    ),
}


_SECTION = {"section": [{"field_code": "sys03-major", "value": "x"}]}


def _roster_update(groups: list[Any]) -> Callable[[int], Any]:
    return lambda agent: {"agentid": agent, "param": {"userid": "shared-1", "groups": groups}}


#: Every DingTalk batch, as docs/dingtalk.md names it -> (path, body given the app's agentid,
#: the documented limit); each body holds one item past the limit.
DINGTALK_BATCHES: dict[str, tuple[str, Callable[[int], Any], int]] = {
    "employee/v2/list: userid_list": (
        ROSTER_LIST,
        lambda agent: {"agentid": agent, "userid_list": [f"u{i}" for i in range(101)]},
        100,
    ),
    "employee/v2/list: field_filter_list": (
        ROSTER_LIST,
        lambda agent: {"agentid": agent, "userid_list": ["shared-1"], "field_filter_list": ["x"] * 101},
        100,
    ),
    "employee/v2/update: groups": (
        ROSTER_UPDATE,
        _roster_update([{"group_id": "sys03", "sections": [_SECTION]}] * 21),
        20,
    ),
    "employee/v2/update: sections of a group": (
        ROSTER_UPDATE,
        _roster_update([{"group_id": "sys03", "sections": [_SECTION] * 51}]),
        50,
    ),
    "employee/v2/update: fields of a section": (
        ROSTER_UPDATE,
        _roster_update([{"group_id": "sys03", "sections": [{"section": _SECTION["section"] * 101}]}]),
        100,
    ),
    "employee/querypreentry: size": (
        "/topapi/smartwork/hrm/employee/querypreentry",
        lambda agent: {"offset": 0, "size": 51},
        50,
    ),
}
