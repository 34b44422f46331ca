"""A tenant with one custom attribute of each type, and another tenant beside it (custom attribute tests)."""

from __future__ import annotations

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import depts, users
from openroster.core.tenancy import tenants

DEFS = [
    attributes.NewDefinition(id="desk", name="工位", value_type="text"),
    attributes.NewDefinition(
        id="level", name="职级", value_type="option", options=(("P1", "一级"), ("P2", "二级"))
    ),
    attributes.NewDefinition(id="home", name="主页", value_type="url"),
    attributes.NewDefinition(id="mentor", name="导师", value_type="relation_user"),
    attributes.NewDefinition(id="partners", name="协作部门", value_type="relation_depts"),
]


def make_acme(directory: Directory, tenant: str) -> str:
    """acme: root 1 and Sales (2); users u1, u2; one attribute of each type. other: depts 1-4, user x1."""
    depts.create(directory, tenant_id=tenant, item=depts.NewDepartment(name="Sales", parent_id=1))
    users.create_many(
        directory,
        tenant_id=tenant,
        items=[users.NewUser(id=f"u{i}", user_name=f"User {i}", dept_ids=(1,)) for i in (1, 2)],
    )
    attributes.create_definitions(directory, tenant_id=tenant, items=DEFS)
    tenants.create(directory, tenant_id="other", name="Other")
    for name in ("A", "B", "C"):
        depts.create(directory, tenant_id="other", item=depts.NewDepartment(name=name, parent_id=1))
    users.create(directory, tenant_id="other", item=users.NewUser(id="x1", user_name="X", dept_ids=(1,)))
    return tenant
