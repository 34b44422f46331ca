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
from tests.contract.outbox_support import statements_run

from openroster.control.calls import RawCall
from openroster.control.journal import Journal
from openroster.control.shared_journal import FLUSH_EVERY, MOVE_TRIES, TAKE_SLICE, SharedJournal
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


# -- a move whose own write fails, the move's statements, the calls taken and not moved ---------

_SQLITE_RIG = (
    "CREATE TABLE refused_paths (path TEXT)",
    "CREATE TRIGGER refuse_path BEFORE INSERT ON journal_entries"
    " WHEN NEW.path IN (SELECT path FROM refused_paths) BEGIN SELECT RAISE(ABORT, 'refused'); END",
)
_PG_RIG = (
    "CREATE TABLE refused_paths (path TEXT)",
    """CREATE FUNCTION refuse_path() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM refused_paths WHERE path = NEW.path) THEN
    RAISE EXCEPTION 'refused';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER refuse_path BEFORE INSERT ON journal_entries FOR EACH ROW EXECUTE FUNCTION refuse_path()",
)


def _refuse(d: Directory, backend: str, paths: list[str]) -> None:
    """The journal's inserts of ``paths`` fail in the store (a trigger) until :func:`_accept`."""
    with d.store.write() as tx:
        for sql in _PG_RIG if backend == "postgresql" else _SQLITE_RIG:
            tx.conn.exec_driver_sql(sql)
        for path in paths:
            tx.conn.exec_driver_sql(f"INSERT INTO refused_paths (path) VALUES ('{path}')")


def _accept(d: Directory) -> None:
    with d.store.write() as tx:
        tx.conn.exec_driver_sql("DELETE FROM refused_paths")


def _stored_paths(d: Directory) -> list[str]:
    with d.store.read() as tx:
        return [str(r[0]) for r in tx.conn.exec_driver_sql("SELECT path FROM journal_entries ORDER BY id")]


def _know_the_generation(journal: SharedJournal, d: Directory) -> None:
    """The journal's generation read from the store, as a server's does before its first call."""
    with d.store.read() as tx:
        journal.learn(tx, None)


def _take_in_slices(journal: SharedJournal) -> None:
    """Take the ring buffer's calls as the background move does, a slice at a time."""
    while journal.take(TAKE_SLICE):
        pass


def test_calls_are_put_back_when_the_moves_own_write_fails(directory: Directory, backend: str) -> None:
    """The move's job fails on its own write (a call in its second slice refused): nothing of the
    job is in the store, and no call is lost: the next move writes all of them, in order."""
    journal = SharedJournal(Journal(1000), lambda: directory.store, _nobody, lambda: directory.writes)
    paths = [f"/v7/users/u{i}" for i in range(101)]
    _refuse(directory, backend, ["/v7/users/u40"])
    for path in paths:
        _record(journal, path)
    _take_in_slices(journal)
    with pytest.raises(DBAPIError):
        directory.writes.submit(journal.move_in).result(30)
    assert _stored_paths(directory) == []
    _accept(directory)
    directory.writes.submit(journal.move_in).result(30)
    assert _stored_paths(directory) == paths


_ONCE = """
CREATE OR REPLACE FUNCTION refuse_once() RETURNS trigger AS $$
BEGIN
  IF NEW.path = '/v7/users/u40' AND nextval('refused_once') = 1 THEN
    {action};
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql
"""


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "action",
    [
        "RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'",  # the writer runs the job again, alone
        "PERFORM pg_terminate_backend(pg_backend_pid())",  # the group's connection lost
    ],
    ids=["deadlock-run-again", "connection-lost"],
)
def test_no_call_is_lost_when_the_background_moves_job_fails_once(
    directory: Directory, backend: str, action: str
) -> None:
    """The background move's job fails once on its own write: a deadlock (the writers run the job
    again, alone) or its group's connection lost (the next move writes the calls): every call is
    stored once, in order."""
    with directory.store.write() as tx:
        tx.conn.exec_driver_sql("CREATE SEQUENCE refused_once")
        tx.conn.exec_driver_sql(_ONCE.format(action=action))
        tx.conn.exec_driver_sql(
            "CREATE TRIGGER refuse_once BEFORE INSERT ON journal_entries"
            " FOR EACH ROW EXECUTE FUNCTION refuse_once()"
        )
    journal = SharedJournal(Journal(1000), lambda: directory.store, _nobody, lambda: directory.writes)
    paths = [f"/v7/users/u{i}" for i in range(101)]

    async def run() -> None:
        for path in paths:
            _record(journal, path)
        journal.start()
        try:
            await _until(lambda: len(_stored_paths(directory)) >= len(paths), "every call stored")
        finally:
            await journal.stop()

    asyncio.run(run())
    assert _stored_paths(directory) == paths


