"""Snapshots and resets (fixtures/snapshot.py) on a real store, both backends."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.tenancy import apps, tenants
from openroster.fixtures import snapshot
from openroster.fixtures.seed import load_tenant
from openroster.model.errors import AuthError, CoreError, InvalidValue, NotFound, RuleViolation
from openroster.store import schema
from openroster.store import snapshot as rows

SEED: dict[str, Any] = {
    "id": "acme",
    "name": "Acme",
    "departments": ["Engineering/Platform", {"path": "Sales", "ex_dept_id": "S-1"}],
    "custom_attributes": [
        {"id": "desk", "name": "Desk", "value_type": "text"},
        {
            "id": "level",
            "name": "Level",
            "value_type": "option",
            "options": [{"key": "p1", "name": "P1"}, {"key": "p2", "name": "P2"}],
        },
    ],
    "users": [
        {
            "id": "u-ann",
            "user_name": "Ann",
            "email": "ann@acme.test",
            "depts": ["Engineering/Platform"],
            "leader_of": ["Engineering/Platform"],
            "custom_attrs": {"desk": "A-1", "level": "p2"},
        },
        {"id": "u-bob", "user_name": "Bob", "phone": "+86-13800000000", "depts": ["Sales"]},
    ],
    "apps": [
        {
            "client_id": "acme-app",
            "client_secret": "acme-app-secret-1",
            "signing": "none",
            "scopes": ["kso.contact.read"],
        }
    ],
}


@pytest.fixture
def seeded(directory: Directory) -> Directory:
    load_tenant(directory, SEED)
    load_tenant(
        directory,
        {
            "id": "other",
            "name": "Other",
            "users": [{"id": "u-zed", "user_name": "Zed"}],
            "apps": [{"client_id": "other-app", "client_secret": "other-app-secret", "signing": "none"}],
        },
    )
    with directory.writer() as tx:  # a roster value, written straight into its table
        tx.snapshots.insert_rows(
            "roster_values",
            "acme",
            [
                {
                    "user_id": "u-ann",
                    "group_id": "sys02",
                    "row_index": 0,
                    "field_code": "sys02-x",
                    "value": "1",
                }
            ],
        )
    return directory


def _user_names(d: Directory, tenant_id: str) -> dict[str, str]:
    with d.reader() as r:
        ids = [u["id"] for u in r.tx.snapshots.read_rows("users", tenant_id)]
        return {u.id: u.user_name for u in r.users(tenant_id, ids).values()}


def _dept_ids(d: Directory, tenant_id: str) -> list[int]:
    with d.reader() as r:
        return [row["id"] for row in r.tx.snapshots.read_rows("depts", tenant_id)]


def test_export_import_export_is_byte_identical(seeded: Directory) -> None:
    first = snapshot.export(seeded, tenant_id="acme")
    doc = orjson.loads(first)
    assert doc["format"] == "openroster.snapshot" and doc["version"] == snapshot.VERSION
    tables = doc["tenants"][0]["tables"]
    assert {u["id"] for u in tables["users"]} == {"u-ann", "u-bob"}
    assert tables["roster_values"][0]["field_code"] == "sys02-x"
    assert len(tables["attr_values"]) == 2 and len(tables["memberships"]) == 2
    snapshot.import_(seeded, first, tenant_id="acme")
    assert snapshot.export(seeded, tenant_id="acme") == first
    whole = snapshot.export(seeded, secrets=True)
    snapshot.import_(seeded, whole)
    assert snapshot.export(seeded, secrets=True) == whole
    assert snapshot.export(seeded, tenant_id="acme") == first


def test_secrets_are_left_out_unless_asked_for(seeded: Directory) -> None:
    plain = snapshot.export(seeded)
    assert b"acme-app-secret-1" not in plain and b"other-app-secret" not in plain
    assert b"secret_sealed" not in plain
    with_secrets = snapshot.export(seeded, secrets=True)
    doc = orjson.loads(with_secrets)
    assert doc["secrets"] is True
    app_rows = {a["client_id"]: a for t in doc["tenants"] for a in t["tables"]["apps"]}
    assert app_rows["acme-app"]["client_secret"] == "acme-app-secret-1"
    assert doc["tenants"][0]["seed"]["apps"][0]["client_secret"] == "acme-app-secret-1"


def test_import_without_secrets_keeps_the_app_secret_this_store_has(seeded: Directory) -> None:
    snapshot.import_(seeded, snapshot.export(seeded, tenant_id="acme"), tenant_id="acme")
    token, _ = apps.issue_token(seeded, client_id="acme-app", client_secret="acme-app-secret-1")
    assert token


def test_an_app_new_to_the_store_gets_a_fresh_secret(seeded: Directory, directory: Directory) -> None:
    doc = orjson.loads(snapshot.export(seeded, tenant_id="acme"))
    doc["tenants"][0]["tables"]["apps"].append(
        {**doc["tenants"][0]["tables"]["apps"][0], "client_id": "acme-2"}
    )
    result = snapshot.import_(seeded, doc, tenant_id="acme")
    assert [cid for cid, _ in result.new_secrets] == ["acme-2"]
    secret = result.new_secrets[0][1]
    assert apps.issue_token(seeded, client_id="acme-2", client_secret=secret)[0]


def test_import_with_secrets_sets_them(seeded: Directory) -> None:
    doc = orjson.loads(snapshot.export(seeded, tenant_id="acme", secrets=True))
    doc["tenants"][0]["tables"]["apps"][0]["client_secret"] = "a-brand-new-secret"
    snapshot.import_(seeded, doc, tenant_id="acme")
    with pytest.raises(AuthError):
        apps.issue_token(seeded, client_id="acme-app", client_secret="acme-app-secret-1")
    assert apps.issue_token(seeded, client_id="acme-app", client_secret="a-brand-new-secret")[0]


def test_a_newer_format_version_is_refused_clearly(seeded: Directory) -> None:
    doc = orjson.loads(snapshot.export(seeded, tenant_id="acme"))
    doc["version"] = snapshot.VERSION + 1
    doc["tenants"][0]["tables"]["users"] = []
    with pytest.raises(snapshot.UnsupportedSnapshot) as err:
        snapshot.import_(seeded, doc, tenant_id="acme")
    assert f"format version {snapshot.VERSION + 1}" in err.value.message
    assert "newer" in err.value.message and err.value.field == "version"
    assert set(_user_names(seeded, "acme")) == {"u-ann", "u-bob"}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(format="something-else"), "format"),
        (lambda d: d.update(version="1"), "version"),
        (lambda d: d["tenants"][0]["tables"]["users"][1].update(nickname="x"), "users[1].nickname"),
        (lambda d: d["tenants"][0]["tables"]["users"][0].update(ctime="yesterday"), "users[0].ctime"),
        (lambda d: d["tenants"][0]["tables"]["users"][0].pop("user_name"), "users[0].user_name"),
        (lambda d: d["tenants"][0]["tables"].update(payroll=[]), "tables.payroll"),
        # Breaks a foreign key: the last table's rows are checked by the store itself.
        (lambda d: d["tenants"][0]["tables"]["roster_values"][0].update(user_id="nobody"), "roster_values"),
    ],
)
def test_a_bad_snapshot_changes_nothing_and_names_the_field(
    seeded: Directory, mutate: Any, field: str
) -> None:
    before = snapshot.export(seeded, secrets=True)
    doc = orjson.loads(snapshot.export(seeded, tenant_id="acme"))
    doc["tenants"][0]["tables"]["users"][0]["user_name"] = "Changed"
    mutate(doc)
    with pytest.raises(InvalidValue) as err:
        snapshot.import_(seeded, doc, tenant_id="acme")
    assert field in err.value.message
    assert snapshot.export(seeded, secrets=True) == before


def test_a_tenant_snapshot_must_be_of_that_tenant(seeded: Directory) -> None:
    with pytest.raises(InvalidValue, match="is of tenant 'acme', not 'other'"):
        snapshot.import_(seeded, snapshot.export(seeded, tenant_id="acme"), tenant_id="other")
    with pytest.raises(InvalidValue, match="exactly one tenant"):
        snapshot.import_(seeded, snapshot.export(seeded), tenant_id="acme")


def test_importing_one_tenant_leaves_the_others_alone(seeded: Directory) -> None:
    saved = snapshot.export(seeded, tenant_id="acme")
    other_before = snapshot.export(seeded, tenant_id="other", secrets=True)
    snapshot.reset(seeded, "acme")
    assert _user_names(seeded, "acme") == {}  # warms the cache with the empty state
    snapshot.import_(seeded, saved, tenant_id="acme")
    assert _user_names(seeded, "acme") == {"u-ann": "Ann", "u-bob": "Bob"}
    assert snapshot.export(seeded, tenant_id="other", secrets=True) == other_before


def test_importing_everything_replaces_the_store(seeded: Directory) -> None:
    only_acme = orjson.loads(snapshot.export(seeded, secrets=True))
    only_acme["tenants"] = [t for t in only_acme["tenants"] if t["id"] == "acme"]
    result = snapshot.import_(seeded, only_acme)
    assert result.deleted == ("other",)
    assert [t.id for t in tenants.list_all(seeded)] == ["acme"]
    with seeded.reader() as r:
        assert r.app("other-app") is None


def test_an_import_refreshes_what_readers_have_cached(seeded: Directory) -> None:
    doc = orjson.loads(snapshot.export(seeded, tenant_id="acme"))
    assert _user_names(seeded, "acme")["u-ann"] == "Ann"
    next(u for u in doc["tenants"][0]["tables"]["users"] if u["id"] == "u-ann")["user_name"] = "Anne"
    snapshot.import_(seeded, doc, tenant_id="acme")
    assert _user_names(seeded, "acme")["u-ann"] == "Anne"


def test_reset_to_empty_keeps_the_tenant_its_apps_and_root(seeded: Directory) -> None:
    other_before = snapshot.export(seeded, tenant_id="other", secrets=True)
    token, _ = apps.issue_token(seeded, client_id="acme-app", client_secret="acme-app-secret-1")
    snapshot.reset(seeded, "acme")
    assert _user_names(seeded, "acme") == {}
    assert _dept_ids(seeded, "acme") == [1]
    with seeded.reader() as r:
        assert apps.authenticate(r, token).client_id == "acme-app"  # credentials stay valid
        assert r.definitions("acme") == []
        assert r.tx.snapshots.read_tenant_row("acme")["next_dept_id"] == 2  # type: ignore[index]
    assert snapshot.export(seeded, tenant_id="other", secrets=True) == other_before


def test_reset_to_seed_puts_the_seed_back(seeded: Directory) -> None:
    seeded_state = snapshot.export(seeded, tenant_id="acme")
    users.create(seeded, tenant_id="acme", item=users.NewUser(id="u-new", user_name="New", dept_ids=(1,)))
    snapshot.reset(seeded, "acme", to="seed")
    assert set(_user_names(seeded, "acme")) == {"u-ann", "u-bob"}
    after = orjson.loads(snapshot.export(seeded, tenant_id="acme"))
    before = orjson.loads(seeded_state)
    before["tenants"][0]["tables"]["roster_values"] = []  # written after the seed, so not in it
    for doc in (after, before):  # creation times follow the clock; the data does not
        for t in doc["tenants"]:
            for table in t["tables"].values():
                for row in table:
                    row.pop("ctime", None)
                    row.pop("mtime", None)
    assert after == before


def test_reset_to_seed_needs_a_seed(directory: Directory) -> None:
    tenants.create(directory, tenant_id="plain", name="Plain")
    with pytest.raises(RuleViolation, match="not created from a seed"):
        snapshot.reset(directory, "plain", to="seed")
    with pytest.raises(NotFound):
        snapshot.reset(directory, "missing")


def test_reset_all_resets_every_tenant(seeded: Directory) -> None:
    tenants.create(directory := seeded, tenant_id="plain", name="Plain")
    users.create(directory, tenant_id="plain", item=users.NewUser(id="p1", user_name="P", dept_ids=(1,)))
    users.create(directory, tenant_id="acme", item=users.NewUser(id="a9", user_name="A", dept_ids=(1,)))
    assert snapshot.reset_all(directory, to="seed") == ["acme", "other", "plain"]
    assert set(_user_names(directory, "acme")) == {"u-ann", "u-bob"}
    assert set(_user_names(directory, "other")) == {"u-zed"}
    assert _user_names(directory, "plain") == {}


def test_seed_errors_name_the_seed_field(directory: Directory) -> None:
    tenants.create(directory, tenant_id="t1", name="T1")
    with pytest.raises(CoreError) as err, directory.writer() as tx:
        snapshot.fill_from_seed_in(
            tx,
            directory,
            "t1",
            {"users": [{"id": "a", "user_name": "A"}, {"id": "a", "user_name": "B"}]},
        )
    assert err.value.message.startswith("seed.users[1].id")


def test_every_tenant_table_is_in_snapshots_or_named_as_credentials() -> None:
    """A new table with a tenant_id is exported automatically; its values must be JSON-able."""
    json_types = {int, str, bool}
    for name in rows.tenant_tables():
        if name in rows.CREDENTIAL_TABLES:
            continue
        table = schema.metadata.tables[name]
        for col in table.c:
            if (table.name, col.name) == ("apps", "secret_sealed"):
                continue
            assert col.type.python_type in json_types, f"{table.name}.{col.name} is not JSON-able"


def test_snapshots_carry_the_app_platform_and_older_ones_get_it_from_the_scopes(seeded: Directory) -> None:
    doc = orjson.loads(snapshot.export(seeded, tenant_id="acme"))
    app_rows = doc["tenants"][0]["tables"]["apps"]
    assert app_rows[0]["platform"] == "wps"
    older = [
        {**app_rows[0], "client_id": cid, "scopes": orjson.dumps(scopes).decode(), "agentid": agentid}
        for cid, scopes, agentid in (
            ("old-ding", ["qyapi_get_member"], 77),
            ("old-agent", [], 78),
            ("old-wps", ["kso.contact.read"], 79),
        )
    ]
    for row in [*app_rows, *older]:
        row.pop("platform")
    doc["tenants"][0]["tables"]["apps"] = [*app_rows, *older]
    snapshot.import_(seeded, doc, tenant_id="acme")
    platforms = {a.client_id: a.platform.value for a in apps.list_for_tenant(seeded, "acme")}
    assert platforms == {"acme-app": "wps", "old-ding": "dingtalk", "old-agent": "dingtalk", "old-wps": "wps"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"platform": "qq"}, "tenants[0].tables.apps[0].platform"),
        ({"platform": "dingtalk"}, "tenants[0].tables.apps[0].scopes"),  # the app holds WPS scopes
        ({"platform": None, "scopes": "[1]"}, "tenants[0].tables.apps[0].scopes"),
    ],
)
def test_an_app_row_with_a_bad_platform_is_refused(
    seeded: Directory, change: dict[str, Any], field: str
) -> None:
    doc = orjson.loads(snapshot.export(seeded, tenant_id="acme"))
    doc["tenants"][0]["tables"]["apps"][0].update(change)
    with pytest.raises(InvalidValue) as caught:
        snapshot.import_(seeded, doc, tenant_id="acme")
    assert caught.value.field == field
