"""The store's writers (store/writer.py, Directory.write): jobs queued together commit in one
transaction, each in its own savepoint; a job that fails changes nothing and gets its own error;
jobs run in arrival order; a full queue answers busy (both backends)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from bench.trips import GroupTrips
from sqlalchemy.exc import IntegrityError

from openroster.core.custom import attributes
from openroster.core.directory import Directory, Reader
from openroster.core.people import users
from openroster.core.roster import writes as roster_writes
from openroster.core.roster.writes import FieldWrite, GroupWrite, SectionWrite
from openroster.core.tenancy import tenants
from openroster.dialects.dingtalk.errors import Code as DingCode
from openroster.dialects.dingtalk.errors import from_core as ding_from_core
from openroster.dialects.wps.errors import Code as WpsCode
from openroster.dialects.wps.errors import from_core as wps_from_core
from openroster.model.changes import ChangeRecord, EntityKind, Operation
from openroster.model.entities import AttributeUpdate, UserAttributeUpdate
from openroster.model.errors import Busy, InvalidValue
from openroster.store import WriteTx
from openroster.store.writer import GroupWriter, LanePublishError

TENANT = "acme"
PEOPLE = [f"p{i}" for i in range(6)]


@pytest.fixture
def d(directory: Directory) -> Iterator[Directory]:
    """A directory with one writer thread (on PostgreSQL too, so a group forms deterministically)."""
    tenants.create(directory, tenant_id=TENANT, name="Acme")
    users.create_many(
        directory,
        tenant_id=TENANT,
        items=[users.NewUser(id=p, user_name=p.upper(), dept_ids=(1,)) for p in PEOPLE],
    )
    one = Directory(directory.store, directory.master_key, writer_threads=1)
    yield one
    one.writes.close()


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def behind_a_blocker(
    d: Directory, jobs: list[Callable[[Reader], Any]], then: Callable[[], Any] = lambda: None
) -> list[Any]:
    """Run ``jobs`` queued while the writer is busy with another one, so they make one group;
    their results (or errors), in order. ``then`` runs once they are queued, before the writer
    is let go."""
    started, gate = threading.Event(), threading.Event()

    def blocker(_r: Reader) -> None:
        started.set()
        gate.wait(30)

    first = asyncio.ensure_future(d.write(blocker))
    await asyncio.to_thread(started.wait, 30)
    tasks = [asyncio.ensure_future(d.write(job)) for job in jobs]
    await asyncio.sleep(0)  # every task has queued its job
    assert d.writes.queued == len(jobs)
    then()
    gate.set()
    await first
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def title(d: Directory, user_id: str) -> str | None:
    with d.store.read() as tx:
        return tx.users.get_users(TENANT, [user_id])[user_id].title


def seqs_since(d: Directory, seq: int) -> dict[str, int]:
    """The change counter value each user's change record was committed under, since ``seq``."""
    with d.store.read() as tx:
        return {c.record.entity_id: c.seq for c in tx.changes.records_after(TENANT, seq, 1000)}


def current_seq(d: Directory) -> int:
    with d.store.read() as tx:
        return tx.changes.current_seq()


def set_title(d: Directory, user_id: str, value: str) -> Callable[[Reader], str]:
    def job(r: Reader) -> str:
        users.update(d, tenant_id=TENANT, user_id=user_id, changes={"title": value})
        # The job reads through its group's transaction: it sees its own write.
        return r.users(TENANT, [user_id])[user_id].title or ""

    return job


def test_a_group_commits_once_and_a_failing_job_changes_nothing(d: Directory) -> None:
    before = current_seq(d)

    def bad(r: Reader) -> None:
        users.update(d, tenant_id=TENANT, user_id="p2", changes={"title": "never"})
        raise InvalidValue("users[1].title: refused after writing", field="users[1].title")

    jobs = [set_title(d, "p0", "zero"), set_title(d, "p1", "one"), bad, set_title(d, "p3", "three")]
    got = run(behind_a_blocker(d, jobs))

    assert got[:2] == ["zero", "one"] and got[3] == "three"
    assert isinstance(got[2], InvalidValue) and got[2].field == "users[1].title"
    assert [title(d, p) for p in ("p0", "p1", "p2", "p3")] == ["zero", "one", None, "three"]
    # One commit: the three good jobs' change records share one change counter value; the failed
    # job left none.
    committed = seqs_since(d, before)
    assert set(committed) == {"p0", "p1", "p3"}
    assert len(set(committed.values())) == 1