def test_a_move_taken_in_slices_costs_the_statements_of_one_batch(directory: Directory) -> None:
    """The background move takes its calls a slice at a time; it writes them at once all the same:
    as many statements as a move of the same calls taken in one batch."""
    journal = SharedJournal(Journal(1000), lambda: directory.store, _nobody, lambda: directory.writes)
    _know_the_generation(journal, directory)
    costs = []
    for sliced in (True, False):
        for i in range(300):
            _record(journal, f"/v7/users/u{i}")
        if sliced:
            _take_in_slices(journal)
        else:
            journal.take()
        with statements_run(directory) as ran:
            journal.move()
        costs.append(len(ran))
    assert costs[0] == costs[1]
    assert len(_stored_paths(directory)) == 600


def test_calls_taken_and_not_moved_are_kept_up_to_the_journals_size(directory: Directory) -> None:
    """Calls are taken from the ring buffer while none can be moved (a store that refuses every
    write): at most the journal's size of them are kept, the oldest dropped and counted as
    dropped, as the ring buffer drops its oldest."""
    journal = _journal(directory)  # 10 calls
    _know_the_generation(journal, directory)
    paths = [f"/v7/users/u{i}" for i in range(25)]
    for start in range(0, len(paths), 5):
        for path in paths[start : start + 5]:
            _record(journal, path)
        journal.take()
    journal.move()
    assert _stored_paths(directory) == paths[-10:]
    assert journal.dropped == 15
    # Only those 10 went into the table (not 25 then trimmed): it numbered 10 calls.
    assert [e.seq for e in journal.entries()] == list(range(1, 11))


def _move_until_done(journal: SharedJournal, directory: Directory, via: str) -> int:
    """Move until a move writes everything taken (one refused call fails a move until it has run
    out of tries); returns how many moves failed."""
    for failed in range(30):
        try:
            if via == "job":
                directory.writes.submit(journal.move_in).result(30)
            else:
                journal.move()
        except DBAPIError:
            continue
        return failed
    raise AssertionError("the moves never stopped failing")


@pytest.mark.parametrize("via", ["job", "transaction"])
def test_a_refused_call_is_dropped_after_its_tries_and_the_others_are_stored(
    directory: Directory, backend: str, via: str
) -> None:
    """The store refuses one call for good among 110 taken in slices and written at once: the
    joined write fails, then its slices and their halves are written apart, so only the refused
    call runs out of tries (dropped and counted as dropped); every other call is stored, in order.
    (In a job, a refused half fails the job after it wrote the slice before: that one goes back
    too, not counted as a try, and is stored.)"""
    journal = SharedJournal(Journal(1000), lambda: directory.store, _nobody, lambda: directory.writes)
    _know_the_generation(journal, directory)
    paths = [f"/v7/users/u{i}" for i in range(110)]
    _refuse(directory, backend, ["/v7/users/u40"])
    for path in paths:
        _record(journal, path)
    _take_in_slices(journal)
    failed = _move_until_done(journal, directory, via)
    assert _stored_paths(directory) == [p for p in paths if p != "/v7/users/u40"]
    assert journal.dropped == 1
    # The joined write, the slice's halves down to the call (32 → 16 → 8 → 4 → 2 → 1), the call's tries.
    assert failed == 1 + 5 + MOVE_TRIES


def test_calls_dropped_after_their_tries_are_counted_as_dropped(directory: Directory, backend: str) -> None:
    """Refused calls dropped after their tries are counted as dropped, with the calls their batch
    had dropped before (the journal full while nothing was moved), whether a call follows them
    (the first) or not (the last): every call is stored or counted."""
    journal = _journal(directory)  # 10 calls
    _know_the_generation(journal, directory)
    _refuse(directory, backend, ["/v7/users/u5", "/v7/users/u14"])
    for i in range(15):
        _record(journal, f"/v7/users/u{i}")
    journal.take()  # 5 dropped by the ring buffer, u5-u14 taken
    _move_until_done(journal, directory, "transaction")
    stored = _stored_paths(directory)
    assert len(stored) + journal.dropped == 15
    if backend == "sqlite":
        assert stored == [f"/v7/users/u{i}" for i in range(6, 14)]
    else:  # the refused inserts used up ids: the trim of all but the newest 10 ids took some more
        assert stored == [f"/v7/users/u{i}" for i in range(14 - len(stored), 14)]


def test_text_longer_than_its_column_is_stored_cut(directory: Directory) -> None:
    """A method, request id, fault or app longer than its column is stored cut to its width (any
    token is a method to the HTTP parser; PostgreSQL refuses a longer value, SQLite keeps it)."""
    journal = SharedJournal(
        Journal(10), lambda: directory.store, lambda _call: "a" * 200, lambda: directory.writes
    )
    _know_the_generation(journal, directory)
    scope = {"method": "PROPFINDXXXXXXXXX", "path": "/v7/users", "query_string": b"", "headers": []}
    journal.local.record(scope, 1_700_000_000.0, 1.0, [], 0, 200, b"{}", "r" * 40, "f" * 40, 1.002)
    journal.take()
    journal.move()
    (entry,) = journal.entries()
    assert (entry.method, entry.request_id, entry.fault) == ("PROPFINDXXXXXXXX", "r" * 32, "f" * 32)
    assert entry.app(_nobody) == "a" * 128
