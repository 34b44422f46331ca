"""Pruning the outbox and the change records, so that neither grows without bound
(docs/events.md, "Retention").

The engine (``events/engine.py``) runs :meth:`Pruner.prune_async` every minute: one writers' job
after another, each at the head of their queue, each removing at most ``step`` rows of each kind,
with the event loop free between two. Times are on the directory's clock (the control plane's
clock moves them in tests). A job:

- deletes the deliveries delivered more than ``--events-retention`` days ago, and the ``dead``
  ones that died more than ``--events-dead-retention`` days ago (until then a replay re-sends
  them);
- moves on the cursor of every subscription that lags behind change records committed more than
  ``--events-retention`` days ago (a paused subscription, or one whose events cannot be rendered;
  an active one fans out within a pass, so the bound is never under :data:`RECORDS_KEPT_MIN_MS`):
  whole transactions, only the oldest run of them, and the subscription counts them in
  ``missed`` and ``missed_until``. On resume it fans out what is still kept, in commit order, from
  its moved cursor: nothing waits for the records it missed;
- deletes the change records every subscription of their tenant has fanned out or skipped (all of
  a tenant without subscriptions).

Several processes may prune at once: the cursor moves with a compare-and-set (as the fan-out's),
and a delete finds what another one deleted gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol, TypeVar

from openroster.core.directory import Directory
from openroster.store.tx import WriteTx

T = TypeVar("T")

#: Rows of each kind (deliveries, records skipped per subscription, records) per writers' job.
PRUNE_STEP = 2000
DAY_MS = 86_400_000
#: A change record not yet fanned out is kept at least this long, whatever the retention: an
#: active subscription fans it out within a pass, and must not miss it to a short retention.
RECORDS_KEPT_MIN_MS = 60_000


class Writes(Protocol):
    """Where the pruner's jobs run: the engine's writers' jobs at the head of the queue."""

    directory: Directory

    def write(self, job: Callable[[WriteTx], T]) -> T: ...

    async def write_async(self, job: Callable[[WriteTx], T]) -> T: ...


@dataclass(frozen=True, slots=True)
class Pruned:
    """What pruning removed: ``deliveries`` (delivered or dead), change ``records``, and how many
    records subscriptions ``missed`` (skipped before they fanned them out)."""

    deliveries: int = 0
    records: int = 0
    missed: int = 0

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(
            self.deliveries + other.deliveries, self.records + other.records, self.missed + other.missed
        )


@dataclass(frozen=True, slots=True)
class PruneStep:
    """One job's work, and whether there may be more: it took a whole step of deliveries or
    records, or moved a subscription's cursor (the next job looks again)."""

    pruned: Pruned
    more: bool


class Pruner:
    """Prunes one store's outbox and change records (see the module)."""

    def __init__(
        self, writes: Writes, *, retention_days: float, dead_retention_days: float, step: int = PRUNE_STEP
    ) -> None:
        self.writes = writes
        #: How long delivered deliveries are kept, and change records for a lagging subscription.
        self.retention_ms = int(retention_days * DAY_MS)
        #: How long dead deliveries are kept (from their last attempt).
        self.dead_retention_ms = int(dead_retention_days * DAY_MS)
        self.step = step

    def prune(self) -> Pruned:
        """Prune until a job finds less than a step of every kind (waiting: not on the event loop)."""
        done, job = Pruned(), self.job_of_now()
        while True:
            step = self.writes.write(job)
            done += step.pruned
            if not step.more:
                return done

    async def prune_async(self) -> Pruned:
        """:meth:`prune` on the event loop, the loop free between two jobs."""
        done, job = Pruned(), self.job_of_now()
        while True:
            step = await self.writes.write_async(job)
            done += step.pruned
            if not step.more:
                return done
            await asyncio.sleep(0)

    def job_of_now(self) -> Callable[[WriteTx], PruneStep]:
        """The jobs of one prune: their times are taken now, on the directory's clock, so that what
        ages past them meanwhile waits for the next prune (a prune ends)."""
        return partial(self.job, now=self.writes.directory.now_ms())

    def job(self, tx: WriteTx, *, now: int) -> PruneStep:
        """One step of each kind, of what is older than the retentions at ``now`` (unix ms)."""
        n = self.step
        deliveries = tx.outbox.prune_finished(
            delivered_before=now - self.retention_ms, dead_before=now - self.dead_retention_ms, step=n
        )
        records_before = now - max(self.retention_ms, RECORDS_KEPT_MIN_MS)
        missed, more = 0, deliveries >= n
        # One query finds the subscriptions lagging past the retention (usually none).
        for sub_id, tenant_id, cursor in tx.outbox.lagging(records_before):
            run = tx.changes.expired_after(tenant_id, cursor, records_before, n)
            if run is not None and tx.outbox.skip_records(
                sub_id, expect=cursor, seq=run.last_seq, missed=run.count, missed_until=run.newest_at
            ):
                missed += run.count
                more = True
        records = tx.changes.prune_records(tx.changes.current_seq(), n)
        return PruneStep(Pruned(deliveries, records, missed), more or records >= n)
