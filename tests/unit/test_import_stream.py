"""A first import read, checked and written a chunk at a time (core/sheets/stream.py), both backends.

Chunks of 200 stand for chunks of 10,000; each file is also imported the usual way (one chunk)
into another company with the same name and attributes, and the two stores must hold the same:
people, managers, department ids and order numbers, and change records in the same order.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from tests.unit.test_import_core import (
    HEADERS,
    change_seq,
    company,
    copy_company,
    people,
    people_rows,
    writer_threads,
)

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import bulk, users
from openroster.core.sheets import ahead, stream
from openroster.core.sheets import imports as sheet_imports
from openroster.core.sheets.plan import ImportPlan, Row
from openroster.model.changes import EntityKind, Operation
from openroster.model.entities import ALL_STATUSES, User
from openroster.store import WriteTx

__all__ = ["company"]  # the fixture, imported for these tests

#: What an import left in a tenant (:func:`_store`).
Stored = tuple[
    dict[str, tuple[str | None, tuple[int, ...], int | None, list[tuple[str, str]]]],
    list[tuple[int, int | None, str, int, list[str]]],
    list[tuple[EntityKind, Operation, str]],
]


def _read_when_submitted(
    monkeypatch: pytest.MonkeyPatch, rows: Sequence[Sequence[str]]
) -> tuple[Iterator[Sequence[str]], list[int]]:
    """The rows as a file read lazily, and how many had been read at each chunk given to the writer."""
    read = [0]
    at: list[int] = []
    submit = ahead.WriteAhead.submit

    def spy(
        self: ahead.WriteAhead,
        chunk_rows: list[Row],
        chunk: bulk.PreparedChunk,
        roster: list[ahead.RosterRow] | None = None,
    ) -> None:
        at.append(read[0])
        submit(self, chunk_rows, chunk, roster)

    monkeypatch.setattr(ahead.WriteAhead, "submit", spy)

    def lazily() -> Iterator[Sequence[str]]:
        for row in rows:
            read[0] += 1
            yield row

    return lazily(), at


def _everyone(d: Directory, tenant_id: str) -> dict[str, User]:
    with d.reader() as r:
        ids = r.tx.users.page_ids(tenant_id, statuses=ALL_STATUSES, after=None, limit=10_000)
        return {u.employee_id or u.id: u for u in r.tx.users.get_users(tenant_id, ids).values()}


def _store(d: Directory, tenant_id: str, seq: int) -> Stored:
    """What the import left in a tenant: each person's manager, departments (by employee id and
    department id) and roster values, the departments, the change records (people by employee id) in order."""
    found = _everyone(d, tenant_id)
    employee = {u.id: e for e, u in found.items()}
    with d.reader() as r:
        depts = r.tx.depts.list_all(tenant_id)
        records = r.tx.changes.records_after(tenant_id, seq, 10_000)
        roster = r.tx.roster.get_values(tenant_id, list(employee))
    who = {
        e: (
            employee.get(u.leader_id or ""),
            u.dept_ids,
            u.def_dept_id,
            [(v.field_code, v.value) for v in roster.get(u.id, [])],
        )
        for e, u in found.items()
    }
    tree = [(x.id, x.parent_id, x.name, x.order, x.abs_path.split("/")[2:]) for x in depts]
    order = [
        (
            c.record.kind,
            c.record.op,
            employee[c.record.entity_id] if c.record.kind is EntityKind.USER else c.record.entity_id,
        )
        for c in records
    ]
    return who, tree, order


def _as_usual(
    d: Directory,
    monkeypatch: pytest.MonkeyPatch,
    rows: Sequence[Sequence[str]],
    headers: Sequence[str] = HEADERS,
) -> Stored:
    """The file imported the usual way (one chunk) into another company: what it left."""
    monkeypatch.setattr(bulk, "CHUNK", 10_000)
    copy_company(d, "beta")
    seq = change_seq(d)
    report = sheet_imports.import_sheet(d, tenant_id="beta", headers=headers, rows=rows)
    assert report.written and report.problems == []
    return _store(d, "beta", seq)


def _within(seconds: float, run: Callable[[], sheet_imports.ImportReport]) -> sheet_imports.ImportReport:
    """``run()``'s result, failing the test (rather than hanging the suite) if it has not returned
    within ``seconds``: the tests using it guard against a wait for ever."""
    done: list[sheet_imports.ImportReport] = []
    failed: list[BaseException] = []

    def target() -> None:
        try:
            done.append(run())
        except BaseException as e:  # handed to the test's thread
            failed.append(e)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        pytest.fail(f"the import did not return within {seconds:.0f} s")
    if failed:
        raise failed[0]
    return done[0]


def test_the_writer_starts_after_one_chunk_is_read_and_a_later_manager_holds_a_row_back(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first chunk goes to the writer when a chunk and a row of the file have been read, not
    the whole file; a row whose manager comes in a later chunk waits for that chunk; the store holds
    what the usual way writes, change records in the same order."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    threads = writer_threads(monkeypatch)
    rows = people_rows(1000)
    rows[4][6] = "E00950"  # row 6 (chunk 1) reports to the person of row 951 (chunk 5)
    rows[949][6] = "u990@example.com"  # who reports, by email, to row 991
    rows[10][6], rows[11][6] = "E00012", ""  # row 12 reports to row 13, who leads row 12's group
    lazily, at = _read_when_submitted(monkeypatch, rows)
    seq = change_seq(directory)
    report = sheet_imports.import_sheet(directory, tenant_id="acme", headers=HEADERS, rows=lazily)
    assert report.written and report.problems == [] and report.created == 1000 and report.rows == 1000
    assert at[0] == 201 and at[-1] == 1000 and len(at) == 5 and threads == ["import-writer"] * 5
    acme = _store(directory, "acme", seq)
    found = people(directory)
    assert found["E00005"].leader_id == found["E00950"].id
    assert found["E00950"].leader_id == found["E00990"].id
    assert found["E00011"].leader_id == found["E00012"].id and found["E00012"].leader_id is None
    users = [key for kind, _, key in acme[2] if kind is EntityKind.USER]
    assert users.index("E00990") < users.index("E00950") < users.index("E00005")
    assert acme == _as_usual(directory, monkeypatch, rows)


@pytest.mark.parametrize(("column", "header"), [(1, "工号"), (2, "邮箱"), (-1, "用户ID")])
def test_a_key_repeated_in_a_late_chunk_undoes_the_writes_ahead_and_names_the_row(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch, column: int, header: str
) -> None:
    """An employee id, email or user id also in row 951 is found after four chunks were written
    ahead: nothing is written, and the later row is named, as the usual way names it."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    threads = writer_threads(monkeypatch)
    headers = HEADERS if column >= 0 else [*HEADERS, header]
    rows = people_rows(1000) if column >= 0 else [[*r, f"id-{i}"] for i, r in enumerate(people_rows(1000))]
    rows[949][column] = rows[49][column]
    lazily, at = _read_when_submitted(monkeypatch, rows)
    seq = change_seq(directory)
    report = sheet_imports.import_sheet(directory, tenant_id="acme", headers=headers, rows=lazily)
    assert not report.written and change_seq(directory) == seq and people(directory) == {}
    assert at[:4] == [201, 400, 600, 800] and threads[:4] == ["import-writer"] * 4
    problems = [(p.row, p.column) for p in report.problems]
    assert problems[0] == (951, header) and "is also in row 51" in report.problems[0].reason
    assert report.rows == 1000


