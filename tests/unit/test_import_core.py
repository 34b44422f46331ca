"""The spreadsheet import and export (core/sheets/) on a real store, both backends."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import bulk, users
from openroster.core.people import depts as dept_service
from openroster.core.sheets import export as sheet_export
from openroster.core.sheets import imports as sheet_imports
from openroster.core.sheets.columns import Language, Problem
from openroster.core.sheets.imports import ImportReport
from openroster.core.tenancy import tenants
from openroster.model.changes import EntityKind
from openroster.model.entities import ALL_STATUSES, UrlValue, User, UserStatus

HEADERS = [
    "姓名",
    "工号",
    "邮箱",
    "手机号",
    "性别",
    "部门",
    "直属主管",
    "员工类型",
    "工位",
    "职级",
    "个人主页",
    "证件号码",
]
ROWS = [
    ["王总", "E001", "Boss@Example.com", "13800000000", "男", "总部", "", "全职", "A-1", "P6 级", "", ""],
    [
        "李安",
        "E002",
        "ann@example.com",
        "13800000001",
        "女",
        "总部/研发中心/平台组; 总部/运营",
        "E001",
        "实习",
        "B-2",
        "P5",
        "主页 https://example.com/ann",
        "110101199001011234",
    ],
    ["张三", "E003", "", "", "", "示例科技/总部/研发中心", "ann@example.com", "", "", "", "", ""],
]


@pytest.fixture
def company(directory: Directory) -> str:
    tenants.create(directory, tenant_id="acme", name="示例科技")
    attributes.create_definitions(
        directory,
        tenant_id="acme",
        items=[
            attributes.NewDefinition(name="工位", value_type="text"),
            attributes.NewDefinition(
                name="职级", value_type="option", options=(("P5", "P5 级"), ("P6", "P6 级"))
            ),
            attributes.NewDefinition(name="个人主页", value_type="url"),
        ],
    )
    return "acme"


def run(
    d: Directory, rows: Sequence[Sequence[str]], headers: Sequence[str] = HEADERS, **kw: object
) -> ImportReport:
    return sheet_imports.import_sheet(d, tenant_id="acme", headers=headers, rows=rows, **kw)  # type: ignore[arg-type]


def copy_company(d: Directory, tenant_id: str) -> None:
    """Another company with acme's name and attribute definitions."""
    tenants.create(d, tenant_id=tenant_id, name="示例科技")
    with d.reader() as r:
        defs = r.definitions("acme")
    attributes.create_definitions(
        d,
        tenant_id=tenant_id,
        items=[
            attributes.NewDefinition(
                name=a.name, value_type=a.value_type.value, options=tuple((o.key, o.name) for o in a.options)
            )
            for a in defs
        ],
    )


def people(d: Directory) -> dict[str, User]:
    """Everyone in the tenant, by employee id (or email, or id)."""
    with d.reader() as r:
        ids = r.tx.users.page_ids("acme", statuses=ALL_STATUSES, after=None, limit=10_000)
        found = r.tx.users.get_users("acme", ids)
    return {u.employee_id or u.email or u.id: u for u in found.values()}


def paths(d: Directory, u: User) -> list[str]:
    with d.reader() as r:
        found = dept_service.get_many(r, tenant_id="acme", dept_ids=list(u.dept_ids))
    return [found[x].abs_path for x in u.dept_ids]


def change_seq(d: Directory) -> int:
    with d.store.read() as tx:
        return tx.changes.current_seq()


