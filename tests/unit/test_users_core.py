"""User services against a real store: uniqueness, department and leader rules, atomic batches."""

from __future__ import annotations

import re

import pytest
from people_builders import new_person, three_statuses_and_a_stranger
from store_state import store_rows

from openroster.core.directory import Directory
from openroster.core.people import depts, users
from openroster.core.tenancy import tenants
from openroster.model.entities import Gender, Role, UserStatus
from openroster.model.errors import BrokenReference, Conflict, CoreError, InvalidValue, MissingField, TooMany

FULL = users.NewUser(
    id="u-full",
    user_name="张伟",
    dept_ids=(1,),
    email="Zhang.Wei@Example.com",
    phone="+86 138-0000-0001",
    gender="male",
    employee_id="E0001",
    employer="Acme Ltd",
    employment_status="regular",
    employment_type="permanent",
    ex_user_id="hr-0001",
    login_name="zhangwei",
    role="admin",
    status="notactive",
    title="工程师",
    telephone="010-12345678",
    work_place="北京",
    city="北京",
    country="中国",
    avatar="https://example.com/a.png",
)


def _read(d: Directory, tenant_id: str, *ids: str) -> dict[str, object]:
    with d.reader() as r:
        return dict(r.users(tenant_id, list(ids)))


def _refused(
    d: Directory, exc: type[CoreError], field: str, fn: object, *args: object, **kw: object
) -> CoreError:
    """Run ``fn``; it must raise ``exc`` naming ``field`` and leave the store exactly as it was."""
    before = store_rows(d)
    with pytest.raises(exc) as info:
        fn(*args, **kw)  # type: ignore[operator]
    assert info.value.field == field, info.value.message
    assert info.value.message.startswith(field), info.value.message
    assert store_rows(d) == before
    return info.value


def test_create_keeps_every_profile_field(directory: Directory, tenant: str) -> None:
    made = users.create(directory, tenant_id=tenant, item=FULL)
    got = _read(directory, tenant, "u-full")["u-full"]
    assert got == made
    assert made.email == "zhang.wei@example.com"  # emails are compared and stored in lower case
    assert made.gender is Gender.MALE
    assert made.role is Role.ADMIN
    assert made.status is UserStatus.NOTACTIVE
    assert (made.employee_id, made.ex_user_id, made.login_name) == ("E0001", "hr-0001", "zhangwei")
    assert (made.def_dept_id, made.dept_ids) == (1, (1,))
    assert 0 < made.ctime <= directory.clock.now_int()


def test_defaults_and_generated_id(directory: Directory, tenant: str) -> None:
    made = users.create(directory, tenant_id=tenant, item=users.NewUser(user_name=" 李娜 ", dept_ids=(1,)))
    assert made.user_name == "李娜"
    assert len(made.id) == 12
    assert (made.gender, made.role, made.status) == (Gender.UNDEFINED, Role.NORMAL, UserStatus.ACTIVE)
    assert made.email is None and made.phone is None
    assert _read(directory, tenant, made.id)[made.id] == made


def test_new_user_ids_drawn_at_once_are_distinct_and_like_one_drawn_alone() -> None:
    drawn = users.new_user_ids(1024)
    assert len(drawn) == 1024 and len(set(drawn)) == 1024
    assert all(re.fullmatch("[0-9a-f]{12}", x) for x in [*drawn, users.new_user_id()])
    assert users.new_user_ids(1) != users.new_user_ids(1) and users.new_user_ids(0) == []


@pytest.mark.parametrize(
    ("field", "first", "second"),
    [
        ("email", "a@example.com", "A@Example.COM"),
        ("phone", "13800000001", "13800000001"),
        ("employee_id", "E1", "E1"),
        ("ex_user_id", "hr-1", "hr-1"),
        ("login_name", "alice", "alice"),
    ],
)
def test_unique_fields_within_a_tenant(
    directory: Directory, tenant: str, field: str, first: str, second: str
) -> None:
    users.create(directory, tenant_id=tenant, item=new_person(1, **{field: first}))
    err = _refused(
        directory,
        Conflict,
        field,
        users.create,
        directory,
        tenant_id=tenant,
        item=new_person(2, **{field: second}),
    )
    assert "already used by user 'p1'" in err.message
    # the same value is free in another tenant
    tenants.create(directory, tenant_id="other", name="Other")
    users.create(directory, tenant_id="other", item=new_person(2, **{field: second}))


