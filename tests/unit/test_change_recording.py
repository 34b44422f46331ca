"""What core's services record for the event engine: one change record per entity changed, with the
fields that changed and the state before (both backends; read back from the store)."""

from __future__ import annotations

import pytest

from openroster.control import tenants as control_tenants
from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import batch_writes, depts, users
from openroster.core.roster import writes as roster_writes
from openroster.core.sheets import imports as sheet_imports
from openroster.core.tenancy import apps, tenants
from openroster.fixtures import snapshot
from openroster.fixtures.seed import load_tenant
from openroster.model.changes import ChangeRecord, EntityKind, Operation
from openroster.model.entities import AttributeUpdate, UserAttributeUpdate, UserStatus
from openroster.model.errors import BrokenReference, InvalidValue, NotFound, RuleViolation

U, D, M = EntityKind.USER, EntityKind.DEPARTMENT, EntityKind.MEMBERSHIP
AV, AD, ROSTER = EntityKind.ATTRIBUTE_VALUE, EntityKind.ATTRIBUTE_DEFINITION, EntityKind.ROSTER_RECORD
C, UP, DEL = Operation.CREATE, Operation.UPDATE, Operation.DELETE


@pytest.fixture
def d(directory: Directory) -> Directory:
    tenants.create(directory, tenant_id="acme", name="Acme")
    return directory


class Log:
    """The change records committed since it was made."""

    def __init__(self, d: Directory) -> None:
        self.d = d
        with d.store.read() as tx:
            self.seq = tx.changes.current_seq()

    def take(self) -> list[ChangeRecord]:
        with self.d.store.read() as tx:
            got = tx.changes.records_after("acme", self.seq, 100_000)
            self.seq = tx.changes.current_seq()
        return [c.record for c in got]

    def brief(self) -> list[tuple[EntityKind, Operation, str, tuple[str, ...]]]:
        return [(r.kind, r.op, r.entity_id, r.fields) for r in self.take()]


def person(uid: str, *dept_ids: int, **kw: object) -> users.NewUser:
    return users.NewUser(id=uid, user_name=uid.title(), dept_ids=dept_ids or (1,), **kw)  # type: ignore[arg-type]


def test_user_create_update_status_delete(d: Directory) -> None:
    log = Log(d)
    users.create_many(d, tenant_id="acme", items=[person("ann", email="ann@a.test"), person("bob")])
    assert log.brief() == [(U, C, "ann", ()), (U, C, "bob", ())]

    users.update(d, tenant_id="acme", user_id="ann", changes={"user_name": "Anna", "title": "CTO"})
    (r,) = log.take()
    assert (r.kind, r.op, r.entity_id, r.fields) == (U, UP, "ann", ("user_name", "title"))
    assert r.before == {
        "user_name": "Ann",
        "dept_ids": [1],
        "role": "normal",
        "email": "ann@a.test",
        "phone": None,
        "avatar": None,
        "status": "active",
    }
    users.update(d, tenant_id="acme", user_id="ann", changes={"user_name": "Anna"})
    assert log.take() == []  # written back as it was: nothing

    batch_writes.set_status(d, tenant_id="acme", user_ids=["ann", "bob"], status=UserStatus.DISABLED)
    got = log.take()
    assert [(r.kind, r.op, r.entity_id, r.fields) for r in got] == [
        (U, UP, "ann", ("status",)),
        (U, UP, "bob", ("status",)),
    ]
    assert [(r.before or {}).get("status") for r in got] == ["active", "active"]
    assert [r.after for r in got] == [{"status": "disabled"}] * 2  # the new value decides the event
    users.update(d, tenant_id="acme", user_id="bob", changes={"role": "admin", "title": "Lead"})
    (r,) = log.take()
    assert (r.fields, r.after) == (("role", "title"), {"role": "admin"})  # title's new value: not kept

    users.update(d, tenant_id="acme", user_id="bob", changes={"leader_id": "ann"})
    log.take()
    users.delete(d, tenant_id="acme", user_id="ann")
    got = log.take()
    assert [(r.kind, r.op, r.entity_id, r.fields) for r in got] == [
        (U, UP, "bob", ("leader_id",)),  # bob's leader is gone
        (U, DEL, "ann", ()),
    ]
    assert got[1].before is not None and got[1].before["user_name"] == "Anna"


