"""One control plane across server processes: the fault rules, the journal and the clock are the
same whichever process answers (``serve --workers 2``, and two ``serve`` processes on one
PostgreSQL). Each call goes on a connection of its own, so the processes share the calls; the
``X-Request-Id`` of a reply starts with its process's own prefix, which tells them apart.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): two ``serve`` processes share a control plane
only through a store they can both reach over the network, which SQLite is not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from wps_foundation_support import build_world, token

from conftest import LiveServer, ServerProcess
from openroster.core.directory import Directory

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.both_stores]

OPEN = "acme-open"  # an app of build_world without signing
ADMIN = "shared-control-admin-token"
PATH = "/v7/depts/1"  # a call without a rate limit


def _call(base: str, bearer: str) -> httpx.Response:
    return httpx.get(base + PATH, headers={"Authorization": f"Bearer {bearer}"}, timeout=30)


def _calls(bases: Sequence[str], bearer: str, n: int) -> list[httpx.Response]:
    """At least ``n`` calls, several at a time, spread over ``bases`` in turn, and more rounds of
    ``n`` until two processes have answered. Behind ``--workers 2`` the kernel hands each new
    connection to whichever process accepts first, and on a busy machine one process can win a
    whole round; which one answers is not what these tests are about, that both share the state."""
    replies: list[httpx.Response] = []
    deadline = time.monotonic() + 30
    with ThreadPoolExecutor(8) as pool:
        while len(_processes(replies)) < 2 and time.monotonic() < deadline:
            replies += pool.map(lambda k: _call(bases[k % len(bases)], bearer), range(n))
    return replies


def _admin(base: str, method: str, path: str, admin: str = ADMIN, **kw: Any) -> Any:
    resp = httpx.request(
        method, base + "/_openroster" + path, headers={"Authorization": f"Bearer {admin}"}, timeout=30, **kw
    )
    assert resp.status_code < 300, resp.text
    return resp.json()


def _processes(replies: Sequence[httpx.Response]) -> set[str]:
    return {r.headers["x-request-id"][:5] for r in replies}


def _journal_shows(base: str, ids: set[str], admin: str = ADMIN) -> list[dict[str, Any]]:
    """The journal as read through ``base`` once it holds every call of ``ids`` (another process
    moves its calls into the store within a twentieth of a second)."""
    deadline = time.monotonic() + 10
    while True:
        page = _admin(base, "GET", "/journal", admin, params={"path": PATH})
        entries: list[dict[str, Any]] = page["entries"]
        if ids <= {e["request_id"] for e in entries} or time.monotonic() > deadline:
            return entries


def _check_shared_state(bases: Sequence[str], bearer: str, admin: str = ADMIN) -> None:
    # A rule with times: 10 fires exactly 10 times, whichever process answers.
    rule = _admin(bases[0], "POST", "/faults", admin, json={"action": "http", "status": 503, "times": 10})
    replies = _calls(bases, bearer, 40)
    assert len(_processes(replies)) == 2  # both processes answered
    faulted = [r for r in replies if r.headers.get("x-openroster-fault") == rule["id"]]
    assert len(faulted) == 10 and all(r.status_code == 503 for r in faulted)
    assert sorted(r.status_code for r in replies) == [200] * (len(replies) - 10) + [503] * 10
    for base in bases:
        [shown] = _admin(base, "GET", "/faults", admin)
        assert (shown["hits"], shown["remaining"]) == (10, 0)

    # The journal shows every process's calls, in the order they reached it, through either one.
    ids = {r.headers["x-request-id"] for r in replies}
    for base in bases:
        entries = _journal_shows(base, ids, admin)
        assert {e["request_id"] for e in entries} == ids
        assert len({e["request_id"][:5] for e in entries}) == 2
        assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
        assert sum(e["fault"] == rule["id"] for e in entries) == 10
    page = _admin(bases[-1], "GET", "/journal", admin, params={"path": PATH, "limit": 5})["entries"]
    later = _admin(bases[0], "GET", "/journal", admin, params={"path": PATH, "after": page[0]["id"]})
    assert [e["id"] for e in later["entries"]][-4:] == [e["id"] for e in page[1:]]

    # The clock moves everywhere before the move is answered: two hours on, every token expired.
    moved = _admin(bases[0], "PUT", "/clock", admin, json={"advance": 7201})
    assert moved["offset_seconds"] == 7201
    for base in bases:
        assert _admin(base, "GET", "/clock", admin)["offset_seconds"] == 7201
    expired = _calls(bases, bearer, 20)
    assert len(_processes(expired)) == 2
    assert {r.json()["code"] for r in expired} == {40100004}  # the token expired (docs/wps.md)

    # A reset through one process clears the state of all.
    _admin(bases[-1], "POST", "/reset", admin)
    for base in bases:
        assert _admin(base, "GET", "/faults", admin) == []
        assert _admin(base, "GET", "/clock", admin)["offset_seconds"] == 0
        assert _admin(base, "GET", "/journal", admin, params={"count": True}) == {"count": 0}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_workers_share_fault_rules_the_journal_and_the_clock(
    directory: Directory, server_factory: Callable[..., ServerProcess]
) -> None:
    build_world(directory, bulk=0)
    server = server_factory("--workers", "2", "--admin-token", ADMIN)
    _check_shared_state([server.base_url], token(server, OPEN))


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_servers_on_one_postgresql_share_fault_rules_the_journal_and_the_clock(live: LiveServer) -> None:
    build_world(live.directory, bulk=0)
    servers = [live.server, live.twin()]
    _check_shared_state([s.base_url for s in servers], token(servers[0], OPEN), live.admin_token)
