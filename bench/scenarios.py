"""The benchmarked calls: how each one's rotated requests are made from a running server.

Each scenario prepares a fixed set of distinct requests (``ROTATION`` of them,
each signed) that wrk sends round-robin: the working set is the same at every
tenant size, so the figures compare the cost of a call, not the hit rate of the
cache. ``wps.batch_read_cold`` runs the server with a cache of 1,000 users,
so every user of every call comes from the database: the uncached cost.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from sqlalchemy import text

from bench.harness import (
    Request,
    Server,
    dingtalk_request,
    dingtalk_token,
    dingtalk_v1_request,
    wps_request,
    wps_token,
)
from openroster.store import open_store

#: Distinct requests each scenario rotates through.
ROTATION = 64

WPS_APP = ("demo-wps", "demo-wps-secret")  # KSO-1 signing, every contacts scope
DINGTALK_APP = ("demo-dingtalk", "demo-dingtalk-secret", 1000001)
TENANT = "demo"


@dataclass
class Context:
    server: Server
    ids: list[str]  # active users of the tenant, in random order
    rng: random.Random
    _wps: str | None = None
    _ding: str | None = None

    @property
    def base(self) -> str:
        return self.server.base

    def wps(self, method: str, path: str, body: object = None) -> Request:
        if self._wps is None:
            self._wps = wps_token(self.base, *WPS_APP)
        return wps_request(method, path, token=self._wps, client_id=WPS_APP[0], secret=WPS_APP[1], body=body)

    def dingtalk(self, path: str, body: dict[str, object]) -> Request:
        if self._ding is None:
            self._ding = dingtalk_token(self.base, DINGTALK_APP[0], DINGTALK_APP[1])
        return dingtalk_request(path, token=self._ding, body={"agentid": DINGTALK_APP[2], **body})

    def dingtalk_v1(self, path: str, body: dict[str, object]) -> Request:
        """A ``/v1.0`` call with the same app's token (shared with ``gettoken``)."""
        if self._ding is None:
            self._ding = dingtalk_token(self.base, DINGTALK_APP[0], DINGTALK_APP[1])
        return dingtalk_v1_request(path, token=self._ding, body=body)

    def sample(self, n: int) -> list[str]:
        return self.rng.sample(self.ids, n)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    make: Callable[[Context], list[Request]]
    #: The bare endpoint to compare with: (method, path) on the same server.
    bare: tuple[str, str]
    writes: bool = False
    #: Extra ``openroster serve`` options for this scenario.
    server_args: tuple[str, ...] = ()


