"""relation_user attribute cells naming people anywhere in the file (core/sheets/), both backends.

A relation is not a reporting line: the WPS API (``custom_attrs/batch_update``) takes any user of
the company, the person themselves included, and two people may name each other. So a row may
name a row before it or after it, in any chunk of new people (chunks of 200 here stand for chunks
of 10,000), itself, or a row naming it in turn; the store then holds what the usual way writes in
one chunk.
"""

from __future__ import annotations

import pytest
from tests.unit.test_import_core import (
    HEADERS,
    change_seq,
    company,
    copy_company,
    people_rows,
    writer_threads,
)

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import bulk, users
from openroster.core.sheets import imports as sheet_imports
from openroster.core.sheets import lookups
from openroster.model.changes import EntityKind
from openroster.model.entities import ALL_STATUSES, AttributeUpdate
from openroster.model.errors import BrokenReference

__all__ = ["company"]  # the fixture, imported for these tests

#: Who each row's relation names (employee numbers): an earlier row of its chunk, rows of later
#: chunks (by employee id and by email), itself, a row of an earlier chunk, a pair naming each
#: other across chunks, and a pair in the same chunk.
RELATED = {10: 3, 20: 900, 60: 700, 30: 30, 950: 5, 40: 850, 850: 40, 7: 8, 8: 7}
HEADERS_RELATED = [*HEADERS, "导师"]


def _cell(i: int) -> str:
    k = RELATED.get(i)
    if k is None:
        return ""
    return f"u{k}@example.com" if i == 60 else f"E{k:05d}"


def _rows(n: int = 1000) -> list[list[str]]:
    return [[*row, _cell(i)] for i, row in enumerate(people_rows(n), start=1)]


def _mentor(d: Directory, tenant_id: str) -> None:
    attributes.create_definitions(
        d, tenant_id=tenant_id, items=[attributes.NewDefinition(name="导师", value_type="relation_user")]
    )


def _import(d: Directory, tenant_id: str, rows: list[list[str]], **kw: bool) -> sheet_imports.ImportReport:
    return sheet_imports.import_sheet(d, tenant_id=tenant_id, headers=HEADERS_RELATED, rows=rows, **kw)


