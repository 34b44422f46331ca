"""Reads asked together (``Tx.together``, ``store/sql.together``): on PostgreSQL, in a write
transaction, one pipeline for all of them; their answers are those of each read run alone, and they
see what the transaction wrote before them (both backends)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, event, insert, literal, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import depts, users
from openroster.core.roster import writes as roster_writes
from openroster.core.roster.writes import FieldWrite, GroupWrite, SectionWrite
from openroster.model.entities import AttributeUpdate, StoredValue, UserAttributeUpdate
from openroster.store import ReadTx, WriteTx, schema, sql

#: A person whose id is as long as an id may be.
LONG = "l" * 64
DEFS = [
    attributes.NewDefinition(id="desk", name="工位", value_type="text"),
    attributes.NewDefinition(id="mentor", name="导师", value_type="relation_user"),
]


def _acme(d: Directory, tenant: str) -> None:
    depts.create(d, tenant_id=tenant, item=depts.NewDepartment(name="Sales", parent_id=1))
    users.create_many(
        d,
        tenant_id=tenant,
        items=[users.NewUser(id=f"u{i}", user_name=f"User {i}", dept_ids=(1, 2)) for i in (1, 2, 3)],
    )
    users.create(d, tenant_id=tenant, item=users.NewUser(id=LONG, user_name="Long", dept_ids=(1,)))
    attributes.create_definitions(d, tenant_id=tenant, items=DEFS)
    attributes.update_values(
        d,
        tenant_id=tenant,
        updates=[UserAttributeUpdate(user_id="u1", attrs=(AttributeUpdate(attr_id="desk", text="A-1"),))],
    )
    edu = GroupWrite("sys03", (SectionWrite((FieldWrite("sys03-major", "数学"),)),))
    roster_writes.update(d, tenant_id=tenant, user_id="u2", groups=[edu, edu])


def _reads(tx: WriteTx, tenant: str) -> list[sql.Read[Any]]:
    return [
        tx.users.get_users_read(tenant, ["u1", "u2", "nobody"]),
        # An id one longer than the longest: cut to the column's length it would name LONG.
        tx.users.existing_ids_read(tenant, ["u3", "nobody", LONG + "x"]),
        tx.users.existing_ids_read(tenant, []),  # nothing to ask
        tx.depts.get_depts_read(tenant, [1, 2, 99]),
        tx.attrs.definitions_read(tenant),
        tx.attrs.stored_values_read(tenant, ["u1", "u2"]),
        tx.roster.list_field_options_read(tenant),
        tx.roster.get_values_read(tenant, ["u2"]),
    ]


@contextmanager
def _driver_texts(tx: ReadTx | WriteTx) -> Iterator[list[str]]:
    """The texts ``sql.run`` hands SQLite's driver while in the block (announced with no context
    of SQLAlchemy's; a statement SQLAlchemy runs has one). PostgreSQL's: none."""
    sent: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        if context is None:
            sent.append(statement)

    event.listen(tx.conn, "before_cursor_execute", watch)
    try:
        yield sent
    finally:
        event.remove(tx.conn, "before_cursor_execute", watch)


def _by_sqlalchemy(conn: Connection, read: sql.Read[Any]) -> Any:
    return read.decode([conn.execute(s, p).all() for s, p in read.queries])


def test_reads_asked_together_answer_as_each_alone_and_see_the_writes_before_them(
    directory: Directory, tenant: str
) -> None:
    _acme(directory, tenant)
    with directory.store.write() as tx:
        # Written first in the same transaction (on PostgreSQL the write took the counter's lock
        # and sent it with its own statement): the reads see it.
        tx.attrs.put_stored_values(tenant, [("u2", "desk", '"B-2"')])
        alone = [sql.run(tx.conn, r) for r in _reads(tx, tenant)]
        reads = _reads(tx, tenant)
        together = [
            *tx.together(reads[0], reads[1], reads[2], reads[3]),
            *tx.together(reads[4], reads[5], reads[6], reads[7]),
            *tx.together(reads[7], reads[2]),
        ]

    assert together == [*alone, alone[7], alone[2]]
    people, named, nobody, found_depts, defs, stored, _options, values = alone
    assert sorted(people) == ["u1", "u2"] and [m.dept_id for m in people["u1"].memberships] == [1, 2]
    assert named == {"u3"} and nobody == set()
    assert sorted(found_depts) == [1, 2]
    assert [a.id for a in defs] == ["desk", "mentor"]
    assert stored == {("u1", "desk"): '"A-1"', ("u2", "desk"): '"B-2"'}
    # The rows of each group a roster write counts from the values it read.
    assert roster_writes.row_counts(values["u2"], ["sys03", "sys06"]) == {"sys03": 2, "sys06": 0}
    assert StoredValue("sys03", 1, "sys03-major", "数学") in values["u2"]


def test_statements_the_pipeline_does_not_render_are_asked_as_sqlalchemy_asks_them(
    directory: Directory, tenant: str
) -> None:
    # A value bound by the statement itself, and NOT IN over a list: asked together, they answer as
    # alone (SQLAlchemy runs them), rather than failing on PostgreSQL for a missing parameter or
    # ``NOT = ANY``.
    _acme(directory, tenant)
    own_value = select(schema.users.c.id).where(
        schema.users.c.tenant_id == bindparam("tenant"), schema.users.c.status == "active"
    )
    not_in = select(schema.users.c.id).where(
        schema.users.c.tenant_id == bindparam("tenant"),
        schema.users.c.id.not_in(bindparam("ids", expanding=True)),
    )
    params = {"tenant": tenant, "ids": ["u1", LONG]}
    with directory.store.write() as tx:
        tx.attrs.put_stored_values(tenant, [("u2", "desk", '"B-2"')])
        reads = [
            sql.one_query(s, params, lambda rows: sorted(r[0] for r in rows)) for s in (own_value, not_in)
        ]
        alone = [sql.run(tx.conn, r) for r in reads]
        together = list(tx.together(*reads))
    assert together == alone
    assert alone == [sorted(["u1", "u2", "u3", LONG]), ["u2", "u3"]]


def test_a_read_run_by_the_driver_answers_as_sqlalchemy_runs_it(directory: Directory, tenant: str) -> None:
    # ``sql.run`` hands SQLite's reads to the driver, a list parameter as one JSON array: ids JSON
    # escapes (quotes, backslashes, characters outside ASCII and the BMP), an empty one and one
    # repeated answer as through SQLAlchemy's ``IN`` of one parameter a value.
    _acme(directory, tenant)
    odd = ['q"uote', "back\\slash", "工号", "😀", ""]
    users.create_many(
        directory,
        tenant_id=tenant,
        items=[
            users.NewUser(id=uid or "empty", user_name=f"Odd {i}", dept_ids=(1,)) for i, uid in enumerate(odd)
        ],
    )
    asked = [*odd, "empty", "u1", "u1", "nobody", LONG]
    with directory.store.write() as tx:
        reads = [
            *_reads(tx, tenant),
            tx.users.existing_ids_read(tenant, asked),
            tx.users.get_users_read(tenant, asked),
            tx.attrs.stored_values_read(tenant, asked),
        ]
        with _driver_texts(tx) as sent:
            by_driver = [sql.run(tx.conn, r) for r in reads]
        by_sqlalchemy = [_by_sqlalchemy(tx.conn, r) for r in reads]
    assert by_driver == by_sqlalchemy
    sqlite = directory.store.engine.dialect.name == "sqlite"
    # Every query of a list but those with nothing to ask (one of them) went to SQLite's driver.
    asked_lists = sum(len(r.queries) for r in reads) - 2  # (the definitions and the options)
    assert len([t for t in sent if "json_each" in t]) == (asked_lists if sqlite else 0)
    assert by_driver[-3] == {*odd[:-1], "empty", "u1", LONG}


def test_a_value_sqlalchemy_converts_as_read_is_converted_by_the_driver_path_too(
    directory: Directory, tenant: str
) -> None:
    # A boolean column: SQLite stores 0/1, SQLAlchemy reads False/True; so does the driver's path.
    _acme(directory, tenant)
    m = schema.memberships.c
    leaders = (
        select(m.user_id, m.is_leader)
        .where(m.tenant_id == bindparam("tenant"))
        .order_by(m.user_id, m.dept_id)
    )
    read = sql.one_query(leaders, {"tenant": tenant}, lambda rows: [tuple(r) for r in rows])
    with directory.store.read() as tx:
        with _driver_texts(tx) as sent:
            by_driver = sql.run(tx.conn, read)
        by_sqlalchemy = [tuple(r) for r in tx.conn.execute(leaders, {"tenant": tenant}).all()]
    assert len(sent) == (1 if directory.store.engine.dialect.name == "sqlite" else 0)
    assert by_driver == by_sqlalchemy and by_driver
    assert {type(leader) for _, leader in by_driver} == {bool}


def _answer(run: Callable[[Connection, sql.Read[Any]], Any], conn: Connection, read: sql.Read[Any]) -> Any:
    """``run``'s answer to ``read``, or the type of what it raised."""
    try:
        return run(conn, read)
    except Exception as exc:  # (compared: the same type either way)
        return type(exc)