def test_import_creates_people_departments_attributes_and_roster(directory: Directory, company: str) -> None:
    report = run(directory, ROWS)
    assert report.problems == [] and report.written
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 3, 0, 0)
    assert report.departments_created == 4  # 总部, 研发中心, 平台组, 运营
    found = people(directory)
    boss, ann, zhang = found["E001"], found["E002"], found["E003"]
    assert (
        boss.email == "boss@example.com"
        and boss.gender.value == "male"
        and boss.employment_type == "permanent"
    )
    assert paths(directory, ann) == ["/示例科技/总部/研发中心/平台组", "/示例科技/总部/运营"]
    assert paths(directory, zhang) == ["/示例科技/总部/研发中心"]  # the company's own name is stripped
    assert ann.leader_id == boss.id and zhang.leader_id == ann.id  # by employee id and by email
    assert ann.employment_type == "intern" and ann.def_dept_id == ann.dept_ids[0]
    with directory.reader() as r:
        values = attributes.read_values(r, tenant_id="acme", user_ids=[ann.id, boss.id])
        defs = {a.name: a.id for a in r.definitions("acme")}
    ann_values = {v.attr_id: v.value for v in values[ann.id]}
    assert ann_values[defs["工位"]] == "B-2" and ann_values[defs["职级"]] == "P5"
    assert ann_values[defs["个人主页"]] == UrlValue(title="主页", link="https://example.com/ann")
    assert {v.attr_id: v.value for v in values[boss.id]}[defs["职级"]] == "P6"  # by option name
    with directory.reader() as r:
        stored = r.tx.roster.get_values("acme", [ann.id])[ann.id]
    assert [(v.field_code, v.value) for v in stored] == [("sys02-certNo", "110101199001011234")]


def test_importing_the_same_file_again_changes_nothing(directory: Directory, company: str) -> None:
    run(directory, ROWS)
    before = people(directory)
    seq = change_seq(directory)
    report = run(directory, ROWS)
    assert (report.created, report.updated, report.unchanged, report.departments_created) == (0, 0, 3, 0)
    assert change_seq(directory) == seq  # not one write
    assert people(directory) == before


def test_export_then_import_round_trips(directory: Directory, company: str) -> None:
    run(directory, ROWS)
    for language in Language:
        headers, rows = sheet_export.export_sheet(directory, tenant_id="acme", language=language)
        seq = change_seq(directory)
        report = run(directory, rows, headers)
        assert report.problems == [] and report.unchanged == 3 and change_seq(directory) == seq
    headers, rows = sheet_export.export_sheet(directory, tenant_id="acme", language=Language.EN)
    assert headers[:6] == ["User ID", "Name", "Employee ID", "Email", "Mobile", "Gender"]
    assert "sys02-certNo" in headers and "工位" in headers


def test_export_into_another_tenant_gives_the_same_sheet(directory: Directory, company: str) -> None:
    run(directory, ROWS)
    headers, rows = sheet_export.export_sheet(directory, tenant_id="acme")
    copy_company(directory, "copy")
    report = sheet_imports.import_sheet(directory, tenant_id="copy", headers=headers, rows=rows)
    assert report.problems == [] and report.created == 3
    assert sheet_export.export_sheet(directory, tenant_id="copy") == (headers, rows)


def test_changed_rows_are_updated_through_the_core(directory: Directory, company: str) -> None:
    run(directory, ROWS)
    changed = [list(r) for r in ROWS]
    changed[1][5] = "总部/运营"  # moves to one department
    changed[1][8] = ""  # clears 工位
    changed[2][6] = "E001"  # new manager
    headers = [*HEADERS, "职位", "账号状态"]
    rows = [[*r, "工程师", "正常"] for r in changed]
    rows[0][-1] = "禁用"
    report = run(directory, rows, headers)
    assert report.problems == []
    assert (report.created, report.updated, report.unchanged) == (0, 3, 0)
    found = people(directory)
    assert paths(directory, found["E002"]) == ["/示例科技/总部/运营"]
    assert found["E003"].leader_id == found["E001"].id
    assert found["E001"].status is UserStatus.DISABLED and found["E002"].title == "工程师"
    with directory.reader() as r:
        values = attributes.read_values(r, tenant_id="acme", user_ids=[found["E002"].id])
    assert "B-2" not in [v.value for v in values[found["E002"].id]]
    assert run(directory, rows, headers).unchanged == 3


