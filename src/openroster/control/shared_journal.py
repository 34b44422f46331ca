"""The journal every server process on the store shares.

Recording stays what it was: each process appends its calls to its own ring buffer
(``journal.Journal``, nearly free). A background task moves them, in batches and off the request
path (as jobs of the store's writers, ``store/writer.py``, in a server), into the store's bounded
table (``store/controlplane.py``), whose ids number the calls in
the order they reached it; reading the journal first moves this process's own calls, then reads
the table, so it shows every process's calls: a call answered by another process appears once
that process has moved it (within :data:`FLUSH_EVERY` seconds). A move running as a job has taken
its calls out of the process before its group commits: a read waits for that commit, so it never
misses a call the process answered before it; if the group fails, or the move's own write does,
its calls go back in front of the others and the next move (or the job's re-run after a deadlock)
writes them. The background move takes the calls from the ring buffer a slice at a time
(:data:`TAKE_SLICE`), letting the loop serve calls between slices, and writes them at once (one
``append_journal`` for the slices of one generation). Calls taken and not yet moved are kept up
to the journal's size (a store that refuses every write drops the oldest, counted as dropped).
A write the store refuses (a call it will not take, not a deadlock or a lost connection) is split
into its batches, then halves, each written alone, so only the refused call runs out of its
:data:`MOVE_TRIES` and is dropped (counted as dropped); the others are stored.

A known limit: calls put back after a later move already stored newer ones (a read gave up
waiting for the failed move after :data:`MOVE_WAIT` and moved the calls recorded since) are
stored after those, out of the order they were answered in.

Emptying the journal bumps its *generation* in the store. A process drops the calls it recorded
before it learned of the new generation (through the change log, which it reads before each
call), and the store refuses a batch from a process that has not learned of it yet, so a call
made before the journal was emptied never shows up after.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from openroster.control.calls import RawCall, reply_names_secrets
from openroster.control.journal import HEADERS_AT, Entry, Journal, recorded_headers, redacted_pieces
from openroster.core.runtime.upkeep import BackgroundTask
from openroster.store import ReadTx, Store, WriteTx
from openroster.store.controlplane import (
    CONTROL_KIND,
    JOURNAL,
    JOURNAL_WIDTHS,
    decode_headers,
    encode_headers,
)
from openroster.store.writer import GroupWriter, lost_connection, retryable

log = logging.getLogger("openroster.control")

#: Seconds between two moves of the recorded calls into the store.
FLUSH_EVERY = 0.05
#: Calls taken from the ring buffer and redacted in one slice of the loop by the background move
#: (13-17 µs of CPU each): the move yields to the loop between two slices, so a call under way
#: waits about half a ms for it, not the whole batch's time (tens of ms under load).
TAKE_SLICE = 32
#: Failed moves of a batch of calls (its own write refused, or its writers' group not committed)
#: before it is dropped.
MOVE_TRIES = 3
#: Rows read at a time when the journal is read from the newest back.
_READ_BATCH = 256
#: Seconds a read waits, at most, for the commit of a move under way (as long as a write
#: transaction waits for SQLite's lock); past that it reads what is committed.
MOVE_WAIT = 30.0


def _text(value: str, width: int | None = None) -> str:
    """``value`` as a text column (``width`` characters at most) takes it: PostgreSQL's hold no
    NUL (a hostile path may), and refuse a longer value than their width (SQLite stores it)."""
    value = value.replace("\x00", "\ufffd") if "\x00" in value else value
    return value if width is None else value[:width]


#: The stored form (``encode_headers``) of the last few redacted header lists: a client sends the
#: same ones call after call, and a call with no secret but theirs stores the same redacted tuple.
_ENCODED: dict[tuple[tuple[bytes, bytes], ...], bytes] = {}
_ENCODED_MAX = 64


def _encoded_headers(headers: tuple[tuple[bytes, bytes], ...]) -> bytes:
    hit = _ENCODED.get(headers)
    if hit is None:
        if len(_ENCODED) >= _ENCODED_MAX:
            _ENCODED.clear()
        hit = _ENCODED[headers] = encode_headers(headers)
    return hit


_METHOD_WIDTH = JOURNAL_WIDTHS["method"]
_REQUEST_ID_WIDTH = JOURNAL_WIDTHS["request_id"]
_FAULT_WIDTH = JOURNAL_WIDTHS["fault"]
_APP_WIDTH = JOURNAL_WIDTHS["app"]


def _row(raw: tuple[Any, ...], headers: tuple[tuple[bytes, bytes], ...], app: str | None) -> dict[str, Any]:
    """A store row from a recorded call (``Journal.record``'s tuple, without its local number,
    and its ``headers``), its secrets redacted (:func:`journal.redacted_pieces`) and its app named."""
    (_, at, method, path, query, body, body_size, status, head, latency, request_id, fault) = raw[:HEADERS_AT]
    cut = len(body) < body_size
    query, headers, body, head = redacted_pieces(
        query, headers, body, head, reply_names=reply_names_secrets(method, path)
    )
    if not cut:  # a whole body is as long as what redaction left of it, so it still reads as whole
        body_size = len(body)
    # The byte columns as bytearrays: Python 3.11's sqlite3 binds an int, float, str or bytearray
    # as it is, but looks any other value up among its adapters first, which for bytes makes and
    # drops an AttributeError (the protocol's ``__adapt__``), some 3,000 instructions a value; the
    # copy of a row's 2 KB costs a few hundred. Both drivers store a bytearray as they store bytes.
    return {
        "at": at,
        "method": _text(method, _METHOD_WIDTH),
        "path": _text(path),
        "query": bytearray(query),
        "headers": bytearray(_encoded_headers(headers)),
        "body": bytearray(body),
        "body_size": body_size,
        "status": status,
        "reply_head": bytearray(head),
        "latency": latency,
        "request_id": _text(request_id, _REQUEST_ID_WIDTH),
        "fault": None if fault is None else _text(fault, _FAULT_WIDTH),
        "app": None if app is None or "\x00" in app else app[:_APP_WIDTH],  # no client id holds a NUL
    }


def _entry(row: tuple[Any, ...]) -> Entry:
    """An entry from a store row (``controlplane.JOURNAL_COLUMNS``)."""
    (seq, at, method, path, query, headers, body, size, status, head, latency, request_id, fault, app) = row
    e = Entry(
        seq,
        at,
        method,
        path,
        query,
        decode_headers(headers),
        body,
        size,
        status,
        head,
        latency,
        request_id,
        fault,
    )
    return e.knowing_app(app)


class _Batch:
    """Calls taken from the ring buffer, redacted, on their way into the store."""

    __slots__ = ("alone", "dropped", "generation", "rows", "tries")

    def __init__(
        self, rows: list[dict[str, Any]], dropped: int, generation: int | None, *, alone: bool = False
    ) -> None:
        self.rows = rows
        self.dropped = dropped
        self.generation = generation
        #: Failed moves of it: its own write refused, or its writers' group not committed.
        self.tries = 0
        #: Part of a write the store refused: written in a write of its own, not with others.
        self.alone = alone

    def halves(self) -> list[_Batch]:
        """Its rows (two or more) in two batches, each written alone."""
        half = (len(self.rows) + 1) // 2
        parts = [_Batch(self.rows[:half], self.dropped, self.generation, alone=True)]
        if half < len(self.rows):
            parts.append(_Batch(self.rows[half:], 0, self.generation, alone=True))
        for part in parts:
            part.tries = self.tries
        return parts


class SharedJournal:
    """This process's ring buffer (``local``) in front of the store's journal table."""

    def __init__(
        self,
        local: Journal,
        store: Callable[[], Store],
        identify: Callable[[RawCall], str | None],
        writes: Callable[[], GroupWriter],
    ) -> None:
        self.local = local
        self._store = store
        #: Names a call's app from its credentials (on the loop thread: it reads the process cache).
        self._identify = identify
        self._writes = writes
        self._generation: int | None = None
        self._lock = threading.Lock()  # one move at a time, so calls reach the store in order
        #: Batches taken from the ring buffer, redacted, not yet in the store.
        self._pending: deque[_Batch] = deque()
        #: Batches the move's job (:meth:`move_in`) wrote, its group not yet committed: put back in
        #: front of ``_pending`` if the group fails (:meth:`_settle`).
        self._written: list[_Batch] = []
        self._made: dict[int, Entry] = {}
        #: The background move's job (:meth:`move_in`), done once its writers' group has committed.
        self._moving: Future[Any] | None = None
        self._task = BackgroundTask("openroster-journal", self._run)

    @property
    def size(self) -> int:
        return self.local.size

    @property
    def enabled(self) -> bool:
        return self.local.enabled

    @property
    def body_max(self) -> int:
        return self.local.body_max

    # -- moving calls into the store ---------------------------------------------------------

    def learn(self, tx: ReadTx, key: str | None) -> None:
        """A change-log watcher: the journal may have been emptied; calls recorded before this
        process knew of it are dropped. (On the loop thread, without the lock: a move under way
        has read the generation it records under before it took its calls.)"""
        if key not in (None, JOURNAL):
            return
        generation = tx.control.journal_generation()
        known = self._generation
        if known is not None and generation > known:
            self.local.clear()
        self._generation = generation if known is None else max(known, generation)

    def take(self, limit: int | None = None) -> int:
        """Take the calls recorded so far (``limit`` of them at most) from the ring buffer, name
        their apps and redact them, ready to move (on the loop thread); returns how many."""
        known = self._generation
        taken, dropped = self.local.take(limit)
        if not taken and not dropped:
            return 0
        rows = []
        identify = self._identify
        for raw in taken:
            headers = recorded_headers(raw)
            rows.append(_row(raw, headers, identify(RawCall(raw[2], raw[3], raw[4], headers, raw[5]))))
        with self._lock:
            self._pending.append(_Batch(rows, dropped, known))
            self._bound()
        return len(taken)

    def _bound(self) -> None:
        """Keep at most the journal's size of calls taken and not moved (a store that fails every
        write would let them pile up, a slice every :data:`FLUSH_EVERY`): the oldest go, counted
        as dropped as the ring buffer counts those it drops (under the lock)."""
        pending = self._pending
        over = sum(len(b.rows) for b in pending) - self.local.size
        while over > 0:
            oldest = pending[0]
            cut = min(over, len(oldest.rows))
            del oldest.rows[:cut]
            oldest.dropped += cut
            over -= cut
            if not oldest.rows and len(pending) > 1:  # its count goes with the next (if it counts)
                pending.popleft()
                if pending[0].generation == oldest.generation:
                    pending[0].dropped += oldest.dropped

    def move(self) -> None:
        """Write the batches taken so far into the store, oldest first, in a transaction of their
        own (from any thread)."""
        with self._lock:
            self._move(None)

    def move_in(self, tx: WriteTx) -> None:
        """:meth:`move` as a job of the store's writers, in ``tx``. A move under way elsewhere (its
        own transaction waiting for the one ``tx`` belongs to) leaves this one nothing to do."""
        if self._lock.acquire(blocking=False):
            try:
                self._move(tx)
            finally:
                self._lock.release()

    def _settle(self) -> None:
        """Once the group of the last move's job is over: forget what it wrote if it committed;
        else put those batches back in front of the others, in order (under the lock)."""
        moving = self._moving
        if not self._written or moving is None or not moving.done():
            return
        written, self._written = self._written, []
        if moving.cancelled() or moving.exception() is not None:
            self._put_back(written)

    def _put_back(self, batches: list[_Batch], *, tried: bool = True) -> None:
        """Put ``batches`` (in order) back in front of the others: a move of them failed
        (``tried``; else only rolled back with a write that did). One that failed
        :data:`MOVE_TRIES` times is dropped, counted as dropped (under the lock)."""
        pending = self._pending
        for batch in reversed(batches):
            batch.tries += tried
            if batch.tries < MOVE_TRIES:
                pending.appendleft(batch)
                continue
            log.error("the journal lost %d calls: %d moves of them failed", len(batch.rows), batch.tries)
            lost = len(batch.rows) + batch.dropped
            if pending and pending[0].generation == batch.generation:
                pending[0].dropped += lost
            else:  # counted by a write of no calls
                pending.appendleft(_Batch([], lost, batch.generation))

    @staticmethod
    def _refused(group: list[_Batch], exc: Exception) -> list[_Batch] | None:
        """The batches a write of ``group`` that failed with ``exc`` goes back as: the store
        refusing one of its calls (neither a deadlock to run again nor a lost connection), a
        write of several batches, or of a batch of several calls, is split (its batches, or its
        halves, each written alone, a failure not counted), so only the refused call runs out of
        tries and the others are stored. None: not split, a try of each."""
        if retryable(exc) or lost_connection(exc) or sum(len(b.rows) for b in group) < 2:
            return None
        if len(group) > 1:
            for batch in group:
                batch.alone = True
            return group
        return group[0].halves()

    def _group(self) -> list[_Batch]:
        """The batches at the front of ``_pending`` recorded under one generation (one write)."""
        first = self._pending[0]
        group = [first]
        if first.alone:
            return group
        for batch in itertools.islice(self._pending, 1, None):
            if batch.generation != first.generation or batch.alone:
                break
            group.append(batch)
        return group

    def _move(self, tx: WriteTx | None) -> None:
        self._settle()
        while self._pending:
            # The consecutive batches of one generation in one write: its statements (the
            # generation's lock, the insert, the trim) once for the move, not once a slice.
            group = self._group()
            for _ in group:
                self._pending.popleft()
            known = group[0].generation
            rows = group[0].rows if len(group) == 1 else [row for batch in group for row in batch.rows]
            try:
                with contextlib.nullcontext(tx) if tx is not None else self._store().write() as w:
                    if known is None:
                        known = w.control.journal_generation()
                    current = w.control.append_journal(
                        rows, keep=self.local.size, generation=known, dropped=sum(b.dropped for b in group)
                    )
            except Exception as exc:
                # Nothing of this move is in the store: a job's savepoint takes back what it wrote
                # before too (batches of an earlier generation, or a refused write's parts written
                # alone). Its batches go back in front, in order, and the job's re-run (after a
                # deadlock) or the next move starts from them: the failed write's counted as a
                # try (or split, :meth:`_refused`), those written before not (they were not
                # refused). (A move in a transaction of its own leaves those of a job's group
                # alone: that group may still commit.)
                parts = self._refused(group, exc)
                self._put_back(group if parts is None else parts, tried=parts is None)
                if tx is not None:
                    written, self._written = self._written, []
                    self._put_back(written, tried=False)
                raise
            if tx is not None:  # in the store once the job's group commits (:meth:`_settle`)
                self._written.extend(group)
            # On a mismatch the batch was recorded before the journal was emptied, and is gone.
            self._generation = max(self._generation or 0, current)

    def flush(self) -> None:
        """Move the calls recorded so far into the store (on the loop thread), and wait for the
        commit of the background move under way: its job took its calls out of the process, so
        until its group commits they are in neither the process nor the table. A read after this
        finds every call the process recorded before it."""
        self.take()
        moving = self._moving
        if moving is not None:
            try:
                moving.result(timeout=MOVE_WAIT)
            except TimeoutError:
                log.warning("the journal's move did not commit within %g s; reading without it", MOVE_WAIT)
            except Exception:  # its failure is the mover's to log (its calls are put back: _settle)
                log.debug("the journal's move under way failed", exc_info=True)
        self.move()

    def start(self) -> None:
        """Move calls into the store in the background of the running loop until :meth:`stop`.

        First the journal's generation is read from the store, before this process records a
        call: a call is then always tagged with the generation it was made in, and one made before
        another process empties the journal never reaches it. (Unknown, the generation was read
        at the first move, after the emptying, and such calls went in.)"""
        if self.enabled:
            with self._store().read() as tx:
                self._generation = max(self._generation or 0, tx.control.journal_generation())
            self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
        with contextlib.suppress(Exception):  # what was recorded last (the store may be gone)
            self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            if len(self.local) or self._pending:  # new calls, or a failed move's put back
                try:
                    left = len(self.local)
                    while left > 0:  # in slices, the loop free between them
                        taken = self.take(min(left, TAKE_SLICE))
                        if not taken:
                            break
                        left -= taken
                        await asyncio.sleep(0)
                    # ``submit``, not ``run``: its future is settled by the writer's thread once
                    # the group has committed, without the loop, so a read on the loop
                    # (:meth:`flush`) can block on it.
                    moving = self._moving = self._writes().submit(self.move_in)
                    try:
                        await asyncio.wrap_future(moving)
                    finally:
                        with self._lock:
                            self._settle()
                except Exception:
                    log.exception("moving the journal into the store failed; trying again")

    # -- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        self.flush()
        with self._store().read() as tx:
            return tx.control.journal_count()

    @property
    def dropped(self) -> int:
        """Calls dropped to make room since the journal was last emptied (every process's)."""
        with self._store().read() as tx:
            return tx.control.journal_dropped()

    def newest_first(self) -> Iterator[Entry]:
        """Every process's calls from the newest back, read in batches as they are reached (this
        process's own are moved into the store first)."""
        self.flush()
        made = self._made
        before: int | None = None
        while True:
            with self._store().read() as tx:
                rows = tx.control.journal_rows(after=None, before=before, limit=_READ_BATCH)
            for row in rows:
                e = made.get(row[0])
                if e is None:
                    e = made[row[0]] = _entry(row)
                yield e
            if len(rows) < _READ_BATCH:
                break
            before = rows[-1][0]
        if len(made) > 2 * max(self.size, _READ_BATCH):  # forget entries the table no longer holds
            self._made = {}

    def entries(self) -> list[Entry]:
        out = list(self.newest_first())
        out.reverse()
        return out

    def clear(self) -> int:
        """Empty the journal of every process; returns how many calls went (with those a move
        under way had taken out of the process: it is waited for first, as a read waits)."""
        self.flush()
        with self._lock:
            pending = self.local.clear()
            with self._store().write() as tx:
                gone = tx.control.clear_journal()
                tx.changed("", CONTROL_KIND, JOURNAL)
                generation = tx.control.journal_generation()
            self._generation = max(self._generation or 0, generation)
        self._made = {}
        return gone + pending

    def remove(self, keep: Callable[[Entry], bool]) -> int:
        """Drop the calls ``keep`` says no to; returns how many went."""
        doomed = [e.seq for e in self.newest_first() if not keep(e)]
        with self._store().write() as tx:
            return tx.control.delete_journal(doomed)
