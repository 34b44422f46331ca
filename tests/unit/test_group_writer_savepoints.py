"""A job's savepoints (store/tx.py, ``WriteTx.savepoint``): a service's ``d.writer()`` opened first
thing in a job is an alias of the job's own savepoint (on PostgreSQL it sends nothing of its own).
Undone, it undoes its block only, whether the job's savepoint was sent by then or not, and whether
its error is the service's or the database's; the job goes on and commits (both backends)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bench.trips import GroupTrips
from sqlalchemy.exc import IntegrityError
from tests.unit.test_group_writer import TENANT, current_seq, d, run, seqs_since, title

from openroster.core.directory import Directory, Reader
from openroster.core.people import users
from openroster.model.errors import InvalidValue

__all__ = ["d"]  # the fixture, imported for these tests
#: The people these tests write.
SOME = ("p0", "p1", "p2")


def titles(d: Directory) -> dict[str, str | None]:
    return {p: title(d, p) for p in SOME}


def write(d: Directory, job: Callable[[Reader], Any]) -> Any:
    """Run ``job`` on the writers, in a group of its own."""
    return run(d.write(job))


def test_a_service_undone_after_writing_first_thing_in_a_job_undoes_its_block_only(d: Directory) -> None:
    before = current_seq(d)

    def job(_r: Reader) -> str:
        with pytest.raises(InvalidValue), d.writer():
            users.update(d, tenant_id=TENANT, user_id="p0", changes={"title": "undone"})
            raise InvalidValue("refused after writing", field="title")
        users.update(d, tenant_id=TENANT, user_id="p1", changes={"title": "kept"})
        return "done"

    assert write(d, job) == "done"
    assert titles(d) == {"p0": None, "p1": "kept", "p2": None}
    assert set(seqs_since(d, before)) == {"p1"}


def test_a_service_refused_before_writing_first_thing_in_a_job_changes_nothing(d: Directory) -> None:
    before = current_seq(d)

    def job(_r: Reader) -> str:
        # Refused before it sent anything: on PostgreSQL the job's savepoint is still held, unsent.
        with pytest.raises(InvalidValue), d.writer():
            raise InvalidValue("refused before reading", field="title")
        users.update(d, tenant_id=TENANT, user_id="p2", changes={"title": "kept"})
        return "done"

    assert write(d, job) == "done"
    assert titles(d) == {"p0": None, "p1": None, "p2": "kept"}
    assert set(seqs_since(d, before)) == {"p2"}


def test_a_statement_the_database_refuses_first_thing_in_a_job_undoes_its_block_only(d: Directory) -> None:
    """The refused statement leaves the transaction refusing everything until the block is rolled
    back to: the alias rolls back to the job's savepoint at once, and the job's next write runs."""
    before = current_seq(d)

    def job(r: Reader) -> str:
        with pytest.raises(IntegrityError), d.writer() as tx:
            users.update(d, tenant_id=TENANT, user_id="p0", changes={"title": "undone"})
            tx.conn.exec_driver_sql("INSERT INTO change_counter (id, seq) VALUES (1, 0)")
        users.update(d, tenant_id=TENANT, user_id="p1", changes={"title": "kept"})
        return r.users(TENANT, ["p1"])["p1"].title or ""

    assert write(d, job) == "kept"
    assert titles(d) == {"p0": None, "p1": "kept", "p2": None}
    assert set(seqs_since(d, before)) == {"p1"}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_services_savepoint_first_thing_in_a_job_sends_nothing_of_its_own(d: Directory) -> None:
    def job(_r: Reader) -> None:
        users.update(d, tenant_id=TENANT, user_id="p0", changes={"title": "t"})

    with GroupTrips(d) as trips:
        write(d, job)

    (group,) = trips.groups
    savepoints = [sql.split(": ", 1)[1] for sql, _ in group.sent if "SAVEPOINT" in sql]
    assert savepoints == ["SAVEPOINT openroster_sp0", "RELEASE SAVEPOINT openroster_sp0"]
    assert titles(d)["p0"] == "t"
