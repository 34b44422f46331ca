"""Scale, bounded: the bulk demo generator, how reads grow with the tenant, the cache's memory bound.

The million-person figures are the benchmark suite's (docs/benchmarks.md);
here the same properties are checked on tenants a test can afford, and
without timing (which a shared machine makes noisy): a large tenant is
built by the rules, a read costs the same number of indexed statements at any
size, and the cache never holds more people than its bound.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): the statements a read sends and the indexes
they use are each backend's own (its planner, its ``IN`` lists), and the bulk demo writes through
PostgreSQL's own bulk path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, text

from conftest import BACKENDS, Databases, backend_param
from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.tenancy import apps
from openroster.fixtures import demo, demo_large, demo_roster
from openroster.model.entities import UNIQUE_USER_FIELDS, UserStatus
from openroster.server.app import open_directory

pytestmark = [pytest.mark.slow, pytest.mark.both_stores]

LARGE = 12_000
#: The stored (JSON) values of the demo's option attribute ``attr-level``, as SQL literals.
LEVELS = ", ".join(f"""'"P{n}"'""" for n in range(1, 10))


@dataclass(frozen=True)
class Sent:
    """One statement the store sent to the database, with the parameters it was sent with."""

    sql: str
    params: Any


@contextmanager
def statements(d: Directory) -> Iterator[list[Sent]]:
    """The SQL statements the store sends inside the block, as the database driver received them."""
    seen: list[Sent] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append(Sent(statement, parameters))

    event.listen(d.store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(d.store.engine, "before_cursor_execute", record)


def _scalar(d: Directory, sql: str, **params: object) -> int:
    with d.store.read() as tx:
        return int(tx.conn.execute(text(sql), params).scalar_one())


@dataclass(frozen=True)
class Built:
    """A store the bulk demo was loaded into: whether the load created the tenant, what it reported."""

    directory: Directory
    created: bool
    progress: list[int]


def test_the_bulk_demo_builds_a_large_tenant_by_the_rules(large: Built) -> None:
    """In one process: the module's tenant (the load the read tests use is the one checked)."""
    check_rules(large)


# The worker processes only prepare the chunks (no store in them); the store's bulk path is the same
# as in one process, so this mode runs on one backend.
@pytest.mark.parametrize("backend", [backend_param("sqlite")], indirect=True)
def test_the_bulk_demo_in_worker_processes_builds_a_large_tenant_by_the_rules(
    directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_large, "LARGE_COMPANY_PARALLEL_MIN", 1)  # the million-person path
    progress: list[int] = []
    check_rules(Built(directory, demo.load(directory, users_count=LARGE, progress=progress.append), progress))


def check_rules(built: Built) -> None:
    """The bulk demo's tenant of ``LARGE`` people, every rule it is built by."""
    directory, progress = built.directory, built.progress
    assert built.created
    assert progress[-1] == LARGE
    t = demo.DEMO_TENANT
    assert _scalar(directory, "SELECT count(*) FROM users WHERE tenant_id = :t", t=t) == LARGE
    depts = _scalar(directory, "SELECT count(*) FROM depts WHERE tenant_id = :t", t=t)
    assert depts > LARGE // 100  # a team per ~60 people
    # Every person is in a department, reports to someone who exists, and is unique where it matters.
    assert (
        _scalar(
            directory,
            "SELECT count(*) FROM users u WHERE u.tenant_id = :t AND NOT EXISTS "
            "(SELECT 1 FROM memberships m WHERE m.tenant_id = u.tenant_id AND m.user_id = u.id)",
            t=t,
        )
        == 0
    )
    assert (
        _scalar(
            directory,
            "SELECT count(*) FROM users u WHERE u.tenant_id = :t AND u.leader_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM users l WHERE l.tenant_id = u.tenant_id AND l.id = u.leader_id)",
            t=t,
        )
        == 0
    )
    for column in UNIQUE_USER_FIELDS:
        assert (
            _scalar(directory, f"SELECT count(DISTINCT {column}) FROM users WHERE tenant_id = :t", t=t)
            == LARGE
        ), column
    # Attribute values went through their definitions: options are options, relations exist.
    assert (
        _scalar(
            directory,
            "SELECT count(*) FROM attr_values WHERE tenant_id = :t AND attr_id = 'attr-level' "
            f"AND value NOT IN ({LEVELS})",
            t=t,
        )
        == 0
    )
    assert _scalar(directory, "SELECT count(*) FROM attr_values WHERE tenant_id = :t", t=t) > 2 * LARGE
    assert directory.store.integrity_check() == []
    # The people were written with one change for the whole load (the demo's rosters, written
    # afterwards for the first few thousand people, record one change each).
    with directory.store.read() as tx:
        changes = [c for c in tx.changes.since(0, 100_000) if c.tenant_id == t]
    assert sum(1 for c in changes if c.kind == "user") <= demo_roster.ROSTER_PEOPLE_MAX
    assert any(c.kind == "tenant" for c in changes)
    assert {a.client_id for a in apps.list_for_tenant(directory, t)} >= {a.client_id for a in demo.DEMO_APPS}
    with directory.reader() as r:
        sample = r.tx.users.first_ids(t, 100, status="active")
        found = users.batch_read(r, tenant_id=t, user_ids=sample, statuses={UserStatus.ACTIVE})
    assert len(found) == 100
    assert demo.load(directory, users_count=LARGE) is False  # idempotent


