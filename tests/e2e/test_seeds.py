"""The two WPS seeds' examples, replayed against a real server: verbatim, and with real values.

Seed 000 (``POST {domain}/graph/v7/users/custom_attrs/batch_update``, WPS-4 or
WPS-4-GM signed) and seed 001 (``POST https://openapi.wps.cn/v7/users/batch_read``,
KSO-1 signed). The request bodies below are the seeds' examples byte for byte.
Servers load their tenants with ``openroster serve --seed examples/...``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from wps_foundation_support import assert_error, envelope, raw, signed_headers, token

import wps_signer
from conftest import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: Seed 000's request example, byte for byte.
SEED_000_REQUEST = (
    b'{\n  "users": [\n    {\n      "custom_attrs": [\n        {\n          "attr_id": "string",\n'
    b'          "option": "string",\n          "relation_depts": [\n            "string"\n          ],\n'
    b'          "relation_user": "string",\n          "text": "string",\n          "url": {\n'
    b'            "link": "string",\n            "title": "string"\n          }\n        }\n      ],\n'
    b'      "user_id": "string"\n    }\n  ]\n}'
)
#: Seed 001's request example, byte for byte.
SEED_001_REQUEST = b'{\n"status": ["string"],\n"user_ids": ["string"],\n"with_dept": false\n}'

#: The fields of one value in seed 000's response example.
SEED_000_VALUE_FIELDS = {
    "attr_id",
    "attr_name",
    "attr_value_type",
    "option",
    "relation_depts",
    "relation_user",
    "text",
    "url",
}
#: The fields of one user in seed 001's response example.
SEED_001_USER_FIELDS = {
    "city",
    "country",
    "ctime",
    "def_dept_id",
    "depts",
    "email",
    "employee_id",
    "employer",
    "employment_status",
    "employment_type",
    "ex_user_id",
    "gender",
    "id",
    "leader_id",
    "phone",
    "role",
    "status",
    "telephone",
    "title",
    "user_name",
    "work_place",
}

UPDATE = "/v7/users/custom_attrs/batch_update"
READ_VALUES = "/v7/users/custom_attrs/batch_read"
BATCH_READ = "/v7/users/batch_read"


def _post(
    server: ServerProcess, cid: str, scheme: str, path: str, body: bytes, *, prefix: str = ""
) -> httpx.Response:
    """POST ``body`` as the seed's client does: Content-Type, date and signature headers, bearer token."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token(server, cid)}"}
    headers |= signed_headers(cid, "POST", path, body, scheme=scheme)
    return raw(server, "POST", prefix + path, body, headers)


def _ok(resp: httpx.Response) -> Any:
    reply = envelope(resp)
    assert (resp.status_code, reply["code"]) == (200, 0), reply
    assert isinstance(reply["msg"], str)
    return reply["data"]


def test_seed_examples_verbatim(server_factory: Callable[..., ServerProcess]) -> None:
    """The tenant of examples/wps-doc-examples.yaml has user "string" and text attribute "string"."""
    server = server_factory("--seed", str(EXAMPLES / "wps-doc-examples.yaml"))

    # seed 000: only the field matching the attribute's value type (text) is read
    for cid, scheme in (("wps-doc-wps4", wps_signer.WPS4), ("wps-doc-wps4gm", wps_signer.WPS4GM)):
        for prefix in ("/graph", "", "/openapi"):
            data = _ok(_post(server, cid, scheme, UPDATE, SEED_000_REQUEST, prefix=prefix))
            [user] = data["users"]
            assert user["user_id"] == "string"
            [value] = user["custom_attrs"]
            assert set(value) >= SEED_000_VALUE_FIELDS
            assert set(value["url"]) == {"title", "link"}
            assert (value["attr_id"], value["attr_name"], value["attr_value_type"], value["text"]) == (
                "string",
                "说明",
                "text",
                "string",
            )
            assert (value["option"], value["relation_user"], value["relation_depts"], value["url"]) == (
                "",
                "",
                [],
                {"title": "", "link": ""},
            )
    read = _ok(
        _post(
            server, "wps-doc-wps4", wps_signer.WPS4, READ_VALUES, b'{"user_ids": ["string"]}', prefix="/graph"
        )
    )
    assert [(u["user_id"], [a["text"] for a in u["custom_attrs"]]) for u in read["users"]] == [
        ("string", ["string"])
    ]

    # seed 001: the placeholder status "string" is not a status; the error names status[0]
    msg = assert_error(
        _post(server, "wps-doc-kso", wps_signer.KSO1, BATCH_READ, SEED_001_REQUEST), 40000002, "status[0]"
    )
    assert "'string'" in msg and "active, notactive, disabled, dimission" in msg
    # the same request with a real status finds user "string"
    fixed = SEED_001_REQUEST.replace(b'["string"],\n"user_ids"', b'["active"],\n"user_ids"')
    [user] = _ok(_post(server, "wps-doc-kso", wps_signer.KSO1, BATCH_READ, fixed))["items"]
    assert user["id"] == "string" and "depts" not in user


