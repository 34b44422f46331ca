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
import time
from collections.abc import Callable

import pytest
from tests.unit.test_group_writer import PEOPLE, TENANT, blocked, current_seq, d, seqs_since

from openroster.core.directory import Directory
from openroster.model.changes import ChangeRecord, EntityKind, Operation
from openroster.store import WriteTx
from openroster.store.writer import GroupWriter

__all__ = ["d"]  # the fixture, used by name


def _records(person: str) -> Callable[[WriteTx], str]:
    def job(tx: WriteTx) -> str:
        tx.changed(TENANT, "user", person)
        tx.record(ChangeRecord(TENANT, EntityKind.USER, Operation.UPDATE, person, ("title",)))
        return person

    return job


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_jobs_queued_while_a_request_group_runs_wait_and_commit_as_one_group(d: Directory) -> None:
    pool = GroupWriter(d.store, threads=4)
    before = current_seq(d)
    first, gate = blocked(pool)
    try:
        queued = [pool.submit(_records(p)) for p in PEOPLE]
        # An engine job of the lane, queued after them, runs on a free writer and commits meanwhile;
        # no writer has taken the request jobs to wait on the counter's lock with a group of their own.
        assert pool.submit(lambda tx: tx.outbox.count_open(), first=True).result(30) == 0
        assert pool.queued == len(PEOPLE)
        assert not first.done()
        gate.set()
        assert first.result(30) is None
        assert [f.result(30) for f in queued] == PEOPLE
        seqs = seqs_since(d, before)
        assert set(seqs) == set(PEOPLE)
        assert len(set(seqs.values())) == 1  # one group, one commit, one counter value
    finally:
        gate.set()
        pool.close()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_closing_while_a_request_group_runs_with_jobs_queued_returns_and_loses_none(d: Directory) -> None:
    """Several writers wait for the one request group's slot; when it frees, each must look again,
    or those left waiting once the queue is empty keep ``close`` from returning."""
    pool = GroupWriter(d.store, threads=4)
    first, gate = blocked(pool)
    try:
        queued = [pool.submit(_records(p)) for p in PEOPLE[:3]]
        closer = threading.Thread(target=pool.close, daemon=True)
        closer.start()
        time.sleep(0.2)  # let close() tell the writers (the hang needs it told before the gate opens)
        gate.set()
        assert first.result(30) is None
        assert [f.result(30) for f in queued] == PEOPLE[:3]
        closer.join(30)
        assert not closer.is_alive(), "close() still waits for a writer"
    finally:
        gate.set()
