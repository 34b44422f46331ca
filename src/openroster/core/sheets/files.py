"""Reading and writing the spreadsheets of imports and exports (CLI and console): .xlsx and .csv.

Cells come back as text, the way a person typed them: whole numbers without a
trailing ``.0`` (phone numbers and employee ids are often stored as numbers),
dates as ``yyyy-MM-dd``. CSV files are read as UTF-8 (with or without a BOM) or,
failing that, GB18030 (what Excel writes on Chinese Windows); exports are
written as UTF-8 with a BOM so that Excel opens them with the right characters.
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, cast

FORMATS = ("xlsx", "csv")


class SheetError(Exception):
    """The file cannot be read as a sheet."""


def format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise SheetError(f"{path}: expected a .xlsx or .csv file")
    return suffix


def cell_text(value: object) -> str:
    """A cell's value as the text a person would have typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_sheet(path: Path, *, sheet: str | None = None) -> tuple[list[str], Iterator[list[str]], int]:
    """The header, the rows (lazily) and about how many rows there are."""
    if format_of(path) == "csv":
        return _read_csv(path)
    try:
        return _read_xlsx(path, sheet)
    except (zipfile.BadZipFile, KeyError, ET.ParseError, ValueError) as exc:
        raise SheetError(f"{path}: not a readable .xlsx file ({exc})") from None


# -- .xlsx, read straight from its XML ----------------------------------------------------
#
# openpyxl reads a 13-column, 100,000-row sheet in about 25 s of CPU, ElementTree in about 8 s,
# the regular expressions below in about 5 s: most of an import's time budget. The reader
# handles what spreadsheet programs write: shared and inline strings (rich text runs joined,
# phonetic hints left out), numbers, booleans, formula results, dates as serial numbers with a
# date format (both date systems) or as ISO text, sparse rows and cells, prefixed tags.

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
#: Built-in number formats that show dates (ECMA-376 18.8.30, with the CJK ones).
_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])


def _xml(book: zipfile.ZipFile, member: str) -> IO[bytes]:
    """A part of the package, refused if it declares a DTD (spreadsheets never do; entity tricks do).

    With that, and expat's own limits on entity expansion, ElementTree is safe on these files.
    """
    with book.open(member) as f:
        if b"<!DOCTYPE" in f.read(8192).upper():
            raise SheetError(f"{member}: a document type declaration is not allowed in a spreadsheet")
    return book.open(member)


def _parse(book: zipfile.ZipFile, member: str) -> ET.Element:
    with _xml(book, member) as f:
        return ET.parse(f).getroot()  # noqa: S314  (no DTD: see _xml)


def _read_xlsx(path: Path, sheet: str | None) -> tuple[list[str], Iterator[list[str]], int]:
    book = zipfile.ZipFile(path)
    names = set(book.namelist())
    workbook = _parse(book, "xl/workbook.xml")
    sheets = [(s.get("name", ""), s.get(f"{_REL_NS}id", "")) for s in workbook.iter(f"{_NS}sheet")]
    if not sheets:
        raise SheetError(f"{path}: the workbook has no sheets")
    if sheet is not None and sheet not in [n for n, _ in sheets]:
        raise SheetError(f"{path}: no sheet named {sheet!r} (sheets: {', '.join(n for n, _ in sheets)})")
    rel_id = next(r for n, r in sheets if sheet is None or n == sheet)
    rels = _parse(book, "xl/_rels/workbook.xml.rels")
    target = next(r.get("Target", "") for r in rels.iter(f"{_PKG_REL}Relationship") if r.get("Id") == rel_id)
    member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    pr = workbook.find(f"{_NS}workbookPr")
    epoch = date(1904, 1, 1) if pr is not None and pr.get("date1904") in ("1", "true") else date(1899, 12, 30)
    shared = _shared_strings(book) if "xl/sharedStrings.xml" in names else []
    dates = _date_styles(book) if "xl/styles.xml" in names else frozenset()
    rows = _sheet_rows(book, member, shared, dates, epoch)
    header = next(rows, None)
    if header is None:
        raise SheetError(f"{path}: the sheet is empty (the first row must hold the headers)")
    return header, rows, _row_count(book, member)


