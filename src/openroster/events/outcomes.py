"""Attempts' outcomes, written as their attempts end, by jobs of their own or a pass's.

An attempt's outcome (delivered, retrying on the back-off schedule, or dead) is written by a job
of the store's writers in their lane, ahead of request jobs (:meth:`OutcomeWriter.record`): no
pass waits for it and it waits for no claim. A job is queued
:data:`LINGER` seconds after the first outcome it writes ended (under a write load, long enough
for the next pass to carry them: ``pacing.linger``; at once when
:data:`OUTCOME_BATCH` are waiting), one at a time: the outcomes that end meanwhile, or while it
is queued, go with it, and those that end while it commits go in the next, each job one
statement (``outbox.record_outcomes``). A burst of attempts so costs a few commits, not one
each (each a transaction of its own while the writers are idle). A pass of the engine whose job
runs while outcomes wait carries them (:meth:`OutcomeWriter.carry`): it writes them before it
claims, so the events they held up are claimed in the same job, and no job of their own runs.
Each outcome is written only while this engine still holds the delivery's lease, and clears it.
An outcome that cannot be written (the process dies, the queue is full) leaves the lease to run
out: the delivery is sent again (at least once).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from openroster.core.directory import Directory
from openroster.events.backoff import gives_up, retry_delay
from openroster.events.timings import JobTimes, Phase
from openroster.model.changes import ChannelContext, Delivery, DeliveryStatus
from openroster.store import outbox
from openroster.store.tx import WriteTx

log = logging.getLogger(__name__)

#: Seconds an outcome waits for others to be written with (an event held up behind it waits as long).
LINGER = 0.01
#: Outcomes that make a job go at once.
OUTCOME_BATCH = 100
#: Seconds :meth:`OutcomeWriter.drain` waits at most for the last outcomes (the engine's stop).
DRAIN_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One claimed delivery and its subscription's channel context."""

    delivery: Delivery
    ctx: ChannelContext


#: An attempt's outcome: ``(attempt, HTTP status or None, error or None)``.
Sent = tuple[Attempt, int | None, str | None]
#: An outcome waiting to be written, and the future its status goes to once it is committed.
_Waiting = tuple[Sent, "asyncio.Future[DeliveryStatus]"]


@dataclass(slots=True)
class Carried:
    """The outcomes a pass's job took from those waiting, and their statuses once written in it
    (:meth:`OutcomeWriter.carry`; handed back with :meth:`OutcomeWriter.carried_back`)."""

    batch: list[_Waiting] = field(default_factory=list)
    statuses: list[DeliveryStatus] = field(default_factory=list)
    #: ``time.perf_counter()`` when the job took them.
    taken: float = 0.0


def outcome_rows(
    outcomes: Sequence[Sent], now: int, rng: random.Random
) -> tuple[list[outbox.Outcome], list[DeliveryStatus]]:
    """What each attempt came to: delivered, retrying on the back-off schedule, or dead."""
    rows: list[outbox.Outcome] = []
    for attempt, status, error in outcomes:
        d = attempt.delivery
        first = d.first_attempt_at if d.first_attempt_at is not None else now
        attempts = d.attempts + 1
        if error is None:
            outcome, next_at = DeliveryStatus.DELIVERED, d.next_attempt_at
        elif gives_up(first, now):  # a dead one's next_attempt_at: when it died (events/pruning.py)
            outcome, next_at = DeliveryStatus.DEAD, now
        else:
            outcome = DeliveryStatus.RETRYING
            next_at = now + int(retry_delay(attempts, rng) * 1000)
        delivered = now if error is None else None
        rows.append(outbox.Outcome(d.id, outcome, attempts, next_at, first, status, error, delivered))
    return rows, [r.status for r in rows]