def active_ids(server: Server, limit: int = 20_000, seed: int = 7) -> list[str]:
    """Up to ``limit`` active users of the demo tenant, in a reproducible random order."""
    target = server.target
    url = target.database_url or f"sqlite:///{target.data_dir / 'openroster.db'}"
    store = open_store(url)
    try:
        with store.read() as tx:
            rows = tx.conn.execute(
                text("SELECT id FROM users WHERE tenant_id = :t AND status = 'active' ORDER BY id LIMIT :n"),
                {"t": TENANT, "n": limit},
            ).all()
            if target.size > limit:
                # Spread the sample over the whole id range, not just its start.
                step = max(1, target.size // limit)
                rows = tx.conn.execute(
                    text(
                        "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM users "
                        "WHERE tenant_id = :t AND status = 'active') AS numbered WHERE n % :s = 0 LIMIT :l"
                    ),
                    {"t": TENANT, "s": step, "l": limit},
                ).all()
    finally:
        store.dispose()
    ids = [r[0] for r in rows]
    random.Random(seed).shuffle(ids)
    return ids


def _batch_read(ctx: Context) -> list[Request]:
    return [
        ctx.wps(
            "POST",
            "/v7/users/batch_read",
            {"user_ids": ctx.sample(100), "status": ["active"], "with_dept": True},
        )
        for _ in range(ROTATION)
    ]


def _attr_update(ctx: Context) -> list[Request]:
    reqs = []
    for k in range(ROTATION):
        users = []
        for uid in ctx.sample(50):
            users.append(
                {
                    "user_id": uid,
                    "custom_attrs": [
                        {"attr_id": "attr-desk", "text": f"{k % 20 + 2}F-{ctx.rng.randrange(1, 120):03d}"},
                        {"attr_id": "attr-level", "option": f"P{ctx.rng.randrange(1, 10)}"},
                        {
                            "attr_id": "attr-homepage",
                            "url": {"title": "主页", "link": f"https://wiki.example.com/{uid}"},
                        },
                        {"attr_id": "attr-mentor", "relation_user": ctx.rng.choice(ctx.ids)},
                        {"attr_id": "attr-partners", "relation_depts": ["1"]},
                    ],
                }
            )
        reqs.append(ctx.wps("POST", "/v7/users/custom_attrs/batch_update", {"users": users}))
    return reqs


def _paging(ctx: Context) -> list[Request]:
    """The first ``ROTATION`` 50-user pages with departments (keyset paging: any page costs the same)."""
    query = [("status", "active"), ("page_size", "50"), ("with_dept", "true")]
    out: list[Request] = []
    token: str | None = None
    with httpx.Client(timeout=60) as client:
        for _ in range(ROTATION):
            req = ctx.wps(
                "GET", "/v7/users?" + urlencode([*query, ("page_token", token)] if token else query)
            )
            out.append(req)
            data = req.send(ctx.base, client).json()
            if data.get("code") != 0:
                raise RuntimeError(f"GET /v7/users failed: {data}")
            token = data["data"].get("next_page_token") or None
            if token is None:
                break
    return out


_EDU = ("1", "2", "3", "4", "5")


def _roster_update(ctx: Context) -> list[Request]:
    """One user, three groups: an education row (the seed's), an emergency contact, personal data."""
    reqs = []
    for k, uid in enumerate(ctx.sample(ROTATION)):
        groups = [
            {
                "group_id": "sys03",
                "sections": [
                    {
                        "old_index": 0,
                        "section": [
                            {"field_code": "sys03-highestEdu", "value": _EDU[k % 5]},
                            {"field_code": "sys03-graduateSchool", "value": "清华大学"},
                            {"field_code": "sys03-graduationTime", "value": "2020-09-01"},
                        ],
                    }
                ],
            },
            {
                "group_id": "sys06",
                "sections": [
                    {
                        "old_index": 0,
                        "section": [
                            {"field_code": "sys06-urgentContactsName", "value": "张三"},
                            {"field_code": "sys06-urgentContactsRelation", "value": "配偶"},
                            {"field_code": "sys06-urgentContactsPhone", "value": f"1390000{k:04d}"},
                        ],
                    }
                ],
            },
            {
                "group_id": "sys02",
                "sections": [
                    {
                        "section": [
                            {"field_code": "sys02-residenceType", "value": "1"},
                            {"field_code": "sys02-address", "value": f"北京市海淀区 {k} 号"},
                        ]
                    }
                ],
            },
        ]
        reqs.append(
            ctx.dingtalk(
                "/topapi/smartwork/hrm/employee/v2/update", {"param": {"userid": uid, "groups": groups}}
            )
        )
    return reqs


def _roster_list(ctx: Context) -> list[Request]:
    return [
        ctx.dingtalk("/topapi/smartwork/hrm/employee/v2/list", {"userid_list": ",".join(ctx.sample(100))})
        for _ in range(ROTATION)
    ]


def _roster_by_field(ctx: Context) -> list[Request]:
    return [
        ctx.dingtalk_v1(
            "/v1.0/hrm/rosters/lists/query", {"appAgentId": DINGTALK_APP[2], "userIdList": ctx.sample(100)}
        )
        for _ in range(ROTATION)
    ]


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "wps.batch_read", "WPS batch_read, 100 ids, with_dept", _batch_read, ("POST", "/_bench/bare")
        ),
        Scenario(
            "wps.attrs_update",
            "WPS custom_attrs batch_update, 50 users × 5 attributes",
            _attr_update,
            ("POST", "/_bench/bare_json"),
            writes=True,
        ),
        Scenario(
            "wps.users_page", "WPS GET /v7/users, 50 per page, with_dept", _paging, ("GET", "/_bench/bare")
        ),
        Scenario(
            "dingtalk.v2_update",
            "DingTalk roster v2/update, one user, 3 groups",
            _roster_update,
            ("POST", "/_bench/bare_json"),
            writes=True,
        ),
        Scenario(
            "dingtalk.v2_list",
            "DingTalk roster v2/list, 100 users, all fields",
            _roster_list,
            ("POST", "/_bench/bare_json"),
        ),
        Scenario(
            "dingtalk_v1.roster_by_field",
            "DingTalk /v1.0 GetEmployeeRosterByField, 100 users, all fields",
            _roster_by_field,
            ("POST", "/_bench/bare_json"),
            # The platform's 20 calls/s per app would measure the limit, not the server.
            server_args=("--dingtalk-v1-rate-limit", "*=off"),
        ),
    )
}

#: Not in the default matrix: the uncached cost (see the module doc).
EXTRA: dict[str, Scenario] = {
    "wps.batch_read_cold": Scenario(
        "wps.batch_read_cold",
        "WPS batch_read, 100 ids, every user read from the database (cache of 1,000 users)",
        _batch_read,
        ("POST", "/_bench/bare"),
        server_args=("--cache-max-users", "1000"),
    ),
    "dingtalk_v1.roster_by_field_counted": Scenario(
        "dingtalk_v1.roster_by_field_counted",
        "DingTalk /v1.0 GetEmployeeRosterByField with every call counted by the rate limiter (never refused)",
        _roster_by_field,
        ("POST", "/_bench/bare_json"),
        server_args=("--dingtalk-v1-rate-limit", "*=1000000"),
    ),
}
