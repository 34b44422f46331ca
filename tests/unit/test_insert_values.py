"""``inserts.insert_values`` on a real SQLite file: many rows a statement, with the columns no row
has a value in written as NULL in the statement's text rather than bound, read back the same."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from openroster.store import inserts


@pytest.mark.parametrize(
    ("columns", "make"),
    [
        (("a", "b", "c", "d"), lambda i: (i, None, None if i % 3 else f"c{i}", "d")),
        (("a", "b"), lambda i: (f"a{i}", None)),  # one column left to bind
        (("a", "b"), lambda i: (None, None)),  # none
    ],
    ids=["some-empty", "one-bound", "all-empty"],
)
def test_rows_read_back_with_empty_columns_as_null_literals(
    tmp_path: Path, columns: tuple[str, ...], make: Any
) -> None:
    db = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    db.execute(f"CREATE TABLE t (k INTEGER PRIMARY KEY, {', '.join(columns)})")
    texts: list[tuple[str, str]] = []

    def execute(sql: str, params: Any) -> object:
        texts.append(("statement", sql))
        return db.execute(sql, params)

    def executemany(sql: str, params: list[Any]) -> object:
        texts.append(("each row", sql))
        return db.executemany(sql, params)

    rows = [make(i) for i in range(300)]
    inserts.insert_values(execute, executemany, "t", columns, rows, 40 * len(columns))
    assert db.execute(f"SELECT {', '.join(columns)} FROM t ORDER BY k").fetchall() == rows
    # 40 rows a statement, 7 times, then the last 20 one by one (fewer than 64: the one-row text,
    # every column bound, as a write of one row runs it).
    empty = {j for j in range(len(columns)) if all(r[j] is None for r in rows)}
    one = "(" + ", ".join("NULL" if j in empty else "?" for j in range(len(columns))) + ")"
    plain = "(" + ", ".join("?" * len(columns)) + ")"
    insert = f"INSERT INTO t ({', '.join(columns)}) VALUES "
    assert texts == [("statement", insert + ", ".join([one] * 40))] * 7 + [("each row", insert + plain)]


def test_only_the_full_statements_have_null_columns_and_falsy_values_are_bound(tmp_path: Path) -> None:
    """The statements of the most rows leave out the empty columns; the smaller ones (64, 128 ...
    rows) bind every value, so a table has one text a set of empty columns. A column of 0, of
    False or of '' is not empty: it is bound and read back as it was, not as NULL."""
    db = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    columns = ("zero", "no", "blank", "gone")
    db.execute(f"CREATE TABLE t (k INTEGER PRIMARY KEY, {', '.join(columns)})")
    texts: list[str] = []

    def execute(sql: str, params: Any) -> object:
        texts.append(sql)
        return db.execute(sql, params)

    def executemany(sql: str, params: list[Any]) -> object:
        texts.append(sql)
        return db.executemany(sql, params)

    rows = [(0, False, "", None)] * 300
    inserts.insert_values(execute, executemany, "t", columns, rows, 200 * len(columns))
    got = db.execute(
        "SELECT zero, typeof(zero), no, typeof(no), blank, typeof(blank), gone FROM t"
    ).fetchall()
    assert got == [(0, "integer", 0, "integer", "", "text", None)] * 300
    insert = f"INSERT INTO t ({', '.join(columns)}) VALUES "
    assert texts == [
        insert + ", ".join(["(?, ?, ?, NULL)"] * 200),  # 200 rows, the most a statement
        insert + ", ".join(["(?, ?, ?, ?)"] * 64),
        insert + "(?, ?, ?, ?)",  # the last 36 one by one
    ]
