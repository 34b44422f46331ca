"""``openroster import`` / ``export`` on the store of a running server, read back through its API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import sdk_support
from sdk_support import Sandbox, Tenant, cli, cli_process

from openroster.client import WpsClient
from openroster.core.sheets.files import read_sheet, write_sheet

pytestmark = pytest.mark.e2e
sandbox, org = sdk_support.sandbox, sdk_support.org

HEADERS = ["姓名", "工号", "邮箱", "部门", "直属主管", "性别", "职位"]
ROWS = [
    ["王总", "E1", "boss@example.com", "总部", "", "男", "总经理"],
    ["李安", "E2", "ann@example.com", "总部/研发中心/平台组; 总部/运营部", "E1", "女", "工程师"],
    ["赵六", "E3", "", "总部/运营部", "ann@example.com", "", ""],
]


@pytest.fixture
def wps(sandbox: Sandbox, org: Tenant) -> Iterator[WpsClient]:
    creds = org.wps["kso1"]
    with WpsClient(sandbox.base_url, client_id=creds.client_id, client_secret=creds.secret) as c:
        yield c


def store(sandbox: Sandbox) -> list[str]:
    return ["--data-dir", str(sandbox.data_dir)]


@pytest.mark.slow  # the CLI as its own process
def test_import_while_the_server_runs(sandbox: Sandbox, org: Tenant, wps: WpsClient, tmp_path: Path) -> None:
    """A real process with its progress bar; the running server answers with the new people at once."""
    sheet = tmp_path / "people.xlsx"
    write_sheet(sheet, HEADERS, ROWS)
    wps.get_root_dept()  # the server has the tenant cached before the import
    done = cli_process("import", str(sheet), "--tenant", org.id, *store(sandbox))
    assert done.returncode == 0, done.stderr
    assert "3 rows: 3 created" in done.stdout and "written" in done.stdout
    assert "creating people" in done.stderr and "3/3" in done.stderr  # the progress bar
    people = {u.employee_id: u for u in wps.iter_users(with_dept=True)}
    assert sorted(people) == ["E1", "E2", "E3"]
    ann = people["E2"]
    assert ann.leader_id == people["E1"].id and people["E3"].leader_id == ann.id
    assert {d.abs_path for d in ann.depts or []} == {
        f"/{org.name}/总部/运营部",
        f"/{org.name}/总部/研发中心/平台组",
    }
    assert [d.name for d in wps.list_dept_children("1").items] == ["总部"]


def test_the_same_file_again_changes_nothing(sandbox: Sandbox, org: Tenant, tmp_path: Path) -> None:
    sheet = tmp_path / "people.csv"
    write_sheet(sheet, HEADERS, ROWS)
    assert cli("import", str(sheet), "--tenant", org.id, *store(sandbox)).returncode == 0
    again = cli("import", str(sheet), "--tenant", org.id, *store(sandbox), "--json")
    report = orjson.loads(again.stdout)
    assert again.returncode == 0 and (report["created"], report["updated"], report["unchanged"]) == (0, 0, 3)


def test_problems_are_reported_and_nothing_is_written(
    sandbox: Sandbox, org: Tenant, wps: WpsClient, tmp_path: Path
) -> None:
    sheet = tmp_path / "bad.xlsx"
    rows = [
        *ROWS,
        ["钱七", "E4", "not-an-email", "总部", "", "", ""],
        ["孙八", "E5", "", "总部", "E9", "?", ""],
    ]
    write_sheet(sheet, HEADERS, rows)
    report_file = tmp_path / "problems.csv"
    done = cli("import", str(sheet), "--tenant", org.id, *store(sandbox), "--report", str(report_file))
    assert done.returncode == 1
    assert "nothing written" in done.stdout and "邮箱" in done.stdout and "not an email" in done.stdout
    header, lines, _ = read_sheet(report_file)
    assert header == ["row", "column", "reason"]
    assert [(row, column) for row, column, _ in lines] == [("5", "邮箱"), ("6", "性别"), ("6", "直属主管")]
    assert list(wps.iter_users()) == []
    partial = cli("import", str(sheet), "--tenant", org.id, *store(sandbox), "--partial", "--json")
    result = orjson.loads(partial.stdout)
    assert partial.returncode == 0 and result["written"] and result["created"] == 3 and result["invalid"] == 2
    assert sorted(u.employee_id for u in wps.iter_users()) == ["E1", "E2", "E3"]


def test_dry_run_and_mapping(sandbox: Sandbox, org: Tenant, wps: WpsClient, tmp_path: Path) -> None:
    sheet = tmp_path / "hr.csv"
    write_sheet(
        sheet, ["Full name", "Staff no.", "Team", "Remarks"], [["Ann Lee", "S1", "R&D/Platform", "vip"]]
    )
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "columns:\n  Full name: user_name\n  Staff no.: employee_id\n  Team: departments\n  Remarks: null\n",
        encoding="utf-8",
    )
    base = ["import", str(sheet), "--tenant", org.id, *store(sandbox), "--mapping", str(mapping)]
    dry = cli(*base, "--dry-run")
    assert (
        dry.returncode == 0
        and "dry run: nothing written" in dry.stdout
        and "1 would be created" in dry.stdout
    )
    assert list(wps.iter_users()) == []
    assert cli(*base).returncode == 0
    [ann] = wps.iter_users(with_dept=True)
    assert ann.user_name == "Ann Lee" and [d.abs_path for d in ann.depts or []] == [
        f"/{org.name}/R&D/Platform"
    ]
    unmapped = cli("import", str(sheet), "--tenant", org.id, *store(sandbox))
    assert unmapped.returncode == 1 and "unknown column" in unmapped.stdout


def test_export_round_trips(sandbox: Sandbox, org: Tenant, tmp_path: Path) -> None:
    sheet = tmp_path / "people.xlsx"
    write_sheet(sheet, HEADERS, ROWS)
    assert cli("import", str(sheet), "--tenant", org.id, *store(sandbox)).returncode == 0
    copy = sandbox.tenant(org.name)
    for fmt, headers in (("xlsx", "zh"), ("csv", "en")):
        out = tmp_path / f"export.{fmt}"
        done = cli(
            "export",
            "--tenant",
            org.id,
            "--format",
            fmt,
            "--headers",
            headers,
            "-o",
            str(out),
            *store(sandbox),
        )
        assert done.returncode == 0 and "3 people written" in done.stderr
        again = cli("import", str(out), "--tenant", org.id, *store(sandbox), "--json")
        assert orjson.loads(again.stdout)["unchanged"] == 3
    moved = cli("import", str(tmp_path / "export.xlsx"), "--tenant", copy.id, *store(sandbox), "--json")
    assert orjson.loads(moved.stdout)["created"] == 3
    cli("export", "--tenant", copy.id, "-o", str(tmp_path / "copy.xlsx"), *store(sandbox))
    first, second = read_sheet(tmp_path / "export.xlsx"), read_sheet(tmp_path / "copy.xlsx")
    assert first[0] == second[0] and list(first[1]) == list(second[1])


def test_usage_errors(sandbox: Sandbox, org: Tenant, tmp_path: Path) -> None:
    sheet = tmp_path / "people.csv"
    write_sheet(sheet, HEADERS, ROWS)
    unknown = cli("import", str(sheet), "--tenant", "no-such-tenant", *store(sandbox))
    assert unknown.returncode == 2 and "does not exist" in unknown.stderr
    text = tmp_path / "people.txt"
    text.write_text("x", encoding="utf-8")
    assert cli("import", str(text), "--tenant", org.id, *store(sandbox)).returncode == 2
    assert cli("export", "--tenant", org.id, "--format", "pdf", *store(sandbox)).returncode == 2
