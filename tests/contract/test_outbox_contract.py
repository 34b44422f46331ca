"""The store's contract for change records, subscriptions and the delivery outbox, on both backends."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from outbox_support import event, key_rows, listed, subscribe, unseal
from sqlalchemy import insert, select, update

from conftest import Databases
from openroster.core.directory import Directory
from openroster.core.runtime.clock import FixedClock
from openroster.core.tenancy import tenants
from openroster.model.changes import (
    ChangeRecord,
    DeliveryStatus,
    EntityKind,
    Operation,
    SubscriptionStatus,
)
from openroster.server.app import open_directory
from openroster.store import schema
from openroster.store.changes import Expired
from openroster.store.migrate import upgrade
from openroster.store.outbox import Outcome


@pytest.fixture
def acme(directory: Directory) -> str:
    tenants.create(directory, tenant_id="acme", name="Acme")
    return "acme"


def _user(uid: str, op: Operation = Operation.UPDATE, **before: object) -> ChangeRecord:
    return ChangeRecord("acme", EntityKind.USER, op, uid, ("user_name",), before or None, actor="app-1")


def _commit(d: Directory, at: float, tenant_id: str, *uids: str) -> int:
    """One transaction of ``tenant_id``'s user records committed at unix seconds ``at``; its seq."""
    with d.at_clock(FixedClock(at)).writer() as tx:
        for uid in uids:
            tx.record(ChangeRecord(tenant_id, EntityKind.USER, Operation.CREATE, uid))
    with d.store.read() as tx:
        return tx.changes.current_seq()


