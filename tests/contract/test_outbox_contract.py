"""The store's contract for change records, subscriptions and the delivery outbox, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from openroster.core.directory import Directory
from openroster.core.tenancy import tenants
from openroster.model.changes import (
    ChangeRecord,
    DeliveryStatus,
    EntityKind,
    Operation,
    RenderedEvent,
    Subscription,
    SubscriptionStatus,
)
from openroster.store import schema
from openroster.store.outbox import key_context


@pytest.fixture
def acme(directory: Directory) -> str:
    tenants.create(directory, tenant_id="acme", name="Acme")
    return "acme"


def _user(uid: str, op: Operation = Operation.UPDATE, **before: object) -> ChangeRecord:
    return ChangeRecord("acme", EntityKind.USER, op, uid, ("user_name",), before or None, actor="app-1")


def _unseal(d: Directory) -> object:
    return lambda sealed, context: d.master_key.unseal(sealed, context=context)


def _subscribe(d: Directory, sub_id: str = "s1", **kw: object) -> Subscription:
    sub = Subscription(sub_id, "acme", "dingtalk", "app-1", "http://127.0.0.1:9/x", **kw)  # type: ignore[arg-type]
    with d.writer() as tx:
        tx.outbox.insert_subscription(
            sub,
            token_sealed=d.master_key.seal("tok", context=key_context(sub_id, "token")),
            aes_key_sealed=d.master_key.seal("a" * 43, context=key_context(sub_id, "aes_key")),
        )
    return sub


def _event(seq: int, *keys: str) -> RenderedEvent:
    return RenderedEvent(seq, f"e{seq}-{'-'.join(keys)}", "kso.user", "update", keys, b'{"x":1}')


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
        sub = _subscribe(directory)  # acme's, fanned out up to its first record
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


class TestOutbox:
    def test_subscription_keys_are_sealed_and_read_back(self, directory: Directory, acme: str) -> None:
        _subscribe(directory, topics=("user_add_org",), payload="legacy")
        with directory.store.read() as tx:
            got = tx.outbox.get_subscription("s1", _unseal(directory))
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
        _subscribe(directory, "s1")
        _subscribe(directory, "s2")
        with directory.store.write() as tx:
            assert tx.outbox.set_subscription_status("s2", SubscriptionStatus.PAUSED)
            tx.outbox.advance_cursor("s1", 7)
        with directory.store.read() as tx:
            active = tx.outbox.list_subscriptions(None, _unseal(directory), active_only=True)
            assert [(s.id, s.cursor_seq) for s in active] == [("s1", 7)]
        with directory.store.write() as tx:
            assert tx.outbox.delete_subscription("s2")
        with directory.store.read() as tx:
            assert [s.id for s in tx.outbox.list_subscriptions("acme", _unseal(directory))] == ["s1"]

    def test_claim_is_exclusive_and_the_outcome_releases_it(self, directory: Directory, acme: str) -> None:
        sub = _subscribe(directory)
        with directory.store.write() as tx:
            tx.outbox.insert_deliveries(sub, [_event(1, "user:a"), _event(2, "user:b")], 1000)
        with directory.store.write() as tx:
            due = tx.outbox.due_candidates(1000, 5000, 10)
            assert [d.event_id for d in due] == ["e1-user:a", "e2-user:b"]
            ids = [d.id for d in due]
            assert tx.outbox.claim(ids, "p1", wall_ms=5000, lease_ms=100, now_ms=999) == []  # not due yet
            assert tx.outbox.claim(ids, "p1", wall_ms=5000, lease_ms=100) == ids
            assert tx.outbox.claim(ids, "p2", wall_ms=5050, lease_ms=100) == []
            assert tx.outbox.due_candidates(1000, 5050, 10) == []
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

    def test_open_keys_and_keyset_paging(self, directory: Directory, acme: str) -> None:
        sub = _subscribe(directory)
        events = [_event(i, f"user:{i % 2}") for i in range(1, 6)]
        with directory.store.write() as tx:
            tx.outbox.insert_deliveries(sub, events, 1000)
        with directory.store.read() as tx:
            page = tx.outbox.list_deliveries("acme", limit=2)
            page2 = tx.outbox.list_deliveries("acme", after_id=page[-1].id, limit=10)
            assert [d.seq for d in page + page2] == [1, 2, 3, 4, 5]
            open_keys = tx.outbox.open_keys_before(["s1"], page2[0].id)
            assert [k for (_, _, k) in open_keys] == [("user:1",), ("user:0",)]
            assert tx.outbox.list_deliveries("acme", status=DeliveryStatus.DELIVERED) == []

    def test_pruning_removes_old_delivered_only(self, directory: Directory, acme: str) -> None:
        sub = _subscribe(directory)
        with directory.store.write() as tx:
            tx.outbox.insert_deliveries(sub, [_event(1, "user:a"), _event(2, "user:b")], 1000)
            first = tx.outbox.due_candidates(1000, 0, 1)[0].id
            tx.outbox.claim([first], "p", wall_ms=0, lease_ms=10)
            tx.outbox.record_outcome(
                first, "p", status=DeliveryStatus.DELIVERED, attempts=1, next_attempt_at=1000,
                first_attempt_at=1000, last_status=200, last_error=None, delivered_at=2000,
            )  # fmt: skip
        with directory.store.write() as tx:
            assert tx.outbox.prune_delivered(2000) == 0
            assert tx.outbox.prune_delivered(2001) == 1
            assert int(tx.conn.execute(select(func.count()).select_from(schema.deliveries)).scalar_one()) == 1

    def test_deleting_a_tenant_removes_its_subscriptions(self, directory: Directory, acme: str) -> None:
        sub = _subscribe(directory)
        with directory.store.write() as tx:
            tx.outbox.insert_deliveries(sub, [_event(1, "user:a")], 1000)
            tx.tenants.delete_tenant("acme")
        with directory.store.read() as tx:
            assert tx.outbox.list_subscriptions(None, _unseal(directory)) == []
            assert tx.outbox.list_deliveries("acme") == []
