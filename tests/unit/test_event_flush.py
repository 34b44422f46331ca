"""A flush answers once the outcomes of every attempt under way in its process are written, the
background task's included: what it reports is what the outbox shows right after (a test that
flushes, then lists the deliveries, sees each attempt's outcome). An outcome waiting when a pass's
job runs is written by that job, before it claims. The background task runs one pass at a time:
the writes committed while one runs, or within its gathering window after it, go in one pass,
and the commits while a wake-up is on its way to the loop ask for none of their own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import event_receivers as ind
from openroster.core.directory import Directory, Reader
from openroster.core.tenancy import apps, tenants
from openroster.events import subscriptions
from openroster.events.engine import EventEngine, Step
from openroster.events.outcomes import Carried
from openroster.model.changes import ChangeRecord, DeliveryStatus, EntityKind, Operation

APP_ID, APP_SECRET = "acme-kso", "acme-kso-secret"


@contextmanager
def _subscribed(directory: Directory) -> Iterator[ind.ReceiverServer]:
    """Tenant acme's WPS app subscribed to a receiver, for the ``with`` block."""
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        subscriptions.create(directory, tenant_id="acme", kind="wps", app=APP_ID, url=server.url)
        yield server


def _user(op: Operation) -> ChangeRecord:
    return ChangeRecord("acme", EntityKind.USER, op, "u1")


def test_a_flush_waits_for_the_outcome_of_an_attempt_the_background_task_has_under_way(
    directory: Directory,
) -> None:
    with _subscribed(directory) as server:
        server.hold_next = 1  # the background task's attempt waits at the receiver until released
        engine = EventEngine(directory, poll_interval=60)

        async def scenario() -> tuple[int, int]:
            engine.start()
            try:
                with directory.writer() as tx:
                    tx.record(_user(Operation.CREATE))
                for _ in range(250):  # the background task sent it (the commit woke it)
                    if server.requests:
                        break
                    await asyncio.sleep(0.02)
                assert len(server.requests) == 1
                threading.Timer(0.3, server.release).start()  # then answered 503
                return await engine.flush()
            finally:
                await engine.stop()

        delivered, pending = asyncio.run(scenario())
    with directory.store.read() as tx:
        (d,) = tx.outbox.list_deliveries("acme")
    assert (d.status, d.attempts, d.last_status) == (DeliveryStatus.RETRYING, 1, 503)
    assert (delivered, pending) == (0, 1)  # none of the flush's own attempts; the one retrying is open


def test_an_outcome_waiting_when_a_pass_runs_goes_in_its_job_and_frees_the_event_it_held_up(
    directory: Directory,
) -> None:
    with _subscribed(directory) as server:
        engine = EventEngine(directory)
        with directory.writer() as tx:
            tx.record(_user(Operation.CREATE))
        (create,) = engine.claim_due()  # claimed; its attempt is made (by hand, below)

        async def scenario() -> tuple[DeliveryStatus, tuple[int, int]]:
            written = engine.outcomes.record((create, 200, None))  # waits to be written
            with directory.writer() as tx:
                tx.record(_user(Operation.UPDATE))  # held up while the create is open
            # The flush's first pass carries the create's outcome and claims the update in one job.
            flushed = await engine.flush()
            return await written, flushed

        status, flushed = asyncio.run(scenario())
        assert (status, flushed) == (DeliveryStatus.DELIVERED, (1, 0))
        # Its one timed pass carried the outcome and claimed the update; no outcome job wrote it.
        assert (engine.timings.carried.count, engine.timings.passes.ran.count) == (1, 1)
        assert [e["operation"] for e in server.events] == ["update"]
    with directory.store.read() as tx:
        assert [(d.status, d.attempts) for d in tx.outbox.list_deliveries("acme")] == [
            (DeliveryStatus.DELIVERED, 1)
        ] * 2


def test_outcomes_a_failed_pass_carried_wait_again_and_are_written(directory: Directory) -> None:
    """A pass's job takes the outcomes waiting (``carry``); when the job fails, its savepoint takes
    them with it, and they wait again for a job of their own instead of for their leases to run
    out (and the events to be sent again)."""
    with _subscribed(directory):
        engine = EventEngine(directory)
        with directory.writer() as tx:
            tx.record(_user(Operation.CREATE))
        (create,) = engine.claim_due()
        started, gate = threading.Event(), threading.Event()
        carried = Carried()
        failure = RuntimeError("the pass failed")

        def blocker(_tx: object) -> None:
            started.set()
            gate.wait(30)

        def failing_pass(tx: object) -> None:
            engine.outcomes.carry(tx, carried)  # type: ignore[arg-type]
            raise failure

        async def scenario() -> tuple[int, DeliveryStatus]:
            blocked = directory.writes.submit(blocker, first=True)
            await asyncio.to_thread(started.wait, 30)
            written = engine.outcomes.record((create, 200, None))
            failed = engine.submit_async(failing_pass)  # queued ahead of the outcome's own job
            await asyncio.sleep(0.05)  # the outcome's own job is queued too, behind the pass
            gate.set()
            try:
                await failed
            except RuntimeError as exc:
                engine.outcomes.carried_back(carried, exc)  # as the engine's pass does
            await asyncio.to_thread(blocked.result, 30)
            return len(carried.batch), await asyncio.wait_for(written, 30)

        assert asyncio.run(scenario()) == (1, DeliveryStatus.DELIVERED)
    with directory.store.read() as tx:
        assert [(d.status, d.attempts) for d in tx.outbox.list_deliveries("acme")] == [
            (DeliveryStatus.DELIVERED, 1)
        ]