def _text(el: ET.Element) -> str:
    """The text of a string item: its ``t``, or its rich-text runs' ``t`` (not phonetic hints)."""
    direct = el.find(f"{_NS}t")
    if direct is not None:
        return direct.text or ""
    return "".join(t.text or "" for r in el.iter(f"{_NS}r") for t in r.iter(f"{_NS}t"))


#: A plain shared-string item (what Excel writes for text without runs): its escaped text.
_SHARED_ITEM = re.compile(r'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>')
_SHARED_ITEMS = re.compile(rf"(?:{_SHARED_ITEM.pattern})*")


def _shared_strings(book: zipfile.ZipFile) -> list[str]:
    """The shared-string table: by one expression when every item is plain (no runs, no
    carriage returns for XML to normalise, no tag prefixes), else item by item as XML."""
    with _xml(book, "xl/sharedStrings.xml") as f:
        raw = f.read()
    text = raw.decode("utf-8", "replace")
    opened = text.find("<sst")
    start, end = text.find(">", opened) + 1, text.rfind("</sst>")
    if opened >= 0 and 0 < start <= end and "\r" not in text and _SHARED_ITEMS.fullmatch(text, start, end):
        return [html.unescape(t) if "&" in t else t for t in _SHARED_ITEM.findall(text, start, end)]
    out: list[str] = []
    for _, el in ET.iterparse(io.BytesIO(raw)):  # noqa: S314  (no DTD: see _xml)
        if el.tag == f"{_NS}si":
            out.append(_text(el))
            el.clear()
    return out


def _date_styles(book: zipfile.ZipFile) -> frozenset[int]:
    """The cell style indexes whose number format shows a date."""
    styles = _parse(book, "xl/styles.xml")
    custom = {
        int(f.get("numFmtId", "0"))
        for f in styles.iter(f"{_NS}numFmt")
        if re.search(r"[ymd]", re.sub(r'"[^"]*"|\[[^\]]*\]', "", f.get("formatCode", "").lower()))
    }
    xfs = styles.find(f"{_NS}cellXfs")
    if xfs is None:
        return frozenset()
    return frozenset(
        i
        for i, xf in enumerate(xfs.iter(f"{_NS}xf"))
        if (n := int(xf.get("numFmtId", "0"))) in _DATE_FORMATS or n in custom
    )


def _column(ref: str) -> int:
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + ord(ch.upper()) - 64
    return n - 1


def _number(raw: str, style: int, dates: frozenset[int], epoch: date) -> str:
    value = float(raw)
    if style in dates:
        moment = datetime.combine(epoch, time(0)) + timedelta(days=value)
        return cell_text(moment.replace(microsecond=0))
    return cell_text(value) if not value.is_integer() or "E" in raw.upper() or "." in raw else raw


# The sheet's rows and cells are found with string searches and regular expressions on the
# streamed XML rather than with an XML parser: the element structure of sheetData is fixed (rows
# of cells of values), and this is what makes reading 100,000 rows take seconds. The package
# parts around it (workbook, relationships, styles, shared strings) are parsed as XML.
#
# Rows are found with ``str.find`` when the sheet's tags have no namespace prefix (what Excel,
# WPS, LibreOffice and openpyxl write), with a regular expression otherwise. A row whose cells
# all have the plain form those programs write (``<c r="B2" t="s"><v>7</v></c>``,
# ``<c r="C2" t="inlineStr"><is><t>text</t></is></c>``) is read by one expression over the row;
# a row of shared strings in that form (Excel's text cells, ``<c r="A2" s="3" t="s"><v>7</v></c>``)
# by one expression and the shared-string table; any other row cell by cell by the general
# expressions.
_TAG = r"(?:[\w.-]+:)?"
_ROW = re.compile(rf"<{_TAG}row\b([^>]*?)(?:/>|>(.*?)</{_TAG}row>)", re.S)
#: The sheetData tag, with its prefix if it has one.
_SHEET_DATA = re.compile(r"<([\w.-]+:)?sheetData\b")
#: A cell: its column letters and type (lookaheads: attributes come in any order), attributes, content.
_CELL = re.compile(
    rf'<{_TAG}c\b(?=[^>]*?\sr="([A-Z]+)\d+")?(?=[^>]*?\st="(\w+)")?([^>]*?)(?:/>|>(.*?)</{_TAG}c>)', re.S
)
_VALUE = re.compile(rf"<{_TAG}v(?:\s[^>]*)?>([^<]*)</")
_TEXT = re.compile(rf"<{_TAG}t(?:\s[^>]*)?>([^<]*)</")
_PHONETIC = re.compile(rf"<{_TAG}rPh\b.*?</{_TAG}rPh>", re.S)
#: A cell in the plain form: column letters, style, type, value, inline text.
_PLAIN_CELL = re.compile(
    r'<c r="([A-Z]+)\d+"(?: s="(\d+)")?(?: t="(\w+)")? ?'
    r'(?:/>|>(?:<v>([^<]*)</v>|<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)</c>)'
)
_PLAIN_ROW = re.compile(rf"(?:{_PLAIN_CELL.pattern})*")
#: An inline-string cell in the plain form (what openpyxl writes): column letters, text.
_TEXT_CELL = re.compile(
    r'<c r="([A-Z]+)\d+" t="inlineStr"(?: ?/>|><is><t(?: xml:space="preserve")?>([^<]*)</t></is></c>)'
)
#: A shared-string cell in the plain form (what Excel and WPS write for text): column letters, index.
_SHARED_CELL = re.compile(r'<c r="([A-Z]+)\d+"(?: s="\d+")? t="s"><v>(\d+)</v></c>')
#: Column letters A, B, ... ZZ in order: a row whose cells have these letters has no gaps.
_LETTERS = [chr(65 + i) for i in range(26)] + [
    chr(65 + i) + chr(65 + j) for i in range(26) for j in range(26)
]
_CHUNK = 1 << 20
#: A row found in the streamed XML: its attribute text, its content, where it ends in the buffer.
_Found = tuple[str, str, int]