def _refused_by_the_database(d: Directory, user_id: str) -> Callable[[Reader], None]:
    """A job that writes, then runs a statement the database refuses (a second counter row)."""

    def job(r: Reader) -> None:
        users.update(d, tenant_id=TENANT, user_id=user_id, changes={"title": "never"})
        r.tx.conn.exec_driver_sql("INSERT INTO change_counter (id, seq) VALUES (1, 0)")

    return job


def test_a_job_the_database_refuses_changes_nothing_first_or_last_in_its_group(d: Directory) -> None:
    """A statement's error leaves the transaction refusing all else until its savepoint is rolled
    back to (PostgreSQL): the job's savepoint, held back to go with its first statement, was sent
    with it and is undone, so the jobs after it and the group's commit go on; the last job too."""
    before = current_seq(d)
    jobs = [
        _refused_by_the_database(d, "p0"),
        set_title(d, "p1", "one"),
        _refused_by_the_database(d, "p2"),
        set_title(d, "p3", "three"),
        _refused_by_the_database(d, "p4"),
    ]
    got = run(behind_a_blocker(d, jobs))

    assert [type(g).__name__ for g in got] == [
        "IntegrityError",
        "str",
        "IntegrityError",
        "str",
        "IntegrityError",
    ]
    assert [title(d, p) for p in ("p0", "p1", "p2", "p3", "p4")] == [None, "one", None, "three", None]
    assert set(seqs_since(d, before)) == {"p1", "p3"}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_groups_lock_savepoints_and_publish_cost_no_round_trip_of_their_own(d: Directory) -> None:
    """PostgreSQL (SQLite's statements are calls inside the process): the change counter's lock
    and each job's savepoints go with the next statement (psycopg's pipeline), and the publish
    (counter, change log, change records) is one statement."""
    with GroupTrips(d) as trips:
        got = run(behind_a_blocker(d, [set_title(d, p, "t") for p in ("p0", "p1", "p2")]))

    assert got == ["t", "t", "t"]
    (group,) = [g for g in trips.groups if g.jobs == 3]
    held = [
        wait for sql, wait in group.sent if "SAVEPOINT" in sql or "change_counter WHERE id = 1 FOR" in sql
    ]
    # The lock; each job's savepoint, opened and released (the service's d.writer() inside it, its
    # first thing, is its alias: nothing of its own sent).
    assert len(held) == 1 + 3 * 2 and set(held) == {0}
    first = next(sql for sql, _ in group.sent if "BEGIN" not in sql)
    assert "change_counter WHERE id = 1 FOR UPDATE" in first  # before anything of the jobs
    publishes = [sql for sql, _ in group.sent if "change_log" in sql or "change_records" in sql]
    assert len(publishes) == 1 and "change_records" in publishes[0]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_batch_update_asks_its_reads_in_one_round_trip_and_a_roster_update_too(d: Directory) -> None:
    """A batch of attribute values asks the people, the departments, the values held and the
    definitions together, with the group's lock and its savepoints: one round trip; a roster update
    the person, the definitions, the field options and the values held (its rows counted from
    them) in one."""
    attributes.create_definitions(
        d, tenant_id=TENANT, items=[attributes.NewDefinition(id="desk", name="Desk", value_type="text")]
    )

    def batch(_r: Reader) -> list[str]:
        desk = (AttributeUpdate(attr_id="desk", text="A-1"),)
        return attributes.update_values(
            d, tenant_id=TENANT, updates=[UserAttributeUpdate(user_id=p, attrs=desk) for p in ("p0", "p1")]
        )

    def roster(_r: Reader) -> str:
        edu = GroupWrite("sys03", (SectionWrite((FieldWrite("sys03-major", "Maths"),)),))
        roster_writes.update(d, tenant_id=TENANT, user_id="p2", groups=[edu])
        return "p2"

    with GroupTrips(d) as trips:
        got = run(behind_a_blocker(d, [batch, roster]))

    assert got == [["p0", "p1"], "p2"]
    (group,) = [g for g in trips.groups if g.jobs == 2]
    ends = [sql.split(" FROM ")[-1].split()[0] for sql, wait in group.sent if wait > 0]
    # BEGIN; the batch's lock, savepoints and four reads; its upsert; the roster's savepoints and
    # four reads (the person's two); its upsert; the publish with the COMMIT.
    assert group.round_trips == 6, group.sent
    assert ends[1] == "attr_defs" and ends[3] == "roster_values"
    (publish, commit) = group.sent[-2:]
    assert "change_records" in publish[0] and publish[1] == 0 and commit[0].endswith("COMMIT")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_publish_the_database_refuses_commits_nothing_of_its_group(d: Directory) -> None:
    """The publish goes with the group's COMMIT in one pipeline: when the database refuses it (here
    a change-log kind longer than its column; SQLite does not check lengths), the COMMIT is not
    run, every job gets the error and nothing of the group is written."""
    before = current_seq(d)

    def overlong(_r: Reader) -> None:
        users.update(d, tenant_id=TENANT, user_id="p1", changes={"title": "never"})
        with d.writer() as tx:
            tx.changed(TENANT, "k" * 40, "p1")

    got = run(behind_a_blocker(d, [set_title(d, "p0", "never"), overlong]))

    assert [type(g).__name__ for g in got] == ["DataError", "DataError"]
    assert [title(d, p) for p in ("p0", "p1")] == [None, None]
    assert current_seq(d) == before


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_job_whose_reads_asked_together_fail_gets_their_error_and_the_group_goes_on(d: Directory) -> None:
    """A read that fails in the pipeline of reads asked together (here the person's row lock,
    held by a connection outside the writers, past ``lock_timeout``) fails its job alone: the job's
    savepoint went in the same pipeline and is rolled back to; the jobs after it commit."""
    with d.store.engine.connect() as conn:
        conn.exec_driver_sql(
            f"ALTER DATABASE {conn.exec_driver_sql('SELECT current_database()').scalar_one()} "
            "SET lock_timeout = '200ms'"
        )
        conn.commit()
    d.store.dispose()
    edu = GroupWrite("sys03", (SectionWrite((FieldWrite("sys03-major", "Maths"),)),))

    def roster(user_id: str) -> Callable[[Reader], str]:
        def job(_r: Reader) -> str:
            roster_writes.update(d, tenant_id=TENANT, user_id=user_id, groups=[edu])
            return user_id

        return job

    with d.store.engine.connect() as other:
        other.exec_driver_sql("SELECT id FROM users WHERE id = 'p1' FOR UPDATE")
        got = run(behind_a_blocker(d, [roster("p0"), roster("p1"), set_title(d, "p2", "two")]))
        other.rollback()

    assert got[0] == "p0" and got[2] == "two", got
    assert type(getattr(got[1], "orig", None)).__name__ == "LockNotAvailable", repr(got[1])
    with d.reader() as r:
        held = r.tx.roster.get_values(TENANT, ["p0", "p1"])
    assert "Maths" in [v.value for v in held["p0"]] and "p1" not in held


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_group_whose_lock_fails_fails_every_job_with_the_locks_own_error(d: Directory) -> None:
    """The change counter's lock goes with the group's first statement (a job's): when it fails
    (here its timeout, another connection holding the row), that is no job's error: every job of the
    group gets the lock's own, as taking it on its own would have raised, and nothing is written."""
    with d.store.engine.connect() as conn:
        conn.exec_driver_sql(
            f"ALTER DATABASE {conn.exec_driver_sql('SELECT current_database()').scalar_one()} "
            "SET lock_timeout = '200ms'"
        )
        conn.commit()
    d.store.dispose()  # connections made from here on time out waiting for a lock
    before = current_seq(d)
    with d.store.engine.connect() as other:
        other.exec_driver_sql("SELECT seq FROM change_counter WHERE id = 1 FOR UPDATE")
        got = run(behind_a_blocker(d, [set_title(d, p, "t") for p in ("p0", "p1", "p2")]))
        other.rollback()

    assert [(type(g).__name__, type(getattr(g, "orig", None)).__name__) for g in got] == [
        ("OperationalError", "LockNotAvailable")
    ] * 3
    assert [title(d, p) for p in ("p0", "p1", "p2")] == [None, None, None]
    assert current_seq(d) == before


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_group_finding_no_counter_row_to_lock_fails_every_job(d: Directory) -> None:
    """The lock held to go with the first statement still checks that the counter's row is there
    (else the group would run unlocked beside others): every job gets ``NoResultFound``."""
    with d.store.engine.connect() as conn:
        conn.exec_driver_sql("DELETE FROM change_counter")
        conn.commit()

    def unpublished(r: Reader) -> int:  # a statement, nothing to publish: no bump finds it missing
        return int(r.tx.conn.exec_driver_sql("SELECT 1").scalar_one())

    got = run(behind_a_blocker(d, [unpublished, unpublished]))

    assert [type(g).__name__ for g in got] == ["NoResultFound"] * 2


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_transaction_left_aborted_is_refused_not_committed(d: Directory) -> None:
    """A job that catches its statement's error itself leaves PostgreSQL's transaction aborted (no
    savepoint rolled back to): its COMMIT would roll back and answer as if it had committed."""

    def swallowed(r: Reader) -> str:
        with contextlib.suppress(IntegrityError):
            r.tx.conn.exec_driver_sql("INSERT INTO change_counter (id, seq) VALUES (1, 0)")
        return "kept?"

    (got,) = run(behind_a_blocker(d, [swallowed]))
    assert isinstance(got, RuntimeError) and "nothing is committed" in str(got)


