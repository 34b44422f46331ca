"""The store's queries for a department's members and for finding people by a sign-in name or a
position, on both backends (the ``directory`` fixture is parametrized over SQLite and PostgreSQL):
set-based membership moves, ids by position, and one lookup by email, login name or id."""

from __future__ import annotations

from dataclasses import replace

import pytest

from openroster.core.directory import Directory
from openroster.core.people import depts as dept_service
from openroster.core.people import users
from openroster.core.tenancy import tenants
from openroster.model.entities import Membership, UserStatus


def _person(uid: str, dept: int = 1, **fields: object) -> users.NewUser:
    return users.NewUser(id=uid, user_name=f"Person {uid}", dept_ids=(dept,), **fields)  # type: ignore[arg-type]


@pytest.fixture
def acme(directory: Directory) -> str:
    tenants.create(directory, tenant_id="acme", name="Acme")
    return "acme"


def test_members_move_in_one_statement_each_keeping_what_stays(directory: Directory, acme: str) -> None:
    a = dept_service.create(
        directory, tenant_id=acme, item=dept_service.NewDepartment(name="A", parent_id=1)
    ).id
    users.create_many(directory, tenant_id=acme, items=[_person("u0"), _person("u1", a), _person("u2")])
    with directory.writer() as tx:
        tx.users.set_member_order(acme, "u0", 1, 7)
        before = tx.users.get_users(acme, ["u0", "u1", "u2"])
        moved = [
            replace(before["u0"], memberships=(*before["u0"].memberships, Membership(a, True, 3)), mtime=9),
            replace(before["u1"], memberships=(Membership(1, False, 0),), def_dept_id=1, mtime=9),
        ]
        tx.users.move_members(acme, [before["u0"], before["u1"]], moved)
        tx.users.move_members(acme, [], [])
    with directory.store.read() as tx:
        after = tx.users.get_users(acme, ["u0", "u1", "u2"])
    assert after["u0"].memberships == (Membership(a, True, 3), Membership(1, False, 7))
    assert (after["u0"].def_dept_id, after["u0"].mtime) == (1, 9)
    assert (after["u1"].memberships, after["u1"].def_dept_id, after["u1"].mtime) == (
        (Membership(1, False, 0),),
        1,
        9,
    )
    assert after["u2"] == before["u2"]


def test_ids_by_position_count_every_status_of_the_tenant_only(directory: Directory, acme: str) -> None:
    users.create_many(directory, tenant_id=acme, items=[_person(f"u{i}") for i in (3, 1, 4, 2)])
    tenants.create(directory, tenant_id="other", name="Other")
    users.create_many(directory, tenant_id="other", items=[_person("u0")])
    with directory.writer() as tx:
        tx.users.set_status(acme, ["u2"], UserStatus.DISABLED.value, mtime=2)
    with directory.store.read() as tx:
        assert tx.users.ids_at(acme, offset=0, limit=3) == ["u1", "u2", "u3"]
        assert tx.users.ids_at(acme, offset=2, limit=10) == ["u3", "u4"]
        assert tx.users.ids_at(acme, offset=4, limit=10) == []


def test_a_sign_in_name_is_looked_for_as_email_login_name_and_id_at_once(
    directory: Directory, acme: str
) -> None:
    users.create_many(
        directory,
        tenant_id=acme,
        items=[
            _person("u1", email="ann@acme.test"),
            _person("u2", login_name="ann@acme.test"),
            _person("ann@acme.test"),
            _person("u4", email="bob@acme.test"),
        ],
    )
    with directory.store.read() as tx:
        found = tx.users.ids_named(
            acme, email="ann@acme.test", login_name="ann@acme.test", user_id="ann@acme.test"
        )
        assert sorted(found) == ["ann@acme.test", "u1", "u2"]
        assert tx.users.ids_named(acme, email="x", login_name="x", user_id="u4") == ["u4"]
        assert tx.users.ids_named("other", email="bob@acme.test", login_name="", user_id="") == []
