"""The store's contract: what every backend must do, run against SQLite and a real PostgreSQL.

One class, :class:`TestStoreContract`; the ``directory`` fixture is parametrized
over both backends (tests/conftest.py), so each test runs once per backend on a
fresh database. A second :class:`Directory` opened on the same store stands in
for another server process (its own cache, its own connections).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from conftest import Databases, counting_reads
from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import depts as dept_service
from openroster.core.people import search, users
from openroster.core.people.search import Found, Query
from openroster.core.tenancy import apps, tenants
from openroster.model.entities import (
    AttributeUpdate,
    AttributeValue,
    UrlValue,
    UserAttributeUpdate,
    UserStatus,
)
from openroster.model.errors import BulkConflict, Conflict, InvalidValue
from openroster.server.app import open_directory
from openroster.store import bulk, schema
from openroster.store import snapshot as snapshot_rows
from openroster.store import tenants as tenant_rows
from openroster.store import users as user_rows
from openroster.store.attrs import encode_value
from openroster.store.migrate import current_revision, head_revision


def _person(uid: str, dept: int = 1, **fields: object) -> users.NewUser:
    return users.NewUser(id=uid, user_name=f"Person {uid}", dept_ids=(dept,), **fields)  # type: ignore[arg-type]


def _row(uid: str) -> dict[str, object]:
    """A users row for ``uid`` as the core would write it (tenant_id left to the caller)."""
    return user_rows.user_row(users.checked_user(_person(uid), prefix="", now=1))


def _count(d: Directory, table: object, tenant_id: str | None = None) -> int:
    with d.store.read() as tx:
        q = select(func.count()).select_from(table)  # type: ignore[arg-type]
        if tenant_id is not None:
            q = q.where(table.c.tenant_id == tenant_id)  # type: ignore[attr-defined]
        return int(tx.conn.execute(q).scalar_one())


@pytest.fixture
def acme(directory: Directory) -> str:
    tenants.create(directory, tenant_id="acme", name="Acme")
    return "acme"


def _in_threads(n: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run(k: int) -> None:
        try:
            start.wait()
            work(k)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


class TestStoreContract:
    def test_schema_is_at_head_and_upgrading_again_changes_nothing(self, directory: Directory) -> None:
        from alembic.script import ScriptDirectory

        from openroster.store.migrate import alembic_config

        head = ScriptDirectory.from_config(alembic_config(directory.store)).get_current_head()
        assert head_revision() == head  # what a start compares with before it loads Alembic
        assert current_revision(directory.store) == head
        directory.store.migrate()
        assert current_revision(directory.store) == head
        assert directory.store.integrity_check() == []

    def test_a_failed_write_leaves_nothing_behind(self, directory: Directory, acme: str) -> None:
        with directory.store.read() as tx:
            before = tx.changes.current_seq()
        with pytest.raises(RuntimeError), directory.writer() as tx:
            users.create_in(tx, directory, tenant_id=acme, items=[_person("u1")])
            tx.changed(acme, "user", "u1")
            raise RuntimeError("abort")
        assert _count(directory, schema.users, acme) == 0
        with directory.store.read() as tx:
            assert tx.changes.current_seq() == before

    def test_the_change_counter_moves_once_per_write_in_commit_order(
        self, directory: Directory, acme: str
    ) -> None:
        store = directory.store
        with store.read() as tx:
            start = tx.changes.current_seq()
        users.create(directory, tenant_id=acme, item=_person("u1"))
        users.create(directory, tenant_id=acme, item=_person("u2"))
        with directory.writer():
            pass  # a write that changed nothing publishes nothing
        with store.read() as tx:
            changes = tx.changes.since(start, 100)
            assert tx.changes.current_seq() == start + 2
        assert [(c.seq, c.kind, c.key) for c in changes] == [
            (start + 1, "user", "u1"),
            (start + 2, "user", "u2"),
        ]
        assert store.latest_seq() == start + 2

    def test_another_process_sees_every_write(
        self, directory: Directory, other_process: Directory, acme: str
    ) -> None:
        users.create(directory, tenant_id=acme, item=_person("u1", title="Engineer"))
        apps.create(directory, tenant_id=acme, client_id="acme-app", secret="acme-app-secret")
        with other_process.reader() as r:  # fills the other process's cache
            assert r.users(acme, ["u1"])["u1"].title == "Engineer"
            assert r.app("acme-app") is not None
        users.update(directory, tenant_id=acme, user_id="u1", changes={"title": "Architect"})
        rotated = apps.rotate_secret(directory, client_id="acme-app")
        with other_process.reader() as r:
            assert r.users(acme, ["u1"])["u1"].title == "Architect"
            app = r.app("acme-app")
            assert app is not None and app.secret_version == rotated.secret_version
        tenants.delete(directory, acme)
        with other_process.reader() as r:
            assert r.users(acme, ["u1"]) == {}
            assert r.app("acme-app") is None

    def test_reads_answered_from_the_cache_open_no_transaction(self, directory: Directory, acme: str) -> None:
        users.create_many(directory, tenant_id=acme, items=[_person(f"u{i}") for i in range(5)])
        ids = [f"u{i}" for i in range(5)]
        with directory.reader() as r:
            assert len(r.users(acme, ids)) == 5  # misses: fetched in a read transaction
            assert r.dept_view(acme).get(1) is not None
        with counting_reads(directory.store) as opened:
            for _ in range(3):
                with directory.reader() as r:
                    assert len(r.users(acme, ids)) == 5
                    assert r.dept_view(acme).get(1) is not None
        assert opened[0] == 0
        users.update(directory, tenant_id=acme, user_id="u0", changes={"title": "New"})
        with counting_reads(directory.store) as opened, directory.reader() as r:
            assert r.users(acme, ids)["u0"].title == "New"
        assert opened[0] == 1  # one transaction: the changed user (the change log came with the poll)

    def test_users_come_in_the_order_asked_for_hits_and_misses_alike(
        self, directory: Directory, acme: str
    ) -> None:
        users.create_many(directory, tenant_id=acme, items=[_person(f"u{i}") for i in range(6)])
        with directory.reader() as r:
            r.users(acme, ["u4", "u1"])  # cached: u4, u1; not yet: the rest
        asked = ["u5", "u1", "ghost", "u0", "u4", "u3"]
        with directory.reader() as r:
            assert list(r.users(acme, asked)) == ["u5", "u1", "u0", "u4", "u3"]
            assert list(r.users(acme, list(reversed(asked)))) == ["u3", "u4", "u0", "u1", "u5"]
        with directory.reader() as r:
            found = users.batch_read(
                r, tenant_id=acme, user_ids=["u2", "u0", "u2"], statuses=[UserStatus.ACTIVE]
            )
        assert [u.id for u in found] == ["u2", "u0"]

    def test_name_search_pages_members_and_departments_alike_on_both_backends(
        self, directory: Directory, acme: str
    ) -> None:
        with directory.writer() as tx:
            sales = dept_service.ensure_path(tx, directory, tenant_id=acme, names=["Sales 100%"])
            dept_service.ensure_path(tx, directory, tenant_id=acme, names=["Presales"])
        names = ["Ann Lee", "ann_b", "Joanne", "Bob", "安娜", "Ann Lee"]
        users.create_many(
            directory,
            tenant_id=acme,
            items=[
                users.NewUser(id=f"u{i}", user_name=n, dept_ids=(1,), status="dimission" if i == 5 else None)
                for i, n in enumerate(names)
            ],
        )
        with directory.reader() as r:

            def members(word: str, *, exact: bool = False, offset: int = 0, size: int = 5) -> Found[str]:
                return search.members(r, tenant_id=acme, query=Query(word, offset, size), exact=exact)

            # ASCII case ignored, in id order, paged from an item offset, the total beside; left: no match.
            assert members("ANN", size=2) == Found(["u0", "u1"], 3)
            assert members("ann", offset=2, size=2).ids == ["u2"]
            assert members("Ann Lee", exact=True).ids == ["u0"]
            assert members("安").ids == ["u4"]
            # LIKE's wildcards are plain characters in a query word.
            assert members("n_b").ids == ["u1"]
            assert members("%").total == 0
            found = search.departments(r, tenant_id=acme, query=Query("sales"))
            assert found.total == 2 and sales.id in found.ids
            assert search.departments(r, tenant_id=acme, query=Query("0%")).ids == [sales.id]

    def test_the_change_poll_survives_a_lost_connection(self, directory: Directory, acme: str) -> None:
        store = directory.store
        seq = store.latest_seq()
        poll = store._poll
        assert poll is not None
        if store.backend == "postgresql":
            pid = poll.driver_connection.info.backend_pid
            with store.engine.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                conn.commit()
        else:
            poll.driver_connection.close()
        users.create(directory, tenant_id=acme, item=_person("u1"))
        assert store.latest_seq() == seq + 1

    def test_upsert_inserts_then_replaces(self, directory: Directory, acme: str) -> None:
        users.create(directory, tenant_id=acme, item=_person("u1"))
        attributes.create_definitions(
            directory,
            tenant_id=acme,
            items=[attributes.NewDefinition(id="desk", name="Desk", value_type="text")],
        )
        for value in ("A-1", "B-2"):
            with directory.writer() as tx:
                tx.attrs.put_values(acme, [("u1", AttributeValue("desk", value))])
        with directory.store.read() as tx:
            got = tx.attrs.get_values(acme, ["u1"], {"desk": attributes.ValueType.TEXT})
        assert got["u1"] == [AttributeValue("desk", "B-2")]
        assert _count(directory, schema.attr_values, acme) == 1

    def test_values_of_many_people_are_set_and_cleared_in_one_statement_each(
        self, directory: Directory, acme: str
    ) -> None:
        people = [f"u{i}" for i in range(4)]
        users.create_many(directory, tenant_id=acme, items=[_person(u) for u in people])
        attributes.create_definitions(
            directory,
            tenant_id=acme,
            items=[
                attributes.NewDefinition(id=a, name=a.title(), value_type="text") for a in ("desk", "floor")
            ],
        )
        types = {"desk": attributes.ValueType.TEXT, "floor": attributes.ValueType.TEXT}
        with directory.writer() as tx:
            tx.attrs.put_values(acme, [(u, AttributeValue(a, f"{u}-{a}")) for u in people for a in types])
        with directory.writer() as tx:
            tx.attrs.delete_values(acme, [("u0", "desk"), ("u1", "floor"), ("u2", "desk"), ("u2", "floor")])
            tx.attrs.delete_values(acme, [])
        with directory.store.read() as tx:
            got = tx.attrs.get_values(acme, people, types)
        assert {u: sorted(v.attr_id for v in vs) for u, vs in got.items()} == {
            "u0": ["floor"],
            "u1": ["desk"],
            "u3": ["desk", "floor"],
        }

    def test_concurrent_writers_all_land(self, databases: Databases, tmp_path: Path, acme: str) -> None:
        """Eight writers (each its own connections, as processes would be) never lose or refuse a write."""
        dirs = [open_directory(databases.settings_for(tmp_path / "data")) for _ in range(8)]
        try:

            def work(k: int) -> None:
                for i in range(15):
                    users.create(dirs[k], tenant_id=acme, item=_person(f"w{k}-{i}"))

            assert _in_threads(8, work) == []
            assert _count(dirs[0], schema.users, acme) == 120
            with dirs[0].store.read() as tx:
                assert tx.changes.current_seq() >= 121
        finally:
            for d in dirs:
                d.store.dispose()

    def test_concurrent_upserts_of_one_row_keep_one_whole_value(
        self, databases: Databases, tmp_path: Path, directory: Directory, acme: str
    ) -> None:
        users.create(directory, tenant_id=acme, item=_person("u1"))
        attributes.create_definitions(
            directory,
            tenant_id=acme,
            items=[attributes.NewDefinition(id="home", name="Home", value_type="url")],
        )
        dirs = [open_directory(databases.settings_for(tmp_path / "data")) for _ in range(2)]
        try:

            def work(k: int) -> None:
                for i in range(20):
                    attributes.update_values(
                        dirs[k],
                        tenant_id=acme,
                        updates=[
                            UserAttributeUpdate(
                                "u1",
                                (
                                    AttributeUpdate(
                                        "home",
                                        url_title=f"w{k}",
                                        url_link=f"https://w{k}.test/{i}",
                                        has_url=True,
                                    ),
                                ),
                            )
                        ],
                    )

            assert _in_threads(2, work) == []
        finally:
            for d in dirs:
                d.store.dispose()
        with directory.reader() as r:
            value = attributes.read_values(r, tenant_id=acme, user_ids=["u1"])["u1"][0].value
        assert value in {UrlValue(f"w{k}", f"https://w{k}.test/19") for k in (0, 1)}

    def test_department_ids_are_never_handed_out_twice(
        self, databases: Databases, tmp_path: Path, acme: str
    ) -> None:
        dirs = [open_directory(databases.settings_for(tmp_path / "data")) for _ in range(4)]
        got: list[int] = []
        lock = threading.Lock()
        try:

            def work(k: int) -> None:
                for i in range(10):
                    dept = dept_service.create(
                        dirs[k],
                        tenant_id=acme,
                        item=dept_service.NewDepartment(name=f"D{k}-{i}", parent_id=1),
                    )
                    with lock:
                        got.append(dept.id)

            assert _in_threads(4, work) == []
        finally:
            for d in dirs:
                d.store.dispose()
        assert len(got) == len(set(got)) == 40

    def test_unique_values_are_unique_within_a_tenant_only(self, directory: Directory, acme: str) -> None:
        tenants.create(directory, tenant_id="globex", name="Globex")
        users.create(directory, tenant_id=acme, item=_person("u1", email="pat@example.com"))
        users.create(directory, tenant_id="globex", item=_person("u1", email="pat@example.com"))
        users.create_many(
            directory, tenant_id=acme, items=[_person("u2"), _person("u3")]
        )  # no email: no clash
        with pytest.raises(Conflict, match="email"):
            users.create(directory, tenant_id=acme, item=_person("u4", email="PAT@example.com"))
        # The store itself refuses it too, whatever a caller forgot to check.
        row = {**_row("u5"), "tenant_id": acme, "email": "pat@example.com"}
        with pytest.raises(IntegrityError), directory.writer() as tx:
            tx.conn.execute(insert(schema.users).values(**row))

    def test_foreign_keys_hold(self, directory: Directory, acme: str) -> None:
        users.create(directory, tenant_id=acme, item=_person("u1"))
        with pytest.raises(IntegrityError), directory.writer() as tx:
            tx.conn.execute(
                insert(schema.memberships).values(
                    tenant_id=acme, user_id="u1", dept_id=999, is_leader=False, sort_order=0
                )
            )

    def test_text_and_numbers_round_trip(self, directory: Directory, acme: str) -> None:
        name = '欧阳 娜娜 🧑‍💻 O\'Brien "quoted" \\ back'
        users.create(directory, tenant_id=acme, item=_person("u1", title=name, work_place="x" * 200))
        big = 2**40 + 7
        with directory.writer() as tx:
            tx.conn.execute(schema.users.update().where(schema.users.c.id == "u1").values(ctime=big))
            tx.changed(acme, "user", "u1")
        with directory.reader() as r:
            u = r.users(acme, ["u1"])["u1"]
        assert (u.title, u.work_place, u.ctime) == (name, "x" * 200, big)

    def test_long_id_lists(self, directory: Directory, acme: str) -> None:
        users.create_many(
            directory,
            tenant_id=acme,
            items=[_person(f"u{i:04d}", email=f"u{i}@example.com") for i in range(100)],
        )
        wanted = [f"u{i:04d}" for i in range(1200)]
        with directory.store.read() as tx:
            assert len(tx.users.get_users(acme, wanted)) == 100
            taken = tx.users.find_taken_values(acme, "email", [f"u{i}@example.com" for i in range(1200)])
        assert len(taken) == 100

    def test_bulk_insert_writes_rows_and_reports_clashes(self, directory: Directory, acme: str) -> None:
        def as_tuple(row: dict[str, object]) -> tuple[object, ...]:
            return tuple(row[c] for c in bulk.USER_COLUMNS)

        rows = [
            as_tuple({**_row(f"b{i}"), "tenant_id": acme, "email": f"b{i}@example.com"}) for i in range(500)
        ]
        with directory.writer() as tx:
            assert tx.bulk.insert_users(rows) == 500
            tx.changed(acme, "tenant", acme)
        assert _count(directory, schema.users, acme) == 500
        clash = as_tuple({**_row("c1"), "tenant_id": acme, "email": "b7@example.com"})
        with pytest.raises(BulkConflict) as caught, directory.writer() as tx:
            tx.bulk.insert_users([clash])
        assert caught.value.columns == ("email",)
        assert _count(directory, schema.users, acme) == 500

    def test_bulk_rows_read_back_as_given(self, directory: Directory, acme: str) -> None:
        """More rows than one SQLite statement takes (1,365 users): every row, and the values as
        given (text of digits stays text, quotes, None, big numbers, booleans)."""

        def row(uid: str, **kw: object) -> tuple[object, ...]:
            return tuple({**_row(uid), "tenant_id": acme, **kw}[c] for c in bulk.USER_COLUMNS)

        odd = {"employee_id": "007", "user_name": '王 "引号" \\ 李', "ctime": 2**53 + 1, "email": None}
        rows = [row(f"b{i:04d}", email=f"b{i}@example.com") for i in range(2999)] + [row("odd", **odd)]
        with directory.writer() as tx:
            assert tx.bulk.insert_users(rows) == 3000
            assert tx.bulk.insert_memberships([(acme, "odd", 1, True, 3), (acme, "b0000", 1, False, 1)]) == 2
            tx.changed(acme, "tenant", acme)
        assert _count(directory, schema.users, acme) == 3000
        with directory.store.read() as tx:
            found = tx.users.get_users(acme, ["odd", "b0000", "b2998"])
        u = found["odd"]
        assert (u.employee_id, u.user_name, u.ctime, u.email) == ("007", odd["user_name"], 2**53 + 1, None)
        assert u.memberships[0].is_leader is True and found["b0000"].memberships[0].is_leader is False
        assert found["b2998"].email == "b2998@example.com"

    def test_bulk_loaders_fill_every_table_they_name(self, directory: Directory, acme: str) -> None:
        attributes.create_definitions(
            directory,
            tenant_id=acme,
            items=[attributes.NewDefinition(id="desk", name="Desk", value_type="text")],
        )
        with directory.writer() as tx, tx.bulk.loading():
            assert tx.bulk.insert_depts([(acme, 7, 1, "Loaded", 1, None, "/Acme/Loaded", 1)]) == 1
            assert tx.bulk.insert_users(
                [tuple({**_row("b1"), "tenant_id": acme}[c] for c in bulk.USER_COLUMNS)]
            )
            assert tx.bulk.insert_memberships([(acme, "b1", 7, False, 3)]) == 1
            assert tx.bulk.insert_attr_values([(acme, "b1", "desk", encode_value("A-1"))]) == 1
            assert tx.bulk.insert_roster_values([(acme, "b1", "sys00", 0, "sys00-x", "1")]) == 1
            tx.changed(acme, "tenant", acme)
        with directory.store.read() as tx:
            assert tx.depts.get_depts(acme, [7])[7].abs_path == "/Acme/Loaded"
            assert [m.dept_id for m in tx.users.get_users(acme, ["b1"])["b1"].memberships] == [7]
            assert tx.attrs.get_values(acme, ["b1"], {"desk": attributes.ValueType.TEXT}) == {
                "b1": [AttributeValue("desk", "A-1")]
            }
            assert [
                (v.group_id, v.field_code, v.value) for v in tx.roster.get_values(acme, ["b1"])["b1"]
            ] == [("sys00", "sys00-x", "1")]

    def test_a_savepoint_undoes_its_own_writes_only(self, directory: Directory, acme: str) -> None:
        with directory.writer() as tx:
            users.create_in(tx, directory, tenant_id=acme, items=[_person("kept")])
            with pytest.raises(RuntimeError), tx.savepoint():
                users.create_in(tx, directory, tenant_id=acme, items=[_person("undone")])
                raise RuntimeError("abort the block")
        with directory.store.read() as tx:
            assert tx.users.existing_ids(acme, ["kept", "undone"]) == {"kept"}

    def test_snapshot_rows_go_by_table_name_and_are_checked_against_their_columns(
        self, directory: Directory, acme: str
    ) -> None:
        users.create(directory, tenant_id=acme, item=_person("s1"))
        with directory.store.read() as tx:
            saved = tx.snapshots.read_rows("users", acme)
            assert [r["id"] for r in saved] == ["s1"]
            assert "tenant_id" not in saved[0]
        with directory.writer() as tx:
            tx.snapshots.clear_tenant(acme, keep=["depts"])
            assert tx.users.existing_ids(acme, ["s1"]) == set()
            tx.snapshots.insert_rows("users", acme, [snapshot_rows.checked_row("users", saved[0], where="u")])
            tx.changed(acme, "tenant", acme)
        with directory.store.read() as tx:
            assert tx.users.existing_ids(acme, ["s1"]) == {"s1"}
        with pytest.raises(InvalidValue) as caught:
            snapshot_rows.checked_row("users", {**saved[0], "nope": 1}, where="u")
        assert caught.value.field == "u.nope"
        with pytest.raises(InvalidValue) as caught:
            snapshot_rows.checked_row("users", {**saved[0], "ctime": "soon"}, where="u")
        assert caught.value.field == "u.ctime"

    def test_deleting_a_tenant_removes_its_rows_only(self, directory: Directory, acme: str) -> None:
        tenants.create(directory, tenant_id="globex", name="Globex")
        for t in (acme, "globex"):
            users.create_many(directory, tenant_id=t, items=[_person("u1"), _person("u2")])
            apps.create(directory, tenant_id=t, client_id=f"{t}-app", secret=f"{t}-app-secret")
        tenants.delete(directory, acme)
        for table in tenant_rows.TENANT_TABLES:
            assert _count(directory, table, acme) == 0
        assert _count(directory, schema.users, "globex") == 2
        assert _count(directory, schema.apps, "globex") == 1
        assert directory.store.integrity_check() == []

    @pytest.mark.slow
    def test_processes_starting_together_upgrade_the_schema_once(
        self, databases: Databases, tmp_path: Path
    ) -> None:
        """A rolling start: several processes run the migrations on an empty database at once."""
        if databases.cluster is not None:
            url = databases.cluster.create_database(migrated=False)
            databases.created[tmp_path / "unmigrated"] = url  # dropped with the test's databases
        else:
            url = f"sqlite:///{tmp_path / 'unmigrated' / 'openroster.db'}"
        script = "import sys; from openroster.store import open_store; open_store(sys.argv[1]).migrate()"
        procs = [
            subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE) for _ in range(4)
        ]
        errors = [p.communicate(timeout=300)[1].decode() for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, errors
        from openroster.store import open_store

        store = open_store(url)
        try:
            assert current_revision(store) is not None
            assert store.integrity_check() == []
            with store.read() as tx:
                assert tx.changes.current_seq() == 0
        finally:
            store.dispose()

    def test_requests_that_arrived_before_a_poll_share_it_and_later_ones_see_later_writes(
        self, directory: Directory, other_process: Directory, acme: str
    ) -> None:
        users.create(directory, tenant_id=acme, item=_person("u1", title="One"))
        with other_process.reader():
            pass  # the process's first read: it learns where the change log is
        polls = [0]
        original = other_process.store.latest_seq

        def counted() -> int:
            polls[0] += 1
            return original()

        other_process.store.latest_seq = counted  # type: ignore[method-assign]
        arrived = time.monotonic()
        with other_process.reader(fresh_after=arrived) as r:  # polls: nothing seen yet after arrival
            assert r.users(acme, ["u1"])["u1"].title == "One"
        with other_process.reader(fresh_after=arrived) as r:  # arrived before that poll: shares it
            assert r.users(acme, ["u1"])["u1"].title == "One"
        assert polls[0] == 1
        users.update(directory, tenant_id=acme, user_id="u1", changes={"title": "Two"})
        with other_process.reader(fresh_after=time.monotonic()) as r:  # arrived after the write: sees it
            assert r.users(acme, ["u1"])["u1"].title == "Two"
        with other_process.reader() as r:  # no arrival time: always polls
            assert r.users(acme, ["u1"])["u1"].title == "Two"
        assert polls[0] == 3