def test_the_driver_runs_sqlites_reads_and_sqlalchemy_those_json_each_would_misread(
    directory: Directory, tenant: str
) -> None:
    _acme(directory, tenant)
    sqlite = directory.store.engine.dialect.name == "sqlite"
    odd = ["a\ud800", "u2"]  # a lone surrogate: not UTF-8
    if sqlite:  # (PostgreSQL's text holds no NUL)
        # A NUL in an id: json_each would end 'u1\0x' at the NUL and find u1.
        with directory.store.write() as tx:
            u = schema.users.c
            copy = select(*(literal("u1\x00x") if c.key == "id" else c for c in u))
            tx.conn.execute(
                insert(schema.users).from_select(
                    list(u.keys()), copy.where(u.tenant_id == tenant, u.id == "u1")
                )
            )
        odd += ["u1\x00y", "u2"]
    with directory.store.read() as tx:
        with _driver_texts(tx) as sent:
            plain = sql.run(tx.conn, tx.users.existing_ids_read(tenant, ["u1", "u3", "nobody"]))
            depts_found = sql.run(tx.conn, tx.depts.get_depts_read(tenant, [1, 2]))
        assert plain == {"u1", "u3"} and sorted(depts_found) == [1, 2]
        assert len(sent) == (2 if sqlite else 0)
        # Each of these SQLAlchemy runs on SQLite too (no text of the driver's), answering as it.
        for ids in ([odd[0], odd[1]], odd[2:], ["u1\x00x"] if sqlite else []):
            read = tx.users.existing_ids_read(tenant, ids)
            with _driver_texts(tx) as sent:
                answer = _answer(sql.run, tx.conn, read)
            assert sent == [] and answer == _answer(_by_sqlalchemy, tx.conn, read)
        if sqlite:
            found = sql.run(tx.conn, tx.users.existing_ids_read(tenant, ["u1\x00x", "u1\x00y"]))
            assert found == {"u1\x00x"}
    # Integers SQLite's JSON would read back as floats (past 63 bits), or that orjson refuses:
    # refused or found by SQLAlchemy, as when SQLAlchemy runs them (PostgreSQL: out of range).
    for big in (2**53 + 1, 2**63, 2**64):
        answers: list[Any] = []
        for run in (sql.run, _by_sqlalchemy):
            with directory.store.read() as reading, _driver_texts(reading) as sent:
                answers.append(_answer(run, reading.conn, reading.depts.get_depts_read(tenant, [1, big])))
            assert sent == []
        assert answers[0] == answers[1], big
        if big < 2**63:
            assert list(answers[0]) == [1]
        else:
            assert isinstance(answers[0], type), answers


