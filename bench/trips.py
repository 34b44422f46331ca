"""Round trips and statements of the store's write groups on PostgreSQL, read from libpq's trace.

:class:`GroupTrips` traces the connection of every write transaction the store's writers open
(libpq's ``PQtrace``, one file per writer thread) and reads each group's part of it when the group
ends. From the protocol messages the client sent:

- a *round trip* is a point where the client waits for the server's answer: a simple ``Query``
  (psycopg's ``BEGIN``, ``COMMIT``, a statement without parameters) or a ``Sync`` (the end of an
  extended-protocol statement, of an ``executemany``, of a pipeline's batch);
- a *statement* is a ``Query`` or an ``Execute`` (an ``executemany`` of 250 rows is 250).

Times come from the trace's own timestamps: a group's wall time (its first message to its last),
the wait for the change counter's row lock (from the first message naming ``change_counter`` to
the server's first answer after it) and how long the group held it after (to its last message:
the commit's answer). The time it held the lock splits into waiting for the server's answers (a
round trip sent to its answer, within that span) and the rest: the writer's Python, and its waits
for the interpreter lock. Beside the trace, the writer thread's own CPU time for the group
(``time.thread_time`` around its whole commit: that rest, less the interpreter lock's waits).
``bench/inprocess.py --trips`` prints them for a run of write calls.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Group:
    """What one write group sent and waited for."""

    jobs: int
    round_trips: int
    statements: int
    #: Savepoints opened (``SAVEPOINT``), and the simple queries among the round trips.
    savepoints: int
    wall_ms: float
    #: From the group's first message to the lock's statement (BEGIN, what runs before the lock).
    before_lock_ms: float
    lock_wait_ms: float
    lock_held_ms: float
    #: Of the wall time: waiting for the server's answers (a Sync or Query sent to its
    #: ReadyForQuery, while any is outstanding); the rest is the client's (Python, the GIL).
    server_ms: float
    #: Of the time the lock was held: waiting for the server's answers (the rest is the client's).
    held_server_ms: float
    #: The statements, one line each (their first words), in the order sent, each with the wait
    #: for the server's answer of the round trip it ended (ms; 0 when it ended none): for reading.
    sent: tuple[tuple[str, float], ...] = field(repr=False)
    #: The writer thread's CPU time for the whole group (its commit, from taking the group to the
    #: commit's answer; :class:`GroupTrips` measures it, ``parse`` does not).
    writer_cpu_ms: float = 0.0


#: A message's quoted fields, as the trace prints them (a statement's text is printed as it is,
#: its own double quotes included: the patterns anchor on what follows it).
_QUERY = re.compile(r'^ ?"(.*)"$', re.S)
_PARSE = re.compile(r'^ ?"([^"]*)" "(.*)" \d+(?: \d+)*$', re.S)
_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d")
_BIND = re.compile(r'^ ?"[^"]*" "([^"]*)"')


def parse(text: str, jobs: int, named: dict[str, str]) -> Group:
    """A group's figures from its part of a libpq trace (timestamps on); ``named``: the statements
    its connection prepared before, by name (the group's own are added)."""
    trips = statements = savepoints = 0
    sent: list[list[Any]] = []
    first = last = lock_sent = locked = waiting = None
    outstanding, server, held_server = 0, 0.0, 0.0
    for line in _messages(text):
        parts = line.split("\t", 4)
        if len(parts) < 4:
            continue
        when = datetime.fromisoformat(parts[0]).timestamp() * 1000
        first = when if first is None else first
        last = when
        side, message = parts[1], parts[3]
        if side != "F":
            if lock_sent is not None and locked is None:
                locked = when
            if message == "ReadyForQuery" and outstanding:
                outstanding -= 1
                if not outstanding and waiting is not None:
                    server += when - waiting
                    if locked is not None:  # the part of this wait after the lock was granted
                        held_server += when - max(waiting, locked)
                    if sent:
                        sent[-1][1] += when - waiting
            continue
        if message in ("Query", "Sync"):
            if not outstanding:
                waiting = when
            outstanding += 1
        detail = parts[4] if len(parts) > 4 else ""
        sql = None
        if message == "Query" and (m := _QUERY.match(detail)):
            sql = m[1]
        elif message == "Parse" and (m := _PARSE.match(detail)):
            named[m[1]] = m[2]
        elif message == "Bind" and (m := _BIND.match(detail)):
            sql = named.get(m[1], "?")
        trips += message in ("Query", "Sync")
        statements += message in ("Query", "Execute")
        if sql is None:
            continue
        sent.append([f"{message}: {' '.join(sql.split())}", 0.0])
        savepoints += sql.startswith("SAVEPOINT")
        if lock_sent is None and "change_counter" in sql:
            lock_sent = when
    if first is None or last is None:
        return Group(jobs, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, ())
    lock_wait = (locked - lock_sent) if locked is not None and lock_sent is not None else 0.0
    held = (last - locked) if locked is not None else 0.0
    before = (lock_sent - first) if lock_sent is not None else 0.0
    return Group(
        jobs,
        trips,
        statements,
        savepoints,
        last - first,
        before,
        lock_wait,
        held,
        server,
        held_server,
        tuple((t, w) for t, w in sent),
    )


def _messages(text: str) -> Iterator[str]:
    """The trace's messages, one each (a statement's text may span lines: they are joined)."""
    message: list[str] = []
    for line in text.splitlines():
        if _STAMP.match(line) and message:
            yield "\n".join(message)
            message = []
        message.append(line)
    if message:
        yield "\n".join(message)


class GroupTrips:
    """Traces the write groups of a directory's writers (PostgreSQL) from :meth:`start` on."""

    def __init__(self, directory: Any) -> None:
        self.groups: list[Group] = []
        self._on = False
        #: The statements each traced connection had prepared when its group began, by name.
        self._named: dict[int, dict[str, str]] = {}
        self._local = threading.local()
        self._lock = threading.Condition()
        self._files: list[Any] = []
        #: Groups being traced now: their futures resolve before their trace is read.
        self._running = 0
        store, writers = directory.store, directory.writes
        prepare: Callable[[Any], None] = store._prepare_write
        commit: Callable[[list[Any]], None] = writers._commit

        def traced_prepare(conn: Any) -> None:
            prepare(conn)
            if getattr(self._local, "group", False):
                driver = conn.connection.driver_connection
                pgconn = driver.pgconn
                # The statements psycopg prepared on this connection before (reads on the loop
                # share the pool's connections): their names, to read a later Bind.
                self._named[id(pgconn)] = {
                    name.decode(): query.decode(errors="replace")
                    for (query, _types), name in driver._prepared._names.items()
                }
                fd = os.dup(self._file().fileno())
                pgconn.trace(fd)
                self._local.traced.append((pgconn, fd))

        def traced_commit(group: list[Any]) -> None:
            if group[0].lane:
                commit(group)
                return
            with self._group(len(group)):
                commit(group)

        store._prepare_write = traced_prepare
        writers._commit = traced_commit

        def undo() -> None:
            store._prepare_write, writers._commit = prepare, commit

        self._undo = undo

    def close(self) -> None:
        """Trace no more (the store and its writers as they were) and close the trace files, once
        the groups being traced are read (a group's jobs are answered before its commit ends)."""
        self._undo()
        with self._lock:
            self._lock.wait_for(lambda: self._running == 0, timeout=30)
            self._on = False
            for f in self._files:
                f.close()
            self._files.clear()

    def __enter__(self) -> GroupTrips:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _file(self) -> Any:
        f = getattr(self._local, "file", None)
        if f is None:
            f = self._local.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
            with self._lock:
                self._files.append(f)
        return f

    @contextmanager
    def _group(self, jobs: int) -> Iterator[None]:
        f = self._file()
        start = os.lseek(f.fileno(), 0, os.SEEK_END)
        self._local.group, self._local.traced = True, []
        with self._lock:
            self._running += 1
        cpu = time.thread_time()
        try:
            yield
        finally:
            cpu = time.thread_time() - cpu
            traced = self._local.traced
            for pgconn, fd in traced:
                pgconn.untrace()
                os.close(fd)
            self._local.group, self._local.traced = False, []
            with self._lock:
                if not f.closed:  # else closed (close()) while this group ran: not counted
                    end = os.lseek(f.fileno(), 0, os.SEEK_END)
                    text = os.pread(f.fileno(), end - start, start).decode(errors="replace")
                    named = self._named.setdefault(id(traced[0][0]) if traced else 0, {})
                    group = replace(parse(text, jobs, named), writer_cpu_ms=cpu * 1000)
                    if self._on:
                        self.groups.append(group)
                self._running -= 1
                self._lock.notify_all()

    def start(self) -> None:
        self._on = True

    def stop(self) -> None:
        self._on = False

    def report(self) -> str:
        """Per job and per group, over the groups traced (times: means, so the parts add up)."""
        gs = self.groups
        if not gs:
            return "trips: no write group traced\n"
        jobs = sum(g.jobs for g in gs)
        trips, statements = sum(g.round_trips for g in gs), sum(g.statements for g in gs)
        savepoints = sum(g.savepoints for g in gs)

        def mean(ms: Callable[[Group], float]) -> float:
            return statistics.fmean(ms(g) for g in gs)

        lines = [
            f"trips: {len(gs)} groups, {jobs} jobs ({jobs / len(gs):.1f} a group)",
            f"  round trips: {trips / jobs:.2f} a job, {trips / len(gs):.1f} a group",
            f"  statements:  {statements / jobs:.2f} a job, {statements / len(gs):.1f} a group"
            " (an executemany's rows each)",
            f"  savepoints:  {savepoints / jobs:.2f} a job",
            f"  a group's wall time {mean(lambda g: g.wall_ms):.2f} ms: before the counter's lock"
            f" {mean(lambda g: g.before_lock_ms):.2f} ms, waiting for it {mean(lambda g: g.lock_wait_ms):.2f}"
            f" ms, holding it {mean(lambda g: g.lock_held_ms):.2f} ms (means)",
            f"  of which waiting for the server's answers {mean(lambda g: g.server_ms):.2f} ms"
            " (the lock's wait included)",
            f"  a job's part of the lock: {sum(g.lock_held_ms for g in gs) / jobs:.2f} ms held, of which"
            f" waiting for the server {sum(g.held_server_ms for g in gs) / jobs:.2f} ms, the writer's"
            f" {sum(g.lock_held_ms - g.held_server_ms for g in gs) / jobs:.2f} ms (Python, and waits for"
            f" the interpreter lock); the writer's CPU {sum(g.writer_cpu_ms for g in gs) / jobs:.2f} ms"
            " (its whole group)",
        ]
        one = min((g for g in gs if g.jobs == 1), key=lambda g: g.round_trips, default=None)
        if one is not None:
            lines.append(
                "  a group of one job sends (the wait for the server's answer; an executemany as one line):"
            )
            runs: list[list[Any]] = []
            for s, wait in one.sent:
                if runs and runs[-1][0] == s:
                    runs[-1][1] += 1
                    runs[-1][2] += wait
                else:
                    runs.append([s, 1, wait])
            lines += [
                f"    {wait:6.2f} ms  {s[:100]}" + (f"  (x {n})" if n > 1 else "") for s, n, wait in runs
            ]
        return "\n".join(lines) + "\n"
