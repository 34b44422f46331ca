"""Reading and writing .xlsx and .csv sheets (core/sheets/files.py), against openpyxl's own reading."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from bench.bench_import import as_excel_writes_it
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from openroster.core.sheets.files import SheetError, cell_text, read_sheet, write_sheet


def read_all(path: Path, **kw: str) -> tuple[list[str], list[list[str]]]:
    header, rows, _ = read_sheet(path, **kw)
    return header, list(rows)


def test_xlsx_cells_read_as_typed(tmp_path: Path) -> None:
    book = openpyxl.Workbook()  # not write-only: strings become shared strings, like Excel's
    ws = book.active
    assert ws is not None
    ws.title = "人员"
    values: list[object] = [
        "姓名",
        13800000000,
        1.5,
        date(2024, 3, 1),
        datetime(2024, 3, 1, 9, 30),
        True,
        None,
        "=1+1",
        " 带空格 ",
    ]
    ws.append(["a", "b", "c", "d", "e", "f", "g", "h", "i"])
    ws.append(values)
    ws["J2"] = CellRichText([TextBlock(InlineFont(b=True), "粗"), "体"])
    ws.cell(row=4, column=3, value="sparse")  # row 3 empty, row 4 starts at column C
    path = tmp_path / "types.xlsx"
    book.save(path)
    header, rows = read_all(path)
    assert header == ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
    assert rows[0] == [
        "姓名",
        "13800000000",
        "1.5",
        "2024-03-01",
        "2024-03-01 09:30:00",
        "true",
        "",
        "",
        " 带空格 ",
        "粗体",
    ]
    assert rows[1] == [] and rows[2] == ["", "", "sparse"]
    theirs = openpyxl.load_workbook(path, read_only=True, data_only=True).active
    assert theirs is not None
    for mine, row in zip(
        rows[:1], list(theirs.iter_rows(min_row=2, max_row=2, values_only=True)), strict=True
    ):
        expected = [cell_text(v) for v in row]
        assert mine[:7] == expected[:7] and mine[8] == expected[8]


def test_written_sheets_read_back(tmp_path: Path) -> None:
    header = ["姓名", "工号", "部门"]
    rows = [["王总", "007", "总部/研发中心"], ["李安", "E2", ""]]
    for name in ("people.xlsx", "people.csv"):
        path = tmp_path / name
        assert write_sheet(path, header, rows) == 2
        got_header, got_rows = read_all(path)
        assert got_header == header and got_rows == rows  # "007" stays text, not 7
    assert (tmp_path / "people.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM, for Excel


def test_csv_from_excel_on_chinese_windows_is_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("姓名,部门\r\n王总,总部/研发中心\r\n".encode("gb18030"))
    assert read_all(path) == (["姓名", "部门"], [["王总", "总部/研发中心"]])


def test_named_sheet_and_errors(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.create_sheet("第二页").append(["姓名"])
    path = tmp_path / "two.xlsx"
    book.save(path)
    assert read_all(path, sheet="第二页")[0] == ["姓名"]
    with pytest.raises(SheetError, match="no sheet named"):
        read_sheet(path, sheet="nope")
    with pytest.raises(SheetError, match="empty"):
        read_sheet(path)  # the first sheet has no rows
    with pytest.raises(SheetError, match=r"\.xlsx or \.csv"):
        read_sheet(tmp_path / "people.txt")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(SheetError, match="not a readable"):
        read_sheet(broken)


def test_document_type_declarations_are_refused(tmp_path: Path) -> None:
    """Entity tricks ("billion laughs") need a DTD; spreadsheets never have one."""
    good = tmp_path / "good.xlsx"
    write_sheet(good, ["姓名"], [["王总"]])
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + data.split(b"?>", 1)[-1]
            dst.writestr(item, data)
    with pytest.raises(SheetError, match="document type declaration"):
        read_all(evil)


def test_plain_and_prefixed_sheet_xml_read_alike(tmp_path: Path) -> None:
    """Rows are found by string search in a sheet without tag prefixes and by regular expression
    in one with them; escaped text, gaps (in rows of one cell form too) and shared strings read the
    same either way."""
    plain = tmp_path / "plain.xlsx"
    write_sheet(plain, ["a", "b", "c"], [["A&B <x>", "", "7"], ["only a"]])
    with zipfile.ZipFile(plain) as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    row = (
        '<row r="5"><c r="A5" s="0" t="s"><v>0</v></c><c r="C5"><v>13800000000</v></c>'
        '<c r="D5" t="b"><v>1</v></c></row>'
        # rows of plain text or shared-string cells with a gap: read cell by cell
        '<row r="6"><c r="A6" t="inlineStr"><is><t>x</t></is></c>'
        '<c r="C6" t="inlineStr"><is><t>z</t></is></c></row>'
        '<row r="7"><c r="B7" t="s"><v>0</v></c></row>'
    )
    sheet = sheet.replace("</sheetData>", row + "</sheetData>")
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    parts["xl/sharedStrings.xml"] = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>共享</t></si></sst>'
    ).encode()
    prefixed_sheet = re.sub(r"<(/?)(?!\?)(\w+)", r"<\1x:\2", sheet).replace("xmlns=", "xmlns:x=", 1)
    expected = (
        ["a", "b", "c"],
        [
            ["A&B <x>", "", "7"],
            ["only a"],
            [],
            ["共享", "", "13800000000", "true"],
            ["x", "", "z"],
            ["", "共享"],
        ],
    )
    for name, text in (("plain", sheet), ("prefixed", prefixed_sheet)):
        path = tmp_path / f"{name}-edited.xlsx"
        with zipfile.ZipFile(path, "w") as dst:
            for member, data in parts.items():
                dst.writestr(member, text.encode() if member.endswith("sheet1.xml") else data)
        assert read_all(path) == expected, name


def test_excel_and_openpyxl_written_sheets_read_alike(tmp_path: Path) -> None:
    """Excel writes text as shared strings (a row of them is read by one expression, the table by
    another), openpyxl's write-only mode as inline strings: the same cells either way, with a
    styled cell, escaped and spaced text, and a row with a number and a gap read cell by cell."""
    header = ["姓名", "工号", "部门"]
    rows = [["王总", "E001", "总部/研发中心"], ["A&B <x>", "  两端空格 ", "总部"], ["李安", "138", "", "尾"]]
    inline, excel = tmp_path / "inline.xlsx", tmp_path / "excel.xlsx"
    write_sheet(inline, header, rows)
    write_sheet(excel, header, rows)
    as_excel_writes_it(excel)
    with zipfile.ZipFile(excel) as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode().replace('<c r="C2" t="s">', '<c r="C2" s="1" t="s">')
    sheet = re.sub(r'<c r="B4" t="s"><v>\d+</v></c>', '<c r="B4"><v>138</v></c>', sheet)
    sheet = re.sub(r'<c r="C4" t="inlineStr" ?/>', "", sheet)  # Excel leaves an empty cell out
    assert sheet.count(' t="s"') == 11 and ' s="1" t="s"' in sheet and "inlineStr" not in sheet
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(excel, "w") as dst:
        for member, data in parts.items():
            dst.writestr(member, data)
    assert read_all(excel) == read_all(inline) == (header, rows)
