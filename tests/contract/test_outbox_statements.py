"""The outbox's statements that PostgreSQL runs as one each (``store/outbox_pg.py``) and the look
for due deliveries at the caps, on both backends: the fan-out's compare-and-set and its lock
order, two outcomes of one delivery in a call, whether a capped subscription has one due, and
that the fan-out's write, the outcomes and the claim take as many statements whatever they carry
(SQLite's in ``store/outbox_sqlite.py``)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from outbox_support import event, key_rows, listed, statements_run, subscribe, unseal
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from conftest import backend_param
from openroster.core.directory import Directory
from openroster.core.tenancy import tenants
from openroster.model.changes import DeliveryStatus, RenderedEvent, Subscription, SubscriptionStatus
from openroster.store.outbox import Outcome


@pytest.fixture(autouse=True)
def _tenant(directory: Directory) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme")


def test_two_outcomes_of_one_delivery_in_a_call_write_the_first(
    directory: Directory,
) -> None:
    """The first outcome releases the lease, so the second, its owner's no longer, is left
    alone: the same on both backends (PostgreSQL's one statement would take either row)."""
    sub = subscribe(directory)
    with directory.store.write() as tx:
        tx.outbox.insert_deliveries(sub, [event(1, "user:a"), event(2, "user:b")], 1000)
    one, two = (d.id for d in listed(directory))
    with directory.store.write() as tx:
        assert tx.outbox.claim([one, two], "p", wall_ms=0, lease_ms=10) == [one, two]
        tx.outbox.record_outcomes(
            "p",
            [
                Outcome(one, DeliveryStatus.RETRYING, 1, 2000, 1000, 503, "busy", None),
                Outcome(two, DeliveryStatus.DELIVERED, 1, 1000, 1000, 200, None, 1000),
                Outcome(one, DeliveryStatus.DELIVERED, 2, 1000, 1000, 200, None, 1000),
            ],
        )
    got = {d.id: (d.status, d.attempts, d.last_error) for d in listed(directory)}
    assert got == {
        one: (DeliveryStatus.RETRYING, 1, "busy"),
        two: (DeliveryStatus.DELIVERED, 1, None),
    }
    assert [(k[1], k[2]) for k in key_rows(directory)] == [("user:a", one)]


def test_the_fan_out_moves_only_active_cursors_still_where_it_read_them(
    directory: Directory,
) -> None:
    """A stale ``expect`` (another fan-out moved the cursor) and a paused subscription move
    nothing and insert nothing; the others of the same call move and get their deliveries."""
    subs = [subscribe(directory, f"s{i}") for i in range(1, 5)]
    with directory.store.write() as tx:
        tx.outbox.advance_cursor("s2", 3)  # s2's cursor moved on since it was read at 0
        assert tx.outbox.set_subscription_status("s3", SubscriptionStatus.PAUSED)
    with directory.store.write() as tx:
        moved = tx.outbox.store_batches([(s, 5, [event(5, f"user:{s.id}")]) for s in subs], 1000)
    assert moved == {"s1", "s4"}
    with directory.store.read() as tx:
        cursors = {s.id: s.cursor_seq for s in tx.outbox.list_subscriptions("acme", unseal(directory))}
    assert cursors == {"s1": 5, "s2": 3, "s3": 0, "s4": 5}
    assert [(d.subscription_id, d.seq) for d in listed(directory)] == [("s1", 5), ("s4", 5)]
    assert [(k[0], k[1]) for k in key_rows(directory)] == [("s1", "user:s1"), ("s4", "user:s4")]


def test_the_look_tells_whether_a_capped_subscription_has_one_due(
    directory: Directory,
) -> None:
    """The subscriptions left out and asked about (``capped``): whether one has a due delivery
    (not yet due, or leased, is none); the others' are found as ever."""
    s1, s2 = subscribe(directory, "s1"), subscribe(directory, "s2")
    with directory.store.write() as tx:
        tx.outbox.insert_deliveries(s1, [event(1, "user:a")], 2000)
        tx.outbox.insert_deliveries(s2, [event(2, "user:b")], 1000)

    def look(now: int, capped: set[str]) -> tuple[list[int], bool]:
        with directory.store.read() as tx:
            due = tx.outbox.due_candidates(now, 5000, 10, waiting={"s1"}, capped=capped)
        return [d.seq for d in due.deliveries], due.capped_due

    assert look(1000, {"s1"}) == ([2], False)  # s1's is due at 2000
    assert look(2000, {"s1"}) == ([2], True)
    assert look(2000, set()) == ([2], False)
    with directory.store.write() as tx:
        first = tx.outbox.list_deliveries("acme", limit=1)[0].id
        assert tx.outbox.claim([first], "p", wall_ms=5000, lease_ms=100) == [first]
    assert look(2000, {"s1"}) == ([2], False)


@pytest.mark.parametrize("backend", [backend_param("postgresql")], indirect=True)
def test_the_fan_out_locks_the_cursors_rows_in_id_order(directory: Directory) -> None:
    """Two fan-outs of overlapping sets lock the rows they share in one order (else each can
    hold one the other waits for: a deadlock). The rows of s00-s19 rewritten, s30 comes before
    s05 in the table; while the fan-out of {s05, s30} waits for s30, s05 is already its."""
    subs = {s.id: s for s in (subscribe(directory, f"s{i:02d}") for i in range(40))}
    with directory.store.write() as tx:
        for i in range(20):
            tx.outbox.advance_cursor(f"s{i:02d}", 0)
    engine = directory.store.engine
    with engine.connect() as conn:
        heap = list(conn.execute(text("SELECT id FROM subscriptions ORDER BY ctid")).scalars())
    assert heap.index("s30") < heap.index("s05")
    done: list[set[str]] = []

    def fan_out() -> None:
        with directory.store.write() as tx:
            done.append(
                tx.outbox.store_batches([(subs[i], 1, [event(1, "user:a")]) for i in ("s05", "s30")], 1)
            )

    def waiting() -> bool:
        with engine.connect() as conn:
            q = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            return bool(conn.execute(text(q + " AND wait_event_type = 'Lock'")).scalar_one())

    with engine.connect() as holder, holder.begin():
        holder.execute(text("SELECT 1 FROM subscriptions WHERE id = 's30' FOR UPDATE"))
        worker = threading.Thread(target=fan_out)
        worker.start()
        deadline = time.monotonic() + 10
        while not waiting() and time.monotonic() < deadline:  # the fan-out waits for s30
            time.sleep(0.02)
        with engine.connect() as conn, conn.begin():
            try:
                conn.execute(text("SELECT 1 FROM subscriptions WHERE id = 's05' FOR UPDATE NOWAIT"))
                held = False
            except OperationalError:
                held = True
    worker.join()
    assert held
    assert done == [{"s05", "s30"}]


def test_the_fan_outs_write_and_the_outcomes_take_as_many_statements_for_thirty_as_for_one(
    directory: Directory,
) -> None:
    """The fan-out's write is one statement on PostgreSQL and three on SQLite (the cursors' one
    compare-and-set, the deliveries, their keys), each of one text, the outcomes one and two (the
    outcomes, the ended ones' keys), however many subscriptions and outcomes they carry."""
    sqlite = directory.store.engine.dialect.name == "sqlite"
    subs = [subscribe(directory, f"s{i:02d}") for i in range(31)]

    def texts(write: Callable[[Any], object]) -> list[str]:
        with directory.store.write() as tx, statements_run(directory) as ran:
            write(tx)
        return ran

    def statements(write: Callable[[Any], object]) -> int:
        return len(texts(write))

    def fan_out(batch: list[Subscription]) -> list[str]:
        batches = [(s, 1, [event(1, "user:a", "user:b")]) for s in batch]
        return texts(lambda tx: tx.outbox.store_batches(batches, 1))

    one, thirty = fan_out(subs[:1]), fan_out(subs[1:])
    assert (len(one), len(thirty)) == ((3, 3) if sqlite else (1, 1))
    assert one == thirty  # the same texts: nothing compiled per row
    ids = [d.id for d in listed(directory)]
    with directory.store.write() as tx:
        assert tx.outbox.claim(ids, "p", wall_ms=0, lease_ms=10) == ids

    def outcomes(some: list[int]) -> int:
        done = [Outcome(i, DeliveryStatus.DELIVERED, 1, 1, 1, 200, None, 1) for i in some]
        return statements(lambda tx: tx.outbox.record_outcomes("p", done))

    assert (outcomes(ids[:1]), outcomes(ids[1:])) == ((2, 2) if sqlite else (1, 1))
    assert all(d.status is DeliveryStatus.DELIVERED for d in listed(directory))
    assert key_rows(directory) == []


def test_a_claim_is_one_statement_of_one_text_for_one_id_and_for_1500(
    directory: Directory,
) -> None:
    """A pass's claim runs the same statement whatever the number of ids: nothing to build,
    compile or bind per id (on SQLite, 1,500 ids are past the 999 parameters of its older
    builds), and it leases every one of them."""
    sub = subscribe(directory)
    with directory.store.write() as tx:
        tx.outbox.insert_deliveries(sub, [event(i, f"user:{i}") for i in range(1, 1502)], 1000)
    with directory.store.read() as tx:
        ids = [d.id for d in tx.outbox.list_deliveries("acme", limit=2000)]
    assert len(ids) == 1501
    with directory.store.write() as tx, statements_run(directory) as ran:
        assert tx.outbox.claim(ids[:1], "p", wall_ms=0, lease_ms=10, now_ms=1000) == ids[:1]
        assert tx.outbox.claim(ids[1:], "p", wall_ms=0, lease_ms=10, now_ms=1000) == ids[1:]
    assert len(ran) == 2
    assert ran[0] == ran[1]
    with directory.store.read() as tx:
        assert tx.outbox.due_candidates(1000, 5, 10).deliveries == []  # every one of them leased


def test_every_body_is_stored_byte_for_byte_with_its_keys_in_order(directory: Directory) -> None:
    """A fan-out's bodies go to SQLite as text in one statement when they are UTF-8 without a NUL
    byte, else the rows go their own way: either way each comes back as stored, in order, with its
    keys (a retry sends the stored bytes)."""
    sub = subscribe(directory)
    bodies = [
        b'{"topic":"kso.user","nonce":"0123456789abcdef","encrypted_data":"a+b/c=="}',
        '{"name":"\u00e9\\u0000 \u5f20\u4e09 \\"quoted\\" \\n"}'.encode(),
        '{"x":"\U0001f600\u00e9\u5f20\t\\u0000"}'.encode(),
        b"",
    ]
    odd = [b"\xff\xfe not UTF-8", b"a NUL \x00 byte"]

    def events(first: int, these: list[bytes]) -> list[RenderedEvent]:
        return [
            RenderedEvent(first + n, f"b{first + n}", "kso.user", "update", (f"user:{n}", "user:all"), b)
            for n, b in enumerate(these)
        ]

    with directory.store.write() as tx:
        assert tx.outbox.store_batches([(sub, 10, events(1, bodies))], 1) == {sub.id}
    again = dataclasses.replace(sub, cursor_seq=10)
    with directory.store.write() as tx:
        assert tx.outbox.store_batches([(again, 20, events(11, bodies[:1] + odd))], 1) == {sub.id}
    stored = listed(directory)
    assert [d.body for d in stored] == [*bodies, bodies[0], *odd]
    assert [d.event_id for d in stored] == [f"b{n}" for n in (1, 2, 3, 4, 11, 12, 13)]
    assert [d.entity_keys for d in stored] == [(f"user:{n}", "user:all") for n in (0, 1, 2, 3, 0, 1, 2)]
    assert key_rows(directory) == sorted(
        (sub.id, key, d.id)
        for d, n in zip(stored, (0, 1, 2, 3, 0, 1, 2), strict=True)
        for key in (f"user:{n}", "user:all")
    )


def _store_counting(directory: Directory, sub: Subscription, events: list[RenderedEvent]) -> int:
    """Store ``events`` in one fan-out; the statements it took."""
    with directory.store.write() as tx, statements_run(directory) as ran:
        assert tx.outbox.store_batches([(sub, 10, events)], 1) == {sub.id}
    return len(ran)


# PostgreSQL's text cannot hold a NUL (its bodies are bytea: the test above stores one there).
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("where", ["entity key", "event id", "topic"])
def test_a_nul_in_an_entity_key_event_id_or_topic_is_stored_whole(directory: Directory, where: str) -> None:
    """SQLite's ``json_extract`` ends a text at an escaped NUL, wherever it is: a row with one
    anywhere goes its own way, and every text comes back whole."""
    sub = subscribe(directory)
    odd = "user:a\x00b" if where == "entity key" else "user:a"
    these = [
        RenderedEvent(
            1,
            "e\x00id" if where == "event id" else "e1",
            "kso.\x00user" if where == "topic" else "kso.user",
            "update",
            (odd, "user:all"),
            b'{"x":1}',
        ),
        RenderedEvent(2, "e2", "kso.user", "update", ("user:c",), b'{"x":2}'),
    ]
    _store_counting(directory, sub, these)
    stored = listed(directory)
    assert [(d.event_id, d.topic, d.entity_keys, d.body) for d in stored] == [
        (e.event_id, e.topic, e.entity_keys, e.body) for e in these
    ]
    ids = [d.id for d in stored]
    assert key_rows(directory) == sorted(
        [(sub.id, odd, ids[0]), (sub.id, "user:all", ids[0]), (sub.id, "user:c", ids[1])]
    )


def test_the_text_of_an_escaped_nul_is_no_nul(directory: Directory) -> None:
    """A key, id or body holding the six characters ``\\u0000`` (no NUL) keeps SQLite's fast insert
    (the cursors, the deliveries, their keys: three statements) and comes back as it was."""
    sub = subscribe(directory)
    text_of_nul = "\\u0000"
    these = [
        RenderedEvent(
            1, f"e{text_of_nul}", "kso.user", "update", (f"user:{text_of_nul}",), text_of_nul.encode()
        ),
    ]
    statements = _store_counting(directory, sub, these)
    assert statements == (3 if directory.store.engine.dialect.name == "sqlite" else 1)
    (d,) = listed(directory)
    assert (d.event_id, d.entity_keys, d.body) == ("e\\u0000", ("user:\\u0000",), b"\\u0000")
    assert key_rows(directory) == [(sub.id, "user:\\u0000", d.id)]


def _refuse(directory: Directory, one: int) -> None:
    """The delivery ``one`` claimed and refused: retrying."""
    with directory.store.write() as tx:
        assert tx.outbox.claim([one], "p", wall_ms=0, lease_ms=10) == [one]
        tx.outbox.record_outcomes(
            "p", [Outcome(one, DeliveryStatus.RETRYING, 1, 2000, 1000, 503, "busy", None)]
        )


def test_the_held_keys_are_one_fixed_statement_whatever_retries(directory: Directory) -> None:
    """A pass asks which of its records' entities a refusal holds up in one fixed text on the
    driver (SQLAlchemy builds and runs nothing), whether a delivery is retrying or not: none while
    none is, then the keys of the retrying one."""
    sub = subscribe(directory)
    with directory.store.write() as tx:
        tx.outbox.insert_deliveries(sub, [event(1, "user:a"), event(2, "user:b")], 1000)
    wanted = {sub.id: ["user:a", "user:b", "user:c"]}
    with directory.store.read() as tx, statements_run(directory) as ran:
        assert tx.outbox.held_keys(wanted) == {}
    assert [s for s in ran if "delivery" in s] == []  # (SQLite's BEGIN aside)
    _refuse(directory, listed(directory)[0].id)
    with directory.store.read() as tx, statements_run(directory) as ran:
        assert tx.outbox.held_keys(wanted) == {sub.id: frozenset({"user:a"})}
    assert [s for s in ran if "delivery" in s] == []


def test_a_refusal_in_another_subscription_holds_up_nothing_here(directory: Directory) -> None:
    """Only the pass's subscriptions' retrying deliveries count: one in ``s2`` holds up its own
    entity there, not the same entity in ``s1`` (nor does the look for ``s1`` alone find it)."""
    s1, s2 = subscribe(directory, "s1"), subscribe(directory, "s2")
    with directory.store.write() as tx:
        tx.outbox.insert_deliveries(s2, [event(1, "user:a")], 1000)
        tx.outbox.insert_deliveries(s1, [event(1, "user:a")], 1000)
    _refuse(directory, next(d.id for d in listed(directory) if d.subscription_id == s2.id))
    with directory.store.read() as tx:
        assert tx.outbox.held_keys({s1.id: ["user:a"], s2.id: ["user:a"]}) == {s2.id: frozenset({"user:a"})}
        assert tx.outbox.held_keys({s1.id: ["user:a"]}) == {}


def test_the_held_keys_follow_the_whole_chain_behind_a_refusal(directory: Directory) -> None:
    """Deliveries {a}, {a, b}, {b, c} with the first retrying: the third waits behind the second,
    which waits behind the refusal, so c is held up too (two steps behind it), and d, in none, is
    not. The chain also runs on past a pending delivery in the middle, and only forward: an
    earlier delivery sharing a key with a later one in the chain is not behind the refusal."""
    sub = subscribe(directory)
    these = [event(1, "user:z", "user:b"), event(2, "user:a"), event(3, "user:a", "user:b")]
    these += [event(4, "user:b", "user:c"), event(5, "user:c", "user:e"), event(6, "user:d")]
    with directory.store.write() as tx:
        tx.outbox.insert_deliveries(sub, these, 1000)
    _refuse(directory, listed(directory)[1].id)  # {a}
    wanted = {sub.id: ["user:a", "user:b", "user:c", "user:d", "user:e", "user:z"]}
    with directory.store.read() as tx:
        got = tx.outbox.held_keys(wanted)
    assert got == {sub.id: frozenset({"user:a", "user:b", "user:c", "user:e"})}


def _chain_steps(directory: Directory, held: int) -> int:
    """SQLite's virtual-machine steps (in hundreds) of a look for the keys a refusal holds up,
    with ``held`` deliveries of the refused entity, each with one person of its own, behind it."""
    sub = subscribe(directory, f"s{held}")
    these = [event(0, "user:a")] + [event(i, "user:a", f"user:b{i}") for i in range(1, held + 1)]
    with directory.store.write() as tx:
        tx.outbox.insert_deliveries(sub, these, 1000)
    with directory.store.read() as rtx:
        first = rtx.conn.execute(
            text("SELECT min(id) FROM deliveries WHERE subscription_id = :s"), {"s": sub.id}
        ).scalar_one()
    _refuse(directory, first)
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with directory.store.read() as looking:
        raw = looking.conn.connection.driver_connection
        assert raw is not None
        raw.set_progress_handler(count, 100)
        try:
            got = looking.outbox.held_keys({sub.id: ["user:a", "user:zz"]})
        finally:
            raw.set_progress_handler(None, 100)
    assert got == {sub.id: frozenset({"user:a"})}
    return steps[0]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_chain_behind_a_refusal_costs_in_proportion_to_its_length(directory: Directory) -> None:
    """Four times the deliveries of one entity held up behind a refusal cost about four times the
    work, not sixteen: each key steps to the next open delivery of that key only (stepping to every
    later one made the walk N²/2 rows; at 400, 23 times the work of 100). Counted in SQLite's
    virtual-machine steps, the same whatever the machine's speed."""
    small, large = _chain_steps(directory, 100), _chain_steps(directory, 400)
    assert large < 8 * small, (small, large)
