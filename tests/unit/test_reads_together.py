"""Reads asked together (``Tx.together``, ``store/sql.together``): on PostgreSQL, in a write
transaction, one pipeline for all of them; their answers are those of each read run alone, and they
see what the transaction wrote before them (both backends)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import depts, users
from openroster.core.roster import writes as roster_writes
from openroster.core.roster.writes import FieldWrite, GroupWrite, SectionWrite
from openroster.model.entities import AttributeUpdate, StoredValue, UserAttributeUpdate
from openroster.store import WriteTx, schema, sql

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
        by_driver = [sql.run(tx.conn, r) for r in reads]
        by_sqlalchemy = [r.decode([tx.conn.execute(s, p).all() for s, p in r.queries]) for r in reads]
    assert by_driver == by_sqlalchemy
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
        by_driver = sql.run(tx.conn, read)
        by_sqlalchemy = [tuple(r) for r in tx.conn.execute(leaders, {"tenant": tenant}).all()]
    assert by_driver == by_sqlalchemy and by_driver
    assert {type(leader) for _, leader in by_driver} == {bool}