def test_a_service_error_caught_inside_a_job_undoes_that_service_only(d: Directory) -> None:
    def job(r: Reader) -> str:
        users.update(d, tenant_id=TENANT, user_id="p4", changes={"title": "kept"})
        with pytest.raises(InvalidValue):
            users.update(d, tenant_id=TENANT, user_id="p5", changes={"email": "not an email"})
        return "done"

    assert run(d.write(job)) == "done"
    assert title(d, "p4") == "kept"


def test_jobs_run_in_arrival_order(d: Directory) -> None:
    ran: list[int] = []

    def job(n: int) -> Callable[[Reader], int]:
        def step(_r: Reader) -> int:
            ran.append(n)
            users.update(d, tenant_id=TENANT, user_id=PEOPLE[n % len(PEOPLE)], changes={"title": f"t{n}"})
            return n

        return step

    got = run(behind_a_blocker(d, [job(n) for n in range(40)]))
    assert got == list(range(40))
    assert ran == list(range(40))
    # The last writer of each person wins, as the arrival order says.
    assert [title(d, p) for p in PEOPLE] == [f"t{max(n for n in range(40) if n % 6 == i)}" for i in range(6)]


def _note(ran: list[str], txs: list[WriteTx], name: str, fail: bool = False) -> Callable[[WriteTx], None]:
    """An engine job (a raw job of the lane) that notes its name and its transaction."""

    def job(tx: WriteTx) -> None:
        ran.append(name)
        txs.append(tx)
        if fail:
            raise InvalidValue("engine job refused", field="lane")

    return job


