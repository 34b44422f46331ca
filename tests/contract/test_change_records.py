"""A write's change records on both backends: every record, in order, whatever their number; on
SQLite, few statement texts for any number (``changes.publish``, ``inserts.insert_values``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event as sa_event

from openroster.core.directory import Directory
from openroster.model.changes import ChangeRecord, EntityKind, Operation
from openroster.store import changes


def test_change_records_of_any_count_read_back_in_order_from_few_statements(
    directory: Directory, tenant: str
) -> None:
    """A write's change records (SQLite: many a statement, in buckets of row counts) read back
    whole and in order, past what one statement takes; a write of one record runs the same
    statement text every time (the driver's cached one) and no count adds a text of its own."""
    store = directory.store
    sqlite = store.backend == "sqlite"
    most = 3000
    if sqlite:
        with store.read() as tx:
            raw: Any = tx.conn.connection.driver_connection
            limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 11  # a record's columns
            most = min(limit, changes.RECORDS_A_STATEMENT)
    counts = (3, 63, 64, 100, 300, most + 100)
    inserts: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("INSERT INTO change_records"):
            inserts.append(statement)

    def write(count: int, before: dict[str, object] | None = None) -> tuple[int, list[str]]:
        inserts.clear()
        with store.write() as tx:
            for i in range(count):
                kind = EntityKind.USER if i % 2 else EntityKind.DEPARTMENT
                tx.record(ChangeRecord(tenant, kind, Operation.CREATE, f"e{count}-{i}", before=before))
        assert tx.seq is not None
        return tx.seq, list(inserts)

    sa_event.listen(store.engine, "before_cursor_execute", seen)
    try:
        one = write(1)[1]
        written = {n: write(n) for n in counts}
        again = write(1, {"name": "引号 \\ '"})
    finally:
        sa_event.remove(store.engine, "before_cursor_execute", seen)
    for n, (seq, _) in written.items():
        with store.read() as tx:
            got = [c for c in tx.changes.records_after(tenant, seq - 1, n + 10) if c.seq == seq]
        assert [(c.n, c.record.entity_id) for c in got] == [(i, f"e{n}-{i}") for i in range(n)]
        assert got[1].record.kind is EntityKind.USER and got[0].record.fields == ()
    with store.read() as tx:
        last = tx.changes.records_after(tenant, again[0] - 1, 10)
    assert [c.record.before for c in last] == [{"name": "引号 \\ '"}]
    if sqlite:
        assert len(one) == 1 and again[1] == one
        # The one-row text (fewer than 64 rows), 64 rows, 256 and the most a statement takes.
        sizes = [[t.count("(?") for t in written[n][1]] for n in counts]
        assert sizes == [[1], [1], [64], [64, 1], [256, 1], [most, 64, 1]]
        assert len({t for n in counts for t in written[n][1]}) == 4
        assert written[3][1] == one
