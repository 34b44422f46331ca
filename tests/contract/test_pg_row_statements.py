"""PostgreSQL's multi-row statements (``store/inserts``: one ``INSERT ... SELECT FROM
json_to_recordset(rows)``, or ``unnest(arrays)`` for rows JSON does not carry as they are) store
what they are given and refuse what one row or ``executemany`` refuses, and change nothing then."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from psycopg.errors import CharacterNotInRepertoire, StringDataRightTruncation
from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError

from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.tenancy import tenants
from openroster.store import schema
from openroster.store.inserts import insert_many, upsert

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

_KEY = ("tenant_id", "user_id", "group_id", "row_index", "field_code")


def _rows(n: int, field_code: str) -> list[dict[str, object]]:
    return [
        {
            "tenant_id": "acme",
            "user_id": "p0",
            "group_id": "g",
            "row_index": i,
            "field_code": field_code,
            "value": "v",
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("rows", [1, 2])
@pytest.mark.parametrize("as_upsert", [False, True])
def test_an_over_long_string_is_refused_not_cut(directory: Directory, rows: int, as_upsert: bool) -> None:
    """``field_code`` is ``VARCHAR(64)``: 70 characters are refused whatever the number of rows (an
    array cast to ``VARCHAR(64)[]`` would cut them to 64 silently)."""
    tenants.create(directory, tenant_id="acme", name="Acme")
    users.create(directory, tenant_id="acme", item=users.NewUser(id="p0", user_name="P0", dept_ids=(1,)))
    with pytest.raises(DBAPIError) as refused, directory.store.write() as tx:
        if as_upsert:
            upsert(tx.conn, schema.roster_values, _rows(rows, "f" * 70), key=_KEY, update_columns=("value",))
        else:
            insert_many(tx.conn, schema.roster_values, _rows(rows, "f" * 70))
    assert isinstance(refused.value.orig, StringDataRightTruncation)
    with directory.store.read() as tx:
        assert tx.conn.execute(select(func.count()).select_from(schema.roster_values)).scalar_one() == 0


@contextmanager
def _sent(directory: Directory) -> Iterator[list[str]]:
    """The statements sent to the server within the block."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(directory.store.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(directory.store.engine, "before_cursor_execute", record)


def _stored(directory: Directory) -> list[tuple[object, ...]]:
    t = schema.roster_values.c
    with directory.store.read() as tx:
        return [
            tuple(r)
            for r in tx.conn.execute(select(t.row_index, t.field_code, t.value).order_by(t.row_index))
        ]


#: Texts JSON escapes (a quote, a backslash, a control character, JSON's spelling of a NUL as plain
#: text), outside ASCII and the BMP, and empty.
ODD = ['q"uote', "back\\slash", "tab\there", "\\u0000", "工号", "😀", ""]


@pytest.mark.parametrize("as_upsert", [False, True])
def test_many_rows_are_stored_as_given(directory: Directory, as_upsert: bool) -> None:
    """Rows of strings and integers go as one JSON text (``json_to_recordset``): stored as given,
    and an upsert's rows of one key merged, the last one's value kept."""
    tenants.create(directory, tenant_id="acme", name="Acme")
    users.create(directory, tenant_id="acme", item=users.NewUser(id="p0", user_name="P0", dept_ids=(1,)))
    rows = [{**r, "field_code": f"f{i}", "value": ODD[i]} for i, r in enumerate(_rows(len(ODD), ""))]
    with _sent(directory) as sent, directory.store.write() as tx:
        if as_upsert:
            again = {**rows[0], "value": "last"}
            upsert(tx.conn, schema.roster_values, [*rows, again], key=_KEY, update_columns=("value",))
        else:
            insert_many(tx.conn, schema.roster_values, rows)
    assert [s for s in sent if "json_to_recordset" in s]
    expected = [(i, f"f{i}", v) for i, v in enumerate(ODD)]
    if as_upsert:
        expected[0] = (0, "f0", "last")
    assert _stored(directory) == expected


class Code(str):
    """A ``str`` subclass: its rows go as arrays, as before (psycopg's dumper of ``str``)."""


def test_rows_json_does_not_carry_go_as_arrays(directory: Directory) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme")
    users.create(directory, tenant_id="acme", item=users.NewUser(id="p0", user_name="P0", dept_ids=(1,)))
    rows = _rows(2, "f")
    rows[1] = {**rows[1], "value": Code("sub"), "row_index": 2**40}  # past the column's INTEGER
    with pytest.raises(DBAPIError), directory.store.write() as tx:
        insert_many(tx.conn, schema.roster_values, rows)
    rows[1]["row_index"] = 1
    with _sent(directory) as sent, directory.store.write() as tx:
        insert_many(tx.conn, schema.roster_values, rows)
    assert [s for s in sent if "unnest" in s] and not [s for s in sent if "json_to_recordset" in s]
    assert _stored(directory) == [(0, "f", "v"), (1, "f", "sub")]


@pytest.mark.parametrize("as_upsert", [False, True])
def test_a_nul_is_refused_and_nothing_is_written(directory: Directory, as_upsert: bool) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme")
    users.create(directory, tenant_id="acme", item=users.NewUser(id="p0", user_name="P0", dept_ids=(1,)))
    rows = _rows(3, "f")
    rows[2] = {**rows[2], "value": "n\x00l"}
    with pytest.raises(DBAPIError) as refused, directory.store.write() as tx:
        if as_upsert:
            upsert(tx.conn, schema.roster_values, rows, key=_KEY, update_columns=("value",))
        else:
            insert_many(tx.conn, schema.roster_values, rows)
    # The refusal arrays get (JSON's own would be UntranslatableCharacter).
    assert isinstance(refused.value.orig, CharacterNotInRepertoire)
    assert _stored(directory) == []