def test_seed_examples_with_real_values(server_factory: Callable[..., ServerProcess]) -> None:
    """The company of examples/seed.yaml, called as each seed's client would."""
    server = server_factory("--seed", str(EXAMPLES / "seed.yaml"))

    # seed 001: KSO-1 at openapi.wps.cn's path, every status but one, with departments
    body = orjson.dumps(
        {
            "status": ["active", "notactive"],
            "user_ids": ["u-dev-1", "u-sales-1", "nobody", "u-ceo"],
            "with_dept": True,
        }
    )
    items = _ok(_post(server, "acme-kso", wps_signer.KSO1, BATCH_READ, body))["items"]
    assert [u["id"] for u in items] == ["u-dev-1", "u-sales-1", "u-ceo"]
    for u in items:
        assert set(u) >= SEED_001_USER_FIELDS, SEED_001_USER_FIELDS - set(u)
        assert isinstance(u["ctime"], int)
        assert all(isinstance(u[k], str) for k in SEED_001_USER_FIELDS - {"ctime", "depts"})
        assert u["gender"] in ("undefined", "male", "female", "secrecy")
        assert u["role"] in ("super-admin", "admin", "normal")
        assert u["status"] in ("active", "notactive")
        assert all(set(d) == {"id", "name", "abs_path"} for d in u["depts"])
    dev = items[0]
    assert (dev["user_name"], dev["email"], dev["phone"], dev["gender"], dev["leader_id"]) == (
        "张伟",
        "zhang.wei@acme.example",
        "13800000003",
        "male",
        "u-dev-lead",
    )
    assert (dev["employment_status"], dev["title"], dev["status"]) == ("probationary", "软件工程师", "active")
    assert [d["abs_path"] for d in dev["depts"]] == [
        "/极客科技有限公司/研发部/平台组/存储小组",
        "/极客科技有限公司/销售部/华东区",
    ]
    assert dev["def_dept_id"] == dev["depts"][0]["id"]
    assert items[1]["status"] == "notactive"
    storage, east = (d["id"] for d in dev["depts"])

    # seed 000: WPS-4 under /graph, a value of every type for two people
    update = {
        "users": [
            {
                "user_id": "u-sales-1",
                "custom_attrs": [
                    {"attr_id": "desk", "text": "3F-088"},
                    {"attr_id": "level", "option": "P6"},
                    {
                        "attr_id": "homepage",
                        "url": {"title": "李娜的主页", "link": "https://wiki.acme.example/lina"},
                    },
                    {"attr_id": "mentor", "relation_user": "u-dev-lead"},
                    {"attr_id": "partners", "relation_depts": [east, storage]},
                ],
            },
            {
                "user_id": "u-dev-1",
                "custom_attrs": [
                    {"attr_id": "level", "option": "P6"},
                    {"attr_id": "mentor", "relation_user": ""},
                ],
            },
        ]
    }
    data = _ok(_post(server, "acme-attrs", wps_signer.WPS4, UPDATE, orjson.dumps(update), prefix="/graph"))
    assert [u["user_id"] for u in data["users"]] == ["u-sales-1", "u-dev-1"]
    lina = {a["attr_id"]: a for a in data["users"][0]["custom_attrs"]}
    assert [a["attr_id"] for a in data["users"][0]["custom_attrs"]] == [
        "desk",
        "level",
        "homepage",
        "mentor",
        "partners",
    ]
    assert all(set(a) >= SEED_000_VALUE_FIELDS for a in lina.values())
    assert (lina["desk"]["text"], lina["level"]["option"], lina["mentor"]["relation_user"]) == (
        "3F-088",
        "P6",
        "u-dev-lead",
    )
    assert lina["homepage"]["url"] == {"title": "李娜的主页", "link": "https://wiki.acme.example/lina"}
    assert lina["partners"]["relation_depts"] == [east, storage]
    assert [a["attr_value_type"] for a in lina.values()] == [
        "text",
        "option",
        "url",
        "relation_user",
        "relation_depts",
    ]
    zhang = {a["attr_id"]: a for a in data["users"][1]["custom_attrs"]}
    assert zhang["level"]["option"] == "P6" and "mentor" not in zhang  # an empty relation_user clears it
    assert set(zhang) == {"desk", "level", "homepage"}  # the rest of the seed's values are kept

    read = _ok(
        _post(
            server,
            "acme-attrs",
            wps_signer.WPS4,
            READ_VALUES,
            b'{"user_ids": ["u-sales-1", "u-dev-1"]}',
            prefix="/graph",
        )
    )
    assert read["users"] == data["users"]
