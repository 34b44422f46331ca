"""Helpers for the DingTalk end-to-end tests: a tenant, apps, and a raw wire client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from openroster.core.directory import Directory
from openroster.core.people import depts, users
from openroster.core.tenancy import apps, tenants

TENANT = "acme"
CORP_ID = "dingacme"
AGENTID = 23470561
APPKEY = "acme-dingtalk"
APPSECRET = "acme-dingtalk-secret"
ALL_PERMISSIONS = (
    "qyapi_hrm_read_user",
    "qyapi_hrm_manager",
    "qyapi_get_member",
    "qyapi_get_department_list",
)

UPDATE = "/topapi/smartwork/hrm/employee/v2/update"
LIST = "/topapi/smartwork/hrm/employee/v2/list"
META = "/topapi/smartwork/hrm/roster/meta/get"
GROUPLIST = "/topapi/smartwork/hrm/employee/field/grouplist"
ONJOB = "/topapi/smartwork/hrm/employee/queryonjob"
PREENTRY = "/topapi/smartwork/hrm/employee/querypreentry"
DIMISSION = "/topapi/smartwork/hrm/employee/querydimission"
ADD_PREENTRY = "/topapi/smartwork/hrm/employee/addpreentry"
USER_GET = "/topapi/v2/user/get"
USER_LISTID = "/topapi/user/listid"
DEPT_LISTSUB = "/topapi/v2/department/listsub"
DEPT_GET = "/topapi/v2/department/get"

#: Seed 002's request body, byte for byte as its curl example sends it.
SEED_002_BODY = """{
"agentid": "23470561",
"param": {
"groups": [
{
"group_id": "sys03",
"sections": [
{
"old_index": 0,
"section": [
{
"field_code": "sys03-highestEdu",
"value": "1"
},
{
"field_code": "sys03-graduateSchool",
"value": "清华大学"
},
{
"field_code": "sys03-graduationTime",
"value": "2020-09-01"
}
]
},
{
"old_index": 1,
"section": [
{
"field_code": "sys03-highestEdu",
"value": "2"
},
{
"field_code": "sys03-graduateSchool",
"value": "清华附中"
},
{
"field_code": "sys03-graduationTime",
"value": "2016-09-01"
}
]
},
{
"old_index": 2,
"section": [
{
"field_code": "sys03-highestEdu",
"value": "3"
},
{
"field_code": "sys03-graduateSchool",
"value": "清华附小"
},
{
"field_code": "sys03-graduationTime",
"value": "2010-09-01"
}
]
}
]
}
],
"userid": "user456"
}
}"""


@dataclass(frozen=True, slots=True)
class Org:
    eng: int
    backend: int
    sales: int


def setup_tenant(d: Directory, *, permissions: tuple[str, ...] = ALL_PERMISSIONS) -> Org:
    """Tenant ``acme`` with a small tree, four people and a DingTalk app with ``permissions``."""
    tenants.create(d, tenant_id=TENANT, name="Acme")
    with d.writer() as tx:
        eng = depts.ensure_path(tx, d, tenant_id=TENANT, names=["Eng"])
        backend = depts.ensure_path(tx, d, tenant_id=TENANT, names=["Eng", "Backend"])
        sales = depts.ensure_path(tx, d, tenant_id=TENANT, names=["Sales"])
    users.create_many(
        d,
        tenant_id=TENANT,
        items=[
            users.NewUser(
                id="alice",
                user_name="Alice",
                dept_ids=(eng.id, backend.id),
                leader_of=(eng.id,),
                phone="13800000001",
                email="alice@acme.test",
                employee_id="E1",
                title="CTO",
                gender="female",
            ),
            users.NewUser(
                id="bob", user_name="Bob", dept_ids=(backend.id,), leader_id="alice", phone="13800000002"
            ),
            users.NewUser(id="carol", user_name="Carol", dept_ids=(sales.id,), status="disabled"),
            users.NewUser(id="dave", user_name="Dave", dept_ids=(sales.id,), status="notactive"),
            users.NewUser(id="erin", user_name="Erin", dept_ids=(sales.id,), status="dimission"),
        ],
        field_prefix="",
    )
    apps.create(d, tenant_id=TENANT, client_id=APPKEY, secret=APPSECRET, agentid=AGENTID, scopes=permissions)
    return Org(eng.id, backend.id, sales.id)


class Wire:
    """A DingTalk client that shows the raw replies: every call returns the decoded JSON body."""

    def __init__(self, base_url: str, *, appkey: str = APPKEY, appsecret: str = APPSECRET) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.appkey = appkey
        self.appsecret = appsecret
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    def gettoken(self, **params: str) -> dict[str, Any]:
        query = params or {"appkey": self.appkey, "appsecret": self.appsecret}
        return self._json(self.http.get("/gettoken", params=query))

    @property
    def token(self) -> str:
        if self._token is None:
            reply = self.gettoken()
            assert reply["errcode"] == 0, reply
            self._token = str(reply["access_token"])
        return self._token

    def post(
        self, path: str, body: Any = None, *, token: str | None = None, raw: bytes | None = None
    ) -> dict[str, Any]:
        """POST a JSON body (``raw``: these exact bytes, as JSON)."""
        content = raw if raw is not None else orjson.dumps(body if body is not None else {})
        return self._json(
            self.http.post(
                path,
                params={"access_token": token if token is not None else self.token},
                content=content,
                headers={"Content-Type": "application/json"},
            )
        )

    def post_form(self, path: str, fields: dict[str, Any], *, token: str | None = None) -> dict[str, Any]:
        """POST a form body; object-valued fields are sent as JSON strings."""
        flat = {k: (v if isinstance(v, str) else orjson.dumps(v).decode()) for k, v in fields.items()}
        return self._json(
            self.http.post(
                path,
                params={"access_token": token if token is not None else self.token},
                content=urlencode(flat).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            )
        )

    def ok(self, path: str, body: Any = None) -> dict[str, Any]:
        reply = self.post(path, body)
        assert reply["errcode"] == 0, reply
        assert reply["errmsg"] == "ok"
        return reply

    @staticmethod
    def _json(resp: httpx.Response) -> dict[str, Any]:
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("application/json")
        data = orjson.loads(resp.content)
        assert isinstance(data, dict)
        return data


@contextmanager
def wire(base_url: str, **kw: str) -> Iterator[Wire]:
    w = Wire(base_url, **kw)
    try:
        yield w
    finally:
        w.close()


def refused(reply: dict[str, Any], errcode: int, *fragments: str) -> None:
    """``reply`` is the error ``errcode`` and its errmsg names every fragment."""
    assert reply["errcode"] == errcode, reply
    assert isinstance(reply.get("request_id"), str) and len(reply["request_id"]) == 13, reply
    for f in fragments:
        assert f in reply["errmsg"], (f, reply)
    assert "result" not in reply


def fields_of(entry: dict[str, Any]) -> dict[str, list[tuple[int, str, str]]]:
    """``{field_code: [(item_index, value, label)]}`` of one ``v2/list`` result item."""
    return {
        f["field_code"]: [(v["item_index"], v["value"], v["label"]) for v in f["field_value_list"]]
        for f in entry["field_data_list"]
    }
