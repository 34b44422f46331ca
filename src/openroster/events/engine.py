"""The delivery engine: change records → deliveries (fan-out) → HTTP attempts → outcomes.

- **Fan-out** (:meth:`EventEngine.fan_out`, and each pass of :meth:`EventEngine.step`): for each
  active subscription with change records after its ``cursor_seq``, a read renders a batch of
  them with its channel (sealing included); then one write transaction advances each cursor with
  one compare-and-set (only while it is still where the read found it, else the batch is dropped
  and rendered again) and inserts the deliveries of every batch so stored in one statement. The
  row's lock, held to the commit, is the fan-out lease: a crash before the commit leaves the
  cursor where it was (the records are rendered again).
- **Delivery** (:meth:`EventEngine.step`, :meth:`EventEngine.flush`): a delivery is due when it
  is pending or retrying, its ``next_attempt_at`` has come on the directory's clock, nobody holds
  its lease, and no earlier open delivery of its subscription shares an entity key with it (order
  per entity; other entities are not held up, but for those the later event lists too). A pass
  is one short write transaction that fans out and claims what is due with a lease (what it may
  claim: ``events/claims.py``); each claimed delivery is sent (``events/sender.py``, or a pushed
  kind's transport) as soon as that commit is back, in a task of its own, and its outcome is
  written when it ends, by a job of its own (``events/outcomes.py``) or, when a pass's job runs
  first, by that job before it claims: no pass waits for a send or an outcome. A failure is
  retried on the back-off schedule (``events/backoff.py``) and ends ``dead`` 24 h after the first
  attempt.
- **Background** (:meth:`EventEngine.start`): one task per server process, woken right after a
  local commit that wrote change records (``Store.on_records``), by a written outcome when a pass
  found an event held up behind an open one, and polling every ``poll_interval`` seconds for other
  processes' commits. It runs one pass at a time: the commits that wake it while a pass runs, or in
  the gathering window after it (``events/pacing.py``; none after a round that rendered no records
  and left due deliveries out on the caps of attempts under way), are all taken by the next pass.
  Never on the request path: a pass's read and rendering run on the event loop like the server's
  other reads (a thread of its own lost more waiting for the interpreter lock than it saved), and
  its write transaction is a job of the store's writers (``store/writer.py``) in their lane,
  awaited: it runs in a group of engine jobs of its own, ahead of the request jobs queued before
  it, and commits without waiting for them (on PostgreSQL beside the request group holding the
  change counter's lock). The loop never waits for the write lock (SQLite) or the change counter
  (PostgreSQL), which stalled every request while the writers held it. While its last pass found no
  active subscription and nothing open, a commit's records cannot make a delivery: such a wake is
  let go (the poll still looks), so a store without subscriptions pays no pass per write group.
  Subscribing, resuming and replaying wake it (:meth:`EventEngine.wake`).
- **Pruning** (``events/pruning.py``, every :data:`PRUNE_INTERVAL`, in a task of its own beside
  the passes): delivered and dead deliveries past their retentions, and change records every
  subscription has fanned out or, past the retention, skipped (replays re-send retained
  deliveries).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import httpx

from openroster.core.directory import Directory
from openroster.core.runtime.upkeep import BackgroundTask
from openroster.dialects.event_batches import Shared, entity_key
from openroster.events import claims, pacing
from openroster.events.channels import PUSHED, Transport, channel
from openroster.events.claims import CLAIM_BATCH, Room
from openroster.events.outcomes import Attempt, Carried, OutcomeWriter
from openroster.events.pruning import Pruner
from openroster.events.sender import Sender, SendError
from openroster.events.timings import EngineTimings
from openroster.model.changes import (
    ChannelContext,
    Delivery,
    DeliveryStatus,
    RenderedEvent,
    StoredChange,
)
from openroster.store.tx import ReadTx, WriteTx

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Change records rendered per fan-out transaction (a larger transaction is taken whole).
FAN_OUT_BATCH = 1000
#: How long a claim holds a delivery (real time): well past the longest timeout.
LEASE_MS = 30_000
#: Seconds between polls for other processes' commits.
POLL_INTERVAL = 0.5
#: Seconds between prunes.
PRUNE_INTERVAL = 60.0


@dataclass(frozen=True, slots=True)
class Rendered:
    """A subscription's next batch of change records as events, rendered in a read: stored only
    while the subscription's cursor is still ``ctx.subscription.cursor_seq``."""

    ctx: ChannelContext
    events: list[RenderedEvent]
    last_seq: int
    #: A whole batch was taken: the subscription may have more records waiting.
    full: bool


