"""When the cache's poll finds the change counter moved, it reads the change log's new entries on
the poll's connection (``Store.changes_after``): a process catches up on another's writes without
a read transaction.
Both backends (the ``directory`` fixture); ``other_process`` stands in for another server process."""

from __future__ import annotations

import pytest

from conftest import counting_reads, refused_reads
from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.tenancy import tenants
from openroster.store import ReadTx
from openroster.store.controlplane import CLOCK, CONTROL_KIND


def _person(uid: str, **fields: object) -> users.NewUser:
    return users.NewUser(id=uid, user_name=f"Person {uid}", dept_ids=(1,), **fields)  # type: ignore[arg-type]


def test_the_entries_after_a_position_come_oldest_first_as_the_read_transaction_reads_them(
    directory: Directory,
) -> None:
    store = directory.store
    tenants.create(directory, tenant_id="acme", name="Acme")
    start = store.latest_seq()
    users.create(directory, tenant_id="acme", item=_person("u1"))
    users.create(directory, tenant_id="acme", item=_person("u2"))
    users.update(directory, tenant_id="acme", user_id="u1", changes={"title": "Two"})

    changes = store.changes_after(start, 100)
    assert store.latest_seq() == start + 3
    assert [(c.seq, c.tenant_id, c.kind, c.key) for c in changes] == [
        (start + 1, "acme", "user", "u1"),
        (start + 2, "acme", "user", "u2"),
        (start + 3, "acme", "user", "u1"),
    ]
    with store.read() as tx:  # what the read transaction's own query answers
        assert changes == list(tx.changes.since(start, 100))
    assert store.changes_after(start + 1, 1) == changes[1:2]  # at most ``limit``
    assert store.changes_after(start + 3, 100) == []


def test_another_process_catches_up_from_its_poll_alone_and_reads_only_what_it_lost(
    directory: Directory, other_process: Directory
) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme")
    users.create_many(directory, tenant_id="acme", items=[_person("u1", title="One"), _person("u2")])
    with other_process.reader() as r:  # fills the other process's cache
        assert set(r.users("acme", ["u1", "u2"])) == {"u1", "u2"}
    users.update(directory, tenant_id="acme", user_id="u1", changes={"title": "Two"})
    users.update(directory, tenant_id="acme", user_id="u1", changes={"title": "Three"})

    with counting_reads(other_process.store) as opened, other_process.reader() as r:
        assert r.users("acme", ["u2"])["u2"].user_name == "Person u2"  # a hit: the change spared it
    assert opened[0] == 0  # both changes caught up on from the poll, no transaction
    assert other_process.cache.seq == directory.store.latest_seq()
    with counting_reads(other_process.store) as opened, other_process.reader() as r:
        assert r.users("acme", ["u1"])["u1"].title == "Three"  # dropped: read again, as now
    assert opened[0] == 1


def _move_the_clock(d: Directory, seconds: float) -> None:
    """What another process's control plane writes when it moves every process's clock."""
    with d.store.write() as tx:
        tx.control.set_clock_offset(seconds)
        tx.changed("", CONTROL_KIND, CLOCK)


def test_a_watched_change_is_told_once_the_read_transaction_it_needs_opens(
    directory: Directory, other_process: Directory
) -> None:
    told: list[tuple[str | None, float]] = []
    other_process.cache.watch(CONTROL_KIND, lambda tx, key: told.append((key, tx.control.clock_offset())))
    tenants.create(directory, tenant_id="acme", name="Acme")
    with other_process.reader():  # the other process's cache starts
        pass
    told.clear()
    _move_the_clock(directory, 60.0)

    # The poll finds the change, but the read transaction the watcher reads in does not open.
    refused = refused_reads(other_process.store, ConnectionError("the server is restarting"))
    with refused, pytest.raises(ConnectionError), other_process.reader():
        pass
    assert told == []
    with other_process.reader():  # the next request's sync tells the watcher after all
        pass
    assert told == [(CLOCK, 60.0)]
    assert other_process.cache.seq == directory.store.latest_seq()


def test_a_watcher_that_failed_is_told_again_by_the_next_sync(
    directory: Directory, other_process: Directory
) -> None:
    told: list[str | None] = []

    def follow(tx: ReadTx, key: str | None) -> None:
        offset = tx.control.clock_offset()
        if not told:
            told.append("failed")
            raise ConnectionError("the connection dropped mid-read")
        told.append(f"{key}: {offset}")

    tenants.create(directory, tenant_id="acme", name="Acme")
    with other_process.reader():
        pass
    other_process.cache.watch(CONTROL_KIND, follow)
    _move_the_clock(directory, 30.0)
    with pytest.raises(ConnectionError), other_process.reader():
        pass
    with other_process.reader():
        pass
    assert told == ["failed", f"{CLOCK}: 30.0"]
    assert other_process.cache.seq == directory.store.latest_seq()
