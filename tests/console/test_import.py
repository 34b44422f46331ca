"""The Import page in a real browser: a spreadsheet with its progress bar, the summary, the per-row
problems of a refused file (nothing written), and the export read back."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests.console.browser import Console
from tests.console.world import TENANT, make_company, wps_call

from conftest import LiveServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # a browser: the inner loop keeps only the sign-in tests
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

IMPORT = f"/console/tenants/{TENANT}/import"
HEADER = ["Name", "Employee ID", "Email", "Departments"]
HIRES = [
    ["周新", "E900001", "zhouxin@acme.test", "研发部/平台组"],
    ["吴晴", "E900002", "wuqing@acme.test", "运营中心/新业务组"],
    ["Eve Example", "E900003", "eve@acme.test", "运营中心"],
]

#: Records each time the progress bar comes on screen (the import is too quick to watch it otherwise).
WATCH_PROGRESS = """
window.progressShown = 0;
new MutationObserver(() => {
  if (!document.getElementById("import-progress").hidden) window.progressShown += 1;
}).observe(document.getElementById("import-progress"), {attributes: true});
"""


def sheet(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    return path


def emails_known(live: LiveServer, emails: list[str]) -> list[str]:
    reply = wps_call(live.base_url, "POST", "/v7/users/by_emails", {"emails": emails, "status": ["active"]})
    assert reply["code"] == 0, reply
    return sorted(u["email"] for u in reply["data"]["items"])


def test_an_import_shows_its_progress_then_the_summary(
    live: LiveServer, console: Console, tmp_path: Path
) -> None:
    make_company(live)
    page = console.sign_in(IMPORT)
    bar = page.get_by_role("progressbar", name="Importing", include_hidden=True)
    expect(bar).to_have_count(1)
    expect(bar).to_be_hidden()
    page.evaluate(WATCH_PROGRESS)
    page.get_by_label("Spreadsheet").set_input_files(sheet(tmp_path / "hires.csv", HIRES))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_have_text(
        "3 rows imported: 3 created, 0 updated, 0 unchanged; 2 departments created."
    )
    assert page.evaluate("window.progressShown") == 1  # shown while it ran, hidden again
    expect(bar).to_be_hidden()
    console.screenshot("import")
    assert emails_known(live, [r[2] for r in HIRES]) == sorted(r[2] for r in HIRES)

    page.get_by_role("button", name="Import").click()  # the same file again changes nothing
    expect(page.get_by_role("status")).to_have_text(
        "3 rows imported: 0 created, 0 updated, 3 unchanged; 0 departments created."
    )


def test_a_file_with_problems_lists_them_and_writes_nothing(
    live: LiveServer, console: Console, tmp_path: Path
) -> None:
    make_company(live)
    page = console.sign_in(IMPORT)
    bad = [
        HIRES[0],
        ["吴晴", "E900002", "not-an-email", "运营中心"],
        ["", "E900009", "x@acme.test", "运营中心"],
    ]
    page.get_by_label("Spreadsheet").set_input_files(sheet(tmp_path / "bad.csv", bad))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Nothing was written: 2 problems. Fix them and import the file again."
    )
    problems = page.get_by_role("table").filter(has_text="bad.csv")
    expect(problems.get_by_role("row")).to_have_count(3)  # the header and one row per problem
    expect(problems.get_by_role("row").nth(1)).to_contain_text("3")
    expect(problems.get_by_role("row").nth(1)).to_contain_text("not-an-email")
    expect(problems.get_by_role("row").nth(2)).to_contain_text("4")
    assert emails_known(live, ["zhouxin@acme.test", "x@acme.test"]) == []  # all or nothing

    page.get_by_label("Spreadsheet").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The import did not finish: notes.txt: expected a .xlsx or .csv file"
    )


def test_the_export_reads_back_through_the_import(live: LiveServer, console: Console, tmp_path: Path) -> None:
    make_company(live)
    page = console.sign_in(IMPORT)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as .csv (en headers)").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    assert target.name == f"{TENANT}.csv"
    with target.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert "Name" in rows[0] and len(rows) == 1 + 5
    page.get_by_label("Spreadsheet").set_input_files(target)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_have_text(
        "5 rows imported: 0 created, 0 updated, 5 unchanged; 0 departments created."
    )


def test_a_snapshot_download_restores_the_tenant(live: LiveServer, console: Console, tmp_path: Path) -> None:
    make_company(live)
    page = console.sign_in("/console/")
    with page.expect_download() as download:
        page.get_by_role("link", name=f"Download snapshot · {TENANT}").click()
    saved = tmp_path / "acme-snapshot.json"
    download.value.save_as(saved)
    page.goto(live.base_url + IMPORT)  # change the tenant, then put it back from the snapshot
    page.get_by_label("Spreadsheet").set_input_files(sheet(tmp_path / "hires.csv", HIRES))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("3 created")
    page.get_by_label("Snapshot", exact=True).set_input_files(saved)
    page.get_by_role("button", name="Replace tenant").click()
    expect(page.get_by_role("status").filter(has_text="replaced")).to_contain_text(
        "acme was replaced from the snapshot."
    )
    # The snapshot holds no secrets: the app kept its own, and the hires are gone.
    expect(page.get_by_role("status").filter(has_text="replaced").locator("code")).to_have_count(0)
    assert emails_known(live, [r[2] for r in HIRES]) == []

    page.get_by_label("Snapshot", exact=True).set_input_files(
        {"name": "x.json", "mimeType": "application/json", "buffer": b"{"}
    )
    page.get_by_role("button", name="Replace tenant").click()
    expect(page.get_by_role("alert")).to_contain_text("The import did not finish")