def _noted_title(d: Directory, ran: list[str], n: int) -> Callable[[Reader], str]:
    """A request job setting ``PEOPLE[n]``'s title to ``w<n>``, noted in ``ran``."""

    def job(r: Reader) -> str:
        ran.append(f"w{n}")
        return set_title(d, PEOPLE[n], f"w{n}")(r)

    return job


def test_an_engine_job_behind_queued_request_jobs_runs_first_in_a_transaction_of_its_own(
    d: Directory,
) -> None:
    """The event engine's jobs (``submit(first=True)``) wait for no request job queued before them
    and share no transaction with one; the request jobs keep their order."""
    ran: list[str] = []
    txs: list[WriteTx] = []
    engine_jobs: list[Future[Any]] = []
    before = current_seq(d)

    def submit_engine_jobs() -> None:
        engine_jobs.extend(d.writes.submit(_note(ran, txs, f"e{i}"), first=True) for i in range(2))

    got = run(behind_a_blocker(d, [_noted_title(d, ran, n) for n in range(4)], submit_engine_jobs))
    assert got == ["w0", "w1", "w2", "w3"]
    assert [f.result(timeout=30) for f in engine_jobs] == [None, None]
    assert ran == ["e0", "e1", "w0", "w1", "w2", "w3"]
    # The two engine jobs shared a transaction that published nothing; the request jobs committed
    # in one group of their own, after it.
    assert txs[0] is txs[1] and txs[0].seq is None
    committed = seqs_since(d, before)
    assert set(committed) == set(PEOPLE[:4]) and len(set(committed.values())) == 1
    assert [title(d, p) for p in PEOPLE[:4]] == ["w0", "w1", "w2", "w3"]