def test_every_problem_is_reported_and_nothing_is_written(directory: Directory, company: str) -> None:
    users.create(
        directory,
        tenant_id="acme",
        item=users.NewUser(user_name="老员工", dept_ids=(1,), phone="13900000000"),
    )
    seq = change_seq(directory)
    bad = [
        ["赵一", "E010", "not-an-email", "", "", "总部", "", "", "", "", "", ""],
        ["钱二", "E011", "", "13900000000", "", "总部", "", "", "", "", "", ""],
        ["孙三", "E012", "", "", "男?", "总部", "nobody", "", "", "P9", "", ""],
        ["李四", "E010", "", "", "", "总部", "", "", "", "", "", ""],
        ["周五", "E014", "", "", "", "总部/" + "长" * 201, "", "", "", "", "", ""],
        ["吴六", "E015", "", "", "", "", "", "", "", "", "", "not-a-date-or-id" * 40],
        ["", "E016", "", "", "", "", "", "", "", "", "", ""],
        ["郑七", "", "", "", "", "", "", "", "", "", "", ""],
        ["王八", "E018", "", "", "", "", "E012", "", "", "", "", ""],
    ]
    report = run(directory, ROWS + bad)
    assert not report.written and change_seq(directory) == seq
    where = {(p.row, p.column) for p in report.problems}
    assert where >= {
        (5, "邮箱"),
        (6, "手机号"),
        (7, "性别"),
        (7, "直属主管"),
        (7, "职级"),
        (8, "工号"),
        (9, "部门"),
        (10, "证件号码"),
        (11, "姓名"),
        (12, "工号"),
        (13, "直属主管"),
    }, report.problems
    by_row = {p.row: p.reason for p in report.problems}
    assert "not an email" in by_row[5]
    assert "already used by user" in by_row[6]
    assert "also in row 5" in by_row[8]
    assert "longer than 200" in by_row[9]
    assert "names row 7" in by_row[13]  # the manager's own row is invalid
    assert report.invalid == 9 and report.created == 3  # what would have been created


def test_rows_with_the_same_departments_cell_get_its_paths_and_each_its_problem(
    directory: Directory, company: str
) -> None:
    """A departments cell is read once for the rows that have it: each gets its paths, a row with
    another cell its own, and a path refused is a problem of every row with that cell."""
    long = "总部/" + "长" * 201
    shared = "总部/运营; 总部/运营;总部"
    rows = [
        ["赵一", "E010", "", "", "", long, "", "", "", "", "", ""],
        ["钱二", "E011", "", "", "", shared, "", "", "", "", "", ""],
        ["孙三", "E012", "", "", "", long, "", "", "", "", "", ""],
        ["李四", "E013", "", "", "", shared, "", "", "", "", "", ""],
        ["周五", "E014", "", "", "", "销售", "", "", "", "", "", ""],
    ]
    report = run(directory, rows)
    assert not report.written and people(directory) == {}
    assert [(p.row, p.column) for p in report.problems] == [(2, "部门"), (4, "部门")]
    assert all("longer than 200" in p.reason for p in report.problems)
    report = run(directory, [rows[1], rows[4], rows[3]])
    assert report.written and report.created == 3
    found = people(directory)
    for who in ("E011", "E013"):
        assert paths(directory, found[who]) == ["/示例科技/总部/运营", "/示例科技/总部"]
    assert paths(directory, found["E014"]) == ["/示例科技/销售"]