def _sheet_rows(
    book: zipfile.ZipFile, member: str, shared: list[str], dates: frozenset[int], epoch: date
) -> Iterator[list[str]]:
    number = 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    buffer = ""
    find_rows: Callable[[str], Iterator[_Found]] | None = None
    with _xml(book, member) as f:
        while True:
            chunk = f.read(_CHUNK)
            buffer += decoder.decode(chunk, final=not chunk)
            if "<![CDATA[" in buffer:
                raise SheetError(f"{member}: CDATA sections are not supported; save the file again")
            if find_rows is None:
                data = _SHEET_DATA.search(buffer)
                if data is None and chunk:
                    continue  # the rows have not begun yet
                find_rows = _plain_rows if data is not None and not data.group(1) else _regex_rows
            done = 0
            for attrs, content, end in find_rows(buffer):
                done = end
                declared = int(_attr(attrs, "r") or number + 1)
                while number + 1 < declared:  # rows left out of the file are empty rows
                    number += 1
                    yield []
                number = declared
                yield _cells(content, shared, dates, epoch)
            buffer = buffer[done:]
            if not chunk:
                break
    book.close()


def _plain_rows(buffer: str) -> Iterator[_Found]:
    """The complete rows in ``buffer``, found by string search (tags without a prefix)."""
    find = buffer.find
    pos = 0
    while True:
        start = find("<row", pos)
        if start < 0:
            return
        after = buffer[start + 4 : start + 5]
        if after not in (" ", ">", "/"):  # another tag (<rowBreaks>), or the buffer ends
            if not after:
                return
            pos = start + 4
            continue
        close = find(">", start)
        if close < 0:
            return
        if buffer[close - 1] == "/":
            yield buffer[start + 4 : close - 1], "", close + 1
            pos = close + 1
            continue
        end = find("</row>", close)
        if end < 0:
            return
        pos = end + 6
        yield buffer[start + 4 : close], buffer[close + 1 : end], pos


def _regex_rows(buffer: str) -> Iterator[_Found]:
    """The complete rows in ``buffer``, found by regular expression (any tag prefix)."""
    for m in _ROW.finditer(buffer):
        yield m.group(1), m.group(2) or "", m.end()


def _attr(attrs: str, name: str) -> str | None:
    """An attribute's value in a tag's attribute text (``' r="A2" t="s"'``)."""
    at = attrs.find(f' {name}="')
    if at < 0:
        return None
    start = at + len(name) + 3
    return attrs[start : attrs.find('"', start)]


_COLUMNS: dict[str, int] = {}


