"""Per-tenant options of the roster's select fields on both backends (core/roster/options.py over
store/roster.py): an added option is offered and accepted, a deleted one is refused while the values
holding it keep their label (and may be sent back unchanged), another server process sees the
change, a refusal changes nothing, and a tenant's options are in its snapshot and go with it."""

from __future__ import annotations

import pytest

from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.roster import catalogue, options, records
from openroster.core.roster import writes as roster_writes
from openroster.core.tenancy import tenants
from openroster.fixtures import snapshot
from openroster.model.changes import EntityKind, Operation
from openroster.model.errors import CoreError

T = "acme"
MARRIAGE = "sys02-marriage"
ADD, DELETE = options.OptionsChange.ADD, options.OptionsChange.DELETE


@pytest.fixture
def acme(directory: Directory) -> Directory:
    tenants.create(directory, tenant_id=T, name="Acme")
    people = [users.NewUser(id=uid, user_name=uid.title(), dept_ids=(1,)) for uid in ("ann", "bob")]
    users.create_many(directory, tenant_id=T, items=people, field_prefix="")
    return directory


def _change(d: Directory, labels: list[str], op: options.OptionsChange, code: str = MARRIAGE) -> None:
    options.change(
        d, tenant_id=T, group_id=code.split("-", maxsplit=1)[0], field_code=code, labels=labels, op=op
    )


def _options(d: Directory) -> list[tuple[str, str]]:
    with d.reader() as r:
        f = catalogue.catalogue(r, tenant_id=T).fields[MARRIAGE]
    return [(o.value, o.label) for o in f.options]


def _write(d: Directory, uid: str, value: str) -> None:
    section = roster_writes.SectionWrite(fields=(roster_writes.FieldWrite(MARRIAGE, value),))
    roster_writes.update(
        d, tenant_id=T, user_id=uid, groups=[roster_writes.GroupWrite(group_id="sys02", sections=(section,))]
    )


def _held(d: Directory, uid: str) -> list[tuple[str, str]]:
    with d.reader() as r:
        (rec,) = records.read_records(r, tenant_id=T, user_ids=[uid], field="user_ids")
        (values,) = records.read_values(r, tenant_id=T, records=[rec])
    return [(v.value, v.label) for v in values.get(MARRIAGE, ())]


def test_options_added_and_deleted_seen_by_every_process(acme: Directory, other_process: Directory) -> None:
    defaults = _options(other_process)  # cached there before the change
    _write(acme, "bob", "3")
    _change(acme, ["事实婚姻", "分居"], ADD)
    assert _options(other_process) == [*defaults, ("6", "事实婚姻"), ("7", "分居")]
    _write(other_process, "ann", "7")
    _change(acme, ["离异"], DELETE)
    assert ("3", "离异") not in _options(other_process)
    with pytest.raises(CoreError, match="not an option"):
        _write(other_process, "ann", "3")
    assert _held(other_process, "ann") == [("7", "分居")]
    assert _held(other_process, "bob") == [("3", "离异")]
    _write(other_process, "bob", "3")  # sent back unchanged (a form of the whole group): accepted
    assert _held(other_process, "bob") == [("3", "离异")]
    _change(acme, ["离异"], ADD)  # back with its value and place
    assert _options(other_process) == [*defaults, ("6", "事实婚姻"), ("7", "分居")]


def test_a_refused_change_changes_nothing(acme: Directory) -> None:
    with acme.reader() as r:
        seq = r.tx.changes.current_seq()
    for labels, op, code in [
        (["已婚"], ADD, MARRIAGE),
        (["nope"], DELETE, MARRIAGE),
        (["未婚", "已婚", "离异", "丧偶", "其他"], DELETE, MARRIAGE),
        (["x"], ADD, "sys02-sexType"),
        (["x"], ADD, "sys00-name"),
        ([f"x{i}" for i in range(21)], ADD, MARRIAGE),
    ]:
        with pytest.raises(CoreError):
            _change(acme, labels, op, code)
    with acme.reader() as r:
        assert r.tx.changes.records_after(T, seq, 100) == []
        assert r.tx.roster.list_field_options(T) == {}


def test_a_change_is_recorded_and_the_options_are_in_the_snapshot(acme: Directory) -> None:
    with acme.reader() as r:
        seq = r.tx.changes.current_seq()
    _change(acme, ["事实婚姻"], ADD)
    _change(acme, ["丧偶"], DELETE)
    with acme.reader() as r:
        got = [
            (c.record.kind, c.record.op, c.record.entity_id) for c in r.tx.changes.records_after(T, seq, 100)
        ]
    assert got == [(EntityKind.ATTRIBUTE_DEFINITION, Operation.UPDATE, MARRIAGE)] * 2
    after = _options(acme)
    doc = snapshot.export_document(acme, tenant_id=T)
    rows = doc["tenants"][0]["tables"]["roster_field_options"]
    assert [(row["value"], row["deleted"]) for row in rows if row["label"] == "丧偶"] == [("4", True)]
    tenants.delete(acme, T)
    with acme.reader() as r:
        assert r.tx.snapshots.read_rows("roster_field_options", T) == []
    snapshot.import_(acme, doc)
    assert _options(acme) == after