class TestChangeRecords:
    def test_records_commit_with_the_write_under_its_seq(self, directory: Directory, acme: str) -> None:
        with directory.writer() as tx:
            tx.record(_user("u1", name="Old"))
            tx.record(_user("u2", Operation.DELETE))
        with directory.store.read() as tx:
            got = tx.changes.records_after("acme", 0, 100)
            seq = tx.changes.current_seq()
        assert [(c.seq, c.n, c.record.entity_id) for c in got] == [(seq, 0, "u1"), (seq, 1, "u2")]
        assert got[0].record == _user("u1", name="Old")
        assert got[1].record.before is None

    @pytest.mark.parametrize("how", ["quiet", "rolled_back", "savepoint_undone"])
    def test_no_records_are_kept(self, directory: Directory, acme: str, how: str) -> None:
        if how == "quiet":
            with directory.writer(quiet=True) as tx:
                tx.record(_user("u1"))
        elif how == "rolled_back":
            with pytest.raises(RuntimeError), directory.writer() as tx:
                tx.record(_user("u1"))
                raise RuntimeError
        else:
            with directory.writer() as tx:
                with pytest.raises(RuntimeError), tx.savepoint():
                    tx.record(_user("u1"))
                    raise RuntimeError
                assert tx.records == ()
        with directory.store.read() as tx:
            assert tx.changes.records_after("acme", 0, 100) == []

    def test_a_batch_ends_on_a_whole_transaction(self, directory: Directory, acme: str) -> None:
        for batch in (["a", "b"], ["c", "d", "e"], ["f"]):
            with directory.writer() as tx:
                for uid in batch:
                    tx.record(_user(uid))
        with directory.store.read() as tx:
            first = tx.changes.records_after("acme", 0, 4)
            big = tx.changes.records_after("acme", first[-1].seq, 2)
            rest = tx.changes.records_after("acme", big[-1].seq, 100)
        assert [c.record.entity_id for c in first] == ["a", "b"]
        assert [c.record.entity_id for c in big] == ["c", "d", "e"]
        assert [c.record.entity_id for c in rest] == ["f"]

    def test_records_carry_the_directory_clock(self, directory: Directory, acme: str) -> None:
        directory.clock.set_offset(3600)
        try:
            expected = directory.now_ms()
            with directory.writer() as tx:
                tx.record(_user("u1"))
        finally:
            directory.clock.set_offset(0)
        with directory.store.read() as tx:
            (got,) = tx.changes.records_after("acme", 0, 10)
        assert expected <= got.committed_at < expected + 60_000

    def test_pruning_keeps_what_a_subscription_of_the_tenant_has_not_fanned_out(
        self, directory: Directory, acme: str
    ) -> None:
        tenants.create(directory, tenant_id="beta", name="Beta")
        for tenant_id, uid in (("acme", "a"), ("beta", "b"), ("acme", "c")):
            with directory.writer() as tx:
                tx.record(ChangeRecord(tenant_id, EntityKind.USER, Operation.CREATE, uid))
        with directory.store.read() as tx:
            seqs = [c.seq for c in tx.changes.records_after("acme", 0, 10)]
            upto = tx.changes.current_seq()
        sub = subscribe(directory)  # acme's, fanned out up to its first record
        with directory.store.write() as tx:
            tx.outbox.advance_cursor(sub.id, seqs[0])
            assert tx.changes.prune_records(upto) == 2  # acme's first, and beta's (no subscription)
        with directory.store.read() as tx:
            assert [c.record.entity_id for c in tx.changes.records_after("acme", 0, 10)] == ["c"]
            assert tx.changes.records_after("beta", 0, 10) == []

    def test_pruning_in_steps_takes_the_oldest_prunable_records_first(
        self, directory: Directory, acme: str
    ) -> None:
        with directory.writer() as tx:  # one commit of three records, then two commits of one
            for uid in ("a", "b", "c"):
                tx.record(ChangeRecord("acme", EntityKind.USER, Operation.CREATE, uid))
        for uid in ("d", "e"):
            with directory.writer() as tx:
                tx.record(ChangeRecord("acme", EntityKind.USER, Operation.CREATE, uid))
        with directory.store.read() as tx:
            upto = tx.changes.current_seq()
        left = ["a", "b", "c", "d", "e"]
        for gone in (2, 2, 1, 0):  # a step may stop inside one commit's records
            with directory.store.write() as tx:
                assert tx.changes.prune_records(upto, 2) == gone
            left = left[gone:]
            with directory.store.read() as tx:
                assert [c.record.entity_id for c in tx.changes.records_after("acme", 0, 10)] == left

    def test_a_lagging_cursor_skips_only_the_oldest_run_of_expired_records_whole_transactions(
        self, directory: Directory, acme: str
    ) -> None:
        tenants.create(directory, tenant_id="beta", name="Beta")
        seqs = [
            _commit(directory, at, tenant, *uids)
            for at, tenant, uids in (
                (1000, "acme", ("a", "b", "c")),  # one transaction of three
                (1000, "beta", ("x",)),
                (1100, "acme", ("d",)),
                (2000, "acme", ("e",)),  # young: kept, and so is what follows it
                (1200, "acme", ("f",)),  # old, committed after a clock set back: kept behind e
            )
        ]
        before = 1500_000  # unix ms: records committed before 1,500 s are past the retention
        with directory.store.read() as tx:
            whole = tx.changes.expired_after("acme", 0, before, 10)
            assert whole == Expired(seqs[2], 4, 1100_000)  # a, b, c, d; not f, behind e
            # a step ending inside a transaction leaves it for the next step ...
            assert tx.changes.expired_after("acme", 0, before, 4) == Expired(seqs[0], 3, 1000_000)
            # ... but one larger than the step is taken whole
            assert tx.changes.expired_after("acme", 0, before, 2) == Expired(seqs[0], 3, 1000_000)
            assert tx.changes.expired_after("acme", seqs[2], before, 10) is None  # e is young
            assert tx.changes.expired_after("beta", 0, before, 10) == Expired(seqs[1], 1, 1000_000)
        subscribe(directory, status=SubscriptionStatus.PAUSED)
        with directory.store.read() as tx:  # one query finds who lags past the retention
            assert tx.outbox.lagging(before) == [("s1", "acme", 0)]
            assert tx.outbox.lagging(1000_000) == []
        with directory.store.write() as tx:
            assert not tx.outbox.skip_records("s1", expect=7, seq=seqs[0], missed=3, missed_until=1000_000)
            assert tx.outbox.skip_records("s1", expect=0, seq=seqs[0], missed=3, missed_until=1000_000)
            # the newest missed change's time stays the latest one
            assert tx.outbox.skip_records("s1", expect=seqs[0], seq=seqs[2], missed=1, missed_until=900_000)
            assert tx.outbox.lagging(before) == []  # e, next after its cursor, is young
            sub = tx.outbox.get_subscription("s1", unseal(directory))
            assert (sub.cursor_seq, sub.missed, sub.missed_until) == (seqs[2], 4, 1000_000)
            assert tx.changes.prune_records(tx.changes.current_seq()) == 5  # acme's skipped four, beta's
        with directory.store.read() as tx:
            assert [c.record.entity_id for c in tx.changes.records_after("acme", seqs[2], 10)] == ["e", "f"]
            assert tx.changes.records_after("acme", 0, 10)[0].record.entity_id == "e"


