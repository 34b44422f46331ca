"""When the cache's poll finds the change counter moved, it reads the change log's new entries on
the poll's connection (``Store.changes_after``): a process catches up on another's writes without
a read transaction.
Both backends (the ``directory`` fixture); ``other_process`` stands in for another server process."""

from __future__ import annotations

from conftest import counting_reads
from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.tenancy import tenants


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
