"""Writes committed in groups keep each request's own result (SQLite and PostgreSQL, a real server).

Many clients write at once, so the server commits their batches together: a bad batch fails
alone, with its own error, and changes nothing, while the good ones beside it commit; two
creates that claim one email leave one person; lanes of writes on separate connections all
finish, in order, and a read sent after an acknowledged write sees it.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): there a pool of writer threads hands groups
over under the change counter's row lock, and a job that loses a deadlock runs again
(store/writer.py); SQLite has one writer thread.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import orjson
import pytest

from conftest import ALL_WPS_SCOPES, LiveServer
from openroster.core.custom import attributes
from openroster.core.people import users
from openroster.core.tenancy import apps, tenants

pytestmark = [pytest.mark.e2e, pytest.mark.both_stores]

TENANT = "acme"
APP = "acme-writes"
PEOPLE = [f"u{i:02d}" for i in range(40)]
GOOD, BAD = 30, 10
BATCH_UPDATE = "/v7/users/custom_attrs/batch_update"
BATCH_READ = "/v7/users/custom_attrs/batch_read"
NOT_FOUND_USER = 40400002
CONFLICT = 40900001


@pytest.fixture
def base_url(live: LiveServer) -> str:
    d = live.directory
    tenants.create(d, tenant_id=TENANT, name="Acme")
    users.create_many(
        d, tenant_id=TENANT, items=[users.NewUser(id=p, user_name=p.upper(), dept_ids=(1,)) for p in PEOPLE]
    )
    attributes.create_definitions(
        d, tenant_id=TENANT, items=[attributes.NewDefinition(id="note", name="Note", value_type="text")]
    )
    apps.create(
        d,
        tenant_id=TENANT,
        client_id=APP,
        secret=f"{APP}-secret",
        signing="none",
        scopes=(*ALL_WPS_SCOPES, "kso.user_custom_attr.read"),
    )
    return live.server.base_url


async def client(base_url: str, connections: int) -> httpx.AsyncClient:
    http = httpx.AsyncClient(
        base_url=base_url,
        timeout=120,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )
    reply = await http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": APP, "client_secret": f"{APP}-secret"},
    )
    http.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
    return http


async def post(http: httpx.AsyncClient, path: str, body: Any) -> dict[str, Any]:
    resp = await http.post(path, content=orjson.dumps(body), headers={"Content-Type": "application/json"})
    reply: dict[str, Any] = resp.json()
    return reply


def note(user_id: str, text: str) -> dict[str, Any]:
    return {"user_id": user_id, "custom_attrs": [{"attr_id": "note", "text": text}]}


async def notes(http: httpx.AsyncClient, user_ids: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for start in range(0, len(user_ids), 50):
        reply = await post(http, BATCH_READ, {"user_ids": user_ids[start : start + 50]})
        assert reply["code"] == 0, reply
        for u in reply["data"]["users"]:
            texts = [a["text"] for a in u["custom_attrs"] if a["attr_id"] == "note"]
            out[u["user_id"]] = texts[0] if texts else None
    return out


def test_a_bad_batch_fails_alone_while_the_good_ones_beside_it_commit(base_url: str) -> None:
    # Good batch i sets u<i>'s note; bad batch j sets u<30+j>'s note, then names a person who does
    # not exist: it must fail with its own error and leave u<30+j> as it was.
    good = [("good", i, {"users": [note(PEOPLE[i], f"good {i}")]}) for i in range(GOOD)]
    bad = [
        ("bad", j, {"users": [note(PEOPLE[GOOD + j], f"bad {j}"), note(f"ghost{j}", "x")]})
        for j in range(BAD)
    ]
    calls = good + bad
    random.Random(17).shuffle(calls)

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, str | None]]:
        http = await client(base_url, len(calls))
        try:
            replies = await asyncio.gather(*(post(http, BATCH_UPDATE, body) for _, _, body in calls))
            return list(replies), await notes(http, PEOPLE)
        finally:
            await http.aclose()

    replies, after = asyncio.run(scenario())
    for (kind, n, _), reply in zip(calls, replies, strict=True):
        if kind == "good":
            assert reply["code"] == 0, reply
            ((user,),) = [reply["data"]["users"]]
            assert user["user_id"] == PEOPLE[n]
            assert [(a["attr_id"], a["text"]) for a in user["custom_attrs"]] == [("note", f"good {n}")]
        else:
            assert reply["code"] == NOT_FOUND_USER, reply
            assert reply["msg"].startswith("users[1].user_id") and f"ghost{n}" in reply["msg"], reply
    assert after == {p: (f"good {i}" if i < GOOD else None) for i, p in enumerate(PEOPLE)}


def test_two_creates_claiming_one_email_leave_one_person(base_url: str) -> None:
    rounds = 8

    def create(name: str, email: str) -> dict[str, Any]:
        return {"user_name": name, "dept_ids": ["1"], "email": email}

    async def scenario() -> list[dict[str, Any]]:
        http = await client(base_url, 2 * rounds)
        try:
            calls = [
                post(http, "/v7/users/create", create(f"new{r}{side}", f"same{r}@acme.test"))
                for r in range(rounds)
                for side in "ab"
            ]
            return list(await asyncio.gather(*calls))
        finally:
            await http.aclose()

    replies = asyncio.run(scenario())
    for r in range(rounds):
        pair = replies[2 * r : 2 * r + 2]
        assert sorted(x["code"] for x in pair) == [0, CONFLICT], pair
    assert sum(x["code"] == 0 for x in replies) == rounds


def test_lanes_of_writes_all_finish_in_order_and_reads_see_what_was_acknowledged(base_url: str) -> None:
    """Sixteen connections each write their own person twelve times, one write at a time, while
    reading everyone back: every write is answered, a lane's writes land in the order sent, and a
    read sent after a write was acknowledged sees that write (or a later one)."""
    lanes, writes = 16, 12

    async def lane(http: httpx.AsyncClient, k: int) -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        for n in range(writes):
            reply = await post(http, BATCH_UPDATE, {"users": [note(PEOPLE[k], f"{n:03d}")]})
            assert reply["code"] == 0, reply
            got = (await notes(http, [PEOPLE[k]]))[PEOPLE[k]]
            assert got is not None
            seen.append((n, int(got)))
        return seen

    async def scenario() -> tuple[list[list[tuple[int, int]]], dict[str, str | None]]:
        http = await client(base_url, lanes)
        try:
            seen = await asyncio.gather(*(lane(http, k) for k in range(lanes)))
            return list(seen), await notes(http, PEOPLE[:lanes])
        finally:
            await http.aclose()

    seen, after = asyncio.run(scenario())
    for lane_seen in seen:
        assert [got for _, got in lane_seen] == [n for n, _ in lane_seen]
    assert after == {p: f"{writes - 1:03d}" for p in PEOPLE[:lanes]}