@dataclass(frozen=True, slots=True)
class Step:
    """What one pass's write job did: the deliveries it claimed, and whether there may be more to
    fan out or claim at once (a whole batch of records stored, or a whole batch claimed)."""

    attempts: list[Attempt]
    more: bool


#: A pass that wrote nothing.
_NOTHING = Step([], False)


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class EventEngine:
    """Fans out and delivers one store's events. ``flush`` for tests and the control plane,
    ``start``/``stop`` for the server's background task."""

    def __init__(
        self,
        directory: Directory,
        *,
        retention_days: float = 7.0,
        dead_retention_days: float = 30.0,
        owner: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        poll_interval: float = POLL_INTERVAL,
        lease_ms: int = LEASE_MS,
        transports: Mapping[str, Transport] | None = None,
        gather: float = pacing.GATHER,
    ) -> None:
        self.directory = directory
        #: Prunes the outbox and the change records (``events/pruning.py``).
        self.pruner = Pruner(self, retention_days=retention_days, dead_retention_days=dead_retention_days)
        #: Who holds the leases this engine takes: unique per process and engine.
        self.owner = owner or f"{socket.gethostname()[:40]}:{os.getpid()}:{id(self):x}"
        #: The HTTP transport of a new subscription's URL verification (``events/verification.py``).
        self.transport = transport
        self.rng = rng or random.Random()
        self.poll_interval = poll_interval
        #: The least gathering window; when the last round ended, and the window after it.
        self.gather, self._passed_at, self._window = gather, float("-inf"), gather
        #: How long this engine's claims hold a delivery (real time).
        self.lease_ms = lease_ms
        #: How the events of the :data:`PUSHED` kinds leave this process (Stream mode: the hub).
        self.transports = dict(transports or {})
        #: Where a write's event spends its time here (``events/timings.py``).
        self.timings = EngineTimings()
        self._task = BackgroundTask("openroster-events", self._run)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: The last pass's active subscriptions' channel contexts, by their rows (``store/outbox_read.py``).
        self._known: dict[tuple[object, ...], ChannelContext] = {}
        #: Whether the last pass saw an active subscription (set by :meth:`_render`).
        self._subscribed = True
        #: The last pass found no active subscription and nothing open (see :meth:`_on_records`).
        self._idle = False
        #: Calls of :meth:`wake` so far: a pass woken meanwhile may have missed what it was for.
        self._wakes = 0
        #: A wake-up is on its way to the loop (:meth:`_look`).
        self._waking = False
        #: Whether the last look for due deliveries left some held up behind an earlier open one of
        #: their entity: an outcome written may free them (:meth:`_outcomes_back` wakes the task).
        self._held_up = False
        #: Whether the last look left due deliveries out on the caps of attempts under way
        #: (``events/claims.py``), and whether the round rendered records: a capped round that
        #: rendered none is a backlog, whose next round starts as soon as an attempt ends
        #: (``pacing.window``); under a write load the window holds.
        self._capped = self._rendered = False
        #: Change records the passes rendered since the background task's last round, and the rate
        #: they come at: the gathering window's (``pacing.window``). A record counts once, the first
        #: time a pass renders it (past its tenant's mark in ``_counted``, the last seq counted):
        #: not again for another subscription, a render that failed, a cursor's lost compare-and-set
        #: or a resumed subscription's backlog.
        self.records_rendered, self._rate, self._counted = 0, pacing.Rate(), dict[str, int]()
        #: When a local commit's records woke the task, until a pass starts (``timings.woken``).
        self._woken_at: float | None = None
        #: Attempts under way (sent, or their outcome not yet written), and how many per subscription.
        self._inflight: set[asyncio.Task[DeliveryStatus | None]] = set()
        self._busy: Counter[str] = Counter()
        #: Writes attempts' outcomes as they end (``events/outcomes.py``).
        self.outcomes = OutcomeWriter(
            directory, self.owner, self.rng, self.timings.outcomes, self._outcomes_back, self.timings.carried
        )
        # Unsealing is a pure function of the sealed bytes: once per secret, not once per pass.
        self._unseal_key = functools.lru_cache(maxsize=1024)(self._unseal_uncached)
        self._unseal_app = functools.lru_cache(maxsize=1024)(directory.unseal)

    # -- the store ----------------------------------------------------------------------------

    def write(self, job: Callable[[WriteTx], T]) -> T:
        """Run ``job`` as a job of the store's writers and wait for its group's commit: no fight
        with the requests' writes over the write lock. It goes in the writers' lane, in a group of
        engine jobs of its own ahead of the request jobs: a busy server's backlog of writes would
        otherwise hold every event back. Never on the event loop (it waits): :meth:`write_async`."""
        done: T = self.directory.writes.submit(job, first=True).result()
        return done

    def submit_async(self, job: Callable[[WriteTx], T]) -> asyncio.Future[T]:
        """Queue ``job`` in the writers' lane (:meth:`write`); resolved on the loop after its commit."""
        awaited: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.directory.writes.submit(job, first=True, awaited=awaited)
        return awaited

    async def write_async(self, job: Callable[[WriteTx], T]) -> T:
        """:meth:`write` awaited on the event loop."""
        return await self.submit_async(job)

    def _unseal_uncached(self, sealed: bytes, context: str) -> str:
        return self.directory.master_key.unseal(sealed, context=context)

    def unseal(self, sealed: bytes, context: str) -> str:
        return self._unseal_key(bytes(sealed), context)

    # -- fan-out ----------------------------------------------------------------------------

    def fan_out(self) -> int:
        """Render every active subscription's new change records into deliveries; returns how many.

        Each round renders a batch of every subscription with records waiting, in a read, and
        stores them in one write transaction (one commit however many subscriptions a tenant has),
        until none has any left; a subscription another process fanned out meanwhile, or whose
        events cannot be rendered, is left for a later round."""
        made = 0
        while True:
            with self.directory.store.read() as tx:
                _, rendered = self._render(tx)
            if not rendered:
                return made
            n, went_on = self.write(partial(self._store_rendered, rendered=rendered))
            if not went_on:
                return made
            made += n

    def _render(self, tx: ReadTx) -> tuple[dict[str, ChannelContext], list[Rendered]]:
        """The channel context of every active subscription, and the next batch of records of each
        one that has some, rendered: outside the write, so sealing never holds the writers up."""
        contexts: dict[str, ChannelContext] = {}
        rendered: list[Rendered] = []
        # One statement; a subscription the last pass read the same is not decoded again.
        self._known = tx.outbox.active_contexts(self.unseal, self._unseal_app, self._known)
        # Subscriptions of one tenant at one cursor share the read of its records within a pass ...
        after = functools.cache(lambda tenant, seq: tx.changes.records_after(tenant, seq, FAN_OUT_BATCH))
        # ... and, rendering the same records, their batches and payloads (sealed per subscription).
        memo = functools.cache(lambda tenant, seq: Shared())
        waiting: list[tuple[ChannelContext, list[StoredChange]]] = []
        for ctx in self._known.values():
            sub = ctx.subscription
            contexts[sub.id] = ctx
            changes = after(sub.tenant_id, sub.cursor_seq)
            if not changes:
                continue
            if (mark := self._counted.get(sub.tenant_id, 0)) < changes[-1].seq:
                self.records_rendered += sum(c.seq > mark for c in changes)
                self._counted[sub.tenant_id] = changes[-1].seq
            waiting.append((ctx, changes))
        # One statement: the entities a refusal holds up (an open delivery listing them retrying,
        # or behind a retrying one) go in events of their own, so they hold up no other entity.
        # Read before the write that stores them: a refusal meanwhile is seen by the next pass
        # (what this one merges waits with it, one pass's worth); order per entity is the
        # outbox's whatever this read saw.
        keys = functools.cache(lambda tenant, seq: frozenset(map(entity_key, after(tenant, seq))))
        held = tx.outbox.held_keys(
            {s.id: keys(s.tenant_id, s.cursor_seq) for s in (c.subscription for c, _ in waiting)}
        )
        for ctx, changes in waiting:
            sub = ctx.subscription
            try:
                shared = memo(sub.tenant_id, sub.cursor_seq)
                events = channel(sub.kind).render(ctx, changes, shared, held.get(sub.id, frozenset()))
                rendered.append(Rendered(ctx, events, changes[-1].seq, len(changes) >= FAN_OUT_BATCH))
            except (KeyError, ValueError) as exc:
                log.warning("subscription %s: cannot render its events: %s", sub.id, exc)
        self._subscribed = bool(contexts)
        return contexts, rendered

    def _store_rendered(
        self, tx: WriteTx, rendered: Sequence[Rendered], now: int | None = None
    ) -> tuple[int, set[str]]:
        """Store each rendered batch whose subscription is still active with its cursor where the
        rendering read it, and advance the cursor, with a compare-and-set (the row's lock, held to
        the commit, is the fan-out lease; ``outbox.store_batches``: one statement on PostgreSQL).
        ``(deliveries made, the subscriptions that stored a batch and may have more)``."""
        now = self.directory.now_ms() if now is None else now
        moved = tx.outbox.store_batches([(r.ctx.subscription, r.last_seq, r.events) for r in rendered], now)
        return sum(len(r.events) for r in rendered if r.ctx.subscription.id in moved), moved

    # -- delivery ---------------------------------------------------------------------------

    def step(self) -> Step:
        """:meth:`plan` a pass and run its write job (waiting for it: not on the event loop)."""
        job = self.plan()
        return _NOTHING if job is None else self.write(job)

    async def _pass(self) -> Step:
        """:meth:`step` on the event loop, timed: the job is awaited, never waited for."""
        began, self._woken_at, woken = time.perf_counter(), None, self._woken_at
        if woken is not None:
            self.timings.woken.add(began - woken)
        carried, cpu = Carried(), time.thread_time()
        job = self.plan(carried)
        self.timings.read.add(time.perf_counter() - began)
        self.timings.read_cpu.add(time.thread_time() - cpu)
        if job is None:
            return _NOTHING
        timed, back = self.timings.passes.timed(job)
        try:
            step = await self.write_async(timed)
        except BaseException as exc:
            self.outcomes.carried_back(carried, exc)
            raise
        back()
        self.outcomes.carried_back(carried)
        return step

    def plan(self, carried: Carried | None = None) -> Callable[[WriteTx], Step] | None:
        """A pass's read, and the write job it makes (None: nothing to fan out or claim). The job
        stores the batches the read rendered and claims the deliveries due now (order per entity
        kept), those just fanned out included. With ``carried`` it first writes the outcomes
        waiting when it runs (``OutcomeWriter.carry``; handed back with ``carried_back`` after the
        commit), so the events they held up are claimed in it."""
        now, wall = self.directory.now_ms(), wall_ms()
        # No transaction: its records are read after its cursors, as on PostgreSQL, where a read
        # sees each statement's own snapshot anyway (a cursor moved meanwhile fails the store's
        # compare-and-set, and the records are rendered again).
        with self.directory.store.read(snapshot=False) as tx:
            contexts, rendered = self._render(tx)
            self._rendered = self._rendered or bool(rendered)
            room = self._room(contexts)
            # (only active subscriptions' deliveries are ever due: with none, nothing is)
            if not rendered and not (contexts and self._eligible(tx, now, wall, contexts, room)):
                return None

        def job(tx: WriteTx) -> Step:
            # The job's own time: the deliveries it stores are due at it, and claimed with them.
            now, wall = self.directory.now_ms(), wall_ms()
            if carried is not None:
                self.outcomes.carry(tx, carried)
            _, went_on = self._store_rendered(tx, rendered, now)
            more = any(r.full for r in rendered if r.ctx.subscription.id in went_on)
            # Only the deliveries of subscriptions active when the pass read them: a claim is sent.
            eligible = self._eligible(tx, now, wall, contexts, room)
            if not eligible:
                return Step([], more)
            ids = [c.id for c in eligible]
            claimed = set(tx.outbox.claim(ids, self.owner, wall_ms=wall, lease_ms=self.lease_ms, now_ms=now))
            attempts = [Attempt(c, contexts[c.subscription_id]) for c in eligible if c.id in claimed]
            return Step(attempts, more or len(eligible) >= CLAIM_BATCH)

        return job

    def claim_due(self) -> list[Attempt]:
        """Claim the deliveries due now for this engine (after fanning out what is waiting)."""
        return self.step().attempts

    def _room(self, contexts: Mapping[str, ChannelContext]) -> Room:
        """A copy of this process's sending as a pass reads it, on the loop (its job runs in a
        writer thread): the attempts under way, and the pushed-kind subscriptions without a
        connection here."""
        unconnected = frozenset(
            sid
            for sid, ctx in contexts.items()
            if (kind := ctx.subscription.kind) in PUSHED
            and ((t := self.transports.get(kind)) is None or not t.ready(ctx.subscription))
        )
        return Room(dict(self._busy), unconnected)

    def _eligible(
        self, tx: ReadTx | WriteTx, now: int, wall: int, contexts: Mapping[str, ChannelContext], room: Room
    ) -> list[Delivery]:
        """Up to ``CLAIM_BATCH`` due deliveries this process can send (``events/claims.py``)."""
        found = claims.look(tx, now, wall, contexts, room)
        self._capped = found.capped
        # A due delivery left out at a receiver's room, or an event held up: an outcome written
        # wakes the engine.
        self._held_up = found.held_up or found.capped
        return found.eligible

    async def send(self, sender: Sender, attempt: Attempt) -> tuple[int | None, str | None]:
        """Make one attempt: ``(HTTP status or None, error or None)``; a :data:`PUSHED` kind's
        through its transport (``(ACK code or None, error or None)``)."""
        transport = self.transports.get(attempt.ctx.subscription.kind)
        if transport is not None:
            return await transport.send(attempt.ctx, attempt.delivery)
        ch = channel(attempt.ctx.subscription.kind)
        query, content = ch.request(attempt.ctx, attempt.delivery.body)
        try:
            status, reply = await sender.post(
                attempt.ctx.subscription.url, query, content, answer_within=ch.timeout
            )
        except TimeoutError:
            return None, f"no answer within {ch.timeout:g} s"
        except SendError as exc:
            return None, str(exc)
        return status, ch.judge(attempt.ctx, status, reply)

    def _launch(
        self, sender: Sender, attempts: Sequence[Attempt]
    ) -> list[asyncio.Task[DeliveryStatus | None]]:
        """Start every attempt at once, each a task of its own: the pass goes on without them,
        and each outcome is written when its attempt ends (:meth:`_attempt`)."""
        tasks = [asyncio.create_task(self._attempt(sender, a)) for a in attempts]
        self._inflight.update(tasks)
        for t, a in zip(tasks, attempts, strict=True):
            self._busy[sid := a.ctx.subscription.id] += 1
            t.add_done_callback(partial(self._ended, sid))
        return tasks

    def _ended(self, sub: str, task: asyncio.Task[DeliveryStatus | None]) -> None:
        """An attempt of ``sub`` ended, its outcome written: its subscription may claim again."""
        self._inflight.discard(task)
        self._busy[sub] -= 1
        if self._busy[sub] == CLAIM_BATCH - 1:
            self._look()
        if not self._busy[sub]:
            del self._busy[sub]

    async def _attempt(self, sender: Sender, attempt: Attempt) -> DeliveryStatus | None:
        """Send one attempt and have its outcome written: the outcome's status once committed
        (None when it could not be written: the lease then runs out and the delivery is sent
        again)."""
        began = time.perf_counter()
        status, error = await self.send(sender, attempt)
        self.timings.send.add(time.perf_counter() - began)
        try:
            return await self.outcomes.record((attempt, status, error))
        except Exception:
            log.exception("delivery %s: its outcome could not be written", attempt.delivery.id)
            return None

    def _outcomes_back(self) -> None:
        """Outcomes were committed: an event held up behind one of them may go now."""
        if self._held_up:
            self._look()

    async def flush(self, sender: Sender | None = None) -> tuple[int, int]:
        """Fan out and deliver until nothing is due now (retry timers on the directory's clock),
        sending what a pass claims at once with ``sender`` (the background task's, which keeps its
        connections to the receivers; a fresh one when None); returns ``(delivered, pending)``: how
        many of its attempts were delivered, how many deliveries are still open. It passes again at
        once while a pass took a whole batch, else waits for its attempts' outcomes, and for those
        of the background task's attempts under way (an outcome may free an event held up behind
        it), and looks again."""
        delivered = 0
        mine: list[asyncio.Task[DeliveryStatus | None]] = []
        loop = asyncio.get_running_loop()
        waited: set[asyncio.Task[DeliveryStatus | None]] = set()
        async with contextlib.AsyncExitStack() as stack:
            while True:
                step = await self._pass()
                if step.attempts:
                    if sender is None:
                        sender = Sender()
                        stack.push_async_callback(sender.aclose)
                    mine += self._launch(sender, step.attempts)
                if step.more:
                    continue
                if not mine:
                    # The background task's attempts under way: their outcomes are written before
                    # a flush answers, so what it reports is what the outbox shows.
                    others = {t for t in self._inflight if t.get_loop() is loop} - waited
                    if not others:
                        break
                    waited |= others
                    await asyncio.wait(others)
                    continue
                outcomes = await asyncio.gather(*mine)
                delivered += outcomes.count(DeliveryStatus.DELIVERED)
                mine = []
        return delivered, self.count_open()

    async def deliver_due(self, sender: Sender) -> None:
        """The background task's round: passes until one leaves nothing more to fan out or claim
        at once (a commit, or a written outcome that frees a held-up event, wakes it again), each
        pass's attempts started at once and left running (their outcomes are written as they
        end, ``events/outcomes.py``), so a slow receiver or a Stream ACK holds no pass back."""
        while True:
            step = await self._pass()
            if step.attempts:
                self._launch(sender, step.attempts)
            if not step.more:
                return

    def count_open(self) -> int:
        """Deliveries not yet delivered nor dead."""
        with self.directory.store.read() as tx:
            return tx.outbox.count_open()

    async def _prune(self) -> None:
        """The pruner's round (``events/pruning.py``) in a task of its own, beside the passes: no
        pass waits for the several writers' jobs a minute of records takes."""
        try:
            await self.pruner.prune_async()
        except Exception:
            log.exception("the event engine's prune failed; trying again in a minute")

    # -- the background task ----------------------------------------------------------------

    def start(self) -> None:
        """Run the engine in the background on the running event loop until :meth:`stop`."""
        self._task.start()

    async def stop(self) -> None:
        """Stop the task and the attempts under way (a write job it queued still commits with the
        writers' queue; an attempt stopped before its outcome is written is sent again once its
        lease runs out)."""
        await self._task.stop()

    def wake(self) -> None:
        """Make the background task look now (safe from any thread): something may be deliverable
        that its last pass did not see (a subscription made or resumed, deliveries replayed)."""
        self._idle = False
        self._wakes += 1
        self._look()

    def _on_records(self) -> None:
        """A local commit wrote change records (in the writing thread): look now, unless the last
        pass found no active subscription and nothing open, so these records make no delivery (a
        subscription made since wakes the engine, or the next poll finds it)."""
        if not self._idle:
            self._woken_at = self._woken_at or time.perf_counter()
            self._look()

    def _look(self) -> None:
        """Wake the task (from any thread), one wake-up on its way at a time: the commits of a
        write load ask for one each, and each would write to the loop's self-pipe from the writer
        thread and wake the loop, where the first one's already does."""
        wake, loop = self._wake, self._loop
        if wake is None or loop is None or self._waking:
            return
        self._waking = True
        try:
            loop.call_soon_threadsafe(self._woken)
        except RuntimeError:  # the loop is closing
            self._waking = False

    def _woken(self) -> None:
        self._waking = False  # (before the set: a commit after this asks for its own)
        if (wake := self._wake) is not None:  # the running task's (the engine may have restarted)
            wake.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake, self._waking = asyncio.Event(), False
        remove = self.directory.store.on_records(self._on_records)
        last_prune, pruning = 0.0, set[asyncio.Task[None]]()
        # One sender for the task's life: its connections to the receivers are kept between passes.
        sender = Sender()
        try:
            while True:
                if (gather := self._passed_at + self._window - time.monotonic()) > 0:
                    await asyncio.sleep(gather)  # under a write load: events/pacing.py
                self._wake.clear()
                started, self._rendered = time.monotonic(), False
                try:
                    wakes = self._wakes
                    await self.deliver_due(sender)
                    self._idle = (
                        not self._subscribed
                        and not self._inflight
                        and wakes == self._wakes
                        and not self.count_open()
                    )
                    if time.monotonic() - last_prune > PRUNE_INTERVAL and not pruning:
                        pruning.add(task := asyncio.create_task(self._prune()))
                        task.add_done_callback(pruning.discard)
                        last_prune = time.monotonic()
                    self.timings.dump()
                except Exception:
                    log.exception("the event engine's pass failed; trying again")
                self._passed_at = time.monotonic()
                backlog = self._capped and not self._rendered
                rate, self.records_rendered = self._rate.add(self.records_rendered, self._passed_at), 0
                self._window = pacing.window(
                    self.gather, self._passed_at - started, capped=backlog, rate=rate, held_up=self._held_up
                )
                self.outcomes.linger = pacing.linger(self._window, load=self._rendered and not backlog)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        finally:
            remove()
            self._wake = None
            for t in [*self._inflight, *pruning]:
                t.cancel()
            await asyncio.gather(*self._inflight, *pruning, return_exceptions=True)
            await self.outcomes.drain()  # the last round's, not left for their leases to run out
            self.timings.dump(force=True)
            await sender.aclose()
