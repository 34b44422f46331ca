"""A request that says one thing twice is refused, not guessed at: a JSON key given twice in one
object (at any depth, however spelled), two spellings of one field (``users`` beside ``user_ids``,
a top-level ``userid`` beside ``param.userid``), a form field given twice, two ``Authorization`` or
``Content-Type`` headers. Each gets the dialect's own error (WPS ``40000001``, DingTalk ``400002``)
naming the field or header, and nothing changes: the person is read back as before.

Raw HTTP (httpx), so that a body can repeat a key and a request can repeat a header; the expected
replies are written from docs/wps.md, docs/dingtalk.md and docs/security.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from openroster.testing.plugin import OpenrosterTenant

pytestmark = pytest.mark.e2e

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
NATION = "sys02-nationType"
ROSTER_UPDATE = "/topapi/smartwork/hrm/employee/v2/update"
ROSTER_LIST = "/topapi/smartwork/hrm/employee/v2/list"
WPS_SCOPES = ["kso.contact.readwrite", "kso.user_custom_attr.readwrite"]


@dataclass
class World:
    http: httpx.Client
    wps_token: str
    dingtalk_token: str
    agentid: int
    person: str
    attr: str

    def wps(self, path: str, body: bytes, headers: list[tuple[str, str]] | None = None) -> httpx.Response:
        sent = headers if headers is not None else [("Authorization", f"Bearer {self.wps_token}")]
        return self.http.post(path, content=body, headers=[("Content-Type", JSON), *sent])

    def dingtalk(
        self, path: str, body: bytes, headers: list[tuple[str, str]] | None = None
    ) -> httpx.Response:
        params = {"access_token": self.dingtalk_token}
        return self.http.post(path, params=params, content=body, headers=headers or [("Content-Type", JSON)])

    def person_as_read(self) -> tuple[Any, ...]:
        """The person's title and custom attributes (WPS), and their roster nationality (DingTalk)."""
        auth = {"Authorization": f"Bearer {self.wps_token}"}
        user = self.http.get(f"/v7/users/{self.person}", headers=auth).json()["data"]
        attrs = self.http.post(
            "/v7/users/custom_attrs/batch_read", json={"user_ids": [self.person]}, headers=auth
        ).json()["data"]["users"]
        roster = self.http.post(
            ROSTER_LIST,
            params={"access_token": self.dingtalk_token},
            json={"agentid": self.agentid, "userid_list": [self.person], "field_filter_list": [NATION]},
        ).json()["result"]
        return user["title"], orjson.dumps(attrs), orjson.dumps(roster)