def _created(directory: Directory, user_id: str) -> Callable[[Reader], None]:
    """A request job (``Directory.write``) recording that ``user_id`` was created."""

    def job(_r: Reader) -> None:
        with directory.writer() as tx:
            tx.record(ChangeRecord("acme", EntityKind.USER, Operation.CREATE, user_id))

    return job


def test_writes_committed_while_a_pass_runs_are_taken_by_one_following_pass(directory: Directory) -> None:
    """One pass at most is under way: the records of the writes committed while one runs (its job
    held before it is queued), and of those committed within its gathering window after it ends,
    are all taken by the one pass that follows it, not by a pass each, and go out as one event."""
    during, after = [f"d{i}" for i in range(4)], [f"a{i}" for i in range(3)]
    with _subscribed(directory) as server:
        engine = EventEngine(directory, poll_interval=60, gather=1.0)

        async def scenario() -> None:
            started, gate, back = asyncio.Event(), asyncio.Event(), asyncio.Event()
            plan, write_async = engine.plan, engine.write_async
            planned: list[bool] = []  # a pass's read made a job: its next write_async is the pass's

            def plan_noted(carried: Carried | None = None) -> Callable[..., Step] | None:
                job = plan(carried)
                planned[:] = [job is not None]
                return job

            async def held(job: Callable[..., Step]) -> Step:
                # The first pass's job waits for the gate before it is queued (not the prune's).
                first = planned == [True] and not started.is_set()
                planned.clear()
                if first:
                    started.set()
                    await gate.wait()
                step = await write_async(job)
                if first:
                    back.set()
                return step

            engine.plan = plan_noted  # type: ignore[method-assign]
            engine.write_async = held  # type: ignore[method-assign]
            engine.start()
            try:
                await directory.write(_created(directory, "u0"))  # its commit wakes the engine
                await asyncio.wait_for(started.wait(), 30)
                for user in during:  # each write a commit of its own, while the pass runs
                    await directory.write(_created(directory, user))
                gate.set()
                await asyncio.wait_for(back.wait(), 30)  # the first pass's job committed
                for user in after:  # within the gathering window (1 s) after it
                    await directory.write(_created(directory, user))
                await asyncio.to_thread(server.wait_for, lambda events: len(_users(events)) == 8, 30)
            finally:
                await engine.stop()

        asyncio.run(scenario())
        # One pass for u0, one for the seven writes after it.
        assert engine.timings.passes.ran.count == 2
        assert sorted(_users(server.events)) == sorted(["u0", *during, *after])


def _users(events: list[dict[str, Any]]) -> list[str]:
    """The user ids of WPS ``kso.user`` events, in the order they came."""
    return [u["user_id"] for e in events for u in e["payload"]["users"]]


class _CountingLoop(asyncio.SelectorEventLoop):
    """A real event loop that notes the callbacks other threads hand it."""

    def __init__(self) -> None:
        super().__init__()
        self.handed: list[object] = []

    def call_soon_threadsafe(  # type: ignore[override]
        self, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.Handle:
        self.handed.append(callback)
        return super().call_soon_threadsafe(callback, *args, context=context)


def test_the_commits_of_a_write_load_hand_the_loop_one_wake_up_at_a_time(directory: Directory) -> None:
    """Each commit that writes change records wakes the engine from the writing thread; while a
    wake-up is on its way to the loop, the commits after it ask for none of their own (each would
    write to the loop's self-pipe and wake it again), and their records all reach the receiver."""
    users = [f"u{i}" for i in range(20)]
    with _subscribed(directory) as server:
        engine = EventEngine(directory, poll_interval=60)

        def commits() -> None:
            for user in users:
                with directory.writer() as tx:
                    tx.record(ChangeRecord("acme", EntityKind.USER, Operation.CREATE, user))

        async def scenario() -> int:
            loop = asyncio.get_running_loop()
            assert isinstance(loop, _CountingLoop)
            engine.start()
            try:
                await asyncio.sleep(0.2)  # the task's first pass: a subscription, nothing to send
                before = len(loop.handed)
                writer = threading.Thread(target=commits)
                writer.start()
                writer.join()  # the loop held meanwhile: the first commit's wake-up waits in it
                handed = len(loop.handed) - before
                await asyncio.to_thread(server.wait_for, lambda events: len(_users(events)) == 20, 30)
            finally:
                await engine.stop()
            return handed

        with asyncio.Runner(loop_factory=_CountingLoop) as runner:
            assert runner.run(scenario()) <= 2  # the engine's one (and one the store may hand); was 20
        assert sorted(_users(server.events)) == sorted(users)
