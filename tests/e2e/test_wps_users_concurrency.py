"""Two clients racing for the same unique value: one wins, the other gets 40900001 (never a 500)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from wps_contacts_support import TENANT, client, person, setup_tenant

from conftest import ServerProcess
from openroster.client.errors import ApiError
from openroster.core import users
from openroster.core.directory import Directory

CONFLICT = 40900001
ROUNDS = 12


def _race(servers: list[ServerProcess], call: Callable[[Any, int, int], object]) -> list[list[int]]:
    """Run ``call(client, side, round)`` on both servers at once, round by round; the codes per side."""
    outcomes: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def run(side: int) -> None:
        with client(servers[side]) as c:
            c.token()
            for n in range(ROUNDS):
                start.wait(30)
                try:
                    call(c, side, n)
                    outcomes[side].append(0)
                except ApiError as exc:
                    outcomes[side].append(exc.code)

    threads = [threading.Thread(target=run, args=(side,)) for side in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert all(not t.is_alive() for t in threads)
    return outcomes


def test_racing_for_one_email(directory: Directory, server_factory: Callable[..., ServerProcess]) -> None:
    setup_tenant(directory)
    users.create_many(
        directory,
        tenant_id=TENANT,
        items=[person(f"{side}{n:02d}") for side in "xy" for n in range(ROUNDS)],
        field_prefix="",
    )
    servers = [server_factory(), server_factory()]

    def update(c: Any, side: int, n: int) -> object:
        uid = f"{'xy'[side]}{n:02d}"
        return c.request("POST", f"/v7/users/{uid}/update", json={"email": f"same{n}@acme.test"})

    def create(c: Any, side: int, n: int) -> object:
        return c.request(
            "POST", "/v7/users/create", json={"user_name": "New", "dept_ids": [1], "phone": f"139{n:08d}"}
        )

    for call in (update, create):
        outcomes = _race(servers, call)
        for n in range(ROUNDS):
            assert sorted([outcomes[0][n], outcomes[1][n]]) == [0, CONFLICT], (call.__name__, n, outcomes)
    with client(servers[0]) as c:
        for n in range(ROUNDS):
            found = c.request("POST", "/v7/users/by_emails", json={"emails": [f"same{n}@acme.test"]})["items"]
            assert len(found) == 1