def test_a_number_asked_of_a_text_column_finds_its_text_on_the_driver_path(
    directory: Directory, tenant: str
) -> None:
    _acme(directory, tenant)
    users.create(directory, tenant_id=tenant, item=users.NewUser(id="7", user_name="Seven", dept_ids=(1,)))
    sqlite = directory.store.engine.dialect.name == "sqlite"
    read = sql.one_query(
        select(schema.users.c.id).where(
            schema.users.c.tenant_id == bindparam("tenant"),
            schema.users.c.id.in_(bindparam("ids", expanding=True)),
        ),
        {"tenant": tenant, "ids": [7, "u1"]},
        lambda rows: sorted(r[0] for r in rows),
    )
    with directory.store.read() as tx:
        if sqlite:  # (PostgreSQL's text column is not compared with an integer)
            with _driver_texts(tx) as sent:
                assert sql.run(tx.conn, read) == _by_sqlalchemy(tx.conn, read) == ["7", "u1"]
            assert len(sent) == 1 and "CAST(value AS TEXT)" in sent[0]
            # The cast value still seeks the index, a value at a time.
            plan = tx.conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + sent[0], {"tenant": tenant, "ids": '["7"]'}
            ).all()
            assert any("SEARCH users USING" in row[-1] and "id=?" in row[-1] for row in plan), plan
        else:
            assert sql.run(tx.conn, tx.users.existing_ids_read(tenant, ["7", "u1"])) == {"7", "u1"}


def test_the_driver_paths_errors_are_sqlalchemys_and_it_begins_no_transaction_when_told_not_to(
    directory: Directory, tenant: str
) -> None:
    _acme(directory, tenant)
    sqlite = directory.store.engine.dialect.name == "sqlite"
    with directory.store.read(snapshot=False) as tx:
        with _driver_texts(tx) as sent:
            assert sql.run(tx.conn, tx.users.existing_ids_read(tenant, ["u1"])) == {"u1"}
        assert len(sent) == (1 if sqlite else 0)
        driver: Any = tx.conn.connection.driver_connection
        # (SQLite's driver: in no transaction; psycopg's, in AUTOCOMMIT: idle, no BEGIN sent)
        assert not driver.in_transaction if sqlite else driver.info.transaction_status == 0
    with directory.store.write() as tx:
        tx.conn.execute(text("DROP TABLE roster_values"))
        with (
            _driver_texts(tx) as sent,
            pytest.raises(OperationalError if sqlite else ProgrammingError) as caught,
        ):
            sql.run(tx.conn, tx.roster.get_values_read(tenant, ["u2"]))
        assert len(sent) == (1 if sqlite else 0)
        assert "roster_values" in str(caught.value)
        tx.conn.rollback()