def test_a_department_first_named_in_a_late_chunk_gets_the_usual_ids_and_order(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Departments first named in later chunks (one below an earlier one, a new branch with two)
    are created before the chunk naming them is checked, with the ids, order
    numbers and change records (before the people's) the usual way gives them."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    threads = writer_threads(monkeypatch)
    rows = people_rows(1000)
    rows[450][5] = "总部/部门1/新组"
    rows[700][5] = "总部/华东/销售; 总部/部门2"
    rows[999][5] = "总部/华东/市场"
    seq = change_seq(directory)
    report = sheet_imports.import_sheet(directory, tenant_id="acme", headers=HEADERS, rows=rows)
    assert report.written and report.problems == [] and report.departments_created == 4 + 4
    assert threads == ["import-writer"] * 5
    acme = _store(directory, "acme", seq)
    kinds = [kind for kind, _, _ in acme[2]]
    assert kinds == [EntityKind.DEPARTMENT] * 8 + [EntityKind.USER] * 1000
    tree = {tuple(path): (order, parent) for _, parent, _, order, path in acme[1]}
    assert tree[("总部", "华东", "市场")][0] == tree[("总部", "华东", "销售")][0] + 1
    assert acme == _as_usual(directory, monkeypatch, rows)


def test_a_manager_in_other_letter_case_late_in_the_file_goes_the_usual_way(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manager whose letter case the rows after it decide stops reading as it writes: the chunks
    written ahead are undone and the file is imported the usual way, with the usual way's people,
    departments and change records."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    threads = writer_threads(monkeypatch)
    rows = people_rows(1000)
    rows[905][6] = "U901@EXAMPLE.COM"
    lazily, at = _read_when_submitted(monkeypatch, rows)
    seq = change_seq(directory)
    report = sheet_imports.import_sheet(directory, tenant_id="acme", headers=HEADERS, rows=lazily)
    assert report.written and report.problems == [] and report.created == 1000
    # Four chunks written ahead and undone, then the five of the usual way, which writes ahead too.
    assert at[0] == 201 and len(at) == 9 and threads == ["import-writer"] * 9
    found = people(directory)
    assert found["E00906"].leader_id == found["E00901"].id
    assert _store(directory, "acme", seq) == _as_usual(directory, monkeypatch, rows)


def _cycle_in_the_first_rows() -> tuple[list[list[str]], list[int]]:
    """Row 2 reports to row 3, who reports to row 2 (as rows 4-11 do); the rows of the cycle."""
    rows = people_rows(1000)
    rows[0][6] = "E00002"
    return rows, [2, 3]


def _cycle_at_the_end() -> tuple[list[list[str]], list[int]]:
    """Rows 2-7 report to row 8, who reports to row 9, who reports to row 8 (chunks of 5)."""
    rows = people_rows(8)
    for k, row in enumerate(rows):
        row[6] = "E00007" if k < 6 else ("E00008" if k == 6 else "E00007")
    return rows, [8, 9]


@pytest.mark.parametrize("first", [True, False], ids=["a first import", "into a tenant with people"])
@pytest.mark.parametrize("chunk", [200, 5])
def test_a_cycle_of_managers_is_refused_with_its_rows_named(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch, first: bool, chunk: int
) -> None:
    """Rows whose managers form a cycle are named in the manager column, with the rows of the
    cycle; the rows below them name the row they report to; nothing is written (as the APIs
    refuse a reporting line that loops). With ``partial`` the other rows are written."""
    monkeypatch.setattr(bulk, "CHUNK", chunk)
    if not first:
        users.create(
            directory, tenant_id="acme", item=users.NewUser(user_name="在职", employee_id="E0", dept_ids=(1,))
        )
    rows, cycle = _cycle_in_the_first_rows() if chunk == 200 else _cycle_at_the_end()
    seq = change_seq(directory)
    report = sheet_imports.import_sheet(directory, tenant_id="acme", headers=HEADERS, rows=iter(rows))
    assert not report.written and change_seq(directory) == seq and len(people(directory)) == (not first)
    a, b = cycle
    named = {(p.row, p.column): p.reason for p in report.problems}
    assert named.pop((a, "直属主管")) == (
        f"'E{b - 1:05}' reports (directly or not) to this row (rows {a} → {b} → {a}, each reporting "
        "to the next); a reporting line cannot loop"
    )
    assert named.pop((b, "直属主管")).startswith(
        f"'E{a - 1:05}' reports (directly or not) to this row (rows {b} → {a} → {b}"
    )
    below = [r for r in range(2, len(rows) + 2) if rows[r - 2][6] == f"E{a - 1:05}" and r != b]
    assert named == {(r, "直属主管"): f"names row {a}, which cannot be imported" for r in below}
    assert report.invalid == 2 + len(below) and report.created == len(rows) - report.invalid
    report = sheet_imports.import_sheet(
        directory, tenant_id="acme", headers=HEADERS, rows=iter(rows), partial=True
    )
    assert report.written and report.invalid == 2 + len(below)
    assert len(people(directory)) == len(rows) - report.invalid + (not first)


def _late_department() -> list[list[str]]:
    """1,000 people, row 702 naming a department no row before it names (chunks of 200)."""
    rows = people_rows(1000)
    rows[700][5] = "总部/华东/销售"
    return rows


def test_a_failed_write_ahead_before_a_late_department_goes_the_usual_way(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's second chunk fails in the store (on PostgreSQL the transaction then refuses
    every statement until the savepoint is undone): no department is made after it, the writes
    ahead are undone and the usual way imports the file, with the usual way's result."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    write = bulk.write
    writes = [0]

    def failing(tx: WriteTx, chunk: bulk.PreparedChunk, *, tenant_id: str, **kw: Any) -> None:
        if threading.current_thread().name == "import-writer":
            writes[0] += 1
            if writes[0] == 2:
                tx.conn.exec_driver_sql("SELECT no_such_column FROM users")
        write(tx, chunk, tenant_id=tenant_id, **kw)

    monkeypatch.setattr(bulk, "write", failing)
    rows = _late_department()
    seq = change_seq(directory)
    report = sheet_imports.import_sheet(directory, tenant_id="acme", headers=HEADERS, rows=iter(rows))
    assert report.written and report.problems == [] and report.created == 1000
    assert writes[0] > 5  # (the usual way wrote ahead too)
    assert _store(directory, "acme", seq) == _as_usual(directory, monkeypatch, rows)


def test_a_progress_callback_failing_in_the_writer_goes_the_usual_way(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The progress shown fails in the writer thread on its first chunk: the import does not wait
    for it for ever when it makes a later department, and the usual way imports the file."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    failed: list[str] = []

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "creating" and threading.current_thread().name == "import-writer" and not failed:
            failed.append(phase)
            raise RuntimeError("the progress bar is gone")

    rows = _late_department()
    seq = change_seq(directory)
    report = _within(
        120,
        lambda: sheet_imports.import_sheet(
            directory, tenant_id="acme", headers=HEADERS, rows=iter(rows), progress=progress
        ),
    )
    assert failed and report.written and report.problems == [] and report.created == 1000
    assert _store(directory, "acme", seq) == _as_usual(directory, monkeypatch, rows)


class _Watch:
    """Who runs statements on the import's connection, and how many chunks the writer then had
    submitted and not written yet. The writer's third chunk waits until the reading either waits
    for the writer (``Queue.join``) or has made the department first named after it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending = 0
        self.submitted = 0
        self.written = 0
        self.statements: list[tuple[str, int]] = []  # (thread, chunks pending)
        self.go_on = threading.Event()

    def saw(self) -> None:
        self.statements.append((threading.current_thread().name, self.pending))

    def count(self, submitted: int, written: int) -> None:
        with self.lock:
            self.submitted += submitted
            self.written += written
            self.pending += submitted - written

    def release(self) -> None:
        if self.submitted >= 3:
            self.go_on.set()


class _SpyLock:
    """A psycopg connection's lock, taken for each statement: the thread taking it is seen."""

    def __init__(self, lock: Any, watch: _Watch) -> None:
        self.lock, self.watch = lock, watch

    def __enter__(self) -> bool:
        self.watch.saw()
        return bool(self.lock.__enter__())

    def __exit__(self, *exc: object) -> None:
        self.lock.__exit__(*exc)


def test_the_reading_runs_no_statement_while_the_writer_has_a_chunk(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The department first named in a late chunk is made when the writer has written every chunk
    given to it: no statement of the main thread's runs on the connection while one waits."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    watch = _Watch()
    write, submit, join = bulk.write, ahead.WriteAhead.submit, queue.Queue.join
    add_paths, import_rows = bulk.add_department_paths, stream.import_rows

    def writing(tx: WriteTx, chunk: bulk.PreparedChunk, *, tenant_id: str, **kw: Any) -> None:
        if threading.current_thread().name == "import-writer":
            if watch.written == 2:  # its third chunk: written once the reading is past it
                watch.go_on.wait()
            write(tx, chunk, tenant_id=tenant_id, **kw)
            watch.count(0, 1)
        else:
            write(tx, chunk, tenant_id=tenant_id, **kw)

    def submitting(
        self: ahead.WriteAhead, rows: list[Row], chunk: bulk.PreparedChunk, roster: Any = None
    ) -> None:
        watch.count(1, 0)
        submit(self, rows, chunk, roster)

    def joining(self: queue.Queue[Any]) -> None:
        watch.release()
        join(self)

    def adding(*args: Any, **kw: Any) -> Any:
        made = add_paths(*args, **kw)
        watch.release()
        return made

    def watched(plan: ImportPlan, rest: Iterator[Row]) -> list[Row] | None:
        driver: Any = plan.tx.conn.connection.driver_connection
        if isinstance(driver, sqlite3.Connection):
            driver.set_trace_callback(lambda _: watch.saw())
            try:
                return import_rows(plan, rest)
            finally:
                driver.set_trace_callback(None)
        lock = driver.lock
        driver.lock = _SpyLock(lock, watch)
        try:
            return import_rows(plan, rest)
        finally:
            driver.lock = lock

    for module, name, spy in [
        (bulk, "write", writing),
        (ahead.WriteAhead, "submit", submitting),
        (queue.Queue, "join", joining),
        (bulk, "add_department_paths", adding),
        (stream, "import_rows", watched),
    ]:
        monkeypatch.setattr(module, name, spy)
    rows = _late_department()
    report = _within(
        120,
        lambda: sheet_imports.import_sheet(directory, tenant_id="acme", headers=HEADERS, rows=iter(rows)),
    )
    assert report.written and report.created == 1000 and watch.submitted == 5
    reading = [pending for thread, pending in watch.statements if thread != "import-writer"]
    assert len(reading) > 10 and [p for p in reading if p] == []


@pytest.mark.parametrize(
    ("value_type", "cell"), [("relation_user", "E00001"), ("relation_depts", "总部/新部门")]
)
def test_a_relation_attribute_column_goes_the_usual_way(
    directory: Directory, company: str, monkeypatch: pytest.MonkeyPatch, value_type: str, cell: str
) -> None:
    """A relation attribute may name anyone or any department in the file: the whole file is read
    before the first chunk is written, and the store holds what the usual way writes."""
    monkeypatch.setattr(bulk, "CHUNK", 200)
    attributes.create_definitions(
        directory, tenant_id="acme", items=[attributes.NewDefinition(name="导师", value_type=value_type)]
    )
    headers = [*HEADERS, "导师"]
    rows = [[*row, cell if k % 100 == 5 else ""] for k, row in enumerate(people_rows(1000))]
    lazily, at = _read_when_submitted(monkeypatch, rows)
    seq = change_seq(directory)
    report = sheet_imports.import_sheet(directory, tenant_id="acme", headers=headers, rows=lazily)
    assert report.written and report.problems == [] and report.created == 1000
    assert at == [1000] * 5
    assert _store(directory, "acme", seq) == _as_usual(directory, monkeypatch, rows, headers)
