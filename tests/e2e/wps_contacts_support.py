"""For the WPS contacts end-to-end tests: a tenant with apps, a small tree, bulk people, error capture.

The data is written through the core services into the store the server of the
test uses (``directory`` and ``server_factory`` share the test's data directory
and database), before or while the server runs, as an administrator's tools do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from conftest import ALL_WPS_SCOPES, ServerProcess
from openroster.client import WpsClient
from openroster.client.errors import ApiError
from openroster.client.retry import RetryPolicy
from openroster.core.directory import Directory
from openroster.core.people import depts, users
from openroster.core.tenancy import apps, tenants

TENANT = "acme"
APP = "acme-kso"
APP_SECRET = "acme-kso-secret"
READ_ONLY_APP = "acme-ro"
OTHER_TENANT = "globex"
OTHER_APP = "globex-kso"
SCOPES = (*ALL_WPS_SCOPES, "kso.user_custom_attr.read")
NO_RETRY = RetryPolicy(max_retries=0)


@dataclass
class Org:
    """The ids of the tenant's small tree: root 1 / Eng (eng) / Backend (backend), root / Sales (sales)."""

    eng: int
    backend: int
    sales: int


def setup_tenant(d: Directory, tenant_id: str = TENANT, app: str = APP) -> None:
    """A tenant with a KSO-1 app holding every scope and an unsigned read-only app."""
    tenants.create(d, tenant_id=tenant_id, name=tenant_id.title())
    apps.create(d, tenant_id=tenant_id, client_id=app, secret=f"{app}-secret", signing="kso1", scopes=SCOPES)
    if tenant_id == TENANT:
        apps.create(
            d,
            tenant_id=tenant_id,
            client_id=READ_ONLY_APP,
            secret=f"{READ_ONLY_APP}-secret",
            signing="none",
            scopes=("kso.contact.read",),
        )


def small_tree(d: Directory, tenant_id: str = TENANT) -> Org:
    eng = depts.create(
        d, tenant_id=tenant_id, item=depts.NewDepartment(name="Eng", parent_id=1, ex_dept_id="x-eng")
    )
    backend = depts.create(d, tenant_id=tenant_id, item=depts.NewDepartment(name="Backend", parent_id=eng.id))
    sales = depts.create(d, tenant_id=tenant_id, item=depts.NewDepartment(name="Sales", parent_id=1))
    return Org(eng.id, backend.id, sales.id)


def person(uid: str, *dept_ids: int, **fields: Any) -> users.NewUser:
    return users.NewUser(
        id=uid, user_name=fields.pop("user_name", uid.title()), dept_ids=dept_ids or (1,), **fields
    )


def bulk_users(
    d: Directory,
    count: int,
    *,
    prefix: str = "u",
    dept_id: int = 1,
    tenant_id: str = TENANT,
    chunk: int = 1000,
) -> list[str]:
    """Create ``count`` people (ids ``{prefix}00000``...) through the core in chunks of ``chunk``."""
    ids: list[str] = []
    for start in range(0, count, chunk):
        batch = [
            users.NewUser(id=f"{prefix}{n:05d}", user_name=f"Person {n}", dept_ids=(dept_id,))
            for n in range(start, min(count, start + chunk))
        ]
        users.create_many(d, tenant_id=tenant_id, items=batch)
        ids += [u.id for u in batch if u.id is not None]
    return ids


def client(
    server: ServerProcess, app: str = APP, *, signing: str | None = "kso1", prefix: str = ""
) -> WpsClient:
    """A client of ``app`` that never retries (so tests see every refusal as it is)."""
    return WpsClient(
        server.base_url,
        client_id=app,
        client_secret=f"{app}-secret",
        signing=signing,
        prefix=prefix,
        retry=NO_RETRY,
    )


@contextmanager
def refused(code: int, *words: str) -> Iterator[list[ApiError]]:
    """The block must fail with WPS ``code``; the message must contain every one of ``words``."""
    got: list[ApiError] = []
    with pytest.raises(ApiError) as info:
        yield got
    got.append(info.value)
    assert info.value.code == code, f"{info.value.code}: {info.value.message}"
    assert info.value.http_status == code // 100000
    for w in words:
        assert w in info.value.message, info.value.message


def walk(fetch: Callable[[str | None], dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item of a paged listing: ``fetch(page_token)`` returns one page's ``data``."""
    items: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(100_000):
        data = fetch(token)
        items += data["items"]
        token = data["next_page_token"]
        if not token:
            return items
    raise AssertionError("the walk did not end")


def race(
    servers: list[ServerProcess], call: Callable[[WpsClient, int, int], object], rounds: int
) -> list[list[int]]:
    """Run ``call(client, side, round)`` against two servers at once, round by round.

    The two sides meet at a barrier before each round. Returns each side's WPS
    code per round (0: the call succeeded).
    """
    outcomes: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def run(side: int) -> None:
        with client(servers[side]) as c:
            c.token()
            for n in range(rounds):
                start.wait(60)
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
