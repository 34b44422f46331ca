"""Crash safety: an acknowledged write survives ``kill -9``, and no batch is ever half-applied.

A real ``openroster serve`` takes a steady stream of batch writes from both
dialects while the test kills it with SIGKILL at a random moment, restarts it
on the same store, and checks the store, ``ROUNDS`` times on each backend:

- **lanes of custom-attribute batches** (WPS ``users/custom_attrs/batch_update``):
  each lane owns five people and its n-th batch sets two attributes of all five
  to ``n``: ten values in one transaction;
- **lanes of roster updates** (DingTalk ``employee/v2/update``): each lane owns
  one person and its n-th update sets five fields to ``n``: a profile column
  (position), two plain roster groups, a row of a detail group and a custom
  attribute through the roster's custom group;
- **a lane of user creates** (WPS ``users/create``): person, department
  membership, email and external id in one transaction.

A lane sends one write at a time, so after the kill each lane's state is
exactly known: every acknowledged write is present, and the one in flight is
either wholly present or wholly absent. Every value of a batch or update must
therefore carry the same ``n``, which must be the last acknowledged one or the
one in flight; a mix of ``n``s is a half-applied batch. The store must pass its
integrity check (SQLite: ``PRAGMA integrity_check`` and ``foreign_key_check``).

``OPENROSTER_CRASH_ROUNDS`` (default 10) and ``OPENROSTER_CRASH_SEED`` (default:
random, printed on failure) tune a run. Ten rounds per backend is 20 kills a run, each at
a random moment of six lanes of writes (at least half of them with a write in flight, asserted);
every lane kind is checked after every kill, so a round more adds kill moments, not kinds of
check. The seed is new on every run, so runs over time kill at other moments; a deeper run is
``OPENROSTER_CRASH_ROUNDS=100`` (docs/security.md). Each round costs a server start, the
larger part of its CPU time, which is why the default is not higher.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): what survives ``kill -9`` is what each
backend made durable at commit, and PostgreSQL's writers commit groups from a pool of connections
(store/writer.py).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from conftest import ServerProcess
from openroster.config import Settings
from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import depts, users
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import writes as roster_writes
from openroster.core.tenancy import apps, tenants
from openroster.dialects.dingtalk.endpoint import PERMISSIONS
from openroster.model.entities import AttributeUpdate, UserAttributeUpdate
from openroster.server.app import open_directory
from security.world import WPS_SCOPES, secret_of

pytestmark = [pytest.mark.slow, pytest.mark.both_stores]

ROUNDS = int(os.environ.get("OPENROSTER_CRASH_ROUNDS", "10"))
TENANT = "crash"
AGENTID = 7001
WPS_APP = "crash-wps"
DING_APP = "crash-ding"
ATTR_LANES = 3
PEOPLE_PER_ATTR_LANE = 5
ROSTER_LANES = 2
#: The roster fields one update sets (group, field code, detail row or None).
ROSTER_FIELDS: tuple[tuple[str, str, int | None], ...] = (
    ("sys00", "sys00-position", None),
    ("sys02", "sys02-certAddress", None),
    ("sys04", "sys04-accountBank", None),
    ("sys06", "sys06-urgentContactsName", 0),
    (roster_catalogue.CUSTOM_GROUP_ID, "b", None),
)


@dataclass
class Lane:
    """One sequential stream of writes: ``verified`` is the ``n`` the store held at the last check."""

    name: str
    verified: int = 0
    acked: int = 0
    sent: int = 0
    #: For the create lane: the ex_user_id of every person acknowledged, and of the one in flight.
    acked_ids: list[str] = field(default_factory=list)
    pending_id: str | None = None

    def start_round(self) -> None:
        self.acked = self.sent = self.verified
        self.pending_id = None

    @property
    def in_flight(self) -> bool:
        return self.sent > self.acked

    def allowed(self) -> set[int]:
        return {self.acked, self.sent}


@dataclass
class Stream:
    base_url: str
    wps_token: str
    ding_token: str
    dept_id: int
    attr_lanes: list[Lane]
    roster_lanes: list[Lane]
    create_lane: Lane
    errors: list[str] = field(default_factory=list)

    @property
    def lanes(self) -> list[Lane]:
        return [*self.attr_lanes, *self.roster_lanes, self.create_lane]


def attr_people(lane: int) -> list[str]:
    return [f"wa{lane}-{k}" for k in range(PEOPLE_PER_ATTR_LANE)]


def roster_person(lane: int) -> str:
    return f"dr{lane}"


def setup_store(d: Directory) -> int:
    tenants.create(d, tenant_id=TENANT, name="Crash Co")
    apps.create(
        d, tenant_id=TENANT, client_id=WPS_APP, secret=secret_of(WPS_APP), signing="none", scopes=WPS_SCOPES
    )
    apps.create(
        d,
        tenant_id=TENANT,
        client_id=DING_APP,
        secret=secret_of(DING_APP),
        agentid=AGENTID,
        scopes=PERMISSIONS,
    )
    dept = depts.create(d, tenant_id=TENANT, item=depts.NewDepartment(name="Ops", parent_id=1)).id
    people = [p for lane in range(ATTR_LANES) for p in attr_people(lane)]
    people += [roster_person(lane) for lane in range(ROSTER_LANES)]
    users.create_many(
        d, tenant_id=TENANT, items=[users.NewUser(id=p, user_name=p, dept_ids=(dept,)) for p in people]
    )
    attributes.create_definitions(
        d,
        tenant_id=TENANT,
        items=[attributes.NewDefinition(id=a, name=f"attr {a}", value_type="text") for a in ("a", "b")],
    )
    # Every lane starts at #0, fully written (the detail row every roster update edits included).
    attributes.update_values(
        d,
        tenant_id=TENANT,
        updates=[
            UserAttributeUpdate(
                p, (AttributeUpdate(attr_id="a", text="0"), AttributeUpdate(attr_id="b", text="0"))
            )
            for lane in range(ATTR_LANES)
            for p in attr_people(lane)
        ],
    )
    for lane in range(ROSTER_LANES):
        roster_writes.update(
            d,
            tenant_id=TENANT,
            user_id=roster_person(lane),
            groups=[
                roster_writes.GroupWrite(
                    group, (roster_writes.SectionWrite((roster_writes.FieldWrite(code, "0"),)),)
                )
                for group, code, _row in ROSTER_FIELDS
            ],
        )
    return dept


# -- the writers ------------------------------------------------------------------------------------


def attr_batch(lane: int, n: int) -> dict[str, Any]:
    return {
        "users": [
            {
                "user_id": uid,
                "custom_attrs": [{"attr_id": "a", "text": str(n)}, {"attr_id": "b", "text": str(n)}],
            }
            for uid in attr_people(lane)
        ]
    }


def roster_update(lane: int, n: int) -> dict[str, Any]:
    groups = [
        {
            "group_id": group,
            "sections": [
                {
                    "section": [{"field_code": code, "value": str(n)}],
                    **({"old_index": row} if row is not None else {}),
                }
            ],
        }
        for group, code, row in ROSTER_FIELDS
    ]
    return {"agentid": AGENTID, "param": {"userid": roster_person(lane), "groups": groups}}


async def _post(http: httpx.AsyncClient, url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    sent = {"Content-Type": "application/json", **(headers or {})}
    resp = await http.post(url, content=orjson.dumps(body), headers=sent)
    return orjson.loads(resp.content)


async def _lane_loop(stream: Stream, lane: Lane, send: Callable[[int], Any]) -> None:
    while True:
        n = lane.sent + 1
        lane.sent = n
        try:
            reply = await send(n)
        except httpx.TransportError:
            return  # the server died with this write in flight
        code = reply.get("code", reply.get("errcode"))
        if code != 0:
            stream.errors.append(f"{lane.name} #{n}: {reply}")
            lane.sent = n - 1
            return
        lane.acked = n


async def _drive(stream: Stream, server: ServerProcess, kill_after: float) -> None:
    """Write on every lane; kill the server ``kill_after`` seconds after the first acknowledgement."""
    limits = httpx.Limits(max_connections=len(stream.lanes), max_keepalive_connections=len(stream.lanes))
    async with httpx.AsyncClient(base_url=stream.base_url, timeout=30, limits=limits) as http:
        wps = {"Authorization": f"Bearer {stream.wps_token}"}
        topapi = f"/topapi/smartwork/hrm/employee/v2/update?access_token={stream.ding_token}"

        def attr_sender(i: int) -> Callable[[int], Any]:
            return lambda n: _post(http, "/v7/users/custom_attrs/batch_update", attr_batch(i, n), headers=wps)

        def roster_sender(i: int) -> Callable[[int], Any]:
            return lambda n: _post(http, topapi, roster_update(i, n))

        def create(n: int) -> Any:
            uid = f"c{n}"
            stream.create_lane.pending_id = uid
            body = {
                "ex_user_id": uid,
                "user_name": f"Created {n}",
                "dept_ids": [stream.dept_id],
                "email": f"{uid}@crash.test",
            }
            return _post(http, "/v7/users/create", body, headers=wps)

        async def create_loop() -> None:
            lane = stream.create_lane
            before = lane.acked
            await _lane_loop(stream, lane, create)
            lane.acked_ids += [f"c{n}" for n in range(before + 1, lane.acked + 1)]

        tasks = [
            asyncio.create_task(_lane_loop(stream, lane, attr_sender(i)))
            for i, lane in enumerate(stream.attr_lanes)
        ]
        tasks += [
            asyncio.create_task(_lane_loop(stream, lane, roster_sender(i)))
            for i, lane in enumerate(stream.roster_lanes)
        ]
        tasks.append(asyncio.create_task(create_loop()))
        deadline = asyncio.get_running_loop().time() + 30
        while not any(lane.acked > lane.verified for lane in stream.lanes):
            assert asyncio.get_running_loop().time() < deadline, "no write was acknowledged within 30 s"
            await asyncio.sleep(0.005)
        await asyncio.sleep(kill_after)
        server.proc.kill()  # SIGKILL
        server.proc.wait(10)
        await asyncio.wait_for(asyncio.gather(*tasks), 30)


# -- the checks -------------------------------------------------------------------------------------


def integrity(settings: Settings) -> list[str]:
    """Open the store as the next server will, and check it."""
    d = open_directory(settings)
    try:
        return [f"integrity: {p}" for p in d.store.integrity_check()]
    finally:
        d.store.dispose()


def verify(stream: Stream) -> list[str]:
    """Read every lane back through the restarted server; ``[]`` when all is well."""
    problems: list[str] = []
    wps = {"Authorization": f"Bearer {stream.wps_token}"}
    with httpx.Client(base_url=stream.base_url, timeout=30, headers=wps) as http:
        for i, lane in enumerate(stream.attr_lanes):
            reply = http.post("/v7/users/custom_attrs/batch_read", json={"user_ids": attr_people(i)}).json()
            assert reply["code"] == 0, reply
            texts = [a["text"] for u in reply["data"]["users"] for a in u["custom_attrs"]]
            problems += _check_lane(lane, texts, 2 * PEOPLE_PER_ATTR_LANE)
        reply = http.post(
            f"/topapi/smartwork/hrm/employee/v2/list?access_token={stream.ding_token}",
            json={"agentid": AGENTID, "userid_list": [roster_person(i) for i in range(ROSTER_LANES)]},
        ).json()
        assert reply["errcode"] == 0, reply
        for lane, person in zip(stream.roster_lanes, reply["result"], strict=True):
            fields = {f["field_code"]: f["field_value_list"] for f in person["field_data_list"]}
            values = [
                v["value"]
                for _group, code, row in ROSTER_FIELDS
                for v in fields.get(code, [])
                if row is None or v["item_index"] == row
            ]
            problems += _check_lane(lane, values, len(ROSTER_FIELDS))
        lane = stream.create_lane
        pending = [lane.pending_id] if lane.in_flight and lane.pending_id else []
        wanted = [*lane.acked_ids, *pending]  # every create so far, not only this round's
        present: dict[str, Any] = {}
        for i in range(0, len(wanted), 100):
            reply = http.post(
                "/v7/users/by_ex_user_ids", json={"ex_user_ids": wanted[i : i + 100], "with_dept": True}
            ).json()
            assert reply["code"] == 0, reply
            present |= {u["ex_user_id"]: u for u in reply["data"]["items"]}
        lost = [uid for uid in lane.acked_ids if uid not in present]
        if lost:
            problems.append(f"{lane.name}: acknowledged creates lost: {lost}")
        for uid, user in present.items():
            dept_ids = [str(d["id"]) for d in user.get("depts", [])]
            if dept_ids != [str(stream.dept_id)] or user.get("email") != f"{uid}@crash.test":
                problems.append(f"{lane.name}: {uid} half-created: {user}")
        if pending and pending[0] in present:
            lane.acked_ids.append(pending[0])
            lane.verified = lane.sent
        else:
            lane.verified = lane.acked
    return problems


def _check_lane(lane: Lane, values: list[str], expected: int) -> list[str]:
    seen = set(values)
    if len(values) != expected:
        return [f"{lane.name}: {len(values)} of {expected} values present: {values}"]
    if len(seen) != 1:
        return [f"{lane.name}: half-applied: values {sorted(seen)} (acked {lane.acked}, sent {lane.sent})"]
    n = int(next(iter(seen)))
    if n not in lane.allowed():
        return [f"{lane.name}: holds #{n}, but #{lane.acked} was acknowledged and #{lane.sent} the last sent"]
    lane.verified = n
    return []


@pytest.mark.e2e
def test_acknowledged_writes_survive_kill_9_and_no_batch_is_half_applied(
    directory: Directory, server_factory: Callable[..., ServerProcess], tmp_path: Path, database_url: str
) -> None:
    seed = int(os.environ.get("OPENROSTER_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    dept = setup_store(directory)
    directory.store.dispose()
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    server = server_factory()
    with httpx.Client(base_url=server.base_url) as http:
        wps_token = http.post(
            "/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": WPS_APP,
                "client_secret": secret_of(WPS_APP),
            },
        ).json()["access_token"]
        ding_token = http.get(
            "/gettoken", params={"appkey": DING_APP, "appsecret": secret_of(DING_APP)}
        ).json()["access_token"]
    stream = Stream(
        server.base_url,
        wps_token,
        ding_token,
        dept,
        attr_lanes=[Lane(f"attr-lane-{i}") for i in range(ATTR_LANES)],
        roster_lanes=[Lane(f"roster-lane-{i}") for i in range(ROSTER_LANES)],
        create_lane=Lane("create-lane"),
    )
    kills_mid_write = 0
    for round_no in range(ROUNDS):
        for lane in stream.lanes:
            lane.start_round()
        kill_after = rng.uniform(0.0, 0.5)
        asyncio.run(_drive(stream, server, kill_after))
        assert not stream.errors, f"seed {seed}, round {round_no}: writes refused: {stream.errors}"
        kills_mid_write += any(lane.in_flight for lane in stream.lanes)
        problems = integrity(settings)
        server = server_factory()
        stream.base_url = server.base_url
        problems += verify(stream)
        assert not problems, f"seed {seed}, round {round_no} (kill after {kill_after:.3f} s): {problems}"
    acked = sum(lane.verified for lane in stream.lanes)
    assert kills_mid_write >= ROUNDS // 2, f"only {kills_mid_write} of {ROUNDS} kills hit a write in flight"
    assert acked >= ROUNDS, f"only {acked} writes in {ROUNDS} rounds"