class OutcomeWriter:
    """Writes one engine's outcomes (see module); ``written`` is called on the loop after each
    commit of some (an event held up behind one of them may go now)."""

    def __init__(
        self,
        directory: Directory,
        owner: str,
        rng: random.Random,
        timings: JobTimes,
        written: Callable[[], None],
        carried: Phase | None = None,
    ) -> None:
        self.directory = directory
        self.owner = owner
        self.rng = rng
        self.timings = timings
        #: Outcomes carried by passes: per pass that carried some, from its job taking them until
        #: they are back on the loop.
        self.carried = carried or Phase()
        self.written = written
        self._waiting: list[_Waiting] = []
        self._lock = threading.Lock()
        #: A job is out (lingering, queued, running or committing); only the event loop reads or
        #: sets it, and the linger's timer.
        self._out = False
        self._timer: asyncio.TimerHandle | None = None
        #: The last job queued (:meth:`drain` waits for it).
        self._job: asyncio.Future[list[DeliveryStatus]] | None = None
        #: Seconds an outcome waits for others: :data:`LINGER`, or under a write load long enough
        #: for the next pass to carry it (set by the engine: ``pacing.linger``).
        self.linger = LINGER

    def record_in(self, tx: WriteTx, outcomes: Sequence[Sent]) -> list[DeliveryStatus]:
        """Write ``outcomes`` in ``tx`` now (on the directory's clock); their new statuses."""
        rows, statuses = outcome_rows(outcomes, self.directory.now_ms(), self.rng)
        tx.outbox.record_outcomes(self.owner, rows)
        return statuses

    def record(self, sent: Sent) -> asyncio.Future[DeliveryStatus]:
        """Have an attempt's outcome written; the future resolves with its status once committed
        (or with the error that kept it from being written)."""
        done: asyncio.Future[DeliveryStatus] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._waiting.append((sent, done))
            full = len(self._waiting) >= OUTCOME_BATCH
        if not self._out:
            self._out = True
            self._timer = asyncio.get_running_loop().call_later(self.linger, self._submit)
        elif full and self._timer is not None:
            self._timer.cancel()
            self._submit()
        return done

    def carry(self, tx: WriteTx, carried: Carried) -> None:
        """In a pass's job: take the outcomes waiting and write them in ``tx`` (before the pass
        claims: the events they held up may go in the same job). Their futures resolve when
        :meth:`carried_back` is called with ``carried`` after the commit."""
        self._take(carried.batch)
        carried.taken = time.perf_counter()
        if carried.batch:
            carried.statuses = self.record_in(tx, [s for s, _ in carried.batch])

    def carried_back(self, carried: Carried, error: BaseException | None = None) -> None:
        """On the loop, once the pass's job that carried them committed (or failed with ``error``:
        its savepoint took the outcomes with it, so they wait again, for the next pass or a job of
        their own, rather than for their leases to run out; unless the engine is being stopped).
        A linger that was running for the outcomes it carried starts again for those that ended
        since, or ends: else it would queue a job for them before the next pass could carry them."""
        if not carried.batch:
            return
        self.carried.add(time.perf_counter() - carried.taken)
        if error is not None and not isinstance(error, asyncio.CancelledError):
            with self._lock:
                self._waiting[:0] = carried.batch
            if not self._out:
                self._out = True
                self._submit()
            return
        self._done(carried.batch, carried.statuses, error)
        if self._timer is not None:  # lingering for those it carried: again, for those since
            self._timer.cancel()
            self._timer = None
            with self._lock:
                waiting = bool(self._waiting)
            if waiting:
                self._timer = asyncio.get_running_loop().call_later(self.linger, self._submit)
            else:
                self._out = False

    async def drain(self) -> None:
        """Write the outcomes waiting now and wait for the job out (the engine's stop: else a
        lingering round's outcomes would wait for their leases to run out and be sent again);
        at most :data:`DRAIN_TIMEOUT` seconds."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while time.monotonic() < deadline:
            if self._timer is not None:
                self._timer.cancel()
                self._submit()
            job = self._job
            if job is None or job.done():
                return
            await asyncio.wait([job], timeout=deadline - time.monotonic())

    def _submit(self) -> None:
        """Queue the job that writes the waiting outcomes (those that end until it runs too);
        none when a pass has carried them all meanwhile."""
        self._timer = None
        with self._lock:
            if not self._waiting:
                self._out = False
                return
        batch: list[_Waiting] = []

        def job(tx: WriteTx) -> list[DeliveryStatus]:
            self._take(batch)
            return self.record_in(tx, [s for s, _ in batch])

        timed, back = self.timings.timed(job)
        awaited: asyncio.Future[list[DeliveryStatus]] = asyncio.get_running_loop().create_future()
        try:
            self.directory.writes.submit(timed, first=True, awaited=awaited)
        except Exception as exc:  # the writers' queue is full: the leases run out, sent again
            self._out = False
            self._take(batch)
            _settle(batch, None, exc)
            return
        self._job = awaited

        def committed(f: asyncio.Future[list[DeliveryStatus]]) -> None:
            back()
            self._back(batch, f)
            if not self._waiting:
                self._out = False
            elif len(self._waiting) >= OUTCOME_BATCH:
                self._submit()
            else:
                self._timer = asyncio.get_running_loop().call_later(self.linger, self._submit)

        awaited.add_done_callback(committed)

    def _take(self, batch: list[_Waiting]) -> None:
        """Move every waiting outcome into ``batch`` (the job about to write them)."""
        with self._lock:
            batch.extend(self._waiting)
            self._waiting.clear()

    def _back(self, batch: list[_Waiting], written: asyncio.Future[list[DeliveryStatus]]) -> None:
        if written.cancelled():
            self._done(batch, [], asyncio.CancelledError())
        else:
            exc = written.exception()
            self._done(batch, [] if exc is not None else written.result(), exc)

    def _done(
        self, batch: list[_Waiting], statuses: list[DeliveryStatus], error: BaseException | None
    ) -> None:
        """Hand a batch its outcome: their statuses once committed, or the error that kept them
        from being written."""
        if error is not None:
            _settle(batch, None, error)
            return
        for ((attempt, _, failed), _), outcome in zip(batch, statuses, strict=True):
            if failed is not None:
                d = attempt.delivery
                log.info("delivery %s (%s) failed, %s: %s", d.id, d.event_id, outcome.value, failed)
        _settle(batch, statuses, None)
        self.written()


def _settle(
    batch: Sequence[_Waiting], statuses: Sequence[DeliveryStatus] | None, error: BaseException | None
) -> None:
    """Resolve the futures of a batch of outcomes: with their statuses, or with ``error``."""
    for i, (_, future) in enumerate(batch):
        if future.done():  # its attempt was stopped meanwhile
            continue
        if statuses is not None:
            future.set_result(statuses[i])
        else:
            future.set_exception(error or RuntimeError("the outcome was not written"))