def test_the_lane_and_the_request_queue_take_turns(d: Directory) -> None:
    """Engine jobs that keep coming (a prune's steps, the passes of a backlog) hold a request job
    back by one lane group at the most: after a lane group, a request group waiting goes first."""
    ran: list[str] = []
    txs: list[WriteTx] = []
    started, gate = threading.Event(), threading.Event()

    def long_engine_job(tx: WriteTx) -> None:
        ran.append("e0")
        started.set()
        gate.wait(30)

    async def scenario() -> str:
        first = d.writes.submit(long_engine_job, first=True)
        await asyncio.to_thread(started.wait, 30)
        request = asyncio.ensure_future(d.write(_noted_title(d, ran, 0)))
        await asyncio.sleep(0)  # the request job is queued
        later = d.writes.submit(_note(ran, txs, "e1"), first=True)  # the next engine job
        gate.set()
        got: str = await request
        await asyncio.to_thread(later.result, 30)
        await asyncio.to_thread(first.result, 30)
        return got

    assert run(scenario()) == "w0"
    assert ran == ["e0", "w0", "e1"]
    assert title(d, PEOPLE[0]) == "w0"


def test_a_failing_engine_job_leaves_the_request_jobs_alone(d: Directory) -> None:
    ran: list[str] = []
    txs: list[WriteTx] = []
    engine_jobs: list[Future[Any]] = []

    def submit_engine_jobs() -> None:
        engine_jobs.append(d.writes.submit(_note(ran, txs, "bad", fail=True), first=True))
        engine_jobs.append(d.writes.submit(_note(ran, txs, "good"), first=True))

    got = run(behind_a_blocker(d, [_noted_title(d, ran, n) for n in range(3)], submit_engine_jobs))
    assert got == ["w0", "w1", "w2"]
    with pytest.raises(InvalidValue, match="engine job refused"):
        engine_jobs[0].result(timeout=30)
    assert engine_jobs[1].result(timeout=30) is None
    assert ran == ["bad", "good", "w0", "w1", "w2"]
    assert [title(d, p) for p in PEOPLE[:3]] == ["w0", "w1", "w2"]


def test_with_a_pool_an_engine_job_commits_while_a_request_group_holds_the_lock(d: Directory) -> None:
    """With several writers (PostgreSQL's pool) a free one takes the lane's jobs while the one
    request group runs, and a lane group takes no change counter lock: an engine job commits while
    a request group is still running (and, on SQLite's one writer, right after it, before the
    request jobs queued behind it)."""
    pool = GroupWriter(d.store, threads=3 if d.store.backend == "postgresql" else 1)
    first, gate = blocked(pool)
    queued = [pool.submit(lambda tx: None) for _ in range(4)]
    engine_job = pool.submit(lambda tx: tx.outbox.count_open(), first=True)
    if d.store.backend == "postgresql":
        assert engine_job.result(timeout=30) == 0  # the blocker still holds the counter's lock
        assert not first.done()
    gate.set()
    assert first.result(30) is None and engine_job.result(30) == 0
    assert [f.result(30) for f in queued] == [None] * 4
    pool.close()


def test_an_engine_job_that_records_changes_is_refused_and_changes_nothing(d: Directory) -> None:
    """A lane group publishes nothing (on PostgreSQL it commits beside the request group holding
    the change counter's lock): an engine job that records a change-log entry or a change record
    is refused with a clear error, and what it wrote is undone; the lane's other jobs commit."""
    before = current_seq(d)
    first, gate = blocked(d.writes)

    def logs(tx: WriteTx) -> None:
        tx.changed(TENANT, "user", PEOPLE[0])

    def records(tx: WriteTx) -> None:
        tx.record(ChangeRecord(TENANT, EntityKind.USER, Operation.UPDATE, PEOPLE[1], ("title",)))

    def outbox_only(tx: WriteTx) -> int:
        return tx.outbox.count_open()

    jobs = [d.writes.submit(j, first=True) for j in (logs, records, outbox_only)]
    gate.set()
    assert first.result(30) is None
    for refused in jobs[:2]:
        with pytest.raises(LanePublishError, match="the writers' lane publishes none"):
            refused.result(30)
    assert jobs[2].result(30) == 0
    assert current_seq(d) == before and seqs_since(d, before) == {}


