"""The department tree a level at a time, with counts, on both backends (core.people.tree over
store.depts.branch_counts)."""

from __future__ import annotations

from openroster.core.directory import Directory
from openroster.core.people import depts, tree, users
from openroster.core.tenancy import tenants


def test_each_level_comes_with_its_member_and_sub_department_counts(directory: Directory) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme")
    tenants.create(directory, tenant_id="globex", name="Globex")
    eng = depts.create(directory, tenant_id="acme", item=depts.NewDepartment(name="Eng", parent_id=1))
    ops = depts.create(directory, tenant_id="acme", item=depts.NewDepartment(name="Ops", parent_id=1))
    for name in ("Backend", "Frontend", "Data"):
        depts.create(directory, tenant_id="acme", item=depts.NewDepartment(name=name, parent_id=eng.id))
    users.create_many(
        directory,
        tenant_id="acme",
        items=[
            users.NewUser(id="a", user_name="A", dept_ids=(eng.id, ops.id)),
            users.NewUser(id="b", user_name="B", dept_ids=(eng.id,)),
            users.NewUser(id="c", user_name="C", dept_ids=(1,)),
        ],
        field_prefix="",
    )
    users.create(directory, tenant_id="globex", item=users.NewUser(id="a", user_name="A", dept_ids=(1,)))
    with directory.reader() as r:
        root = tree.branch(r, tenant_id="acme", dept_id=1)
        assert (root.dept.name, root.members, root.children) == ("Acme", 1, 2)
        level = tree.branches(r, tenant_id="acme", parent_id=1, size=10, after=None)
        assert [(b.dept.name, b.members, b.children) for b in level.items] == [("Eng", 2, 3), ("Ops", 1, 0)]
        first = tree.branches(r, tenant_id="acme", parent_id=eng.id, size=2, after=None)
        rest = tree.branches(r, tenant_id="acme", parent_id=eng.id, size=2, after=first.after)
        assert [b.dept.name for b in first.items + rest.items] == ["Backend", "Frontend", "Data"]
        assert rest.after is None
        assert r.tx.depts.branch_counts("acme", []) == {}
