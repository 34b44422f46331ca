"""The store's queries that only the server suites reached, on both backends (the ``directory``
fixture is parametrized over SQLite and PostgreSQL).

The end-to-end tests of the dialects run on SQLite (CONTRIBUTING.md, "Which tests run on both
stores"); each store query they reach is checked here or elsewhere in tests/contract and tests/unit
on PostgreSQL too: department members and counts (WPS ``depts/{id}/members``, DingTalk
``user/listid``), a subtree's ids, an attribute definition's rename, an app's deletion, a DingTalk
token's lookup and extension, the server settings, the control plane's clock and fault rules, and
a unique value taken between the check and the write.
"""

from __future__ import annotations

import dataclasses

import pytest

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import depts, users
from openroster.core.tenancy import apps, tenants
from openroster.model.entities import AttributeOption, IssuedToken, UserStatus
from openroster.model.errors import Conflict

ACTIVE = (UserStatus.ACTIVE.value,)
EVERY_STATUS = tuple(s.value for s in UserStatus)


@pytest.fixture
def tree(directory: Directory) -> dict[str, int]:
    """acme: root 1 > eng > backend, and sales; people in each; globex alike with one person."""
    tenants.create(directory, tenant_id="acme", name="Acme")
    tenants.create(directory, tenant_id="globex", name="Globex")
    eng = depts.create(directory, tenant_id="acme", item=depts.NewDepartment(name="Eng", parent_id=1)).id
    backend = depts.create(
        directory, tenant_id="acme", item=depts.NewDepartment(name="Backend", parent_id=eng)
    ).id
    sales = depts.create(directory, tenant_id="acme", item=depts.NewDepartment(name="Sales", parent_id=1)).id
    people = [("u1", eng), ("u2", backend), ("u3", backend), ("u4", sales), ("u5", 1)]
    users.create_many(
        directory,
        tenant_id="acme",
        items=[users.NewUser(id=uid, user_name=uid.upper(), dept_ids=(dept,)) for uid, dept in people],
        field_prefix="",
    )
    users.create(directory, tenant_id="globex", item=users.NewUser(id="u2", user_name="G", dept_ids=(1,)))
    with directory.writer() as tx:
        tx.users.set_status("acme", ["u3"], UserStatus.DISABLED.value, mtime=2)
    return {"eng": eng, "backend": backend, "sales": sales}


def test_members_of_a_department_or_its_subtree_page_and_count_by_status(
    directory: Directory, tree: dict[str, int]
) -> None:
    eng = tree["eng"]
    with directory.store.read() as tx:
        page = tx.users.member_page_ids  # the member listings' query, direct or through the subtree
        assert page("acme", eng, recursive=False, statuses=EVERY_STATUS, after=None, limit=10) == ["u1"]
        assert page("acme", eng, recursive=True, statuses=EVERY_STATUS, after=None, limit=2) == ["u1", "u2"]
        assert page("acme", eng, recursive=True, statuses=EVERY_STATUS, after="u2", limit=2) == ["u3"]
        assert page("acme", eng, recursive=True, statuses=ACTIVE, after=None, limit=10) == ["u1", "u2"]
        assert page("acme", 1, recursive=True, statuses=ACTIVE, after="u2", limit=10) == ["u4", "u5"]
        count = tx.users.count_members
        assert count("acme", eng, recursive=True, statuses=EVERY_STATUS) == 3
        assert count("acme", eng, recursive=True, statuses=ACTIVE) == 2
        assert count("acme", eng, recursive=False, statuses=ACTIVE) == 1
        assert count("globex", 1, recursive=True, statuses=EVERY_STATUS) == 1
        assert tx.users.count("acme", statuses=EVERY_STATUS) == 5
        assert tx.users.count("acme", statuses=ACTIVE) == 4


def test_a_subtree_is_its_root_and_everything_below_it(directory: Directory, tree: dict[str, int]) -> None:
    eng, backend, sales = tree["eng"], tree["backend"], tree["sales"]
    with directory.store.read() as tx:
        assert tx.depts.subtree_id_set("acme", eng) == {eng, backend}
        assert tx.depts.subtree_id_set("acme", 1) == {1, eng, backend, sales}
        assert tx.depts.subtree_id_set("globex", eng) == set()
        assert tx.depts.is_descendant("acme", backend, eng) and tx.depts.is_descendant("acme", eng, eng)
        assert not tx.depts.is_descendant("acme", eng, backend)
        assert not tx.depts.is_descendant("acme", sales, eng)
        below, ids = tx.depts.descendant_page_ids, sorted([eng, backend, sales])
        assert below("acme", 1, after=None, limit=2) == ids[:2]
        assert below("acme", 1, after=ids[1], limit=2) == ids[2:]
        assert below("acme", backend, after=None, limit=10) == []
    with directory.writer() as tx:
        tx.depts.set_abs_path("acme", backend, "/Acme/Eng/Backend")
    with directory.store.read() as tx:
        assert tx.depts.get_depts("acme", [backend])[backend].abs_path == "/Acme/Eng/Backend"