def blocked(writers: GroupWriter) -> tuple[Future[Any], threading.Event]:
    """A job that keeps a writer (its group's transaction open) until the event returned is set."""
    started, gate = threading.Event(), threading.Event()

    def blocker(_tx: WriteTx) -> None:
        started.set()
        gate.wait(30)

    first = writers.submit(blocker)
    assert started.wait(30)
    return first, gate


def test_a_full_queue_answers_busy_in_each_dialect(d: Directory) -> None:
    small = GroupWriter(d.store, threads=1, max_queue=2)
    first, gate = blocked(small)
    queued = [small.submit(lambda tx: None), small.submit(lambda tx: None)]
    with pytest.raises(Busy) as refused:
        small.submit(lambda tx: None)
    gate.set()
    first.result(30)
    assert [f.result(30) for f in queued] == [None, None]
    small.close()

    wps = wps_from_core(refused.value)
    assert wps.code is WpsCode.UNAVAILABLE and wps.headers == {"Retry-After": "1"}
    assert ding_from_core(refused.value).code is DingCode.SYSTEM_BUSY


class _Deadlock(Exception):
    """What the driver raises for the victim of a deadlock (SQLSTATE 40P01)."""

    class orig:  # the attribute SQLAlchemy's errors carry
        sqlstate = "40P01"


def test_a_deadlock_victim_runs_again_alone(d: Directory) -> None:
    tries: list[int] = []

    def job(r: Reader) -> str:
        tries.append(1)
        users.update(d, tenant_id=TENANT, user_id="p5", changes={"title": f"try {len(tries)}"})
        if len(tries) == 1:
            raise _Deadlock
        return "done"

    assert run(d.write(job)) == "done"
    assert len(tries) == 2
    assert title(d, "p5") == "try 2"


def test_writes_outside_a_job_still_open_their_own_transaction(d: Directory) -> None:
    """The CLI, fixtures and the control plane write without the writers, as before."""
    users.update(d, tenant_id=TENANT, user_id="p0", changes={"title": "direct"})
    assert title(d, "p0") == "direct"
    assert d.writes.queued == 0


def test_a_job_may_not_open_a_write_transaction_of_its_own(d: Directory) -> None:
    """It would wait for its own group's lock for ever: it is refused at once instead."""

    def job(_r: Reader) -> None:
        with d.store.write():
            pass

    with pytest.raises(RuntimeError, match=r"use d\.writer\(\)"):
        run(d.write(job))
    assert run(d.write(set_title(d, "p1", "after"))) == "after"


def _cached_title(d: Directory, user_id: str) -> str | None:
    with d.reader() as r:
        return r.users(TENANT, [user_id])[user_id].title


def test_a_groups_changes_reach_the_cache_without_reading_the_log_back(
    d: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer hands the group's change-log entries to the loop with its futures: the cache
    drops what they name and moves to the group's counter value, and reads no change log."""
    assert _cached_title(d, "p0") is None  # p0 is cached
    refreshes: list[int] = []
    refresh = d.cache.refresh
    monkeypatch.setattr(d.cache, "refresh", lambda tx: (refreshes.append(1), refresh(tx))[1])

    assert run(d.write(set_title(d, "p0", "handed over"))) == "handed over"

    assert d.cache.seq == current_seq(d)
    assert _cached_title(d, "p0") == "handed over"
    assert refreshes == []


def test_a_group_behind_another_writers_commit_leaves_the_cache_to_read_the_log(d: Directory) -> None:
    """A commit the cache has not applied yet (here a write outside the writers) comes before the
    group's: the entries are not applied out of order, the next read reads the log instead."""
    assert _cached_title(d, "p0") is None and _cached_title(d, "p1") is None
    users.update(d, tenant_id=TENANT, user_id="p1", changes={"title": "outside"})
    seq = d.cache.seq

    assert run(d.write(set_title(d, "p0", "in a group"))) == "in a group"

    assert d.cache.seq == seq  # not applied: one commit behind it is missing
    assert _cached_title(d, "p0") == "in a group"
    assert _cached_title(d, "p1") == "outside"
    assert d.cache.seq == current_seq(d)