class TestOutbox:
    def test_subscription_keys_are_sealed_and_read_back(self, directory: Directory, acme: str) -> None:
        subscribe(directory, topics=("user_add_org",), payload="legacy")
        with directory.store.read() as tx:
            got = tx.outbox.get_subscription("s1", unseal(directory))
            raw = tx.conn.execute(select(schema.subscriptions.c.token_sealed)).scalar_one()
        assert got is not None
        assert (got.token, got.aes_key, got.topics, got.payload) == (
            "tok",
            "a" * 43,
            ("user_add_org",),
            "legacy",
        )
        assert b"tok" not in bytes(raw)

    def test_status_cursor_and_listing(self, directory: Directory, acme: str) -> None:
        subscribe(directory, "s1")
        subscribe(directory, "s2")
        with directory.store.write() as tx:
            assert tx.outbox.set_subscription_status("s2", SubscriptionStatus.PAUSED)
            tx.outbox.advance_cursor("s1", 7)
        with directory.store.read() as tx:
            active = tx.outbox.list_subscriptions(None, unseal(directory), active_only=True)
            assert [(s.id, s.cursor_seq) for s in active] == [("s1", 7)]
        with directory.store.write() as tx:
            assert tx.outbox.delete_subscription("s2")
        with directory.store.read() as tx:
            assert [s.id for s in tx.outbox.list_subscriptions("acme", unseal(directory))] == ["s1"]

    def test_claim_is_exclusive_and_the_outcome_releases_it(self, directory: Directory, acme: str) -> None:
        sub = subscribe(directory)
        with directory.store.write() as tx:
            tx.outbox.insert_deliveries(sub, [event(1, "user:a"), event(2, "user:b")], 1000)
        with directory.store.write() as tx:
            due = tx.outbox.due_candidates(1000, 5000, 10).deliveries
            assert [d.event_id for d in due] == ["e1-user:a", "e2-user:b"]
            ids = [d.id for d in due]
            assert tx.outbox.claim(ids, "p1", wall_ms=5000, lease_ms=100, now_ms=999) == []  # not due yet
            assert tx.outbox.claim(ids, "p1", wall_ms=5000, lease_ms=100) == ids
            assert tx.outbox.claim(ids, "p2", wall_ms=5050, lease_ms=100) == []
            assert tx.outbox.due_candidates(1000, 5050, 10).deliveries == []
            assert not tx.outbox.record_outcome(
                ids[0], "p2", status=DeliveryStatus.DELIVERED, attempts=1, next_attempt_at=1000,
                first_attempt_at=1000, last_status=200, last_error=None, delivered_at=1000,
            )  # fmt: skip
            assert tx.outbox.record_outcome(
                ids[0], "p1", status=DeliveryStatus.DELIVERED, attempts=1, next_attempt_at=1000,
                first_attempt_at=1000, last_status=200, last_error=None, delivered_at=1000,
            )  # fmt: skip
            # an expired lease can be taken over
            assert tx.outbox.claim(ids, "p2", wall_ms=5200, lease_ms=100) == [ids[1]]
        with directory.store.read() as tx:
            first = tx.outbox.get_delivery(ids[0])
            assert first is not None
            assert (first.status, first.attempts, first.last_status) == (DeliveryStatus.DELIVERED, 1, 200)
            assert tx.outbox.count_open() == 1

    def test_keyset_paging(self, directory: Directory, acme: str) -> None:
        sub = subscribe(directory)
        events = [event(i, f"user:{i % 2}") for i in range(1, 6)]
        with directory.store.write() as tx:
            tx.outbox.insert_deliveries(sub, events, 1000)
        with directory.store.read() as tx:
            page = tx.outbox.list_deliveries("acme", limit=2)
            page2 = tx.outbox.list_deliveries("acme", after_id=page[-1].id, limit=10)
            assert [d.seq for d in page + page2] == [1, 2, 3, 4, 5]
            assert tx.outbox.list_deliveries("acme", status=DeliveryStatus.DELIVERED) == []

    def test_a_later_delivery_of_an_entity_waits_for_the_earlier_one_to_end(
        self, directory: Directory, acme: str
    ) -> None:
        sub, other = subscribe(directory, "s1"), subscribe(directory, "s2")
        with directory.store.write() as tx:  # u1's two events, one of u1 and u2 together, u2's
            tx.outbox.insert_batches(
                [
                    (sub, [event(1, "user:u1"), event(2, "user:u1"), event(3, "user:u1", "user:u2")]),
                    (other, [event(4, "user:u1")]),  # another subscription's: not held up by s1's
                    (sub, [event(5, "user:u3")]),
                ],
                1000,
            )
        ids = {d.seq: d.id for d in listed(directory)}

        def due() -> tuple[list[int], int | None]:
            with directory.store.read() as tx:
                found = tx.outbox.due_candidates(1000, 5000, 10)
            seqs = {i: seq for seq, i in ids.items()}
            return [seqs[d.id] for d in found.deliveries], found.held_up and seqs[found.held_up.id]

        assert due() == ([1, 4, 5], 2)  # 2 and 3 wait for 1 (3 shares u1); 2 is the first held up
        self._end(directory, ids[1], DeliveryStatus.RETRYING, next_at=1000)  # failed: still open
        assert due() == ([1, 4, 5], 2)
        self._end(directory, ids[1], DeliveryStatus.DELIVERED)
        assert due() == ([2, 4, 5], 3)
        self._end(directory, ids[2], DeliveryStatus.DEAD)
        assert due() == ([3, 4, 5], None)
        with directory.store.read() as tx:
            assert tx.outbox.due_candidates(1000, 5000, 2).deliveries == [
                tx.outbox.get_delivery(ids[3]),
                tx.outbox.get_delivery(ids[4]),
            ]

    @staticmethod
    def _end(directory: Directory, delivery_id: int, status: DeliveryStatus, next_at: int = 1000) -> None:
        """Claim the delivery and write an attempt's outcome: ``status``."""
        with directory.store.write() as tx:
            assert tx.outbox.claim([delivery_id], "p", wall_ms=0, lease_ms=10) == [delivery_id]
            delivered = 1000 if status == DeliveryStatus.DELIVERED else None
            tx.outbox.record_outcomes(
                "p",
                [Outcome(delivery_id, status, 1, next_at, 1000, 200, None, delivered)],
            )

    def test_a_dead_receivers_backlog_holds_up_no_other_entity(self, directory: Directory, acme: str) -> None:
        """1,000 retrying deliveries (each entity's first, due later) and 1,000 events held up
        behind them: another entity's due delivery after them all is found at once; and a later
        delivery of that entity waits for it."""
        sub = subscribe(directory)
        backlog = [event(i, f"user:b{i}") for i in range(1000)]
        held = [event(1000 + i, f"user:b{i}") for i in range(1000)]
        with directory.store.write() as tx:
            tx.outbox.insert_deliveries(sub, backlog, 1000)
            first = [d.id for d in tx.outbox.list_deliveries("acme", limit=1000)]
            assert tx.outbox.claim(first, "p", wall_ms=0, lease_ms=10) == first
            retry = [Outcome(i, DeliveryStatus.RETRYING, 1, 60_000, 1000, 503, None, None) for i in first]
            tx.outbox.record_outcomes("p", retry)
            tx.outbox.insert_deliveries(sub, [*held, event(5000, "user:u1"), event(5001, "user:u1")], 2000)
        with directory.store.read() as tx:
            due = tx.outbox.due_candidates(2000, 5000, 100)
            assert [d.seq for d in due.deliveries] == [5000]
            assert due.held_up is not None and due.held_up.seq == 1000
            assert tx.outbox.count_open() == 2002
        with directory.store.read() as tx:  # the backlog due again: each entity's first goes first
            due = tx.outbox.due_candidates(60_000, 5000, 100)
            assert [d.seq for d in due.deliveries] == list(range(100))

    def test_pruning_removes_old_delivered_and_dead_deliveries_in_steps(
        self, directory: Directory, acme: str
    ) -> None:
        sub = subscribe(directory)
        ended = [  # (status, when: delivered_at, or a dead one's last attempt)
            (DeliveryStatus.DELIVERED, 2000),
            (DeliveryStatus.DELIVERED, 2500),
            (DeliveryStatus.DEAD, 3000),
            (DeliveryStatus.DEAD, 3500),
        ]
        with directory.store.write() as tx:
            tx.outbox.insert_deliveries(sub, [event(i, f"user:{i}") for i in range(1, 6)], 1000)
            ids = [d.id for d in tx.outbox.list_deliveries("acme")]
            tx.outbox.claim(ids[:4], "p", wall_ms=0, lease_ms=10)
            for i, (status, at) in zip(ids, ended, strict=False):
                delivered = at if status == DeliveryStatus.DELIVERED else None
                tx.outbox.record_outcome(
                    i, "p", status=status, attempts=1, next_attempt_at=at, first_attempt_at=1000,
                    last_status=503, last_error=None, delivered_at=delivered,
                )  # fmt: skip

        def prune(delivered_before: int, dead_before: int, step: int) -> list[int]:
            """The deliveries left after one step (checked against the count it returns)."""
            had = len(listed(directory))
            with directory.store.write() as tx:
                gone = tx.outbox.prune_finished(
                    delivered_before=delivered_before, dead_before=dead_before, step=step
                )
            left = [d.id for d in listed(directory)]
            assert len(left) == had - gone
            return left

        assert prune(2000, 3000, 10) == ids  # nothing delivered before 2000 nor dead before 3000
        assert prune(2001, 3000, 10) == ids[1:]  # the first delivered; the dead ones stay
        assert prune(2001, 3001, 10) == [ids[1], *ids[3:]]  # the first dead one
        assert len(prune(9999, 9999, 1)) == 2  # a step: one of the two that may go
        assert prune(9999, 9999, 1) == ids[4:]
        assert prune(9999, 9999, 1) == ids[4:]  # the pending one is open: kept
        assert [d.status for d in listed(directory)] == [DeliveryStatus.PENDING]

    def test_an_open_deliverys_keys_come_and_go_with_it(self, directory: Directory, acme: str) -> None:
        sub, other = subscribe(directory, "s1"), subscribe(directory, "s2")
        with directory.store.write() as tx:
            tx.outbox.insert_batches(
                [(sub, [event(1, "user:a", "dept:1")]), (other, [event(2, "user:a")])], 1000
            )
        one, two = (d.id for d in listed(directory))
        assert key_rows(directory) == [("s1", "dept:1", one), ("s1", "user:a", one), ("s2", "user:a", two)]
        self._end(directory, one, DeliveryStatus.RETRYING)  # still open: its keys stay
        assert len(key_rows(directory)) == 3
        with directory.store.write() as tx:  # another owner's outcome is not written: nothing goes
            assert tx.outbox.claim([one], "p", wall_ms=0, lease_ms=10) == [one]
            tx.outbox.record_outcomes(
                "q", [Outcome(one, DeliveryStatus.DELIVERED, 2, 1000, 1000, 200, None, 1000)]
            )
        assert len(key_rows(directory)) == 3
        with directory.store.write() as tx:
            assert tx.outbox.record_outcome(
                one, "p", status=DeliveryStatus.DELIVERED, attempts=2, next_attempt_at=1000,
                first_attempt_at=1000, last_status=200, last_error=None, delivered_at=1000,
            )  # fmt: skip
        assert key_rows(directory) == [("s2", "user:a", two)]
        with directory.store.write() as tx:  # a replay queues it again, keys and all
            assert tx.outbox.replay_deliveries("s1", 0, 2000) == 1
        (_, again) = [d.id for d in listed(directory) if d.subscription_id == "s1"]
        assert key_rows(directory) == [
            ("s1", "dept:1", again),
            ("s1", "user:a", again),
            ("s2", "user:a", two),
        ]
        with directory.store.write() as tx:  # the subscription's deliveries go, and their keys
            assert tx.outbox.delete_subscription("s2")
        assert key_rows(directory) == [("s1", "dept:1", again), ("s1", "user:a", again)]

    def test_a_stale_key_row_of_an_ended_delivery_holds_its_entity_up_no_longer(
        self, directory: Directory, acme: str
    ) -> None:
        """A process of the code before migration 0012 ends a delivery without deleting its keys:
        the next event of its entity is due all the same."""
        sub = subscribe(directory)
        with directory.store.write() as tx:
            tx.outbox.insert_deliveries(sub, [event(1, "user:a"), event(2, "user:a")], 1000)
        first, second = (d.id for d in listed(directory))
        with directory.store.write() as tx:  # ended as that code did: the status only
            d = schema.deliveries.c
            tx.conn.execute(update(schema.deliveries).where(d.id == first).values(status="delivered"))
        assert len(key_rows(directory)) == 2
        with directory.store.read() as tx:
            found = tx.outbox.due_candidates(1000, 5000, 10)
        assert ([x.id for x in found.deliveries], found.held_up) == ([second], None)

    def test_outcomes_past_sqlites_parameter_limit_delete_their_keys_in_one_call(
        self, directory: Directory, acme: str
    ) -> None:
        """More ended outcomes in one call than a SQLite statement takes parameters (999 here, as
        SQLite's older builds; this one's limit is set down for the call): their keys still go."""
        n = 1_500
        sub = subscribe(directory)
        with directory.store.write() as tx:
            tx.outbox.insert_deliveries(sub, [event(i, f"user:u{i}") for i in range(n)], 1000)
            ids = [
                x for (x,) in tx.conn.execute(select(schema.deliveries.c.id).order_by(schema.deliveries.c.id))
            ]
            for i in range(0, n, 500):
                tx.outbox.claim(ids[i : i + 500], "p", wall_ms=0, lease_ms=10)
        ended = [Outcome(i, DeliveryStatus.DELIVERED, 1, 1000, 1000, 200, None, 1000) for i in ids[1:]]
        with directory.store.write() as tx:
            raw = tx.conn.connection.driver_connection
            if isinstance(raw, sqlite3.Connection):
                limit = raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
            tx.outbox.record_outcomes("p", ended)
            if isinstance(raw, sqlite3.Connection):
                raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
        assert key_rows(directory) == [("s1", "user:u0", ids[0])]  # the one without an outcome

    def test_deleting_a_tenant_removes_its_subscriptions(self, directory: Directory, acme: str) -> None:
        sub = subscribe(directory)
        with directory.store.write() as tx:
            tx.outbox.insert_deliveries(sub, [event(1, "user:a")], 1000)
            tx.tenants.delete_tenant("acme")
        with directory.store.read() as tx:
            assert tx.outbox.list_subscriptions(None, unseal(directory)) == []
            assert tx.outbox.list_deliveries("acme") == []
        assert key_rows(directory) == []