@pytest.mark.parametrize("field", ["email", "phone", "employee_id", "ex_user_id", "login_name"])
def test_unique_fields_within_one_batch(directory: Directory, tenant: str, field: str) -> None:
    value = {"email": "x@example.com", "phone": "13900000000"}.get(field, "same")
    batch = [new_person(1), new_person(2, **{field: value}), new_person(3, **{field: value})]
    err = _refused(
        directory, Conflict, f"users[2].{field}", users.create_many, directory, tenant_id=tenant, items=batch
    )
    assert "used twice in this batch" in err.message


def test_empty_unique_values_never_collide(directory: Directory, tenant: str) -> None:
    users.create_many(
        directory, tenant_id=tenant, items=[new_person(1, email="", phone=" "), new_person(2, email="")]
    )
    got = _read(directory, tenant, "p1", "p2")
    assert [got[k].email for k in ("p1", "p2")] == [None, None]  # type: ignore[attr-defined]


def test_user_id_is_unique(directory: Directory, tenant: str) -> None:
    users.create(directory, tenant_id=tenant, item=new_person(1))
    _refused(directory, Conflict, "id", users.create, directory, tenant_id=tenant, item=new_person(1))
    _refused(
        directory,
        Conflict,
        "users[1].id",
        users.create_many,
        directory,
        tenant_id=tenant,
        items=[new_person(5), new_person(5)],
    )


def test_departments_must_exist_in_the_tenant(directory: Directory, tenant: str) -> None:
    tenants.create(directory, tenant_id="other", name="Other")
    foreign = depts.create(directory, tenant_id="other", item=depts.NewDepartment(name="Sales", parent_id=1))
    _refused(
        directory,
        BrokenReference,
        "dept_ids",
        users.create,
        directory,
        tenant_id=tenant,
        item=new_person(1, dept_ids=(1, foreign.id)),
    )
    _refused(
        directory,
        MissingField,
        "dept_ids",
        users.create,
        directory,
        tenant_id=tenant,
        item=new_person(1, dept_ids=()),
    )
    _refused(
        directory,
        InvalidValue,
        "dept_ids",
        users.create,
        directory,
        tenant_id=tenant,
        item=new_person(1, dept_ids=(1, 1)),
    )
    _refused(
        directory,
        TooMany,
        "dept_ids",
        users.create,
        directory,
        tenant_id=tenant,
        item=new_person(1, dept_ids=tuple(range(1, 22))),
    )


def test_main_department_must_be_one_of_the_users(directory: Directory, tenant: str) -> None:
    sales = depts.create(directory, tenant_id=tenant, item=depts.NewDepartment(name="Sales", parent_id=1))
    made = users.create(directory, tenant_id=tenant, item=new_person(1, dept_ids=(sales.id, 1)))
    assert made.def_dept_id == sales.id  # defaults to the first department
    made = users.create(
        directory, tenant_id=tenant, item=new_person(2, dept_ids=(sales.id, 1), def_dept_id=1)
    )
    assert made.def_dept_id == 1
    err = _refused(
        directory,
        InvalidValue,
        "def_dept_id",
        users.create,
        directory,
        tenant_id=tenant,
        item=new_person(3, dept_ids=(1,), def_dept_id=sales.id),
    )
    assert "is not one of the user's departments" in err.message


