"""Concurrent department moves through the WPS API never leave a loop in the tree.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): its writer threads move departments on
connections of their own under its row locks; SQLite's single writer thread never runs two moves at
once.
"""

from __future__ import annotations

import pytest
from wps_contacts_support import TENANT, client, race, setup_tenant

from conftest import LiveServer
from openroster.client import WpsClient
from openroster.core.people import depts

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.both_stores]

RULE_VIOLATION = 40000010


def test_crossing_moves_cannot_make_a_loop(live: LiveServer) -> None:
    directory = live.directory
    setup_tenant(directory)
    pairs = []
    for n in range(15):
        a = depts.create(directory, tenant_id=TENANT, item=depts.NewDepartment(name=f"A{n}", parent_id=1))
        b = depts.create(directory, tenant_id=TENANT, item=depts.NewDepartment(name=f"B{n}", parent_id=1))
        pairs.append((a.id, b.id))
    # Two servers on the same store: the moves race in different processes.
    servers = [live.server, live.twin()]

    def move(c: WpsClient, side: int, n: int) -> object:
        a, b = pairs[n]
        child, parent = (a, b) if side == 0 else (b, a)
        return c.request("POST", f"/v7/depts/{child}/update", json={"parent_id": str(parent)})

    outcomes = race(servers, move, len(pairs))
    for i in range(len(pairs)):
        codes = sorted([outcomes[0][i], outcomes[1][i]])
        # Exactly one move of each pair wins; the other sees the moved tree and is refused.
        assert codes == [0, RULE_VIOLATION], (i, codes)
    with client(servers[0]) as c:
        for a, b in pairs:
            got = {
                d["id"]: d
                for d in c.request("POST", "/v7/depts/batch_read", json={"dept_ids": [a, b]})["items"]
            }
            parents = {got[str(a)]["parent_id"], got[str(b)]["parent_id"]}
            assert "1" in parents  # one of them still hangs from the root: no loop
            below = got[str(a)] if got[str(a)]["parent_id"] != "1" else got[str(b)]
            above = got[str(b)] if below is got[str(a)] else got[str(a)]
            assert below["abs_path"] == above["abs_path"] + "/" + below["name"]
