"""Two clients racing for the same unique value: one wins, the other gets 40900001 (never a 500).

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): its writers race on connections of their own,
and a lost unique-constraint race is its own error there (SQLite's single writer thread never
races).
"""

from __future__ import annotations

from typing import Any

import pytest
from wps_contacts_support import TENANT, client, person, race, setup_tenant

from conftest import LiveServer
from openroster.core.people import users

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.both_stores]

CONFLICT = 40900001
ROUNDS = 12


def test_racing_for_one_email(live: LiveServer) -> None:
    directory = live.directory
    setup_tenant(directory)
    users.create_many(
        directory,
        tenant_id=TENANT,
        items=[person(f"{side}{n:02d}") for side in "xy" for n in range(ROUNDS)],
        field_prefix="",
    )
    servers = [live.server, live.twin()]

    def update(c: Any, side: int, n: int) -> object:
        uid = f"{'xy'[side]}{n:02d}"
        return c.request("POST", f"/v7/users/{uid}/update", json={"email": f"same{n}@acme.test"})

    def create(c: Any, side: int, n: int) -> object:
        return c.request(
            "POST", "/v7/users/create", json={"user_name": "New", "dept_ids": [1], "phone": f"139{n:08d}"}
        )

    for call in (update, create):
        outcomes = race(servers, call, ROUNDS)
        for n in range(ROUNDS):
            assert sorted([outcomes[0][n], outcomes[1][n]]) == [0, CONFLICT], (call.__name__, n, outcomes)
    with client(servers[0]) as c:
        for n in range(ROUNDS):
            found = c.request("POST", "/v7/users/by_emails", json={"emails": [f"same{n}@acme.test"]})["items"]
            assert len(found) == 1