def _stored(d: Directory, tenant_id: str, seq: int) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Each person's relation (by employee id) and the people's change records in order."""
    with d.reader() as r:
        ids = r.tx.users.page_ids(tenant_id, statuses=ALL_STATUSES, after=None, limit=10_000)
        found = r.tx.users.get_users(tenant_id, ids)
        defs = {a.id: a for a in r.definitions(tenant_id)}
        values = lookups.attribute_values(r.tx, tenant_id, list(found), defs)
        records = r.tx.changes.records_after(tenant_id, seq, 10_000)
    employee = {u.id: u.employee_id or u.id for u in found.values()}
    related = {
        employee[uid]: employee[str(v)]
        for uid, held in values.items()
        for v in held.values()
        if v in employee
    }
    order = [
        (c.record.op.value, employee[c.record.entity_id]) for c in records if c.record.kind is EntityKind.USER
    ]
    return related, order


def _expected() -> dict[str, str]:
    return {f"E{i:05d}": f"E{k:05d}" for i, k in RELATED.items()}


@pytest.mark.parametrize("first", [True, False], ids=["first-import", "tenant-with-people"])
def test_relations_to_rows_in_later_chunks_itself_and_each_other_are_imported(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch, first: bool
) -> None:
    """Into a tenant that had nobody (the chunks are written ahead, ``ahead.py``) and into one with
    people (written after every check): every relation is stored, and the store holds what the
    usual way writes in one chunk, change records in the same order."""
    _mentor(directory, company)
    if not first:
        someone = [["王总", "E00000", "boss@example.com", *[""] * 9, ""]]
        assert _import(directory, company, someone).written
    monkeypatch.setattr(bulk, "CHUNK", 200)
    writers = writer_threads(monkeypatch)
    rows = _rows()
    seq = change_seq(directory)
    report = _import(directory, company, rows)
    assert report.problems == [] and report.written and report.created == 1000
    thread = "import-writer" if first else "MainThread"
    assert writers == [thread] * 5
    related, order = _stored(directory, company, seq)
    assert related == _expected()
    monkeypatch.setattr(bulk, "CHUNK", 10_000)
    copy_company(directory, "beta")
    beta_seq = change_seq(directory)
    usual = _import(directory, "beta", rows)
    assert usual.written and usual.created == 1000
    assert (related, order) == _stored(directory, "beta", beta_seq)
    assert len(order) == 1000


@pytest.mark.parametrize("first", [True, False], ids=["first-import", "tenant-with-people"])
def test_a_relation_to_an_invalid_row_in_a_later_chunk_writes_nothing(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch, first: bool
) -> None:
    """Row 21 names row 901, whose email is wrong: both are named, nothing is written; with
    ``partial`` everyone else is, relations across chunks included."""
    _mentor(directory, company)
    if not first:
        assert _import(directory, company, [["王总", "E00000", "", *[""] * 9, ""]]).written
    monkeypatch.setattr(bulk, "CHUNK", 200)
    rows = _rows()
    rows[899][2] = "not-an-email"
    seq = change_seq(directory)
    report = _import(directory, company, rows)
    assert not report.written and change_seq(directory) == seq
    assert [(p.row, p.column) for p in report.problems] == [(21, "导师"), (901, "邮箱")]
    assert "names row 901, which cannot be imported" in report.problems[0].reason
    report = _import(directory, company, rows, partial=True)
    assert report.written and report.created == 998
    related, order = _stored(directory, company, seq)
    assert related == {e: k for e, k in _expected().items() if e != "E00020"}
    assert sorted(e for _, e in order) == sorted(f"E{i:05d}" for i in range(1, 1001) if i not in (20, 900))


def _write_two_chunks(d: Directory, tenant_id: str, field: str, named: str) -> None:
    """Chunks of one person each: u1 names ``named`` (in ``field``: its manager or its relation),
    then u2; both written as one load in one transaction."""
    with d.reader() as r:
        mentor = next(a.id for a in r.definitions(tenant_id) if a.name == "导师")
    first = users.NewUser(
        user_name="甲", dept_ids=(1,), id="u1", leader_id=named if field == "leader" else None
    )
    attrs = () if field == "leader" else (AttributeUpdate(mentor, relation_user=named),)
    people = [bulk.Person(first, attrs), bulk.Person(users.NewUser(user_name="乙", dept_ids=(1,), id="u2"))]
    with d.writer() as tx:
        rules = bulk.rules_for(tx, d, tenant_id)
        for k, person in enumerate(people):
            bulk.write(tx, bulk.prepare(rules, [person], k), tenant_id=tenant_id, load={"u1", "u2"})


def test_a_chunk_may_name_a_later_chunk_of_its_load_in_a_relation(directory: Directory, company: str) -> None:
    """``bulk.write``'s ``load``: a relation may name someone of a later chunk of the same load."""
    _mentor(directory, company)
    seq = change_seq(directory)
    _write_two_chunks(directory, company, "relation", "u2")
    assert _stored(directory, company, seq) == ({"u1": "u2"}, [("create", "u1"), ("create", "u2")])


@pytest.mark.parametrize(
    ("field", "named", "message"),
    [
        ("leader", "u2", "users[0].leader_id: user 'u2' does not exist"),
        ("relation", "u9", "users[0].custom_attrs[0].relation_user: user 'u9' does not exist"),
    ],
)
def test_a_leader_in_a_later_chunk_or_a_relation_to_nobody_is_refused(
    directory: Directory, company: str, field: str, named: str, message: str
) -> None:
    """A leader may not be in a later chunk (the APIs create nobody below someone who does not
    exist yet), nor may a relation name someone outside the load and the store."""
    _mentor(directory, company)
    seq = change_seq(directory)
    with pytest.raises(BrokenReference) as raised:
        _write_two_chunks(directory, company, field, named)
    assert str(raised.value).startswith(message) and change_seq(directory) == seq
