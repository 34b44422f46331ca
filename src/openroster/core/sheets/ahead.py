"""Writing checked chunks of new people while the import checks the next ones.

A large import's inserts are about half its time, and CPython's sqlite3 (and psycopg's COPY)
let go of the interpreter lock while the database works: a thread that writes chunk k while
the import checks chunk k+1 uses a second core. (On SQLite only because ``store/bulk.py`` puts
many rows in a statement: with ``executemany`` the thread took the lock back after every row
and barely moved while the import ran Python.) The thread is the only user of the
transaction's connection while it runs (the import's other steps do not touch the store
until :meth:`WriteAhead.__exit__` has joined it, or :meth:`WriteAhead.wait_idle` has seen it
write everything submitted), and it writes each chunk with ``bulk.write``, as
:func:`apply.create` would, in the same transaction (with the chunk's roster values when the
import reads the file as it writes, ``stream.py``).

It writes ahead only while no row has a problem. Anything else (a problem found later, by
the uniqueness checks or in a later chunk, or a write that fails) undoes what it wrote (a
savepoint around it) and the import writes the usual way, which reports what the file has
wrong exactly as before: still all or nothing, the same rows named by row and column.

Only for a tenant that had nobody when the import began (the first import of a store, or
a new company): there the checks after a chunk ask the store nothing (``plan.taken``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Set as AbstractSet
from types import TracebackType

from openroster.core.people import bulk
from openroster.core.sheets.plan import ImportPlan, Row

#: A roster value's row (``tx.bulk.insert_roster_values``).
RosterRow = tuple[str, str, str, int, str, str]
#: A chunk for the writer and its people's roster values, or None: nothing more.
_Job = tuple[list[Row], bulk.PreparedChunk, list[RosterRow]] | None


class Undo(Exception):
    """Raised inside the savepoint around the writes ahead to undo them."""


def fits(plan: ImportPlan, new: list[Row]) -> bool:
    """Whether the import writes ahead: more than one chunk of new people into a tenant that had nobody."""
    return not plan.people_before and not plan.problems and len(new) > bulk.CHUNK


class WriteAhead:
    """A thread writing chunks as the import checks them (see the module doc); joined on exit."""

    def __init__(self, plan: ImportPlan, total: int, load: AbstractSet[str] = frozenset()) -> None:
        self.plan = plan
        self.total = total
        #: The new people of every chunk that may be submitted, whom a relation may name before
        #: their chunk is written (``bulk.write``): if one is not written, nothing is kept.
        self.load = load
        #: The chunks written, in order.
        self.written: list[tuple[list[Row], bulk.PreparedChunk]] = []
        self.failed = False
        self._stopped = False
        #: Chunks whose change records wait (:meth:`hold_records`), or None: recorded when submitted.
        self._held: list[bulk.PreparedChunk] | None = None
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._thread = threading.Thread(target=self._write, name="import-writer", daemon=True)

    def __enter__(self) -> WriteAhead:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._jobs.put(None)
        self._thread.join()

    def submit(
        self, rows: list[Row], chunk: bulk.PreparedChunk, roster: list[RosterRow] | None = None
    ) -> None:
        """Write the checked chunk ahead (and its people's ``roster`` values), unless a row has had
        a problem (then nothing more is).

        Its change records are made here, not by the thread (whose Python between statements
        holds the interpreter lock while the store waits for it); the savepoint's undo drops them
        with the writes when not everything was written."""
        plan = self.plan
        self._stopped = self._stopped or bool(plan.problems)
        if not self._stopped:
            self._jobs.put((rows, chunk, roster or []))
            if self._held is None:
                bulk.record_created(plan.tx, chunk, tenant_id=plan.tenant_id)
            else:
                self._held.append(chunk)

    def stop(self) -> None:
        """Write nothing more (what was written is undone by the caller's savepoint)."""
        self._stopped = True

    def hold_records(self) -> None:
        """Keep the change records of the chunks submitted from now until :meth:`release_records`
        (an import that reads as it writes may still create departments, whose records come first)."""
        self._held = []

    def release_records(self) -> None:
        """Record the held chunks' new people, in order; later chunks are recorded when submitted."""
        for chunk in self._held or ():
            bulk.record_created(self.plan.tx, chunk, tenant_id=self.plan.tenant_id)
        self._held = None

    def wait_idle(self) -> None:
        """Wait until every chunk submitted is written: the transaction is the caller's again until
        the next :meth:`submit`."""
        self._jobs.join()

    def wrote_all(self) -> bool:
        """Whether every checked chunk was written and no row has a problem (after :meth:`__exit__`)."""
        plan = self.plan
        return not (self._stopped or self.failed or plan.problems) and len(self.written) == len(plan.prepared)

    def _write(self) -> None:
        plan = self.plan
        done = 0
        while (job := self._jobs.get()) is not None:
            try:
                if not self.failed:
                    done += self._write_one(job)
                    plan.tick("creating", done, self.total)
            except Exception:  # (the progress shown): the usual way goes again, and raises it
                self.failed = True
            finally:
                self._jobs.task_done()  # even then: wait_idle must not wait for ever
        self._jobs.task_done()

    def _write_one(self, job: tuple[list[Row], bulk.PreparedChunk, list[RosterRow]]) -> int:
        rows, chunk, roster = job
        tx = self.plan.tx
        try:
            bulk.write(tx, chunk, tenant_id=self.plan.tenant_id, record=False, load=self.load)
            if roster:
                tx.bulk.insert_roster_values(roster)
        except Exception:  # written again the usual way, which reports it
            self.failed = True
            return 0
        self.written.append((rows, chunk))
        return len(rows)