@pytest.fixture(scope="module", params=[backend_param(b) for b in BACKENDS])
def large(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """A store the bulk demo loaded ``LARGE`` people into (in one process), shared by the module's
    tests, which only read it: loading it is most of the module's time."""
    cluster = request.getfixturevalue("postgres_cluster") if request.param == "postgresql" else None
    dbs = Databases(str(request.param), cluster)
    d = open_directory(dbs.settings_for(tmp_path_factory.mktemp("large") / "data"))
    d.store.migrate()
    progress: list[int] = []
    created = demo.load(d, users_count=LARGE, progress=progress.append)
    try:
        yield Built(d, created, progress)
    finally:
        d.store.dispose()
        dbs.drop_all()


def test_a_read_costs_the_same_statements_at_any_size(large: Built) -> None:
    """batch_read of 100 uncached people and a 50-person page: a fixed number of indexed statements."""
    directory = large.directory
    t = demo.DEMO_TENANT
    if directory.store.backend == "postgresql":
        with directory.store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    with directory.reader() as r:
        small = r.tx.users.first_ids(t, 100, status="active")
        ids = r.tx.users.first_ids(t, LARGE, status="active")
    large = ids[-100:]  # the other end of the index
    rounds: list[list[Sent]] = []
    for wanted in (small, large):
        directory.cache.clear()
        with statements(directory) as sent, directory.reader() as r:
            assert len(users.batch_read(r, tenant_id=t, user_ids=wanted, statuses={UserStatus.ACTIVE})) == 100
            page = users.list_page(r, tenant_id=t, statuses={UserStatus.ACTIVE}, size=50, after=wanted[0])
            assert len(page.items) == 50
        rounds.append(sent)
    assert len(rounds[0]) == len(rounds[1]) <= 8
    # Every statement those reads sent (the last round's, with its own parameters) seeks an index:
    # none scans a table.
    plans = _plans(directory, rounds[-1])
    bad = [p for p in plans if not _uses_index(directory.store.backend, p)]
    assert len(plans) >= 3 and not bad, "\n\n".join(bad)


def _plans(d: Directory, sent: list[Sent]) -> list[str]:
    """The database's plan of each SELECT in ``sent``, asked with the very text and parameters sent."""
    explain = "EXPLAIN QUERY PLAN " if d.store.backend == "sqlite" else "EXPLAIN "
    out = []
    with d.store.engine.connect() as conn:
        if d.store.backend == "postgresql":
            # A few thousand rows are cheaper to scan than to seek; the question here is whether an
            # index serves the query (a million rows will need one), so forbid scans where possible:
            # a query no index serves is still planned as a Seq Scan.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for s in sent:
            if not s.sql.lstrip().upper().startswith("SELECT"):
                continue
            rows = conn.exec_driver_sql(explain + s.sql, s.params).all()
            out.append(f"{s.sql}\n-> " + " | ".join(str(r[-1]) for r in rows))
        conn.rollback()
    return out


def _uses_index(backend: str, plan: str) -> bool:
    if backend == "sqlite":
        return "SCAN users" not in plan and "SCAN memberships" not in plan and "SCAN change_log" not in plan
    return "Seq Scan" not in plan


def test_the_cache_keeps_no_more_people_than_its_bound(large: Built) -> None:
    directory = large.directory
    t = demo.DEMO_TENANT
    bounded = Directory(directory.store, directory.master_key, cache_max_users=1_000)
    with bounded.reader() as r:
        ids = r.tx.users.first_ids(t, LARGE, status="active")
    for start in range(0, 6_000, 100):
        with bounded.reader() as r:
            assert len(r.users(t, ids[start : start + 100])) == 100
        assert bounded.cache._user_count <= 1_000
    held = sum(len(b) for b in bounded.cache._users.values())
    assert held == bounded.cache._user_count <= 1_000
