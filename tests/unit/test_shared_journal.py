"""The journal every process on a store shares (control/shared_journal.py): a call recorded in
one process before another empties the journal never shows up after; a read finds every call the
process answered before it, even one a move under way took out of the process."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from openroster.control.calls import RawCall
from openroster.control.journal import Journal
from openroster.control.shared_journal import FLUSH_EVERY, TAKE_SLICE, SharedJournal
from openroster.core.directory import Directory
from openroster.store import WriteTx


def _nobody(_call: RawCall) -> str | None:
    return None


def _journal(d: Directory) -> SharedJournal:
    return SharedJournal(Journal(10), lambda: d.store, _nobody, lambda: d.writes)


def _record(journal: SharedJournal, path: str) -> None:
    scope = {"method": "GET", "path": path, "query_string": b"", "headers": []}
    journal.local.record(scope, 1_700_000_000.0, 1.0, [], 0, 200, b'{"code":0}', "rid", None, 1.002)


def test_a_call_recorded_before_another_process_empties_the_journal_never_shows_up(
    directory: Directory, other_process: Directory
) -> None:
    """A process that has moved nothing yet and seen no emptying (its generation not yet learned)
    records a call; another process empties the journal; the first then moves its calls: the call
    made before the emptying is not in the journal, one made after is."""
    ours, theirs = _journal(directory), _journal(other_process)

    async def run() -> None:
        ours.start()
        try:
            _record(ours, "/v7/users/before")
            assert theirs.clear() == 0
            ours.flush()
            assert [e.path for e in theirs.entries()] == []
            # The emptying learned through the change log: calls made after it are kept.
            with directory.store.read() as tx:
                ours.learn(tx, None)
            _record(ours, "/v7/users/after")
            ours.flush()
            assert [e.path for e in theirs.entries()] == ["/v7/users/after"]
        finally:
            await ours.stop()

    asyncio.run(run())


#: Seconds the move's group stays open after the move: a read made meanwhile waits for its commit.
HELD_OPEN = 0.3


async def _until(check: Callable[[], bool], what: str) -> None:
    for _ in range(int(30 / FLUSH_EVERY)):
        if check():
            return
        await asyncio.sleep(FLUSH_EVERY)
    raise AssertionError(f"not within 30 s: {what}")


async def _move_queued(
    one: Directory, journal: SharedJournal, free: threading.Event, *paths: str
) -> Future[Any]:
    """Calls of ``paths`` recorded while a job holds ``one``'s only writer until ``free`` is set,
    and the background move's job queued behind it: a job submitted now joins the move's group.
    Returns the holding job's future."""
    busy = threading.Event()

    def blocker(_tx: WriteTx) -> None:
        busy.set()
        free.wait(30)

    first = one.writes.submit(blocker)
    await asyncio.to_thread(busy.wait, 30)
    for path in paths:
        _record(journal, path)
    await _until(lambda: one.writes.queued == 1, "the background move queued its job")
    return first


def test_a_read_waits_for_the_commit_of_the_move_under_way(directory: Directory) -> None:
    """The background move runs as a job of the store's writers: the job takes the calls out of
    the process, and its group commits after the jobs queued behind it. A read of the journal made
    in between (a call's answer, then the journal read at once) finds the call: the read waits for
    that commit (nothing was left in the process for it to move)."""
    one = Directory(directory.store, directory.master_key, writer_threads=1)  # one group at a time
    journal = _journal(one)
    free = threading.Event()
    held = threading.Event()

    def after_the_move(_tx: WriteTx) -> None:  # the move's group, still open after the move
        held.set()
        time.sleep(HELD_OPEN)

    async def run() -> list[str]:
        journal.start()
        try:
            first = await _move_queued(one, journal, free, "/v7/users/nobody")
            later = one.writes.submit(after_the_move)
            free.set()
            await asyncio.to_thread(held.wait, 30)
            assert len(journal.local) == 0  # the move took the call; its group has not committed
            paths = [e.path for e in journal.entries()]
            await asyncio.wrap_future(first)
            await asyncio.wrap_future(later)
            return paths
        finally:
            free.set()
            await journal.stop()

    try:
        assert asyncio.run(run()) == ["/v7/users/nobody"]
    finally:
        one.writes.close()


