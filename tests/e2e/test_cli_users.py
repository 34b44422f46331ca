"""``openroster users list|get|export`` and ``openroster depts tree`` against a running server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import sdk_support
from sdk_support import Sandbox, Tenant, cli, wps_env

from openroster.client import WpsClient
from openroster.client.wps_models import Dept, User
from openroster.core.sheets import export as sheet_export
from openroster.core.sheets import imports as sheet_imports
from openroster.core.sheets.files import read_sheet

pytestmark = pytest.mark.e2e
sandbox, org = sdk_support.sandbox, sdk_support.org


@dataclass
class Company:
    depts: dict[str, Dept]
    people: dict[str, User]


@pytest.fixture
def company(sandbox: Sandbox, org: Tenant) -> Iterator[Company]:
    """研发中心 (with 平台组 below it) and 运营部, four people, two custom attributes."""
    creds = org.wps["kso1"]
    with WpsClient(sandbox.base_url, client_id=creds.client_id, client_secret=creds.secret) as wps:
        rd = wps.create_dept(name="研发中心", parent_id="1")
        platform = wps.create_dept(name="平台组", parent_id=rd.id)
        ops = wps.create_dept(name="运营部", parent_id="1")
        boss = wps.create_user(user_name="王总", dept_ids=[rd.id], employee_id="E1", email="boss@example.com")
        ann = wps.create_user(
            user_name="李安",
            dept_ids=[platform.id, ops.id],
            def_dept_id=ops.id,
            employee_id="E2",
            leader_id=boss.id,
            gender="female",
            title="工程师",
        )
        zhao = wps.create_user(user_name="赵六", dept_ids=[ops.id], email="zhao@example.com")
        gone = wps.create_user(user_name="钱七", dept_ids=[ops.id], employee_id="E4")
        wps.batch_disable_users([gone.id])
        desk, mentor = wps.create_custom_attr_definitions(
            [{"name": "工位", "value_type": "text"}, {"name": "导师", "value_type": "relation_user"}]
        )
        wps.update_custom_attrs(
            [
                {
                    "user_id": ann.id,
                    "custom_attrs": [
                        {"attr_id": desk.id, "text": "A-1"},
                        {"attr_id": mentor.id, "relation_user": boss.id},
                    ],
                }
            ]
        )
        yield Company(
            {"rd": rd, "platform": platform, "ops": ops},
            {"boss": boss, "ann": ann, "zhao": zhao, "gone": gone},
        )


def test_users_list_table_and_json(sandbox: Sandbox, org: Tenant, company: Company, tmp_path: Path) -> None:
    depts, people = company.depts, company.people
    env = wps_env(sandbox, org.wps["kso1"])
    table = cli("users", "list", env=env, home=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "3 people" in table.stdout and "李安" in table.stdout and "钱七" not in table.stdout
    listed = orjson.loads(
        cli("users", "list", "--json", "--status", "disabled", env=env, home=tmp_path).stdout
    )
    assert [u["user_name"] for u in listed] == ["钱七"]
    members = orjson.loads(
        cli("users", "list", "--json", "--dept", depts["rd"].id, "--recursive", env=env, home=tmp_path).stdout
    )
    assert {u["id"] for u in members} == {people["boss"].id, people["ann"].id}
    assert all(u["depts"] for u in members)  # with their departments
    limited = orjson.loads(cli("users", "list", "--json", "--limit", "2", env=env, home=tmp_path).stdout)
    assert len(limited) == 2


def test_users_get(sandbox: Sandbox, org: Tenant, company: Company, tmp_path: Path) -> None:
    people = company.people
    env = wps_env(sandbox, org.wps["kso1"])
    shown = cli("users", "get", people["ann"].id, env=env, home=tmp_path)
    assert shown.returncode == 0 and "工程师" in shown.stdout and "A-1" in shown.stdout
    data = orjson.loads(cli("users", "get", people["ann"].id, "--json", env=env, home=tmp_path).stdout)
    assert data["leader_id"] == people["boss"].id and {a["attr_name"] for a in data["custom_attrs"]} == {
        "工位",
        "导师",
    }
    missing = cli("users", "get", "nobody", env=env, home=tmp_path)
    assert missing.returncode == 1 and "40400002" in missing.stderr


def test_depts_tree(sandbox: Sandbox, org: Tenant, company: Company, tmp_path: Path) -> None:
    depts = company.depts
    env = wps_env(sandbox, org.wps["wps4"])
    tree = cli("depts", "tree", env=env, home=tmp_path)
    assert tree.returncode == 0, tree.stderr
    lines = tree.stdout.splitlines()
    assert lines[0].startswith(org.name) and "4 departments" in tree.stdout
    rd_line = next(i for i, line in enumerate(lines) if "研发中心" in line)
    assert "平台组" in lines[rd_line + 1] and lines[rd_line + 1].index("平台组") > lines[rd_line].index(
        "研发中心"
    )
    nested = orjson.loads(cli("depts", "tree", "--json", env=env, home=tmp_path).stdout)
    assert [c["name"] for c in nested["children"]] == ["研发中心", "运营部"]
    assert nested["children"][0]["children"][0]["id"] == depts["platform"].id
    sub = orjson.loads(
        cli("depts", "tree", "--json", "--root", depts["rd"].id, env=env, home=tmp_path).stdout
    )
    assert sub["name"] == "研发中心" and [c["name"] for c in sub["children"]] == ["平台组"]


def test_users_export_through_the_api_imports_back(
    sandbox: Sandbox, org: Tenant, company: Company, tmp_path: Path
) -> None:
    env = wps_env(sandbox, org.wps["kso1"])
    for name in ("people.xlsx", "people.csv"):
        out = tmp_path / name
        done = cli("users", "export", "-o", str(out), env=env, home=tmp_path)
        assert done.returncode == 0 and "4 people written" in done.stderr
        header, lines, _ = read_sheet(out)
        rows = list(lines)
        # The store's own export of the tenant holds the same people in the same columns.
        store_header, store_rows = sheet_export.export_sheet(sandbox.directory, tenant_id=org.id)
        assert header == store_header[: len(header)]
        assert sorted(rows) == sorted(r[: len(header)] for r in store_rows)
        again = sheet_imports.import_sheet(sandbox.directory, tenant_id=org.id, headers=header, rows=rows)
        assert again.problems == [] and again.unchanged == 4