def test_the_upgrade_to_0012_gives_the_deliveries_open_then_their_keys(
    databases: Databases, tmp_path: Path
) -> None:
    """A store at 0011 with deliveries open (u1's first retrying, its next waiting) and ended: the
    upgrade fills ``delivery_keys`` for the open ones, so their order holds across it."""
    data = tmp_path / "at-0011"
    if databases.cluster is not None:
        databases.created[data.resolve()] = databases.cluster.create_database(migrated=False)
    d = open_directory(databases.settings_for(data))
    try:
        upgrade(d.store, "0011")
        tenants.create(d, tenant_id="acme", name="Acme")
        sub = subscribe(d)
        rows = [
            (1, ("user:u1",), DeliveryStatus.RETRYING),
            (2, ("user:u1", "user:u2"), DeliveryStatus.PENDING),
            (3, ("user:u3",), DeliveryStatus.DELIVERED),
            (4, ("user:u3", "dept:7"), DeliveryStatus.PENDING),
        ]
        with d.store.write() as tx:
            tx.conn.execute(
                insert(schema.deliveries),
                [
                    {
                        "subscription_id": sub.id, "tenant_id": "acme", "event_id": f"e{seq}", "seq": seq,
                        "topic": "kso.user", "operation": "update", "body": b"{}",
                        "entity_keys": orjson.dumps(keys).decode(), "status": status.value, "attempts": 0,
                        "next_attempt_at": 1000, "created": 1000,
                    }
                    for seq, keys, status in rows
                ],
            )  # fmt: skip
        d.store.migrate()
        with d.store.read() as tx:
            ids = {dl.seq: dl.id for dl in tx.outbox.list_deliveries("acme")}
            k = schema.delivery_keys.c
            keys = [tuple(r) for r in tx.conn.execute(select(k.subscription_id, k.entity_key, k.delivery_id))]
            assert sorted(keys) == sorted(
                [
                    ("s1", "user:u1", ids[1]),
                    ("s1", "user:u1", ids[2]),
                    ("s1", "user:u2", ids[2]),
                    ("s1", "user:u3", ids[4]),
                    ("s1", "dept:7", ids[4]),
                ]
            )
            due = tx.outbox.due_candidates(1000, 5000, 10)
            assert [dl.seq for dl in due.deliveries] == [1, 4]  # 2 waits for u1's retrying 1
    finally:
        d.writes.close()
        d.store.dispose()