def test_emptying_counts_the_calls_taken_out_for_a_move(directory: Directory) -> None:
    """A reset made after the background move took the calls out of the process and before its
    job wrote them (``take``, then the writers' queue) counts those calls among the ones it
    emptied, and leaves none behind."""
    journal = _journal(directory)

    async def run() -> tuple[int, list[str]]:
        journal.start()
        try:
            _record(journal, "/v7/users/one")
            _record(journal, "/v7/users/two")
            journal.take()  # as the move does before its job runs
            assert len(journal.local) == 0
            return journal.clear(), [e.path for e in journal.entries()]
        finally:
            await journal.stop()

    assert asyncio.run(run()) == (2, [])


def _spoil_the_group(backend: str) -> Callable[[WriteTx], None]:
    """A job after which its whole writers' group fails: on SQLite its commit (a foreign key
    checked at the commit), on PostgreSQL its connection (the group's backend ends)."""

    def spoil(tx: WriteTx) -> None:
        if backend == "postgresql":
            tx.conn.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")
        else:
            tx.conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            tx.conn.exec_driver_sql(
                "INSERT INTO dismission_reasons (tenant_id, id, kind, name, sort_order)"
                " VALUES ('no-such-tenant', 'r1', 'voluntary', 'gone', 0)"
            )

    return spoil


def test_calls_a_move_took_are_put_back_when_its_writers_group_fails(
    directory: Directory, backend: str
) -> None:
    """The background move's job takes the calls out of the process; its group then fails (another
    job of it spoils the commit): the calls are not lost, the next move writes them, in order."""
    one = Directory(directory.store, directory.master_key, writer_threads=1)  # one group at a time
    journal = _journal(one)
    free = threading.Event()

    def stored() -> int:
        with one.store.read() as tx:
            return tx.control.journal_count()

    async def run() -> list[str]:
        journal.start()
        try:
            first = await _move_queued(one, journal, free, "/v7/users/one", "/v7/users/two")
            spoiled = one.writes.submit(_spoil_the_group(backend))  # in the move's group
            free.set()
            await asyncio.wrap_future(first)
            with pytest.raises(DBAPIError):  # the commit's, or the lost connection's
                await asyncio.wrap_future(spoiled)
            assert len(journal.local) == 0  # the move took them; nothing of its group committed
            await _until(lambda: stored() == 2, "the next background move wrote the calls")
            _record(journal, "/v7/users/three")
            return [e.path for e in journal.entries()]
        finally:
            free.set()
            await journal.stop()

    try:
        assert asyncio.run(run()) == ["/v7/users/one", "/v7/users/two", "/v7/users/three"]
    finally:
        one.writes.close()


def test_the_background_move_takes_its_calls_a_slice_at_a_time_between_other_work(
    directory: Directory,
) -> None:
    """The calls under way are served between two slices of the move's work on the loop: a task
    that runs on every turn of the loop sees the ring buffer emptied a slice at a time."""
    journal = SharedJournal(Journal(1000), lambda: directory.store, _nobody, lambda: directory.writes)
    calls = 3 * TAKE_SLICE + 5

    async def run() -> set[int]:
        seen: set[int] = set()
        for i in range(calls):
            _record(journal, f"/v7/users/u{i}")
        journal.start()
        try:
            while len(journal.local):
                seen.add(len(journal.local))
                await asyncio.sleep(0)
            await _until(lambda: len(journal.entries()) == calls, "every call moved")
        finally:
            await journal.stop()
        return seen

    seen = asyncio.run(run())
    assert {calls - TAKE_SLICE, calls - 2 * TAKE_SLICE, calls - 3 * TAKE_SLICE} <= seen