def test_memberships_and_departments(d: Directory) -> None:
    eng = depts.create(d, tenant_id="acme", item=depts.NewDepartment(name="Eng", parent_id=1))
    users.create(d, tenant_id="acme", item=person("ann"))
    log = Log(d)
    batch_writes.update_depts(d, tenant_id="acme", items=[batch_writes.DeptAssignment("ann", (1, eng.id))])
    (r,) = log.take()
    assert (r.kind, r.op, r.entity_id, r.fields) == (M, UP, "ann", ("dept_ids",))
    assert r.before is not None and r.before["dept_ids"] == [1]

    depts.update(d, tenant_id="acme", dept_id=eng.id, changes=depts.DeptChanges(name="R&D"))
    (r,) = log.take()
    assert (r.kind, r.op, r.entity_id, r.fields) == (D, UP, str(eng.id), ("name",))
    assert r.before == {"name": "Eng", "parent_id": 1, "leader_ids": []}

    depts.update(
        d, tenant_id="acme", dept_id=eng.id, changes=depts.DeptChanges(leaders=(depts.Leader("ann", 0),))
    )
    assert log.brief() == [(M, UP, "ann", ("leader_of",)), (D, UP, str(eng.id), ("leader_ids",))]
    depts.update(
        d, tenant_id="acme", dept_id=eng.id, changes=depts.DeptChanges(leaders=(depts.Leader("ann", 0),))
    )
    assert log.take() == []  # the same leaders again

    lead = batch_writes.DeptAssignment("ann", (1, eng.id), leader_of=(1,))  # leads 1 instead of R&D
    batch_writes.update_depts(d, tenant_id="acme", items=[lead])
    assert log.brief() == [
        (M, UP, "ann", ("leader_of",)),
        (D, UP, "1", ("leader_ids",)),
        (D, UP, str(eng.id), ("leader_ids",)),
    ]
    with d.reader() as r:
        assert depts.leaders(r, tenant_id="acme", dept_ids=[1, eng.id]) == {1: [("ann", 0)]}
    with pytest.raises(InvalidValue, match=r"items\[0\]\.leader_of: 99 is not one of the user's departments"):
        batch_writes.update_depts(
            d, tenant_id="acme", items=[batch_writes.DeptAssignment("ann", (1,), leader_of=(99,))]
        )
    assert log.take() == []

    batch_writes.update_depts(d, tenant_id="acme", items=[batch_writes.DeptAssignment("ann", (1,))])
    log.take()
    depts.delete(d, tenant_id="acme", dept_id=eng.id)
    (r,) = log.take()
    assert (r.kind, r.op, r.entity_id) == (D, DEL, str(eng.id))
    assert r.before == {"name": "R&D", "parent_id": 1, "leader_ids": []}


def test_a_department_s_members_change_together_one_record_each(d: Directory) -> None:
    eng = depts.create(d, tenant_id="acme", item=depts.NewDepartment(name="Eng", parent_id=1)).id
    users.create_many(d, tenant_id="acme", items=[person("ann"), person("bob", eng), person("cat", 1, eng)])
    log = Log(d)

    def change(added: list[str], removed: list[str]) -> None:
        with d.writer() as tx:
            batch_writes.change_members_in(tx, d, tenant_id="acme", dept_id=eng, added=added, removed=removed)

    with pytest.raises(RuleViolation) as refused:  # bob's only department
        change(["ann"], ["cat", "bob"])
    assert (refused.value.index, refused.value.field) == (2, "members[2]")
    with pytest.raises(BrokenReference) as missing:
        change(["ann", "nobody"], [])
    assert (missing.value.index, missing.value.field) == (1, "members[1]")
    assert log.take() == []  # refused whole: nothing written, nothing recorded
    change(["ann", "bob"], ["cat"])  # bob is a member already: left alone
    assert sorted(log.brief()) == [(M, UP, "ann", ("dept_ids",)), (M, UP, "cat", ("dept_ids",))]
    with d.reader() as r:
        found = r.users("acme", ["ann", "bob", "cat"])
    assert {u: found[u].dept_ids for u in found} == {"ann": (1, eng), "bob": (eng,), "cat": (1,)}


