"""Concurrent writers lose nothing (SQLite and PostgreSQL, two server processes).

Eight clients write different fields of one person at the same time, through
both dialects and both processes: every write lands. Two clients writing the
same field leave one of their values, whole, never a mix of the two.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): its writers are a pool of threads, one
connection each, and its row locks and deadlocks are its own (SQLite has one writer thread per
process); whether a write is lost depends on them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest
from dingtalk_support import AGENTID, APPKEY, APPSECRET, LIST, UPDATE, setup_tenant

from conftest import ALL_WPS_SCOPES, LiveServer, ServerProcess
from openroster.core.custom import attributes
from openroster.core.tenancy import apps

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.both_stores]

Factory = Callable[..., ServerProcess]
TENANT = "acme"
WPS_APP = "acme-open"
PERSON = "alice"
ROUNDS = 8
ATTRS = [f"a{k}" for k in range(8)]
#: Eight roster fields of one person: roster-only ones and ones that live on the user's profile.
ROSTER_FIELDS = [
    ("sys02", "sys02-certAddress"),
    ("sys02", "sys02-address"),
    ("sys04", "sys04-bankAccountNo"),
    ("sys04", "sys04-accountBank"),
    ("sys05", "sys05-contractCompanyName"),
    ("sys00", "sys00-position"),
    ("sys00", "sys00-tel"),
    ("sys00", "sys00-workPlace"),
]
#: Eight profile fields of one person, written through WPS user update.
PROFILE_FIELDS = [
    "title",
    "telephone",
    "work_place",
    "city",
    "country",
    "employer",
    "employee_id",
    "login_name",
]


@pytest.fixture
def servers(live: LiveServer) -> list[ServerProcess]:
    """Two server processes on one store: the worker's shared server and its twin."""
    directory = live.directory
    setup_tenant(directory)
    apps.create(
        directory,
        tenant_id=TENANT,
        client_id=WPS_APP,
        secret=f"{WPS_APP}-secret",
        signing="none",
        scopes=(*ALL_WPS_SCOPES, "kso.user_custom_attr.read"),
    )
    attributes.create_definitions(
        directory,
        tenant_id=TENANT,
        items=[
            *(attributes.NewDefinition(id=a, name=f"Attribute {a}", value_type="text") for a in ATTRS),
            attributes.NewDefinition(id="home", name="Home page", value_type="url"),
        ],
    )
    return [live.server, live.twin()]


class Clients:
    """Signed-in HTTP clients of both dialects for one server."""

    def __init__(self, server: ServerProcess) -> None:
        self.base = server.base_url
        self.http = httpx.Client(base_url=server.base_url, timeout=60)
        reply = self.http.post(
            "/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": WPS_APP,
                "client_secret": f"{WPS_APP}-secret",
            },
        )
        self.wps_token = reply.json()["access_token"]
        self.ding_token = self.http.get(
            "/gettoken", params={"appkey": APPKEY, "appsecret": APPSECRET}
        ).json()["access_token"]

    def wps(self, path: str, body: Any) -> dict[str, Any]:
        resp = self.http.post(
            path,
            content=orjson.dumps(body),
            headers={"Authorization": f"Bearer {self.wps_token}", "Content-Type": "application/json"},
        )
        reply: dict[str, Any] = resp.json()
        assert reply["code"] == 0, reply
        return reply

    def dingtalk(self, path: str, body: Any) -> dict[str, Any]:
        resp = self.http.post(
            path,
            params={"access_token": self.ding_token},
            content=orjson.dumps({"agentid": AGENTID, **body}),
            headers={"Content-Type": "application/json"},
        )
        reply: dict[str, Any] = resp.json()
        assert reply["errcode"] == 0, reply
        return reply

    def close(self) -> None:
        self.http.close()


@contextmanager
def clients(servers: list[ServerProcess], n: int) -> Iterator[list[Clients]]:
    """``n`` clients, spread over the servers."""
    made = [Clients(servers[k % len(servers)]) for k in range(n)]
    try:
        yield made
    finally:
        for c in made:
            c.close()


def run_together(work: list[Callable[[], None]]) -> None:
    """Run every piece of work in its own thread, all starting at once; re-raise the first failure."""
    errors: list[BaseException] = []
    gate = threading.Barrier(len(work))

    def run(fn: Callable[[], None]) -> None:
        try:
            gate.wait()
            fn()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]


def _attr_values(c: Clients) -> dict[str, Any]:
    reply = c.wps("/v7/users/custom_attrs/batch_read", {"user_ids": [PERSON]})
    return {a["attr_id"]: a for a in reply["data"]["users"][0]["custom_attrs"]}


def _roster(c: Clients) -> dict[str, str]:
    reply = c.dingtalk(LIST, {"userid_list": PERSON})
    fields = reply["result"][0]["field_data_list"]
    return {
        f["field_code"]: f["field_value_list"][0].get("value", "") for f in fields if f["field_value_list"]
    }


