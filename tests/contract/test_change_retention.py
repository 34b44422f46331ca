"""The change log keeps the newest N entries (``serve --change-retention``), on both backends.

A transaction's entries are pruned together or not at all, and a process whose cache fell
behind what was pruned starts its cache over instead of replaying a log with a hole in it.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.runtime.upkeep import PRUNE_STEP, ChangeLogPruner, prune_change_log
from openroster.store import schema


def _log(d: Directory) -> list[tuple[int, str]]:
    with d.store.read() as tx:
        rows = tx.conn.execute(
            select(schema.change_log.c.seq, schema.change_log.c.entity_key).order_by(schema.change_log.c.id)
        ).all()
    return [(int(r[0]), str(r[1])) for r in rows]


def _people(d: Directory, ids: list[str]) -> None:
    """One transaction that logs one entry per person."""
    users.create_many(
        d, tenant_id="acme", items=[users.NewUser(id=u, user_name=f"Person {u}", dept_ids=(1,)) for u in ids]
    )


def test_pruning_keeps_the_newest_entries_and_whole_transactions(directory: Directory, tenant: str) -> None:
    for n in range(5):
        _people(directory, [f"t{n}-a", f"t{n}-b", f"t{n}-c"])  # three entries per transaction
    before = _log(directory)
    newest_seq = before[-1][0]
    # Keep 4: the newest transaction (3 entries) and the one the 4th newest entry belongs to.
    assert prune_change_log(directory.store, 4) == len(before) - 6
    after = _log(directory)
    assert after == before[-6:]
    assert {seq for seq, _ in after} == {newest_seq - 1, newest_seq}
    assert prune_change_log(directory.store, 4) == 0  # nothing more beyond the bound


def test_pruning_goes_in_small_steps(directory: Directory, tenant: str) -> None:
    for n in range(6):
        _people(directory, [f"s{n}"])
    total = len(_log(directory))
    assert prune_change_log(directory.store, 1, step=2) == 2
    assert len(_log(directory)) == total - 2
    while prune_change_log(directory.store, 1, step=2):
        pass
    assert len(_log(directory)) == 1


def test_a_step_ends_where_a_transaction_does(directory: Directory, tenant: str) -> None:
    for n in range(4):
        _people(directory, [f"t{n}-{k}" for k in range(4)])  # four entries per transaction
    _people(directory, [f"big-{k}" for k in range(9)])  # more entries than a step
    _people(directory, ["newest"])
    whole = Counter(seq for seq, _ in _log(directory))
    steps = []
    while True:
        before = _log(directory)
        gone = prune_change_log(directory.store, 1, step=6)
        if not gone:
            break
        steps.append(gone)
        after = _log(directory)
        assert after == before[gone:]
        # Whole transactions went: what is left of the log holds every entry of each.
        assert Counter(seq for seq, _ in after) == {seq: whole[seq] for seq, _ in after}
        if gone > 6:  # only the oldest transaction, when it alone is more than a step
            assert {seq for seq, _ in before[:gone]} == {before[0][0]}
    assert steps[-4:] == [4, 4, 4, 9]  # a step of 6 ended where the next transaction began
    assert [key for _, key in _log(directory)] == ["newest"]


def test_a_pass_of_the_pruner_goes_on_after_a_step_that_ended_short_of_its_size(
    directory: Directory, tenant: str
) -> None:
    size = PRUNE_STEP * 3 // 5  # two transactions are more than a step
    for n in range(3):
        with directory.store.write() as tx:
            for k in range(size):
                tx.changed(tenant, "user", f"x{n}-{k}")
    _people(directory, ["newest"])
    total = len(_log(directory))
    # Its first step ends where the second transaction begins: fewer than a step went.
    assert asyncio.run(ChangeLogPruner(directory.writes, 1).prune()) == total - 1
    assert [key for _, key in _log(directory)] == ["newest"]


def test_a_cache_catching_up_after_a_small_step_misses_no_entry_of_a_transaction(
    directory: Directory, other_process: Directory, tenant: str
) -> None:
    ids = [f"u{n}" for n in range(30)]
    _people(directory, ids)
    with other_process.reader() as r:  # the other process caches them all
        assert {u.title for u in r.users(tenant, ids).values()} == {None}
    with directory.writer() as tx:  # one transaction: thirty entries
        for uid in ids:
            users.update_in(tx, directory, tenant_id=tenant, user_id=uid, changes={"title": "Moved"})
    moved = directory.store.latest_seq()
    _people(directory, ["later"])  # the newest transaction, the one kept
    # Prune in steps smaller than the transaction (``--change-retention`` below the cache's
    # batch) until some of its entries went; the other process has not caught up meanwhile.
    while Counter(seq for seq, _ in _log(directory))[moved] == len(ids):
        assert prune_change_log(directory.store, 1, step=7) > 0
    with other_process.reader() as r:
        assert {u.title for u in r.users(tenant, ids).values()} == {"Moved"}
    assert other_process.cache.seq == directory.store.latest_seq()
    assert all(seq != moved for seq, _ in _log(directory))  # the transaction went whole


def test_a_process_behind_the_pruned_log_starts_its_cache_over(
    directory: Directory, other_process: Directory, tenant: str
) -> None:
    _people(directory, ["u1"])
    with other_process.reader() as r:  # the other process caches u1 at the current seq
        assert r.users(tenant, ["u1"])["u1"].title is None
    users.update(directory, tenant_id=tenant, user_id="u1", changes={"title": "Architect"})
    for n in range(3):
        _people(directory, [f"later{n}"])
    assert prune_change_log(directory.store, 1) > 0  # u1's change is gone from the log
    assert all(key != "u1" for _, key in _log(directory))
    with other_process.reader() as r:
        assert r.users(tenant, ["u1"])["u1"].title == "Architect"
    assert other_process.cache.seq == directory.store.latest_seq()


def test_a_process_follows_a_counter_that_moved_with_nothing_logged(
    directory: Directory, other_process: Directory, tenant: str
) -> None:
    with other_process.reader():
        pass
    with directory.store.write() as tx:  # a bump without entries
        tx.conn.execute(schema.change_counter.update().values(seq=schema.change_counter.c.seq + 1))
    with other_process.reader():
        pass
    assert other_process.cache.seq == directory.store.latest_seq()
    with directory.store.read() as tx:
        assert tx.conn.execute(select(func.count()).select_from(schema.change_log)).scalar_one() >= 1
