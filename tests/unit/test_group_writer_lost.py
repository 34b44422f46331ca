"""A PostgreSQL group that loses its connection or a deadlock while its statements go in pipelines
(the reads asked together, the publish with the ``COMMIT``): each job gets the real error, or runs
again alone, and nothing unacknowledged is committed."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.exc import OperationalError, PendingRollbackError
from tests.unit.test_group_writer import TENANT, behind_a_blocker, current_seq, d, run, set_title, title

from openroster.core.directory import Directory, Reader
from openroster.core.roster import writes as roster_writes
from openroster.core.roster.writes import FieldWrite, GroupWrite, SectionWrite

__all__ = ["d"]  # the fixture, imported for these tests

EDU = GroupWrite("sys03", (SectionWrite((FieldWrite("sys03-major", "Maths"),)),))


def _ddl(d: Directory, statement: str) -> None:
    with d.store.engine.connect() as conn:
        conn.exec_driver_sql(statement)
        conn.commit()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_connection_lost_at_the_commit_is_the_error_each_job_gets(d: Directory) -> None:
    # A deferred trigger ends the group's own backend when its COMMIT runs (sent with the publish).
    _ddl(
        d,
        "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.title = 'die' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; "
        "RETURN NEW; END $$; "
        "CREATE CONSTRAINT TRIGGER die AFTER UPDATE ON users DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW EXECUTE FUNCTION die()",
    )
    before = current_seq(d)
    got = run(behind_a_blocker(d, [set_title(d, "p0", "fine"), set_title(d, "p1", "die")]))
    # The loss itself, not SQLAlchemy's "invalid transaction" raised while cleaning up after it.
    assert all(isinstance(g, OperationalError) for g in got), got
    assert not any(isinstance(g, PendingRollbackError) for g in got), got
    assert [title(d, p) for p in ("p0", "p1")] == [None, None]
    assert current_seq(d) == before
    assert run(d.write(set_title(d, "p2", "after"))) == "after"
    assert title(d, "p2") == "after"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_deadlock_in_reads_asked_together_runs_the_job_again_alone(d: Directory) -> None:
    # Another transaction holds p1's row; once the group's roster update waits for it (in the
    # pipeline of its reads, holding the change counter's lock), that transaction asks for the
    # counter's row: a deadlock, which the group's side loses (its deadlock_timeout is shorter).
    _ddl(d, f"ALTER DATABASE {d.store.engine.url.database} SET deadlock_timeout = '200ms'")
    d.store.dispose()
    other = d.store.engine.connect()
    watcher = d.store.engine.connect()
    other.exec_driver_sql("SET deadlock_timeout = '30s'")
    other.exec_driver_sql("SELECT id FROM users WHERE id = 'p1' FOR UPDATE")

    def close_the_cycle() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until a backend waits for p1's row
            waiting = watcher.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).scalar_one()
            watcher.rollback()
            if waiting:
                break
            time.sleep(0.01)
        other.exec_driver_sql("SELECT seq FROM change_counter WHERE id = 1 FOR UPDATE")
        other.rollback()

    tries: list[str] = []

    def update_p1(_r: Reader) -> str:
        tries.append("p1")
        roster_writes.update(d, tenant_id=TENANT, user_id="p1", groups=[EDU])
        return "p1"

    cycle = threading.Thread(target=close_the_cycle, daemon=True)
    try:
        got = run(
            behind_a_blocker(
                d, [set_title(d, "p0", "zero"), update_p1, set_title(d, "p2", "two")], then=cycle.start
            )
        )
        cycle.join(30)
    finally:
        other.close()
        watcher.close()
    assert got == ["zero", "p1", "two"]
    assert len(tries) >= 2  # the victim ran again
    with d.reader() as r:
        held = r.tx.roster.get_values(TENANT, ["p1"])
    assert "Maths" in [v.value for v in held["p1"]]
    assert [title(d, p) for p in ("p0", "p2")] == ["zero", "two"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_connection_lost_in_a_job_is_the_error_each_job_gets(d: Directory) -> None:
    # The group's own backend ends while a job runs: the writer then asks whether the group holds
    # the counter's lock (to let the next group be taken) of a connection with nothing to ask.
    def die(_r: Reader) -> str:
        with d.reader() as r:
            r.tx.conn.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")
        return "died"

    before = current_seq(d)
    got = run(behind_a_blocker(d, [set_title(d, "p0", "fine"), die]))
    assert all(isinstance(g, OperationalError) for g in got), got
    assert title(d, "p0") is None
    assert current_seq(d) == before
    assert run(d.write(set_title(d, "p2", "after"))) == "after"