@pytest.fixture
def world(openroster_tenant: OpenrosterTenant) -> Iterator[World]:
    app = openroster_tenant.add_app(signing="none", scopes=WPS_SCOPES)
    dt = openroster_tenant.dingtalk
    with httpx.Client(base_url=openroster_tenant.server.base_url, timeout=30) as http:
        wps_token = http.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", **{k: app[k] for k in ("client_id", "client_secret")}},
        ).json()["access_token"]
        dingtalk_token = http.get(
            "/gettoken", params={"appkey": dt.appkey, "appsecret": dt.appsecret}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {wps_token}"}
        person = http.post(
            "/v7/users/create", json={"user_name": "Ada", "dept_ids": ["1"], "title": "before"}, headers=auth
        ).json()["data"]["id"]
        attrs = http.post(
            "/v7/companies/user_custom_attrs/batch_create",
            json={"items": [{"name": "desk", "value_type": "text"}]},
            headers=auth,
        ).json()["data"]
        yield World(http, wps_token, dingtalk_token, int(dt.agentid), person, attrs["items"][0]["id"])


def refused_wps(resp: httpx.Response, *named: str) -> None:
    """docs/wps.md: an ambiguous request is 40000001 (HTTP 400), the message naming what was doubled."""
    assert (resp.status_code, resp.json()["code"]) == (400, 40000001), resp.text
    for name in named:
        assert name in resp.json()["msg"], resp.text


def refused_dingtalk(resp: httpx.Response, *named: str) -> None:
    """docs/dingtalk.md: 400002 无效的参数 (HTTP 200), the message naming what was doubled."""
    reply = resp.json()
    assert (resp.status_code, reply["errcode"]) == (200, 400002), resp.text
    assert reply["errmsg"].startswith("无效的参数"), resp.text
    for name in named:
        assert name in reply["errmsg"], resp.text


# -- WPS ---------------------------------------------------------------------------------------------


def update_title(w: World) -> str:
    return f"/v7/users/{w.person}/update"


def attrs_body(w: World, value: str = '"text":"desk 1"', users_key: str = '"users"') -> str:
    return f'{users_key}:[{{"user_id":"{w.person}","custom_attrs":[{{"attr_id":"{w.attr}",{value}}}]}}]'


#: (id, path of the call, body, what the message names)
WPS_BODIES: list[Any] = [
    pytest.param(
        update_title, lambda w: '{"title":"one","title":"two"}', ("title",), id="top-level-key-twice"
    ),
    pytest.param(
        update_title, lambda w: '{"title":"a:b","title":"c"}', ("title",), id="key-twice-value-holds-a-colon"
    ),
    pytest.param(
        update_title, lambda w: '{"title":"one","\\u0074itle":"two"}', ("title",), id="key-twice-once-escaped"
    ),
    pytest.param(
        update_title,
        lambda w: '{"title":"x","title":"x"}',
        ("title",),
        id="key-twice-with-the-same-value",
    ),
    pytest.param(
        lambda w: "/v7/users/custom_attrs/batch_update",
        lambda w: "{" + attrs_body(w, '"text":"desk 1","text":"desk 2"') + "}",
        ("users[0].custom_attrs[0].text",),
        id="nested-key-twice",
    ),
    pytest.param(
        lambda w: "/v7/users/custom_attrs/batch_update",
        lambda w: "{" + attrs_body(w) + "," + attrs_body(w, users_key='"user_ids"') + "}",
        ("users", "user_ids"),
        id="users-beside-user_ids",
    ),
    pytest.param(
        lambda w: "/v7/companies/user_custom_attrs/batch_update",
        lambda w: f'{{"items":[{{"id":"{w.attr}","attr_id":"{w.attr}","name":"renamed"}}]}}',
        ("items[0]", "id", "attr_id"),
        id="id-beside-attr_id",
    ),
]


@pytest.mark.parametrize(("path", "body", "named"), WPS_BODIES)
def test_a_wps_body_saying_one_thing_twice_is_refused_and_changes_nothing(
    world: World, path: Any, body: Any, named: tuple[str, ...]
) -> None:
    before = world.person_as_read()
    refused_wps(world.wps(path(world), body(world).encode()), *named)
    assert world.person_as_read() == before


def test_the_same_wps_calls_said_once_are_taken(world: World) -> None:
    """The refusals above are for the repetition: said once, each call goes through."""
    ok = world.wps(update_title(world), b'{"title":"a:b"}')
    assert ok.json()["code"] == 0, ok.text
    attrs = world.wps("/v7/users/custom_attrs/batch_update", ("{" + attrs_body(world) + "}").encode())
    assert attrs.json()["code"] == 0, attrs.text
    title, stored, _ = world.person_as_read()
    assert title == "a:b" and b"desk 1" in stored


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        pytest.param(
            lambda t: [("Authorization", t), ("Authorization", t)], "Authorization", id="authorization"
        ),
        pytest.param(
            lambda t: [("Authorization", t), ("Authorization", "Bearer someone-else")],
            "Authorization",
            id="authorization-another-token",
        ),
        pytest.param(
            lambda t: [("Authorization", t), ("Content-Type", JSON)], "Content-Type", id="content-type"
        ),
        pytest.param(
            lambda t: [("Authorization", t), ("X-Kso-Date", "a"), ("X-Kso-Date", "b")],
            "X-Kso-Date",
            id="kso-date",
        ),
    ],
)
def test_a_wps_header_sent_twice_is_refused_and_changes_nothing(
    world: World, headers: Any, named: str
) -> None:
    before = world.person_as_read()
    resp = world.wps(update_title(world), b'{"title":"changed"}', headers(f"Bearer {world.wps_token}"))
    refused_wps(resp, named)
    assert world.person_as_read() == before


def test_the_wps_token_endpoint_refuses_two_authorization_headers(world: World) -> None:
    resp = world.http.post(
        "/oauth2/token",
        content=b"grant_type=client_credentials",
        headers=[("Content-Type", FORM), ("Authorization", "Basic eDp5"), ("Authorization", "Basic eTp6")],
    )
    refused_wps(resp, "Authorization")


# -- DingTalk ----------------------------------------------------------------------------------------


def roster_body(w: World, param: str, outside: str = "") -> bytes:
    return f'{{"agentid":{w.agentid},{outside}"param":{param}}}'.encode()


