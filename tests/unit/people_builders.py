"""People to test with, shared by the unit tests of the model, the mapping and the caches."""

from __future__ import annotations

from dataclasses import replace

from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.tenancy import tenants
from openroster.model.entities import Gender, Membership, Role, User, UserStatus


def a_user(**over: object) -> User:
    """A complete user of tenant ``t`` (``over`` replaces fields)."""
    base: dict[str, object] = dict(
        tenant_id="t",
        id="u1",
        user_name="张三",
        email="zs@acme.test",
        phone="13800000000",
        gender=Gender.FEMALE,
        employee_id="E1",
        employer=None,
        employment_status="probationary",
        employment_type="intern",
        ex_user_id=None,
        leader_id="boss",
        login_name=None,
        role=Role.NORMAL,
        status=UserStatus.ACTIVE,
        title="工程师",
        telephone="010-1234",
        work_place="北京",
        city=None,
        country=None,
        avatar=None,
        def_dept_id=5,
        ctime=0,
        mtime=0,
        memberships=(Membership(2, False, 0), Membership(5, True, 1)),
    )
    base.update(over)
    return User(**base)  # type: ignore[arg-type]


def new_person(n: int, **kw: object) -> users.NewUser:
    """Person ``n`` (id ``p<n>``) in the root department; ``kw`` replaces fields."""
    return replace(users.NewUser(id=f"p{n}", user_name=f"Person {n}", dept_ids=(1,)), **kw)  # type: ignore[arg-type]


def three_statuses_and_a_stranger(directory: Directory, tenant: str) -> None:
    """p1 active, p2 disabled, p3 dimission in ``tenant``; p4 in another tenant."""
    users.create_many(
        directory,
        tenant_id=tenant,
        items=[new_person(1), new_person(2, status="disabled"), new_person(3, status="dimission")],
    )
    tenants.create(directory, tenant_id="other", name="Other")
    users.create(directory, tenant_id="other", item=new_person(4))