def test_an_attribute_definition_is_renamed_with_new_options(directory: Directory) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme")
    (level,) = attributes.create_definitions(
        directory,
        tenant_id="acme",
        items=[attributes.NewDefinition(name="Level", value_type="option", options=((None, "P1"),))],
    )
    renamed = dataclasses.replace(
        level, name="等级", options=(*level.options, AttributeOption("p2-key", "P2 高级"))
    )
    with directory.writer() as tx:
        tx.attrs.update_definition(renamed)
    with directory.store.read() as tx:
        assert tx.attrs.list_definitions("acme") == [renamed]


def test_an_app_is_deleted_once(directory: Directory) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme")
    apps.create(
        directory, tenant_id="acme", client_id="acme-a", secret="secret-a", scopes=("kso.contact.read",)
    )
    apps.create(
        directory, tenant_id="acme", client_id="acme-b", secret="secret-b", scopes=("kso.contact.read",)
    )
    with directory.writer() as tx:
        assert tx.apps.delete_app("acme-a") is True
        assert tx.apps.delete_app("acme-a") is False
    assert [a.client_id for a in apps.list_for_tenant(directory, "acme")] == ["acme-b"]


def test_a_dingtalk_token_is_found_with_its_corp_and_extended(directory: Directory) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme")
    apps.create(directory, tenant_id="acme", client_id="acmekey", secret="acme-secret", scopes=("dingtalk",))
    token = IssuedToken("hash-1", "acmekey", "acme", b"\x00sealed\xff", 1, 7_200_000)
    with directory.writer() as tx:
        tx.tokens.insert_token(token, ctime=1)
    with directory.store.read() as tx:
        corp = tx.tenants.get_tenant("acme").dingtalk_corp_id  # type: ignore[union-attr]
        assert tx.tokens.get("hash-1") == dataclasses.replace(token, corp_id=corp)
        assert tx.tokens.get("hash-2") is None
    with directory.writer() as tx:
        tx.tokens.extend("hash-1", 9_000_000)
    with directory.store.read() as tx:
        assert tx.tokens.get("hash-1").expires_at == 9_000_000  # type: ignore[union-attr]


def test_a_server_setting_is_written_once(directory: Directory) -> None:
    with directory.writer() as tx:
        assert tx.tenants.get_setting("served-queries") is None
        assert tx.tenants.put_setting_if_absent("served-queries", "first") == "first"
        assert tx.tenants.put_setting_if_absent("served-queries", "second") == "first"
    with directory.store.read() as tx:
        assert tx.tenants.get_setting("served-queries") == "first"


def test_the_clock_offset_and_fault_rules_are_shared_state(directory: Directory) -> None:
    with directory.writer() as tx:
        assert tx.control.clock_offset() == 0.0
        tx.control.set_clock_offset(86_400.25)
        tx.control.set_clock_offset(-3_600.5)
        first = tx.control.add_fault({"action": "http", "status": 503}, 2)
        second = tx.control.add_fault({"action": "latency"}, None)
        third = tx.control.add_fault({"action": "drop"}, 1)
    with directory.writer() as tx:
        assert tx.control.clock_offset() == -3_600.5
        assert tx.control.delete_fault(first) is True
        assert tx.control.delete_fault(first) is False
        assert [n for n, *_ in tx.control.faults()] == [second, third]
        assert tx.control.clear_faults() == 2
        assert tx.control.faults() == []


def test_a_unique_value_taken_between_the_check_and_the_write_is_a_conflict_naming_it(
    directory: Directory,
) -> None:
    """The services check uniqueness before they write; a write that lost a race since (two
    transactions on PostgreSQL) meets the unique index, which must read as a conflict."""
    tenants.create(directory, tenant_id="acme", name="Acme")
    users.create_many(
        directory,
        tenant_id="acme",
        items=[
            users.NewUser(id="a", user_name="A", dept_ids=(1,), email="a@acme.test"),
            users.NewUser(id="b", user_name="B", dept_ids=(1,), email="b@acme.test"),
        ],
        field_prefix="",
    )
    with directory.store.read() as tx:
        before = tx.users.get_users("acme", ["b"])["b"]
    with pytest.raises(Conflict) as caught, directory.writer() as tx:
        tx.users.update_user(dataclasses.replace(before, email="a@acme.test"))
    assert caught.value.field == "email" and "a@acme.test" in caught.value.message
    with directory.store.read() as tx:
        assert tx.users.get_users("acme", ["b"])["b"] == before
