"""The store's writers: write jobs from a FIFO queue, committed in groups, and the event engine's
jobs in a lane ahead of it, in groups of their own.

A *job* is a function of a :class:`WriteTx`. :meth:`GroupWriter.submit` queues it and returns a
``concurrent.futures.Future``; the server's event loop awaits it and never runs a write
transaction itself.

- **Writers.** SQLite has one writer thread per process (it owns the write connection while it
  writes); PostgreSQL a small pool of them, one connection each (``threads``). They start on the
  first job and stop at :meth:`GroupWriter.close`.
- **Groups.** A writer that becomes free takes every job queued (up to ``GROUP_MAX_JOBS`` jobs and
  ``GROUP_MAX_WEIGHT`` of weight, e.g. request bytes) and runs them in one transaction
  (``Store.write``), each inside its own ``SAVEPOINT``. A job that raises rolls back to its
  savepoint, so it changes nothing, and gets its own error; the others go on (unless it lost the
  group's connection: then nothing commits and every job gets that loss). After the last job
  the transaction publishes the group's change log and change records and commits once; only
  then are the futures resolved. An acknowledged write is therefore committed (and survives
  kill -9 on both backends). The store wakes its record listeners after that single commit.
- **Fairness.** Request jobs wait in one queue, taken in arrival order whatever the connection or
  app. The event engine's short jobs (``submit(first=True)``) wait in a **lane** of their own: a
  free writer takes every job in the lane, as a group of their own (never mixed with request
  jobs), before it forms the next request group. So an engine job waits for no request job
  queued before it, and its commit for none run beside it. The queue and the lane hold at most
  ``max_queue`` jobs together; past that :meth:`submit` raises
  :class:`~openroster.model.errors.Busy`.
- **One group at a time** (PostgreSQL): a request group takes the change counter's row lock before
  anything else (``Store.write``: it goes with the group's first statement, in one round trip;
  every write takes it to publish anyway), so groups of several writer threads,
  or of several server processes, never run side by side: two groups locking rows in opposite
  orders would deadlock (and PostgreSQL finds that only after a second). So a process takes one
  request group at a time: the next is taken when the one before has committed, and holds every
  job queued meanwhile. (Several taken at once, each waiting on the lock for the one before, split
  the queue into smaller groups that ran one after the other all the same, each paying the lock,
  the publish, the ``COMMIT``'s flush and its hand-over to the loop for fewer jobs: at 25 v2/update
  calls in flight, groups of 4 jobs where they are now 8-9, the lock held 20 % longer a job, CPU a
  call 15 % more; docs/write-path.md, "What bounds PostgreSQL's write rate".) A lane group
  publishes nothing (the engine's jobs
  write only the outbox: subscriptions' cursors, deliveries' leases and outcomes, pruning) and
  does not take that lock (``Store.write(serial=False)``): it commits beside the request group
  holding it (a lane job that records a change or a change record is refused with
  :class:`LanePublishError`, its savepoint rolled back). With more than one writer, a free one
  takes the lane's jobs while a request group runs, so a lane job starts at once instead of
  behind it. A job that loses a deadlock anyway
  (against a writer outside the writers: the CLI, the control plane; or a lane group against a
  request group writing the outbox) rolls back to its savepoint and runs again after its group
  commits, alone in a transaction of its own (a few times at most).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openroster.model.errors import Busy
from openroster.store.sql import HeldFailed
from openroster.store.tx import WriteTx

if TYPE_CHECKING:
    from openroster.store.base import Store

log = logging.getLogger("openroster")

#: A job: what runs inside the group's transaction (in its own savepoint).
Job = Callable[[WriteTx], Any]


@dataclass(frozen=True, slots=True)
class Published:
    """What a group's commit published: its change counter value, its change-log entries
    ``(tenant_id, kind, key)`` as written, and a ``time.monotonic()`` instant before it took the
    store's write lock, once its transaction had begun (every commit before that instant has a
    smaller counter value: it bumped the counter before this group could)."""

    seq: int
    entries: list[tuple[str, str, str]]
    locked_at: float


#: Called on the event loop with what a group published, before its jobs' futures resolve.
OnPublished = Callable[[Published], None]

#: The writer threads' names: ``openroster-writer-<n>``.
THREAD_NAME = "openroster-writer"
#: Jobs one transaction takes at most, and their weight (request bytes) at most.
GROUP_MAX_JOBS = 64
GROUP_MAX_WEIGHT = 4 * 1024 * 1024
#: Jobs the queue holds before :meth:`GroupWriter.submit` answers busy.
QUEUE_MAX = 4096
#: Times a job a deadlock picked as its victim runs again, alone.
RETRIES = 3
#: PostgreSQL's SQLSTATEs of a transaction that lost a deadlock or a serialization race.
_RETRYABLE = frozenset({"40P01", "40001"})


@dataclass(slots=True)
class _Queued:
    job: Job
    future: Future[Any]
    weight: int
    tries: int = field(default=0)
    #: The event loop's future of :meth:`GroupWriter.run` (resolved on that loop), if any.
    awaited: asyncio.Future[Any] | None = None
    #: An engine job of the lane (``submit(first=True)``): it runs in lane groups only.
    lane: bool = False


class GroupWriter:
    """The writers of one store (see module)."""

    def __init__(
        self,
        store: Store,
        *,
        threads: int = 1,
        max_queue: int = QUEUE_MAX,
        now_ms: Callable[[], int] | None = None,
        on_published: OnPublished | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError(f"a store needs at least one writer thread, not {threads}")
        self.store = store
        self.threads = threads
        self.max_queue = max_queue
        self._now_ms = now_ms
        #: Hands each group's change-log entries to the loop that awaits its jobs (the process
        #: cache applies them there instead of reading them back: ``DirectoryCache.apply``).
        self._on_published = on_published
        self._queue: deque[_Queued] = deque()
        #: The engine's jobs (``submit(first=True)``), taken before the queue, in groups of their own.
        self._lane: deque[_Queued] = deque()
        #: Request groups taken and not yet committed: one at a time (see module).
        self._requests_out = 0
        #: The last group taken was the lane's: a request group waiting goes next (the two take
        #: turns, so engine jobs that keep coming, a prune's steps or a backlog's passes, hold a
        #: request back by one lane group at the most).
        self._lane_had_turn = False
        self._ready = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._closing = False

    # -- the event loop's side --------------------------------------------------------------

    def submit(
        self, job: Job, *, weight: int = 0, awaited: asyncio.Future[Any] | None = None, first: bool = False
    ) -> Future[Any]:
        """Queue ``job``; its future resolves after the commit of its group (or with its error).
        With ``awaited`` (see :meth:`run`) the outcome goes to that future instead, on its loop.
        ``first``: in the lane, so it runs in a group of its own before the next request group (the
        event engine's short jobs, which would otherwise wait behind every write queued while the
        server is busy). A lane job must not publish changes (it does not take the change counter's
        lock on PostgreSQL: see module): one that records some is refused with
        :class:`LanePublishError` and changes nothing."""
        future: Future[Any] = Future()
        with self._ready:
            if len(self._queue) + len(self._lane) >= self.max_queue:
                raise Busy("the server is busy writing: try again in a moment", retry_after=1.0)
            if not self._workers:
                self._start()
            queued = _Queued(job, future, weight, awaited=awaited, lane=first)
            (self._lane if first else self._queue).append(queued)
            self._ready.notify()
        return future

    async def run(self, job: Job, *, weight: int = 0) -> Any:
        """:meth:`submit` ``job`` and await it on the running loop. The futures of a group's jobs
        are resolved with one call into the loop for the whole group (a call into the loop from
        the writer wakes it with a system call, and takes the interpreter lock back after)."""
        loop = asyncio.get_running_loop()
        awaited: asyncio.Future[Any] = loop.create_future()
        future = self.submit(job, weight=weight, awaited=awaited)
        awaited.add_done_callback(lambda f: future.cancel() if f.cancelled() else None)
        return await awaited

    def close(self) -> None:
        """Run what is queued, then stop the writers (the next :meth:`submit` starts them again)."""
        with self._ready:
            workers, self._closing = self._workers, True
            self._ready.notify_all()
        for w in workers:
            w.join()
        with self._ready:
            self._workers, self._closing = [], False

    @property
    def queued(self) -> int:
        """Jobs waiting for a writer (the lane's included)."""
        return len(self._queue) + len(self._lane)

    # -- the writers' side ------------------------------------------------------------------

    def _start(self) -> None:
        self._workers = [
            threading.Thread(target=self._run, name=f"{THREAD_NAME}-{i}", daemon=True)
            for i in range(self.threads)
        ]
        for w in self._workers:
            w.start()

    def _take(self) -> tuple[list[_Queued], bool] | None:
        """The next group and whether it is the lane's: the lane's jobs if any wait (unless the last
        group was the lane's and a request group waits: they take turns), else request jobs in
        arrival order when no request group is out (None: closing and nothing left)."""
        with self._ready:
            while True:
                requests = bool(self._queue) and not self._requests_out
                if self._lane and not (requests and self._lane_had_turn):
                    self._lane_had_turn = True
                    return _group_of(self._lane), True
                if requests:
                    self._lane_had_turn = False
                    self._requests_out += 1
                    return _group_of(self._queue), False
                if self._closing and not self._queue:
                    return None
                self._ready.wait()

    def _run(self) -> None:
        while (taken := self._take()) is not None:
            group, lane = taken
            try:
                if group:
                    self._commit(group)
            finally:
                if not lane:
                    with self._ready:
                        self._requests_out -= 1
                        # Every waiting writer: several may wait for this slot (one request group
                        # at a time), and closing needs each of them to see the queue empty.
                        self._ready.notify_all()

    def _commit(self, group: list[_Queued]) -> None:
        """Run ``group`` in one transaction, a savepoint each; resolve the futures after the commit.
        A lane group's transaction does not take the change counter's lock (see module)."""
        outcomes: list[tuple[_Queued, bool, Any]] = []
        again: list[_Queued] = []
        try:
            # Store.write takes the store's write lock before anything else (PostgreSQL: the change
            # counter's row, with the first statement, unless the group is the lane's; SQLite:
            # BEGIN IMMEDIATE).
            with self.store.write(now_ms=self._now_ms, serial=not group[0].lane) as tx:
                locked_at = time.monotonic()
                _group.open = True
                try:
                    for q in group:
                        try:
                            with tx.savepoint():
                                outcomes.append((q, True, _run_job(q, tx)))
                        except HeldFailed:
                            # Not the job's: the group's lock failed (Store.write raises its own
                            # error, for every job of the group, below).
                            raise
                        except BaseException as exc:  # the job's own error, handed to its caller
                            if tx.conn.invalidated:
                                # The group's connection is lost: nothing of it commits, and every
                                # job gets the loss (below), not the "invalid transaction" its
                                # savepoint's rollback raised after it.
                                raise _the_loss(exc) from None
                            if retryable(exc) and q.tries < RETRIES:
                                again.append(q)
                            else:
                                outcomes.append((q, False, exc))
                finally:
                    _group.open = False
        except BaseException as exc:  # the commit failed: nothing of it is acknowledged
            _settle([(q, False, exc) for q in group])
            return
        published = tx.published
        if published is not None and self._on_published is not None:
            _settle(outcomes, (self._on_published, Published(*published, locked_at)))
        else:
            _settle(outcomes)
        for q in again:
            q.tries += 1
            self._commit([q])


class LanePublishError(RuntimeError):
    """An engine job of the lane (``submit(first=True)``) recorded changes to publish: a lane group
    publishes none (it commits beside the request group holding the change counter's lock, see
    module). The job changes nothing (its savepoint is rolled back) and gets this error."""


def _run_job(q: _Queued, tx: WriteTx) -> Any:
    """Run ``q``'s job in ``tx`` (inside its savepoint); a lane job that recorded changes to
    publish is refused (:class:`LanePublishError`), so its savepoint takes them back."""
    result = q.job(tx)
    if q.lane and tx.publishes:
        raise LanePublishError(
            "an engine job (submit(first=True)) recorded changes to publish: the writers' lane "
            "publishes none; submit it as a request job"
        )
    return result


def _group_of(queue: deque[_Queued]) -> list[_Queued]:
    """Take the next group off ``queue``: up to ``GROUP_MAX_JOBS`` jobs and ``GROUP_MAX_WEIGHT``,
    in order, skipping the jobs whose caller went away (the lock of the queue held)."""
    group: list[_Queued] = []
    weight = 0
    while queue and len(group) < GROUP_MAX_JOBS:
        nxt = queue[0]
        if group and weight + nxt.weight > GROUP_MAX_WEIGHT:
            break
        queue.popleft()
        if nxt.future.set_running_or_notify_cancel():  # its caller went away: skip it
            group.append(nxt)
            weight += nxt.weight
    return group


def _settle(
    outcomes: list[tuple[_Queued, bool, Any]], published: tuple[OnPublished, Published] | None = None
) -> None:
    """Hand each job its outcome: one call into each loop for all the jobs awaited there (with
    what the group published, handed to ``published``'s callback there first)."""
    loops: dict[asyncio.AbstractEventLoop, list[tuple[_Queued, bool, Any]]] = {}
    for outcome in outcomes:
        q, ok, value = outcome
        if q.awaited is not None:
            loops.setdefault(q.awaited.get_loop(), []).append(outcome)
        elif q.future.done():  # cancelled before it ran
            continue
        elif ok:
            q.future.set_result(value)
        else:
            q.future.set_exception(value)
    for loop, some in loops.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody awaits these any more
            loop.call_soon_threadsafe(_settle_awaited, some, published)


def _settle_awaited(
    outcomes: list[tuple[_Queued, bool, Any]], published: tuple[OnPublished, Published] | None
) -> None:
    """On the loop: hand over what the group published, then resolve the awaited futures of
    :func:`_settle` (a reply rendered after it reads a cache that holds the group's changes)."""
    if published is not None:
        on_published, what = published
        try:
            on_published(what)
        except Exception:  # the cache reads the change log at its next sync instead
            log.exception("applying a write group's changes to the cache failed")
    for q, ok, value in outcomes:
        awaited = q.awaited
        if awaited is None or awaited.done():  # its caller went away meanwhile
            continue
        if ok:
            awaited.set_result(value)
        else:
            awaited.set_exception(value)


#: Whether this thread is running a group's jobs (see :func:`in_group`).
_group = threading.local()


def in_group() -> bool:
    """Whether the current thread runs a group's jobs: a write transaction opened there beside the
    group's would wait for the group's own lock, for ever (``Store.write`` refuses it)."""
    return bool(getattr(_group, "open", False))


def _the_loss(exc: BaseException) -> BaseException:
    """The error that lost a connection (SQLAlchemy's, ``connection_invalidated``) among ``exc`` and
    the errors it was raised after; ``exc`` if none."""
    seen: BaseException | None = exc
    looked: set[int] = set()
    while seen is not None and id(seen) not in looked:
        if getattr(seen, "connection_invalidated", False):
            return seen
        looked.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return exc


def lost_connection(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised after, lost its connection."""
    return bool(getattr(_the_loss(exc), "connection_invalidated", False))


def retryable(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL giving up on a job to break a deadlock (or a serialization race)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in _RETRYABLE
