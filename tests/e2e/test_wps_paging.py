"""WPS v7 paging end to end: a walk others write into; page tokens that cannot be forged or moved."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from wps_contacts_support import (
    OTHER_APP,
    OTHER_TENANT,
    TENANT,
    bulk_users,
    client,
    refused,
    setup_tenant,
    small_tree,
)

from conftest import LiveServer, ServerProcess
from openroster.client import WpsClient
from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.server.app import open_directory

pytestmark = pytest.mark.e2e

INVALID_VALUE = 40000002
PEOPLE = 10_000


class Churn(threading.Thread):
    """Inserts and deletes people through the core (another writer on the server's store) until stopped."""

    def __init__(self, d: Directory, doomed: list[str]) -> None:
        super().__init__(daemon=True)
        self.d = d
        self.doomed = doomed
        self.stop = threading.Event()
        self.inserted: list[str] = []
        self.deleted: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        rnd = random.Random(7)
        n = 0
        try:
            while not self.stop.is_set():
                # New people land everywhere in the id order: before, between and after the others.
                batch = [
                    users.NewUser(id=f"u{rnd.randrange(PEOPLE):05d}~{n}-{k}", user_name="New", dept_ids=(1,))
                    for k in range(5)
                ]
                batch.append(users.NewUser(id=f"a-new-{n}", user_name="New", dept_ids=(1,)))
                batch.append(users.NewUser(id=f"z-new-{n}", user_name="New", dept_ids=(1,)))
                users.create_many(self.d, tenant_id=TENANT, items=batch)
                self.inserted += [u.id for u in batch if u.id is not None]
                for _ in range(3):
                    if self.doomed:
                        victim = self.doomed.pop(rnd.randrange(len(self.doomed)))
                        users.delete(self.d, tenant_id=TENANT, user_id=victim)
                        self.deleted.append(victim)
                n += 1
                time.sleep(0.002)
        except BaseException as exc:
            self.error = exc


@pytest.mark.slow  # 10,000 people
def test_walk_while_others_insert_and_delete(live: LiveServer) -> None:
    setup_tenant(live.directory)
    org = small_tree(live.directory)
    everyone = bulk_users(live.directory, PEOPLE, dept_id=org.backend)
    doomed = everyone[::7]  # one in seven is deleted during the walk
    stable = set(everyone) - set(doomed)
    server = live.server
    churn = Churn(live.directory, list(doomed))
    seen: list[str] = []
    pages = 0
    with client(server) as c:
        churn.start()
        try:
            token = ""
            while True:
                params: dict[str, Any] = {"page_size": 50, "with_dept": "true"}
                if token:
                    params["page_token"] = token
                data = c.request("GET", "/v7/users", params=params)
                seen += [u["id"] for u in data["items"]]
                pages += 1
                assert all(u["depts"] for u in data["items"] if u["id"] in stable)
                token = data["next_page_token"]
                if not token:
                    break
        finally:
            churn.stop.set()
            churn.join(30)
    assert churn.error is None, churn.error
    # The churn really ran during the walk.
    assert len(churn.inserted) >= 50 and len(churn.deleted) >= 30, (len(churn.inserted), len(churn.deleted))
    assert pages >= PEOPLE * 6 // 7 // 50
    # Nobody twice; everyone who existed for the whole walk exactly once, in id order.
    assert len(seen) == len(set(seen))
    assert stable <= set(seen), sorted(stable - set(seen))[:10]
    assert seen == sorted(seen)
    assert not (set(seen) - stable - set(doomed) - set(churn.inserted))


@pytest.mark.slow
def test_page_tokens_are_bound_and_tamper_evident(
    directory: Directory, server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    setup_tenant(directory)
    setup_tenant(directory, OTHER_TENANT, OTHER_APP)
    org = small_tree(directory)
    bulk_users(directory, 30, dept_id=org.eng)
    bulk_users(directory, 30, tenant_id=OTHER_TENANT)
    server = server_factory()

    def users_page(c: WpsClient, token: str | None = None, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"page_size": 5, **extra}
        if token is not None:
            params["page_token"] = token
        data: dict[str, Any] = c.request("GET", "/v7/users", params=params)
        return data

    with client(server) as c, client(server, OTHER_APP) as other:
        first = users_page(c)
        token = first["next_page_token"]
        second = users_page(c, token)
        assert users_page(c, token) == second  # a token can be used again: same page
        assert [u["id"] for u in second["items"]] == [f"u{n:05d}" for n in range(5, 10)]
        assert users_page(c, token, page_size=2)["items"] == second["items"][:2]  # page size may change
        assert users_page(c, "")["items"] == first["items"]  # empty: the first page

        body, _, mac = token.partition(".")
        for forged in (
            "not-a-token",
            body + ".AAAAAAAAAAAAAAAAAAAAAA",
            body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac,
            token[:-1],
            token + "x",
            "é" * 20,
        ):
            with refused(INVALID_VALUE, "page_token", "not a token this server issued"):
                users_page(c, forged)

        # Bound to the tenant, the endpoint and the filters.
        with refused(INVALID_VALUE, "page_token", "another listing"):
            users_page(other, token)
        with refused(INVALID_VALUE, "page_token", "another listing"):
            users_page(c, token, status="active")
        with refused(INVALID_VALUE, "page_token", "another listing"):
            c.request("GET", f"/v7/depts/{org.eng}/members", params={"page_token": token})
        active = users_page(c, status=["active", "disabled"])["next_page_token"]
        assert users_page(c, active, status=["disabled", "active"])[
            "items"
        ]  # the same filter, in another order
        with refused(INVALID_VALUE, "page_token", "another listing"):
            users_page(c, active)

    # A server with another master key does not accept it either.
    other_dir = tmp_path / "elsewhere"
    other_server = server_factory(data_dir=other_dir)
    d2 = open_directory(Settings(data_dir=other_dir, database_url=_url_of(other_server)))
    try:
        setup_tenant(d2)
    finally:
        d2.store.dispose()
    with client(other_server) as c2, refused(INVALID_VALUE, "page_token", "not a token this server issued"):
        users_page(c2, token)


def _url_of(server: ServerProcess) -> str | None:
    args = server.args
    return args[args.index("--database-url") + 1] if "--database-url" in args else None
