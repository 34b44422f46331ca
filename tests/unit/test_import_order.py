"""What an import's speed-ups keep to (core/sheets/stream.py, validate.py, people/bulk.py): new
people's ids increase in the file's order within a chunk, and their gender, role and status reach
the store bound as plain text."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from tests.unit.test_import_core import company, people, people_rows, run

from openroster.core.directory import Directory
from openroster.core.people import bulk
from openroster.model.entities import USER_CHOICES

__all__ = ["company"]  # the fixture, imported for these tests


def test_new_ids_increase_in_the_files_order_within_a_chunk(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into an empty tenant the file is read a chunk at a time (200 rows standing for 10,000): each
    chunk's new rows get increasing ids in the file's order. Into a tenant with people the whole
    file is one: all its new rows' ids increase."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    rows = people_rows(700)
    assert not run(directory, rows[:450]).problems
    found = people(directory)
    ids = [found[row[1]].id for row in rows[:450]]
    for start in range(0, 450, 200):
        assert ids[start : start + 200] == sorted(ids[start : start + 200])
    assert not run(directory, rows[450:]).problems
    found = people(directory)
    later = [found[row[1]].id for row in rows[450:]]
    assert later == sorted(later) and len(set(ids + later)) == 700


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_gender_role_and_status_are_bound_as_plain_text(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlite3 looks an adapter up for a value of a str subclass (an enumeration's member) and
    binds a plain str as it is: with an adapter that binds the enumerations' members as bytes,
    the users' gender, role and status are still stored as text, so none was a member."""
    for kind, _ in USER_CHOICES.values():
        monkeypatch.setitem(sqlite3.adapters, (kind, sqlite3.PrepareProtocol), lambda v: str(v).encode())
    rows = people_rows(300)
    for i, row in enumerate(rows):  # a gender given, or the empty cell's default
        row[4] = ("男", "女", "")[i % 3]
    monkeypatch.setattr(bulk, "CHUNK", 200)
    assert not run(directory, rows).problems
    with directory.store.read() as tx:
        driver: Any = tx.conn.connection.driver_connection
        stored = driver.execute(
            "SELECT typeof(gender), typeof(role), typeof(status), count(*) FROM users"
            " WHERE tenant_id = 'acme' GROUP BY 1, 2, 3"
        ).fetchall()
    assert stored == [("text", "text", "text", 300)]