def _only(cell: re.Pattern[str], row: str) -> list[str] | None:
    """Each cell's value (the expression's second group) when ``row`` is nothing but ``cell``s in
    columns A, B, ... in order, else None. One scan: ``split`` gives [between, letters, value,
    between, ...] and every between is empty (matching the whole row and then finding its cells
    scanned it twice: reading the 100,000-row openpyxl sheet 1.29 → 0.97 s CPU this way)."""
    parts = cell.split(row)
    if "".join(parts[::3]) or (letters := parts[1::3]) != _LETTERS[: len(letters)]:
        return None
    values: list[str | None] = parts[2::3]
    return [v or "" for v in values] if None in values else cast(list[str], values)  # None: <c/>


def _cells(row: str, shared: list[str], dates: frozenset[int], epoch: date) -> list[str]:
    if not row or _TEXT_CELL.match(row):
        texts = _only(_TEXT_CELL, row)
        if texts is not None:
            if "&" in row:
                return [html.unescape(t) if "&" in t else t for t in texts]
            return texts
    elif _SHARED_CELL.match(row):  # a row of text typed in Excel: no cell read on its own
        indexes = _only(_SHARED_CELL, row)
        if indexes is not None:
            return [shared[int(i)] for i in indexes]
    cells: list[str] = []
    if _PLAIN_ROW.fullmatch(row):
        for letters, style, kind, raw, text in _PLAIN_CELL.findall(row):
            _pad(cells, letters)
            if kind == "inlineStr":
                cells.append(html.unescape(text) if "&" in text else text)
            else:
                cells.append(_typed(kind, raw, style, shared, dates, epoch))
        return cells
    for letters, kind, attr_text, inner in _CELL.findall(row):
        if letters:
            _pad(cells, letters)
        if kind == "inlineStr":
            value = "".join(_TEXT.findall(_PHONETIC.sub("", inner) if "rPh" in inner else inner))
            cells.append(html.unescape(value) if "&" in value else value)
        else:
            v = _VALUE.search(inner)
            style = (_attr(attr_text, "s") or "") if kind in ("", "n") else ""
            cells.append(_typed(kind, v.group(1) if v else "", style, shared, dates, epoch))
    return cells


def _typed(kind: str, raw: str, style: str, shared: list[str], dates: frozenset[int], epoch: date) -> str:
    """A cell's text from its type, its ``<v>`` and its style index."""
    if kind == "s":
        return shared[int(raw)] if raw else ""
    if kind == "b":
        return "true" if raw == "1" else "false" if raw else ""
    if kind in ("", "n") and raw:
        return _number(raw, int(style or 0), dates, epoch)
    return html.unescape(raw) if "&" in raw else raw


def _pad(cells: list[str], letters: str) -> None:
    """Empty cells up to the column ``letters`` names (cells left out of the file are empty)."""
    at = _COLUMNS.get(letters)
    if at is None:
        at = _COLUMNS[letters] = _column(letters)
    if at > len(cells):
        cells.extend([""] * (at - len(cells)))


def _row_count(book: zipfile.ZipFile, member: str) -> int:
    """The sheet's declared size (``<dimension ref="A1:M100001"/>``), less the header; 0 if unknown."""
    with book.open(member) as f:
        head = f.read(4096).decode("utf-8", "replace")
    m = re.search(r'<dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"', head)
    return max(int(m.group(1)) - 1, 0) if m else 0


def _read_csv(path: Path) -> tuple[list[str], Iterator[list[str]], int]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise SheetError(f"{path}: neither UTF-8 nor GB18030 text")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise SheetError(f"{path}: the file is empty (the first row must hold the headers)")
    return header, (list(r) for r in reader), max(text.count("\n") - 1, 0)


def write_sheet(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    title: str = "people",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write a sheet (format from the file name); returns how many rows were written."""
    count = 0
    if format_of(path) == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            out = csv.writer(f)
            out.writerow(header)
            for row in rows:
                out.writerow(row)
                count += 1
                if progress is not None and count % 1000 == 0:
                    progress(count)
    else:
        import openpyxl  # only when writing .xlsx: importing it costs about a second

        book = openpyxl.Workbook(write_only=True)
        ws = book.create_sheet(title)
        ws.append(list(header))
        for row in rows:
            ws.append(list(row))
            count += 1
            if progress is not None and count % 1000 == 0:
                progress(count)
        book.save(path)
    if progress is not None:
        progress(count)
    return count