def test_a_bad_cell_deep_in_a_large_file_is_named_and_nothing_is_written(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New people are checked a chunk at a time, from shared columns and shared attribute
    updates; a bad cell in a late chunk (chunks of 200 here, as row 70,000 is in the eighth chunk
    of 10,000) is still named by its row and column, and nothing at all is written."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    seq = change_seq(directory)
    rows = [
        [
            f"员工{i}",
            f"E{i:05d}",
            f"u{i}@example.com",
            "",
            "",
            "总部/研发中心",
            "",
            "",
            f"A-{i % 7}",
            "P5",
            "",
            "",
        ]
        for i in range(1, 1601)
    ]
    rows[1399][8] = "长" * 1001  # an attribute value too long: checked once per distinct cell
    rows[1499][2] = "not-an-email"  # a user field: checked a column at a time, then one by one
    report = run(directory, rows)
    assert not report.written and change_seq(directory) == seq and people(directory) == {}
    assert [(p.row, p.column) for p in report.problems] == [(1401, "工位"), (1501, "邮箱")]
    assert "longer than 1000" in report.problems[0].reason and "not an email" in report.problems[1].reason
    assert report.invalid == 2 and report.created == 1598


def people_rows(n: int) -> list[list[str]]:
    """``n`` valid new people, every tenth leading the nine after them, with attribute and roster cells."""
    return [
        [
            f"员工{i}",
            f"E{i:05d}",
            f"u{i}@example.com",
            f"139{i:08d}",
            "",
            f"总部/部门{i % 3}",
            "" if i % 10 == 1 else f"E{i - (i - 1) % 10:05d}",
            "",
            f"A-{i % 7}",
            "P5",
            "",
            f"11010119900101{i:04d}",
        ]
        for i in range(1, n + 1)
    ]


def writer_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that write the chunks of new people, in order."""
    names: list[str] = []
    write = bulk.write

    def spy(tx: object, chunk: bulk.PreparedChunk, *, tenant_id: str, **kw: Any) -> None:
        names.append(threading.current_thread().name)
        write(tx, chunk, tenant_id=tenant_id, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk, "write", spy)
    return names


def test_a_large_first_import_is_written_while_it_is_checked(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into a tenant that had nobody, a thread writes each chunk of new people as soon as it is
    checked (``core/sheets/ahead.py``; chunks of 200 for 10,000); the store then holds what the
    usual way writes: the same people, managers across chunks, values and change records."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    writers = writer_threads(monkeypatch)
    rows = people_rows(1000)
    seq = change_seq(directory)
    report = run(directory, rows)
    assert report.written and report.problems == [] and report.created == 1000
    assert writers == ["import-writer"] * 5
    found = people(directory)
    assert found["E00012"].leader_id == found["E00011"].id and found["E00201"].leader_id is None
    assert found["E00210"].leader_id == found["E00201"].id
    # The same file the usual way (one chunk) into another company gives the same.
    monkeypatch.setattr(bulk, "CHUNK", 10_000)
    copy_company(directory, "beta")
    after = {"acme": seq, "beta": change_seq(directory)}
    usual = sheet_imports.import_sheet(directory, tenant_id="beta", headers=HEADERS, rows=rows)
    assert usual.created == 1000 and writers[5:] == ["MainThread"]
    with directory.reader() as r:
        records = {t: r.tx.changes.records_after(t, s, 10_000) for t, s in after.items()}
    kinds = {t: sorted((c.record.kind, c.record.op) for c in got) for t, got in records.items()}
    assert kinds["acme"] == kinds["beta"] and len(kinds["acme"]) == 1000 + 4  # people, departments
    with directory.reader() as r:
        ids = r.tx.users.page_ids("beta", statuses=ALL_STATUSES, after=None, limit=10_000)
        beta = {u.employee_id: u for u in r.tx.users.get_users("beta", ids).values()}
        acme_roster = r.tx.roster.get_values("acme", [found["E00777"].id])[found["E00777"].id]
        beta_roster = r.tx.roster.get_values("beta", [beta["E00777"].id])[beta["E00777"].id]
    assert sorted(beta) == sorted(found)
    assert [(v.field_code, v.value) for v in acme_roster] == [(v.field_code, v.value) for v in beta_roster]
    # The people's records in the same order written ahead as the usual way, by employee id.
    employee = {"acme": {u.id: e for e, u in found.items()}, "beta": {u.id: e for e, u in beta.items()}}
    order = {
        t: [employee[t][c.record.entity_id] for c in got if c.record.kind is EntityKind.USER]
        for t, got in records.items()
    }
    assert order["acme"] == order["beta"] and sorted(order["acme"]) == sorted(found)


def test_a_problem_found_after_writing_ahead_undoes_it(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mobile number also in a later chunk is found after the first chunks were written ahead:
    they are undone and the usual way names the row; with ``partial`` the other rows are written."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    writers = writer_threads(monkeypatch)
    rows = people_rows(1000)
    rows[949][3] = rows[49][3]
    seq = change_seq(directory)
    report = run(directory, rows)
    assert not report.written and change_seq(directory) == seq and people(directory) == {}
    assert [(p.row, p.column) for p in report.problems] == [(951, "手机号")]
    assert "also in row 51" in report.problems[0].reason
    assert "import-writer" in writers and writers[-1] == "MainThread"
    report = run(directory, rows, partial=True)
    assert report.written and report.created == 999 and len(people(directory)) == 999
    assert "E00950" not in people(directory)
    # The records made for the chunks written ahead went with them: one per person written.
    with directory.reader() as r:
        records = r.tx.changes.records_after(company, seq, 10_000)
    created = [c.record.entity_id for c in records if c.record.kind is EntityKind.USER]
    assert sorted(created) == sorted(u.id for u in people(directory).values())


def test_partial_writes_the_valid_rows(directory: Directory, company: str) -> None:
    rows = [*ROWS, ["孙三", "E012", "", "", "男?", "总部", "", "", "", "", "", ""]]
    rows.append(["王八", "E018", "", "", "", "总部", "E012", "", "", "", "", ""])
    report = run(directory, rows, partial=True)
    assert report.written and report.created == 3 and report.invalid == 2
    assert sorted(people(directory)) == ["E001", "E002", "E003"]
    assert [p.row for p in report.problems] == [5, 6]


def test_dry_run_checks_and_writes_nothing(directory: Directory, company: str) -> None:
    seq = change_seq(directory)
    report = run(directory, ROWS, dry_run=True)
    assert report.problems == [] and not report.written and report.created == 3
    assert report.departments_created == 4 and change_seq(directory) == seq and people(directory) == {}


def test_header_problems(directory: Directory, company: str) -> None:
    report = run(directory, [["x"]], ["姓名", "工号", "颜色", "Employee ID"])
    assert report.problems == [
        Problem(1, "颜色", "unknown column: no profile field, attribute or roster field"),
        Problem(1, "Employee ID", "holds the same field as column '工号'"),
    ]
    assert run(directory, [["x"]], ["工号"]).problems == [
        Problem(1, "", "a name column (姓名 / Name) is required")
    ]
    assert "employee id" in run(directory, [["x"]], ["姓名", "手机号"]).problems[0].reason


def test_english_headers_and_a_mapping(directory: Directory, company: str) -> None:
    headers = ["Name", "Staff No.", "E-mail", "Department", "Notes", "level"]
    rows = [["Ann Lee", "S1", "ann@example.com", "HQ/R&D", "likes tea", "P5"]]
    report = run(
        directory,
        rows,
        headers,
        columns={"Staff No.": "employee_id", "Notes": None, "level": "attr:" + _attr(directory, "职级")},
    )
    assert report.problems == [] and report.created == 1
    ann = people(directory)["S1"]
    assert ann.email == "ann@example.com" and paths(directory, ann) == ["/示例科技/HQ/R&D"]


def test_rows_match_by_email_and_two_keys_naming_two_people_is_a_problem(
    directory: Directory, company: str
) -> None:
    run(directory, ROWS)
    report = run(directory, [["李安", "E002", "ann@example.com"]], ["姓名", "工号", "邮箱"])
    assert report.unchanged == 1
    by_email = run(directory, [["李安", "ann@example.com", "高级工程师"]], ["姓名", "邮箱", "职位"])
    assert by_email.updated == 1 and people(directory)["E002"].title == "高级工程师"
    clash = run(directory, [["王总", "E001", "ann@example.com"]], ["姓名", "工号", "邮箱"])
    assert clash.problems[0].row == 2 and "two different people" in clash.problems[0].reason


def _attr(d: Directory, name: str) -> str:
    with d.reader() as r:
        return next(a.id for a in r.definitions("acme") if a.name == name)