def groups(value: str = "1") -> str:
    return (
        f'[{{"group_id":"sys02","sections":[{{"section":[{{"field_code":"{NATION}","value":"{value}"}}]}}]}}]'
    )


DINGTALK_BODIES: list[Any] = [
    pytest.param(
        lambda w: roster_body(w, f'{{"userid":"{w.person}","groups":{groups()},"groups":{groups("2")}}}'),
        ("param.groups",),
        id="key-twice-in-param",
    ),
    pytest.param(
        lambda w: (
            f'{{"agentid":{w.agentid},"agentid":{w.agentid},"param":{{"userid":"{w.person}","groups":{groups()}}}}}'
        ).encode(),
        ("agentid",),
        id="top-level-key-twice",
    ),
    pytest.param(
        lambda w: roster_body(
            w,
            f'{{"userid":"{w.person}","groups":[{{"group_id":"sys02","sections":[{{"section":[{{"field_code":"{NATION}",'
            f'"value":"1","value":"2"}}]}}]}}]}}',
        ),
        ("param.groups[0].sections[0].section[0].value",),
        id="key-twice-deep-inside",
    ),
    pytest.param(
        lambda w: roster_body(w, f'{{"userid":"{w.person}","groups":{groups()}}}', f'"userid":"{w.person}",'),
        ("param.userid", "userid"),
        id="userid-beside-param.userid",
    ),
    pytest.param(
        lambda w: roster_body(w, f'{{"userid":"{w.person}","user_id":"{w.person}","groups":{groups()}}}'),
        ("param.userid", "param.user_id"),
        id="param.userid-beside-param.user_id",
    ),
    pytest.param(
        lambda w: roster_body(
            w, orjson.dumps(f'{{"userid":"{w.person}","userid":"other","groups":{groups()}}}').decode()
        ),
        ("param", "userid"),
        id="key-twice-in-param-sent-as-a-string",
    ),
]


@pytest.mark.parametrize(("body", "named"), DINGTALK_BODIES)
def test_a_dingtalk_body_saying_one_thing_twice_is_refused_and_changes_nothing(
    world: World, body: Any, named: tuple[str, ...]
) -> None:
    before = world.person_as_read()
    refused_dingtalk(world.dingtalk(ROSTER_UPDATE, body(world)), *named)
    assert world.person_as_read() == before


@pytest.mark.parametrize(
    ("form", "named"),
    [
        pytest.param(
            lambda w: f"agentid={w.agentid}&agentid={w.agentid}&param=", ("agentid",), id="field-twice"
        ),
        pytest.param(
            lambda w: f'agentid={w.agentid}&param={{"userid":"{w.person}","groups":{groups()},"groups":[]}}',
            ("param.groups",),
            id="key-twice-in-a-json-field",
        ),
    ],
)
def test_a_dingtalk_form_saying_one_thing_twice_is_refused_and_changes_nothing(
    world: World, form: Any, named: tuple[str, ...]
) -> None:
    before = world.person_as_read()
    body = httpx.QueryParams([tuple(kv.split("=", 1)) for kv in form(world).split("&")])
    resp = world.dingtalk(ROSTER_UPDATE, str(body).encode(), [("Content-Type", FORM)])
    refused_dingtalk(resp, *named)
    assert world.person_as_read() == before


def test_the_same_dingtalk_call_said_once_is_taken(world: World) -> None:
    resp = world.dingtalk(
        ROSTER_UPDATE, roster_body(world, f'{{"userid":"{world.person}","groups":{groups()}}}')
    )
    assert resp.json()["errcode"] == 0, resp.text
    assert b'"1"' in world.person_as_read()[2]


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        pytest.param(
            [("Content-Type", JSON), ("Authorization", "Bearer a"), ("Authorization", "Bearer b")],
            "Authorization",
            id="authorization",
        ),
        pytest.param([("Content-Type", JSON), ("Content-Type", FORM)], "Content-Type", id="content-type"),
    ],
)
def test_a_dingtalk_header_sent_twice_is_refused_and_changes_nothing(
    world: World, headers: list[tuple[str, str]], named: str
) -> None:
    before = world.person_as_read()
    body = roster_body(world, f'{{"userid":"{world.person}","groups":{groups()}}}')
    refused_dingtalk(world.dingtalk(ROSTER_UPDATE, body, headers), named)
    assert world.person_as_read() == before
    token = world.http.get("/gettoken", params={"appkey": "x", "appsecret": "y"}, headers=headers)
    refused_dingtalk(token, named)