def test_leader_rules(directory: Directory, tenant: str) -> None:
    boss = users.create(directory, tenant_id=tenant, item=new_person(1))
    assert users.create(directory, tenant_id=tenant, item=new_person(2, leader_id=boss.id)).leader_id == "p1"
    # a leader created in the same batch, after the report, is fine
    batch = users.create_many(
        directory, tenant_id=tenant, items=[new_person(3, leader_id="p4"), new_person(4, leader_id="p1")]
    )
    assert [u.leader_id for u in batch] == ["p4", "p1"]
    _refused(
        directory,
        BrokenReference,
        "leader_id",
        users.create,
        directory,
        tenant_id=tenant,
        item=new_person(5, leader_id="nobody"),
    )
    _refused(
        directory,
        InvalidValue,
        "leader_id",
        users.create,
        directory,
        tenant_id=tenant,
        item=new_person(6, leader_id="p6"),
    )
    # a user of another tenant cannot lead
    tenants.create(directory, tenant_id="other", name="Other")
    users.create(directory, tenant_id="other", item=new_person(99))
    _refused(
        directory,
        BrokenReference,
        "leader_id",
        users.create,
        directory,
        tenant_id=tenant,
        item=new_person(7, leader_id="p99"),
    )


def test_department_leadership_needs_membership(directory: Directory, tenant: str) -> None:
    sales = depts.create(directory, tenant_id=tenant, item=depts.NewDepartment(name="Sales", parent_id=1))
    made = users.create(
        directory, tenant_id=tenant, item=new_person(1, dept_ids=(1, sales.id), leader_of=(sales.id,))
    )
    assert [(m.dept_id, m.is_leader) for m in made.memberships] == [(1, False), (sales.id, True)]
    _refused(
        directory,
        InvalidValue,
        "leader_of",
        users.create,
        directory,
        tenant_id=tenant,
        item=new_person(2, dept_ids=(1,), leader_of=(sales.id,)),
    )


@pytest.mark.parametrize(
    ("field", "value", "exc"),
    [
        ("user_name", "", MissingField),
        ("user_name", "x" * 201, InvalidValue),
        ("user_name", "bad\x00name", InvalidValue),
        ("email", "not-an-email", InvalidValue),
        ("phone", "call me", InvalidValue),
        ("gender", "unknown", InvalidValue),
        ("role", "owner", InvalidValue),
        ("status", "gone", InvalidValue),
        ("employment_type", "contractor", InvalidValue),
        ("employment_status", "happy", InvalidValue),
        ("telephone", "1" * 33, InvalidValue),
    ],
)
def test_field_checks_name_the_field_and_item(
    directory: Directory, tenant: str, field: str, value: str, exc: type[CoreError]
) -> None:
    batch = [new_person(1), new_person(2, **{field: value})]
    _refused(directory, exc, f"users[1].{field}", users.create_many, directory, tenant_id=tenant, items=batch)


def test_a_failing_batch_writes_nothing(directory: Directory, tenant: str) -> None:
    users.create(directory, tenant_id=tenant, item=new_person(0, email="taken@example.com"))
    batch = [new_person(i) for i in range(1, 50)] + [new_person(50, email="taken@example.com")]
    _refused(
        directory, Conflict, "users[49].email", users.create_many, directory, tenant_id=tenant, items=batch
    )
    assert set(_read(directory, tenant, *(f"p{i}" for i in range(51)))) == {"p0"}


def test_batch_read_filters_status_and_tenant(directory: Directory, tenant: str) -> None:
    three_statuses_and_a_stranger(directory, tenant)
    with directory.reader() as r:
        found = users.batch_read(
            r,
            tenant_id=tenant,
            user_ids=["p3", "p4", "nobody", "p1", "p2", "p1"],
            statuses={UserStatus.ACTIVE, UserStatus.DIMISSION},
        )
    assert [u.id for u in found] == ["p3", "p1"]
    with directory.reader() as r:  # again, every one of them now in the cache
        again = users.batch_read(
            r,
            tenant_id=tenant,
            user_ids=["p1", "p3", "p4", "p1", "nobody", "p3"],
            statuses={UserStatus.ACTIVE, UserStatus.DIMISSION},
        )
    assert [u.id for u in again] == ["p1", "p3"]
