"""A pool of writers (PostgreSQL's ``--writer-threads``) takes one request group at a time.

Request groups run one after the other anyway (each takes the change counter's lock before
anything else, store/writer.py): a second group taken while one runs would only wait on that lock
with part of the queue, and leave the rest to a third. So the jobs queued while a request group
runs stay queued, and the next group takes them all.

Only PostgreSQL has a pool (SQLite's one writer takes one group at a time by being one): the test
runs there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from openroster.core.directory import Directory
from openroster.core.tenancy import tenants
from openroster.model.changes import ChangeRecord, EntityKind, Operation
from openroster.store import WriteTx
from openroster.store.writer import GroupWriter

TENANT = "acme"


@pytest.fixture
def pool(directory: Directory) -> Iterator[GroupWriter]:
    """Four writers."""
    tenants.create(directory, tenant_id=TENANT, name="Acme")
    writers = GroupWriter(directory.store, threads=4)
    yield writers
    writers.close()


def _records(person: str) -> Callable[[WriteTx], str]:
    def job(tx: WriteTx) -> str:
        tx.changed(TENANT, "user", person)
        tx.record(ChangeRecord(TENANT, EntityKind.USER, Operation.UPDATE, person, ("title",)))
        return person

    return job


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_jobs_queued_while_a_request_group_runs_wait_and_commit_as_one_group(
    directory: Directory, pool: GroupWriter
) -> None:
    with directory.store.read() as tx:
        before = tx.changes.current_seq()
    started, gate = threading.Event(), threading.Event()

    def blocker(_tx: WriteTx) -> None:
        started.set()
        gate.wait(30)

    first = pool.submit(blocker)
    assert started.wait(30)
    people = [f"p{i}" for i in range(6)]
    queued = [pool.submit(_records(p)) for p in people]
    # An engine job of the lane, queued after them, runs on a free writer and commits meanwhile;
    # no writer has taken the request jobs to wait on the counter's lock with a group of their own.
    assert pool.submit(lambda tx: tx.outbox.count_open(), first=True).result(30) == 0
    assert pool.queued == len(people)
    assert not first.done()
    gate.set()
    assert first.result(30) is None
    assert [f.result(30) for f in queued] == people
    with directory.store.read() as tx:
        seqs = {c.record.entity_id: c.seq for c in tx.changes.records_after(TENANT, before, 100)}
    assert set(seqs) == set(people)
    assert len(set(seqs.values())) == 1  # one group, one commit, one counter value