def test_eight_clients_writing_different_custom_attributes_all_land(servers: list[ServerProcess]) -> None:
    with clients(servers, 8) as cs:

        def writer(k: int) -> Callable[[], None]:
            def go() -> None:
                for n in range(ROUNDS):
                    body = {
                        "users": [
                            {"user_id": PERSON, "custom_attrs": [{"attr_id": ATTRS[k], "text": f"c{k}-{n}"}]}
                        ]
                    }
                    cs[k].wps("/v7/users/custom_attrs/batch_update", body)

            return go

        run_together([writer(k) for k in range(8)])
        for c in cs[:2]:  # both processes agree
            values = _attr_values(c)
            assert {a: values[a]["text"] for a in ATTRS} == {
                a: f"c{k}-{ROUNDS - 1}" for k, a in enumerate(ATTRS)
            }


def test_eight_clients_writing_different_roster_fields_all_land(servers: list[ServerProcess]) -> None:
    with clients(servers, 8) as cs:

        def writer(k: int) -> Callable[[], None]:
            group, code = ROSTER_FIELDS[k]

            def go() -> None:
                for n in range(ROUNDS):
                    section = {"section": [{"field_code": code, "value": f"v{k}-{n}"}]}
                    cs[k].dingtalk(
                        UPDATE,
                        {"param": {"userid": PERSON, "groups": [{"group_id": group, "sections": [section]}]}},
                    )

            return go

        run_together([writer(k) for k in range(8)])
        for c in cs[:2]:
            got = _roster(c)
            assert {code: got.get(code) for _, code in ROSTER_FIELDS} == {
                code: f"v{k}-{ROUNDS - 1}" for k, (_, code) in enumerate(ROSTER_FIELDS)
            }


def test_eight_clients_writing_different_profile_fields_and_attributes_all_land(
    servers: list[ServerProcess],
) -> None:
    """WPS profile updates and roster writes of the same person's row, interleaved with attribute writes."""
    with clients(servers, 8) as cs:

        def profile_writer(k: int) -> Callable[[], None]:
            name = PROFILE_FIELDS[k]

            def go() -> None:
                for n in range(ROUNDS):
                    cs[k].wps(f"/v7/users/{PERSON}/update", {name: f"p{k}x{n}"})
                    body = {
                        "users": [
                            {"user_id": PERSON, "custom_attrs": [{"attr_id": ATTRS[k], "text": f"c{k}-{n}"}]}
                        ]
                    }
                    cs[k].wps("/v7/users/custom_attrs/batch_update", body)

            return go

        run_together([profile_writer(k) for k in range(8)])
        for c in cs[:2]:
            user = c.wps("/v7/users/batch_read", {"user_ids": [PERSON], "status": ["active"]})["data"][
                "items"
            ][0]
            assert {f: user[f] for f in PROFILE_FIELDS} == {
                f: f"p{k}x{ROUNDS - 1}" for k, f in enumerate(PROFILE_FIELDS)
            }
            values = _attr_values(c)
            assert {a: values[a]["text"] for a in ATTRS} == {
                a: f"c{k}-{ROUNDS - 1}" for k, a in enumerate(ATTRS)
            }


def test_two_writers_of_one_field_leave_one_whole_value(servers: list[ServerProcess]) -> None:
    """Last writer wins, per field: a url's title and link, a roster field, a profile field."""
    with clients(servers, 2) as cs:

        def writer(k: int) -> Callable[[], None]:
            def go() -> None:
                for n in range(ROUNDS * 2):
                    tag = f"w{k}-{n}"
                    cs[k].wps(
                        "/v7/users/custom_attrs/batch_update",
                        {
                            "users": [
                                {
                                    "user_id": PERSON,
                                    "custom_attrs": [
                                        {
                                            "attr_id": "home",
                                            "url": {"title": tag, "link": f"https://{tag}.example.com/"},
                                        },
                                        {"attr_id": "a0", "text": tag},
                                    ],
                                }
                            ]
                        },
                    )
                    section = {"section": [{"field_code": "sys02-address", "value": tag}]}
                    cs[k].dingtalk(
                        UPDATE,
                        {
                            "param": {
                                "userid": PERSON,
                                "groups": [{"group_id": "sys02", "sections": [section]}],
                            }
                        },
                    )
                    cs[k].wps(f"/v7/users/{PERSON}/update", {"title": tag})

            return go

        run_together([writer(0), writer(1)])
        finals = {f"w{k}-{ROUNDS * 2 - 1}" for k in (0, 1)}
        values = _attr_values(cs[0])
        home = values["home"]["url"]
        assert home["title"] in finals
        assert home["link"] == f"https://{home['title']}.example.com/"  # title and link from the same write
        assert values["a0"]["text"] in finals
        assert _roster(cs[1])["sys02-address"] in finals
        user = cs[1].wps("/v7/users/batch_read", {"user_ids": [PERSON], "status": ["active"]})["data"][
            "items"
        ][0]
        assert user["title"] in finals