def test_attribute_definitions_and_values(d: Directory) -> None:
    users.create_many(d, tenant_id="acme", items=[person("ann"), person("bob")])
    log = Log(d)
    attributes.create_definitions(
        d, tenant_id="acme", items=[attributes.NewDefinition(id="desk", name="Desk", value_type="text")]
    )
    assert log.brief() == [(AD, C, "desk", ())]

    def put(*pairs: tuple[str, str]) -> None:
        attributes.update_values(
            d,
            tenant_id="acme",
            updates=[UserAttributeUpdate(uid, (AttributeUpdate("desk", text=v),)) for uid, v in pairs],
        )

    put(("ann", "7F"), ("bob", "8F"))
    assert log.brief() == [(AV, UP, "ann", ("desk",)), (AV, UP, "bob", ("desk",))]
    put(("ann", "7F"), ("bob", "9F"))
    assert log.brief() == [(AV, UP, "bob", ("desk",))]  # ann's value stayed as it was

    attributes.delete_definitions(d, tenant_id="acme", attr_ids=["desk"])
    assert log.brief() == [(AD, DEL, "desk", ()), (AV, UP, "ann", ("desk",)), (AV, UP, "bob", ("desk",))]


def test_roster_update_records_the_roster_and_a_contacts_change(d: Directory) -> None:
    users.create(d, tenant_id="acme", item=person("ann"))
    log = Log(d)

    def write(code: str, value: str) -> None:
        section = roster_writes.SectionWrite((roster_writes.FieldWrite(code, value),), old_index=0)
        roster_writes.update(
            d, tenant_id="acme", user_id="ann", groups=[roster_writes.GroupWrite("sys00", (section,))]
        )

    write("sys00-position", "PM")
    assert log.brief() == [(U, UP, "ann", ("title",)), (ROSTER, UP, "ann", ("sys00-position",))]
    write("sys00-position", "PM")
    assert log.take() == []


def test_import_records_what_it_created_and_nothing_for_an_unchanged_row(d: Directory) -> None:
    headers, rows = ["姓名", "工号", "部门"], [["王总", "E001", "总部"], ["李安", "E002", "总部/运营"]]
    log = Log(d)
    report = sheet_imports.import_sheet(d, tenant_id="acme", headers=headers, rows=rows)
    assert report.created == 2
    got = log.brief()
    assert sorted((k, op) for k, op, _, _ in got) == [(D, C), (D, C), (U, C), (U, C)]
    sheet_imports.import_sheet(d, tenant_id="acme", headers=headers, rows=rows)
    assert log.take() == []
    sheet_imports.import_sheet(d, tenant_id="acme", headers=headers, rows=[["王大总", "E001", "总部"]])
    assert [(k, op, f) for k, op, _, f in log.brief()] == [(U, UP, ("user_name",))]


def test_seeding_a_reset_and_a_snapshot_import_record_nothing(directory: Directory) -> None:
    with directory.store.read() as tx:
        seq = tx.changes.current_seq()
    seed = {"id": "acme", "name": "Acme", "users": [{"id": "ann", "user_name": "Ann", "dept_ids": [1]}]}
    load_tenant(directory, seed)
    snap = snapshot.export(directory, tenant_id="acme", secrets=True)
    snapshot.reset(directory, "acme")
    snapshot.import_(directory, snap, tenant_id="acme")
    control_tenants.create(
        directory, tenant_id="globex", name=None, wps_company_id=None, dingtalk_corp_id=None,
        seed={**seed, "id": "globex"}, apps=(),
    )  # fmt: skip
    with directory.store.read() as tx:
        assert tx.changes.current_seq() > seq  # the caches were told
        assert [tx.changes.records_after(t, seq, 1000) for t in ("acme", "globex")] == [[], []]


def test_an_app_scope_change_is_recorded_once(d: Directory) -> None:
    apps.create(
        d, tenant_id="acme", client_id="acme-kso", secret="acme-kso-secret", scopes=["kso.contact.read"]
    )
    log = Log(d)
    got = apps.set_scopes(
        d, tenant_id="acme", client_id="acme-kso", scopes=["kso.contact.read", "kso.user_email.read"]
    )
    assert got.scopes == {"kso.contact.read", "kso.user_email.read"}
    (r,) = log.take()
    assert (r.kind, r.op, r.entity_id, r.fields) == (EntityKind.APP_SCOPES, UP, "acme-kso", ("scopes",))
    assert r.before == {"scopes": ["kso.contact.read"]}
    apps.set_scopes(
        d, tenant_id="acme", client_id="acme-kso", scopes=[" kso.user_email.read", "kso.contact.read"]
    )
    assert log.take() == []  # the same scopes: nothing
    with pytest.raises(InvalidValue, match="dingtalk"):
        apps.set_scopes(d, tenant_id="acme", client_id="acme-kso", scopes=["qyapi_get_member"])
    with pytest.raises(NotFound):
        apps.set_scopes(d, tenant_id="globex", client_id="acme-kso", scopes=[])
    assert log.take() == []
