"""Spreadsheet import and export: people, their departments, custom attributes and roster fields.

A sheet is a header row and one row per person. A header names a profile
column in Chinese or English (``姓名`` / ``Name``, ``工号`` / ``Employee ID``, see
:data:`PROFILE_COLUMNS`), a custom attribute by its name (or ``attr:<id>``), or
a roster field by its name or code (``证件号码`` / ``sys02-certNo``); a mapping
can rename or ignore headers. The rules:

- A row is a person, found again by user id, employee id or email (in that
  order): a match is updated, anything else is created. Every row needs an
  employee id or an email, so that importing the same file again changes
  nothing.
- A column that is present is the truth for its field: an empty cell clears it
  (gender ``undefined``, role ``normal``, status ``active``; no departments
  means the root department). Columns that are absent are left alone.
- Departments are paths below the company (``总部/研发中心/平台组``; several
  separated by ``;``); missing departments are created. A path may start with
  the company's own name; the company itself is written as its name.
- The manager column and relation_user attributes name a person by employee
  id, email or user id, in the file or already in the directory.
- Roster fields hold the first row of their group (detail groups such as
  education have more rows through the DingTalk API).
- Every row goes through the core's own rules before anything is written; the
  report names row, column and reason for each problem. Nothing is written
  unless the whole file is valid, or with ``partial`` only the valid rows;
  ``dry_run`` checks and writes nothing.

Everything is written in one transaction through the core services (new people
through :mod:`openroster.core.people.bulk`), so an import is safe while the server
runs: every server process sees the result as soon as it commits, and a failed
import leaves nothing behind. :func:`export_sheet` writes the same columns, so
export and import round-trip.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from openroster.core import mapping
from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import batch_writes, bulk, users
from openroster.core.people import depts as dept_service
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import writes as roster_writes
from openroster.core.runtime import limits
from openroster.model.entities import (
    ROOT_DEPT_ID,
    AttributeDefinition,
    AttributeUpdate,
    AttributeValueData,
    Department,
    Gender,
    Role,
    UrlValue,
    User,
    UserAttributeUpdate,
    UserStatus,
    ValueType,
)
from openroster.model.errors import CoreError, InvalidValue, NotFound
from openroster.store import attrs as attr_rows
from openroster.store import bulk as bulk_rows
from openroster.store import depts as dept_rows
from openroster.store import roster as roster_rows
from openroster.store import schema
from openroster.store import tenants as tenant_rows
from openroster.store import users as user_rows
from openroster.store.base import WriteTx

#: Users read or looked up per query.
_BATCH = 500
_ROSTER_COLUMNS = ("tenant_id", "user_id", "group_id", "row_index", "field_code", "value")


# -- columns ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A profile column: its key, its Chinese and English headers, and other spellings accepted."""

    key: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()


PROFILE_COLUMNS: tuple[Column, ...] = (
    Column("id", "用户ID", "User ID", ("id", "user_id", "userid")),
    Column("user_name", "姓名", "Name", ("user_name", "名字", "username")),
    Column("employee_id", "工号", "Employee ID", ("employee_id", "job_number", "员工编号", "员工工号")),
    Column("email", "邮箱", "Email", ("电子邮箱", "邮件", "e-mail", "mail")),
    Column("phone", "手机号", "Mobile", ("phone", "手机", "mobile phone", "手机号码", "电话")),
    Column("gender", "性别", "Gender", ("sex",)),
    Column("departments", "部门", "Departments", ("department", "dept", "depts", "所属部门")),
    Column("main_department", "主部门", "Main department", ("def_dept", "main_dept")),
    Column("title", "职位", "Title", ("position", "职务", "岗位", "job title")),
    Column("telephone", "分机号", "Extension", ("telephone", "tel", "分机", "座机")),
    Column("work_place", "办公地点", "Work place", ("workplace", "office", "工作地点")),
    Column("leader", "直属主管", "Manager", ("leader", "leader_id", "主管", "上级", "直属上级", "汇报对象")),
    Column("employment_type", "员工类型", "Employment type", ("employee type", "用工类型")),
    Column("employment_status", "员工状态", "Employment status", ("employee status",)),
    Column("status", "账号状态", "Account status", ("status", "状态")),
    Column("employer", "雇主", "Employer", ("所属公司",)),
    Column("city", "城市", "City", ()),
    Column("country", "国家", "Country", ("国家/地区", "country/region")),
    Column("login_name", "登录名", "Login name", ("login", "账号")),
    Column("ex_user_id", "外部ID", "External ID", ("ex_user_id", "外部用户ID")),
    Column("role", "角色", "Role", ()),
    Column("avatar", "头像", "Avatar", ("avatar url",)),
)
#: Profile fields that are plain text (checked by the core's own rules).
TEXT_KEYS: tuple[str, ...] = (
    "user_name",
    "employee_id",
    "email",
    "phone",
    "title",
    "telephone",
    "work_place",
    "employer",
    "city",
    "country",
    "login_name",
    "ex_user_id",
    "avatar",
)


class Language(StrEnum):
    """The headers (and enumeration values) an export writes."""

    ZH = "zh"
    EN = "en"


def _norm(header: str) -> str:
    return re.sub(r"[\s_\-*：:（）()　]", "", header).lower()


@dataclass(frozen=True, slots=True)
class _Enum:
    """An enumerated profile column: the core's values and the Chinese labels accepted for them."""

    allowed: tuple[str, ...]
    labels: Mapping[str, str | None]
    written: Mapping[str, str]
    empty: str | None

    def parse(self, raw: str) -> str | None:
        """The core value of a cell (``empty`` for an empty cell); raises ``KeyError`` if unknown."""
        if not raw:
            return self.empty
        if raw in self.labels:
            return self.labels[raw] or self.empty
        if raw.lower() in self.allowed:
            return raw.lower()
        raise KeyError(raw)

    def describe(self) -> str:
        return "、".join(k for k, v in self.labels.items() if v is not None) + f" ({', '.join(self.allowed)})"


ENUMS: Mapping[str, _Enum] = {
    "gender": _Enum(
        tuple(g.value for g in Gender),
        {
            **{c.label: c.core for c in mapping.GENDER},
            "保密": Gender.SECRECY.value,
            "未知": Gender.UNDEFINED.value,
        },
        {Gender.MALE.value: "男", Gender.FEMALE.value: "女", Gender.SECRECY.value: "保密"},
        Gender.UNDEFINED.value,
    ),
    "status": _Enum(
        tuple(s.value for s in UserStatus),
        {
            "正常": UserStatus.ACTIVE.value,
            "在职": UserStatus.ACTIVE.value,
            "未激活": UserStatus.NOTACTIVE.value,
            "待入职": UserStatus.NOTACTIVE.value,
            "禁用": UserStatus.DISABLED.value,
            "离职": UserStatus.DIMISSION.value,
        },
        {
            UserStatus.ACTIVE.value: "正常",
            UserStatus.NOTACTIVE.value: "未激活",
            UserStatus.DISABLED.value: "禁用",
            UserStatus.DIMISSION.value: "离职",
        },
        UserStatus.ACTIVE.value,
    ),
    "role": _Enum(
        tuple(r.value for r in Role),
        {"普通成员": Role.NORMAL.value, "管理员": Role.ADMIN.value, "超级管理员": Role.SUPER_ADMIN.value},
        {Role.NORMAL.value: "普通成员", Role.ADMIN.value: "管理员", Role.SUPER_ADMIN.value: "超级管理员"},
        Role.NORMAL.value,
    ),
    "employment_type": _Enum(
        users.EMPLOYMENT_TYPES,
        {c.label: c.core for c in mapping.EMPLOYMENT_TYPE},
        {c.core: c.label for c in mapping.EMPLOYMENT_TYPE if c.core is not None},
        None,
    ),
    "employment_status": _Enum(
        users.EMPLOYMENT_STATUSES,
        {**{c.label: c.core for c in mapping.EMPLOYMENT_STATUS}, "试用期": "probationary"},
        {c.core: c.label for c in mapping.EMPLOYMENT_STATUS if c.core is not None},
        None,
    ),
}
_PATH_SEPARATORS = re.compile(r"[;；\n]")


@dataclass(frozen=True, slots=True)
class Target:
    """What a sheet column holds: ``kind`` is ``profile``, ``attr`` or ``roster``; ``key`` names it."""

    kind: str
    key: str


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with the file: ``row`` is the sheet row (the header is row 1)."""

    row: int
    column: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Rows left out because of a problem (with ``partial``), or that would have been.
    invalid: int = 0
    departments_created: int = 0
    problems: list[Problem] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False


#: Progress callback: ``(phase, done, total)``; phases are ``checking``, ``creating`` and ``updating``.
Progress = Callable[[str, int, int], None]


def roster_columns(defs: Sequence[AttributeDefinition]) -> dict[str, roster_catalogue.RosterField]:
    """The roster fields a sheet carries: those kept by the roster itself and writable through it.

    Profile fields have their own columns, and custom fields are the attribute columns.
    """
    cat = roster_catalogue.catalogue_for(defs)
    return {
        code: f
        for code, f in cat.fields.items()
        if f.source is roster_catalogue.Source.STORED and not f.read_only and not f.derived
    }


def resolve_headers(
    headers: Sequence[str],
    *,
    definitions: Sequence[AttributeDefinition],
    roster_fields: Mapping[str, roster_catalogue.RosterField],
    columns: Mapping[str, str | None] | None = None,
) -> tuple[list[Target | None], list[Problem]]:
    """What each header holds (``None``: ignored) and the problems with the header row.

    ``columns`` maps a header of the file to a profile key (``employee_id``),
    ``attr:<id>``, ``roster:<code>``, any header spelling, or ``None`` to ignore it.
    """
    spelled: dict[str, Target] = {}
    for f in roster_fields.values():
        spelled[_norm(f.code)] = Target("roster", f.code)
        spelled.setdefault(_norm(f.name), Target("roster", f.code))
    for a in definitions:
        spelled[_norm(a.name)] = Target("attr", a.id)
        spelled[_norm(f"attr:{a.id}")] = Target("attr", a.id)
    for f in roster_fields.values():
        spelled[_norm(f"roster:{f.code}")] = Target("roster", f.code)
    for c in PROFILE_COLUMNS:
        for spelling in (c.key, c.zh, c.en, *c.aliases):
            spelled[_norm(spelling)] = Target("profile", c.key)
    explicit = {_norm(k): v for k, v in (columns or {}).items()}
    targets: list[Target | None] = []
    problems: list[Problem] = []
    first: dict[Target, str] = {}
    for header in headers:
        key = _norm(header)
        target: Target | None = None
        if key in explicit:
            wanted = explicit[key]
            if wanted is not None:
                target = spelled.get(_norm(wanted))
                if target is None:
                    problems.append(Problem(1, header, f"the mapping names {wanted!r}, which is no column"))
        elif header:
            target = spelled.get(key)
            if target is None:
                problems.append(
                    Problem(1, header, "unknown column: no profile field, attribute or roster field")
                )
        if target is not None:
            if target in first:
                problems.append(Problem(1, header, f"holds the same field as column {first[target]!r}"))
            first.setdefault(target, header)
        targets.append(target)
    if not problems and Target("profile", "user_name") not in first:
        problems.append(Problem(1, "", "a name column (姓名 / Name) is required"))
    if not problems and not {Target("profile", "employee_id"), Target("profile", "email")} & set(first):
        problems.append(Problem(1, "", "an employee id (工号) or email (邮箱) column is required"))
    return targets, problems


# -- import -----------------------------------------------------------------------------


class _Rollback(Exception):
    """Raised inside the write transaction to leave nothing behind."""


@dataclass(eq=False)
class _Row:
    number: int
    profile: dict[str, str]
    attrs: dict[str, str]
    roster: dict[str, str]
    user_id: str = ""
    existing: User | None = None
    problem: Problem | None = None
    changed: bool = False
    leader_id: str | None = None
    values: dict[str, str | None] = field(default_factory=dict)
    paths: list[tuple[str, ...]] = field(default_factory=list)
    main_path: tuple[str, ...] | None = None
    attr_updates: list[AttributeUpdate] = field(default_factory=list)
    attr_headers: list[str] = field(default_factory=list)
    roster_codes: list[list[str]] = field(default_factory=list)


def import_sheet(
    d: Directory,
    *,
    tenant_id: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    columns: Mapping[str, str | None] | None = None,
    dry_run: bool = False,
    partial: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one sheet into ``tenant_id`` (see the module doc). Cells are text; the header is row 1."""
    report = ImportReport(dry_run=dry_run)
    with d.reader() as r:
        if tenant_rows.get_tenant(r.conn, tenant_id) is None:
            raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant")
        defs = list(r.definitions(tenant_id))
    fields = roster_columns(defs)
    names = [h.strip() for h in headers]
    targets, report.problems = resolve_headers(names, definitions=defs, roster_fields=fields, columns=columns)
    if report.problems:
        return report
    parsed = list(_parse_rows(rows, targets))
    report.rows = len(parsed)
    plan = _Plan(d, tenant_id, parsed, targets, names, defs, fields, progress)
    try:
        with d.writer() as tx:
            plan.run(tx)
            if (plan.problems and not partial) or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    else:
        report.written = True
    report.problems = sorted(plan.problems, key=lambda p: (p.row, p.column))
    report.invalid = len({p.row for p in plan.problems})
    live = [row for row in parsed if row.problem is None]
    report.created = sum(1 for row in live if row.existing is None)
    report.updated = sum(1 for row in live if row.existing is not None and row.changed)
    report.unchanged = sum(1 for row in live if row.existing is not None and not row.changed)
    report.departments_created = plan.departments_created
    return report


def _parse_rows(rows: Iterable[Sequence[str]], targets: Sequence[Target | None]) -> Iterator[_Row]:
    kinds = ("profile", "attr", "roster")
    plan = [(j, kinds.index(t.kind), t.key) for j, t in enumerate(targets) if t is not None]
    width = len(targets)
    for i, given in enumerate(rows):
        cells = given if len(given) >= width else [*given, *([""] * (width - len(given)))]
        if not "".join(c or "" for c in cells[:width]).strip():
            continue
        row = _Row(i + 2, {}, {}, {})
        buckets = (row.profile, row.attrs, row.roster)
        for j, kind, key in plan:
            cell = cells[j]
            buckets[kind][key] = cell.strip() if cell else ""
        yield row


@dataclass
class _Changes:
    """What an import changes about one existing person."""

    depts: batch_writes.DeptAssignment | None = None
    profile: dict[str, object] = field(default_factory=dict)
    status: UserStatus | None = None
    attrs: list[AttributeUpdate] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.depts or self.profile or self.status or self.attrs)


class _Plan:
    """One import, step by step, inside one write transaction."""

    def __init__(
        self,
        d: Directory,
        tenant_id: str,
        rows: list[_Row],
        targets: Sequence[Target | None],
        names: Sequence[str],
        defs: Sequence[AttributeDefinition],
        roster_fields: Mapping[str, roster_catalogue.RosterField],
        progress: Progress | None,
    ) -> None:
        self.d = d
        self.tenant_id = tenant_id
        self.rows = rows
        self.headers = {(t.kind, t.key): n for t, n in zip(targets, names, strict=True) if t is not None}
        self.has = {key for kind, key in self.headers if kind == "profile"}
        self.paths: dict[str, tuple[str, ...] | CoreError] = {}
        self.defs = {a.id: a for a in defs}
        self.roster_fields = roster_fields
        self.progress = progress
        self.problems: list[Problem] = []
        self.departments_created = 0
        self.people: dict[str, str] = {}
        self.depts: dict[tuple[str, ...], Department] = {}
        self.option_keys: dict[str, dict[str, str]] = {}

    # -- bookkeeping -----------------------------------------------------------------------

    def col(self, key: str, kind: str = "profile") -> str:
        """The file's header of a column ("" when the file has no such column)."""
        return self.headers.get((kind, key), "")

    def fail(self, row: _Row, column: str, reason: str) -> None:
        """Record a problem of the row, which is then left out (one problem per column)."""
        problem = Problem(row.number, column, reason)
        if row.problem is None:
            row.problem = problem
        elif any(p.row == row.number and p.column == column for p in self.problems[-8:]):
            return
        self.problems.append(problem)

    def fail_core(self, row: _Row, exc: CoreError) -> None:
        where = re.sub(r"^(users|items)\[\d+\]\.", "", exc.field or "")
        m = re.search(r"custom_attrs\[(\d+)\]", where)
        if m and int(m.group(1)) < len(row.attr_headers):
            column = row.attr_headers[int(m.group(1))]
        else:
            base = re.split(r"[.\[]", where, maxsplit=1)[0]
            key = {"dept_ids": "departments", "def_dept_id": "main_department", "leader_id": "leader"}
            column = self.col(key.get(base, base))
        self.fail(row, column, _reason(exc))

    def live(self) -> list[_Row]:
        return [r for r in self.rows if r.problem is None]

    def tick(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)

    # -- the steps -------------------------------------------------------------------------

    def run(self, tx: WriteTx) -> None:
        self.tx = tx
        self.conn = tx.conn
        self.root = dept_rows.get_depts(tx.conn, self.tenant_id, [ROOT_DEPT_ID])[ROOT_DEPT_ID]
        self.now = self.d.clock.now_int()
        for row in self.rows:
            self._read_cells(row)
        self._match_people()
        self._resolve_references()
        self._make_departments()
        for row in self.rows:
            self._read_attributes(row)
        self._check_new([r for r in self.live() if r.existing is None])
        self._drop_rows_naming_invalid_rows()
        self._create()
        self._update([r for r in self.live() if r.existing is not None])
        self._write_roster([r for r in self.live() if r.roster and r.existing is not None])

    def _read_cells(self, row: _Row) -> None:
        p = row.profile
        for key in TEXT_KEYS:
            if key in p:
                row.values[key] = p[key] or None
        if row.values.get("email"):
            row.values["email"] = str(row.values["email"]).lower()
        for key, enum in ENUMS.items():
            if key in p:
                try:
                    row.values[key] = enum.parse(p[key])
                except KeyError:
                    self.fail(row, self.col(key), f"{p[key]!r} is not one of {enum.describe()}")
        for raw in split_paths(p.get("departments", "")):
            path = self._path(row, raw, self.col("departments"))
            if path is not None and path not in row.paths:
                row.paths.append(path)
        if p.get("main_department"):
            row.main_path = self._path(row, p["main_department"], self.col("main_department"))
            if row.main_path is not None and row.main_path not in (row.paths or [()]):
                self.fail(row, self.col("main_department"), "is not one of the person's departments")
        row.user_id = p.get("id", "")
        if not (p.get("employee_id") or p.get("email") or row.user_id):
            column = self.col("employee_id") or self.col("email")
            self.fail(row, column, "an employee id or an email is needed to find this person again")

    def _path(self, row: _Row, raw: str, column: str) -> tuple[str, ...] | None:
        """A department path of a cell (names checked by the department rules), or None after a problem."""
        path = self.paths.get(raw)
        if path is None:
            path = self.paths[raw] = self._parse_path(raw, column)
        if isinstance(path, CoreError):
            self.fail(row, column, _reason(path))
            return None
        return path

    def _parse_path(self, raw: str, column: str) -> tuple[str, ...] | CoreError:
        names = [n.strip() for n in raw.strip("/ ").split("/") if n.strip()]
        if names and names[0] == self.root.name:
            names = names[1:]
        try:
            path = tuple(dept_service.clean_name(n, field=column) for n in names)
        except CoreError as exc:
            return exc
        if len(path) + 1 > limits.DEPT_DEPTH_MAX:
            return InvalidValue(f"{raw}: the tree is at most {limits.DEPT_DEPTH_MAX} levels deep")
        return path

    def _match_people(self) -> None:
        """Find each row's person (user id, then employee id, then email); give new people an id."""
        keys = ("id", "employee_id", "email")
        first: dict[tuple[str, str], _Row] = {}
        for row in self.rows:
            for key in keys:
                value = row.user_id if key == "id" else row.values.get(key)
                if value:
                    seen = first.setdefault((key, value), row)
                    if seen is not row:
                        self.fail(row, self.col(key), f"{value!r} is also in row {seen.number}")
        holders = {
            key: _taken(self.conn, self.tenant_id, key, [v for k, v in first if k == key]) for key in keys
        }
        matched: dict[str, _Row] = {}
        for row in self.live():
            found: dict[str, str] = {}
            for key in keys:
                value = row.user_id if key == "id" else row.values.get(key)
                holder = holders[key].get(value or "")
                if holder is not None:
                    found.setdefault(holder, key)
            if len(found) > 1:
                who = ", ".join(f"{self.col(k)} {uid!r}" for uid, k in found.items())
                self.fail(row, "", f"the row names two different people ({who})")
            elif found:
                row.user_id = next(iter(found))
                matched[row.user_id] = row
            elif not row.user_id:
                row.user_id = users.new_user_id()
        for uid, user in _users(self.conn, self.tenant_id, list(matched)).items():
            matched[uid].existing = user
        for row in self.rows:  # invalid rows too: other rows may name them
            row.user_id = row.user_id or users.new_user_id()
        self.by_id = {r.user_id: r for r in self.rows}

    def _resolve_references(self) -> None:
        """Who the manager column and relation_user attributes name: employee id, email or user id."""
        for row in self.rows:
            for value in (row.values.get("employee_id"), row.values.get("email"), row.user_id):
                if value and row.user_id:
                    self.people.setdefault(value, row.user_id)
        related = [a.id for a in self.defs.values() if a.value_type is ValueType.RELATION_USER]
        refs = {
            v
            for row in self.rows
            for v in [row.profile.get("leader", "")] + [row.attrs.get(a, "") for a in related]
        }
        outside = [r for r in refs if r and self.person(r) is None]
        for key in ("id", "employee_id", "email"):
            wanted = [r.lower() for r in outside] if key == "email" else outside
            for value, holder in _taken(self.conn, self.tenant_id, key, wanted).items():
                self.people.setdefault(value, holder)
        for row in self.rows:
            ref = row.profile.get("leader", "")
            if ref:
                row.leader_id = self.person(ref)
                if row.leader_id is None:
                    self.fail(row, self.col("leader"), f"{ref!r} is nobody in this file or the directory")
            if "leader" in self.has:
                row.values["leader_id"] = row.leader_id
        self.known_users = set(self.people.values())

    def person(self, ref: str) -> str | None:
        return self.people.get(ref) or self.people.get(ref.lower())

    def _make_departments(self) -> None:
        related = [a.id for a in self.defs.values() if a.value_type is ValueType.RELATION_DEPTS]
        wanted: dict[tuple[str, ...], None] = {}
        for row in self.live():
            for a in related:
                for raw in split_paths(row.attrs.get(a, "")):
                    path = self._path(row, raw, self.col(a, "attr"))
                    if path is not None:
                        wanted.setdefault(path)
            if row.problem is None:
                for path in row.paths:
                    wanted.setdefault(path)
        wanted.pop((), None)
        before = len(dept_rows.list_all(self.conn, self.tenant_id))
        self.depts = {(): self.root}
        if wanted:
            self.depts.update(
                bulk.add_department_paths(self.tx, self.d, tenant_id=self.tenant_id, paths=list(wanted))
            )
        self.departments_created = len(dept_rows.list_all(self.conn, self.tenant_id)) - before
        self.known_depts = {x.id for x in self.depts.values()}

    def _dept_ids(self, row: _Row) -> tuple[int, ...]:
        if len(row.paths) <= 1:
            return (self.depts[row.paths[0] if row.paths else ()].id,)
        return tuple(dict.fromkeys(self.depts[p].id for p in row.paths))

    def _read_attributes(self, row: _Row) -> None:
        for attr_id, raw in row.attrs.items():
            a = self.defs[attr_id]
            header = self.col(attr_id, "attr")
            vt = a.value_type
            if vt is ValueType.TEXT:
                update = AttributeUpdate(attr_id=a.id, text=raw)
            elif vt is ValueType.OPTION:
                key = self._option_key(a, raw) if raw else ""
                if key is None:
                    self.fail(row, header, f"{raw!r} is not one of {'、'.join(o.name for o in a.options)}")
                    return
                update = AttributeUpdate(attr_id=a.id, option=key)
            elif vt is ValueType.RELATION_USER:
                uid = self.person(raw) if raw else ""
                if uid is None:
                    self.fail(row, header, f"{raw!r} is nobody in this file or the directory")
                    return
                update = AttributeUpdate(attr_id=a.id, relation_user=uid)
            elif vt is ValueType.RELATION_DEPTS:
                paths = [self._path(row, p, header) for p in split_paths(raw)]
                ids = tuple(str(self.depts[p].id) for p in paths if p is not None and p in self.depts)
                update = AttributeUpdate(attr_id=a.id, relation_depts=ids)
            else:
                title, link = split_url(raw)
                update = AttributeUpdate(attr_id=a.id, url_title=title, url_link=link, has_url=True)
            row.attr_updates.append(update)
            row.attr_headers.append(header)

    def _option_key(self, a: AttributeDefinition, raw: str) -> str | None:
        """The option a cell names, by key or by name."""
        keys = self.option_keys.get(a.id)
        if keys is None:
            keys = self.option_keys[a.id] = {o.name: o.key for o in a.options} | {
                o.key: o.key for o in a.options
            }
        return keys.get(raw)

    def _check_value(self, row: _Row, j: int) -> AttributeValueData | None:
        """The core's check of the row's ``j``-th attribute value; its stored form (``None``: cleared)."""
        a = row.attr_updates[j]
        return attributes.checked_value(
            self.defs[a.attr_id],
            a,
            field=f"custom_attrs[{j}]",
            known_users=self.known_users,
            known_depts=self.known_depts,
        )

    def _new_user(self, row: _Row) -> users.NewUser:
        v = row.values
        text: dict[str, Any] = {k: v.get(k) for k in TEXT_KEYS}
        text["user_name"] = text["user_name"] or ""
        return users.NewUser(
            id=row.user_id,
            dept_ids=self._dept_ids(row),
            def_dept_id=self.depts[row.main_path].id if row.main_path is not None else None,
            leader_id=row.leader_id,
            gender=v.get("gender") or Gender.UNDEFINED.value,
            role=v.get("role") or Role.NORMAL.value,
            status=v.get("status") or UserStatus.ACTIVE.value,
            employment_type=v.get("employment_type"),
            employment_status=v.get("employment_status"),
            **text,
        )

    def _check_new(self, new: list[_Row]) -> None:
        """Check the new people with the core's rules (``bulk.prepare``), keeping the rows it builds.

        A chunk is checked at once; when a row fails, the rows before it are
        checked again on their own and checking goes on after it, so every row
        is checked at most twice and every problem is found.
        """
        self.rules = bulk.rules_for(self.tx, self.d, self.tenant_id)
        self.prepared: list[tuple[list[_Row], bulk.PreparedChunk]] = []
        ordered = _managers_first([r for r in new if r.problem is None])
        for start in range(0, len(ordered), bulk.CHUNK):
            self.tick("checking", start, len(ordered))
            pending = ordered[start : start + bulk.CHUNK]
            while pending:
                try:
                    self.prepared.append((pending, self._prepare(pending)))
                    break
                except CoreError as exc:
                    k = _item_index(exc.field)
                    self.fail_core(pending[k], exc)
                    if k:
                        self.prepared.append((pending[:k], self._prepare(pending[:k])))
                    pending = pending[k + 1 :]
        self.tick("checking", len(ordered), len(ordered))
        for row in ordered:
            for code, raw in row.roster.items():
                column = self.col(code, "roster")
                try:
                    row.roster[code] = roster_writes.checked_value(
                        self.roster_fields[code], raw, field=column
                    )
                except CoreError as exc:
                    self.fail(row, column, _reason(exc))
        self._check_unique()

    def _prepare(self, rows: list[_Row]) -> bulk.PreparedChunk:
        people = [
            bulk.Person(user=self._new_user(r), attrs=tuple(filter(_filled, r.attr_updates))) for r in rows
        ]
        return bulk.prepare(self.rules, people, 0)

    def _check_unique(self) -> None:
        """Unique columns that do not find people again: unique in the file and not taken in the store."""
        for col in ("phone", "ex_user_id", "login_name"):
            if col not in self.has:
                continue
            holder_row: dict[str, _Row] = {}
            for row in self.live():
                value = row.values.get(col)
                if value:
                    seen = holder_row.setdefault(value, row)
                    if seen is not row:
                        self.fail(row, self.col(col), f"{value!r} is also in row {seen.number}")
            for value, holder in _taken(self.conn, self.tenant_id, col, list(holder_row)).items():
                row = holder_row[value]
                if holder != row.user_id and not self._released(holder, col, value):
                    self.fail(row, self.col(col), f"{value!r} is already used by user {holder!r}")

    def _released(self, holder: str, col: str, value: str) -> bool:
        """Whether the file takes ``value`` away from its current holder (who is also in the file)."""
        row = self.by_id.get(holder)
        return row is not None and row.problem is None and row.values.get(col) != value

    def _drop_rows_naming_invalid_rows(self) -> None:
        """A row whose manager (or related person) is an invalid row cannot be imported either."""
        changed = True
        while changed:
            changed = False
            for row in self.live():
                named = [(row.leader_id, self.col("leader"))]
                named += [
                    (a.relation_user, h) for a, h in zip(row.attr_updates, row.attr_headers, strict=True)
                ]
                for ref, column in named:
                    other = self.by_id.get(ref or "")
                    if other is not None and other is not row and other.problem is not None:
                        self.fail(row, column, f"names row {other.number}, which cannot be imported")
                        changed = True
                        break

    def _create(self) -> None:
        """Write the checked new people in order (managers first), then their roster fields."""
        chunks = [(rows, pc) for rows, pc in self.prepared]
        if any(r.problem is not None for rows, _ in chunks for r in rows):
            # Rows dropped after checking (uniqueness, invalid managers): build those chunks again.
            chunks = [
                (live, self._prepare(live))
                for rows, _ in chunks
                if (live := [r for r in rows if r.problem is None])
            ]
        total = sum(len(rows) for rows, _ in chunks)
        done = 0
        with bulk_rows.loading(self.conn):
            for rows, pc in chunks:
                bulk.write(self.tx, pc, tenant_id=self.tenant_id)
                done += len(rows)
                self.tick("creating", done, total)
        if total:
            self.tx.changed(self.tenant_id, "tenant", self.tenant_id)
        created = [r for rows, _ in chunks for r in rows]
        self._add_roster_rows(created)
        for row in created:
            row.changed = True

    def _add_roster_rows(self, rows: list[_Row]) -> None:
        """New people's roster fields (checked in :meth:`_check_new`), inserted at once.

        What ``roster_writes.update_in`` stores for a person without a roster: the first
        row of each group, and in a detail group the fields not given as empty.
        """
        cat = roster_catalogue.catalogue_for(list(self.defs.values()))
        values: list[tuple[str, str, str, int, str, str]] = []
        for row in rows:
            groups: dict[str, dict[str, str]] = {}
            for code, value in row.roster.items():
                if value:
                    groups.setdefault(self.roster_fields[code].group_id, {})[code] = value
            for group_id, given in groups.items():
                group = cat.group(group_id)
                assert group is not None
                codes = (
                    [f.code for f in group.fields if f.source is roster_catalogue.Source.STORED]
                    if group.detail
                    else given
                )
                values += [(self.tenant_id, row.user_id, group_id, 0, c, given.get(c, "")) for c in codes]
        bulk_rows.insert_rows(self.conn, schema.roster_values, _ROSTER_COLUMNS, values)

    def _update(self, rows: list[_Row]) -> None:
        stored = _attribute_values(self.conn, self.tenant_id, [r.user_id for r in rows], self.defs)
        for i, row in enumerate(rows):
            if i % 1000 == 0:
                self.tick("updating", i, len(rows))
            try:
                changes = self._changes(row, stored.get(row.user_id, {}))
                if changes:
                    with self.conn.begin_nested():
                        self._apply(row, changes)
                    row.changed = True
            except CoreError as exc:
                self.fail_core(row, exc)
        self.tick("updating", len(rows), len(rows))

    def _changes(self, row: _Row, stored: Mapping[str, AttributeValueData]) -> _Changes:
        """What differs between the row and the person it names."""
        current = row.existing
        assert current is not None
        out = _Changes()
        if {"departments", "main_department"} & self.has:
            dept_ids = self._dept_ids(row) if "departments" in self.has else current.dept_ids
            main = self.depts[row.main_path].id if row.main_path is not None else None
            if dept_ids != current.dept_ids or main not in (None, current.def_dept_id):
                out.depts = batch_writes.DeptAssignment(current.id, dept_ids, main)
        for key in (*TEXT_KEYS, "gender", "role", "employment_type", "employment_status", "leader_id"):
            if key in row.values:
                want = row.values[key]
                have = getattr(current, key)
                have = have.value if isinstance(have, StrEnum) else have
                if (want or None) != (have or None):
                    out.profile[key] = want if want is not None else ""
        status = row.values.get("status")
        if status is not None and status != current.status.value:
            out.status = UserStatus(status)
        for j, a in enumerate(row.attr_updates):
            if self._check_value(row, j) != stored.get(a.attr_id):
                out.attrs.append(a)
        return out

    def _apply(self, row: _Row, changes: _Changes) -> None:
        """Write the changes through the core services (their rules apply)."""
        tid, uid = self.tenant_id, row.user_id
        if changes.depts is not None:
            batch_writes.update_depts_in(self.tx, self.d, tenant_id=tid, items=[changes.depts])
        if changes.profile:
            users.update_in(self.tx, self.d, tenant_id=tid, user_id=uid, changes=changes.profile)
        if changes.status is not None:
            batch_writes.set_status_in(self.tx, self.d, tenant_id=tid, user_ids=[uid], status=changes.status)
        if changes.attrs:
            update = UserAttributeUpdate(uid, tuple(changes.attrs))
            attributes.update_values_in(self.tx, tenant_id=tid, updates=[update])

    def _write_roster(self, rows: list[_Row]) -> None:
        """Roster fields of people already there, through the roster service, only what differs."""
        stored = _first_roster_rows(self.conn, self.tenant_id, [r.user_id for r in rows])
        for i, row in enumerate(rows):
            if i % 1000 == 0:
                self.tick("roster", i, len(rows))
            have = stored.get(row.user_id, {})
            by_group: dict[str, list[roster_writes.FieldWrite]] = {}
            for code, value in row.roster.items():
                if have.get(code, "") != value:
                    by_group.setdefault(self.roster_fields[code].group_id, []).append(
                        roster_writes.FieldWrite(code, value)
                    )
            if not by_group:
                continue
            row.roster_codes = [[w.code for w in writes] for writes in by_group.values()]
            groups = [
                roster_writes.GroupWrite(
                    group_id=g, sections=(roster_writes.SectionWrite(tuple(writes), old_index=0),)
                )
                for g, writes in by_group.items()
            ]
            try:
                with self.conn.begin_nested():
                    roster_writes.update_in(
                        self.tx, self.d, tenant_id=self.tenant_id, user_id=row.user_id, groups=groups
                    )
            except CoreError as exc:
                self.fail(row, self._roster_column(row, exc.field or ""), _reason(exc))
            else:
                row.changed = True
        self.tick("roster", len(rows), len(rows))

    def _roster_column(self, row: _Row, where: str) -> str:
        m = re.search(r"groups\[(\d+)\]\.sections\[\d+\]\.section\[(\d+)\]", where)
        if m is None:
            return ""
        g, f = int(m.group(1)), int(m.group(2))
        return self.col(row.roster_codes[g][f], "roster") if g < len(row.roster_codes) else ""


def _item_index(where: str | None) -> int:
    """``k`` of a core error's ``users[k]...`` field (0 when it names no item)."""
    m = re.match(r"^\w+\[(\d+)\]", where or "")
    return int(m.group(1)) if m else 0


def _reason(exc: CoreError) -> str:
    """The core's message without the field path it starts with (the report names the column)."""
    message = exc.message
    if exc.field and message.startswith(exc.field):
        message = message[len(exc.field) :].lstrip(": ")
    return message


def split_paths(raw: str) -> list[str]:
    """Department paths in one cell, separated by ``;`` (or ``；`` or a line break)."""
    return [p.strip() for p in _PATH_SEPARATORS.split(raw) if p.strip()]


def split_url(raw: str) -> tuple[str, str]:
    """A url cell, ``"title https://link"`` or just the link: the link is the last http(s) word."""
    parts = raw.split()
    if parts and re.match(r"^https?://", parts[-1]):
        return " ".join(parts[:-1]), parts[-1]
    return "", raw


def _filled(a: AttributeUpdate) -> bool:
    return bool(a.text or a.option or a.relation_user or a.relation_depts or a.url_link)


def _taken(conn: Connection, tenant_id: str, column: str, values: Sequence[str]) -> dict[str, str]:
    return user_rows.find_taken_values(conn, tenant_id, column, [v for v in values if v])


def _users(conn: Connection, tenant_id: str, ids: Sequence[str]) -> dict[str, User]:
    out: dict[str, User] = {}
    for start in range(0, len(ids), _BATCH):
        out.update(user_rows.get_users(conn, tenant_id, ids[start : start + _BATCH]))
    return out


def _attribute_values(
    conn: Connection, tenant_id: str, ids: Sequence[str], defs: Mapping[str, AttributeDefinition]
) -> dict[str, dict[str, AttributeValueData]]:
    types = {a.id: a.value_type for a in defs.values()}
    out: dict[str, dict[str, AttributeValueData]] = {}
    for start in range(0, len(ids), _BATCH):
        for uid, values in attr_rows.get_values(conn, tenant_id, ids[start : start + _BATCH], types).items():
            out[uid] = {v.attr_id: v.value for v in values}
    return out


def _first_roster_rows(conn: Connection, tenant_id: str, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Each person's stored roster values of the first row of every group."""
    out: dict[str, dict[str, str]] = {}
    for start in range(0, len(ids), _BATCH):
        for uid, values in roster_rows.get_values(conn, tenant_id, ids[start : start + _BATCH]).items():
            out[uid] = {v.field_code: v.value for v in values if v.row == 0}
    return out


def _managers_first(rows: list[_Row]) -> list[_Row]:
    """The rows in an order where a manager in the file comes before the people who report to them."""
    by_id = {r.user_id: r for r in rows}
    depth: dict[str, int] = {}
    for row in rows:
        chain: list[str] = []
        step: str | None = row.user_id
        while step is not None and step in by_id and step not in depth and step not in chain:
            chain.append(step)
            step = by_id[step].leader_id
        base = depth[step] + 1 if step is not None and step in depth else 0
        for k, uid in enumerate(reversed(chain)):
            depth[uid] = base + k
    return sorted(rows, key=lambda r: depth[r.user_id])


# -- export -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SheetFormat:
    """How an export writes its cells: the headers' language, and the company's name for its root."""

    language: Language
    root_name: str

    def header(self, c: Column) -> str:
        return c.zh if self.language is Language.ZH else c.en

    def enum(self, key: str, value: str | None) -> str:
        if value is None or value == ENUMS[key].empty:
            return ""
        return ENUMS[key].written.get(value, value) if self.language is Language.ZH else value

    def path(self, abs_path: str) -> str:
        """A department's cell: its path below the company (the company's own name for the root)."""
        parts = abs_path.strip("/").split("/")
        return "/".join(parts[1:]) or self.root_name

    def profile_cells(self, record: Mapping[str, str | None]) -> list[str]:
        """The profile columns' cells of a person given by column key (enumerations as core values)."""
        return [
            self.enum(c.key, record.get(c.key)) if c.key in ENUMS else record.get(c.key) or ""
            for c in PROFILE_COLUMNS
        ]

    def attribute(
        self,
        a: AttributeDefinition,
        value: AttributeValueData | None,
        ref: Callable[[str], str],
        path_of: Callable[[int], str],
    ) -> str:
        """An attribute value's cell; ``ref`` names a person, ``path_of`` a department."""
        if value is None:
            return ""
        if isinstance(value, UrlValue):
            return f"{value.title} {value.link}".strip()
        if isinstance(value, tuple):
            return "; ".join(path_of(x) for x in value)
        if a.value_type is ValueType.OPTION:
            names = {o.key: o.name for o in a.options}
            return names.get(value, value) if self.language is Language.ZH else value
        if a.value_type is ValueType.RELATION_USER:
            return ref(value)
        return value


def person_ref(employee_id: str | None, email: str | None, user_id: str) -> str:
    """How a sheet names a person: employee id, else email, else user id."""
    return employee_id or email or user_id


def attribute_headers(defs: Sequence[AttributeDefinition]) -> list[str]:
    """Each attribute's column: its name, or ``attr:<id>`` when the name is taken by another column."""
    taken = {_norm(s) for c in PROFILE_COLUMNS for s in (c.key, c.zh, c.en, *c.aliases)}
    names = [_norm(a.name) for a in defs]
    return [
        a.name if n not in taken and names.count(n) == 1 else f"attr:{a.id}"
        for a, n in zip(defs, names, strict=True)
    ]


def roster_headers(
    fmt: SheetFormat, fields: Sequence[roster_catalogue.RosterField], defs: Sequence[AttributeDefinition]
) -> list[str]:
    """Each roster field's column: its name in Chinese sheets (unless taken), else its code."""
    if fmt.language is Language.EN:
        return [f.code for f in fields]
    taken = {_norm(s) for c in PROFILE_COLUMNS for s in (c.key, c.zh, c.en, *c.aliases)}
    taken |= {_norm(a.name) for a in defs}
    names = [_norm(f.name) for f in fields]
    return [
        f.name if n not in taken and names.count(n) == 1 else f.code
        for f, n in zip(fields, names, strict=True)
    ]


def profile_headers(fmt: SheetFormat) -> list[str]:
    return [fmt.header(c) for c in PROFILE_COLUMNS]


def export_sheet(
    d: Directory, *, tenant_id: str, language: Language = Language.ZH
) -> tuple[list[str], list[list[str]]]:
    """The tenant's people as a sheet that :func:`import_sheet` reads back without a change."""
    with d.reader() as r:
        tenant = tenant_rows.get_tenant(r.conn, tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant")
        depts = {x.id: x for x in dept_rows.list_all(r.conn, tenant_id)}
        fmt = SheetFormat(language, depts[ROOT_DEPT_ID].name)
        defs = list(r.definitions(tenant_id))
        fields = roster_columns(defs)
        people: list[User] = []
        values: dict[str, dict[str, AttributeValueData]] = {}
        stored: dict[str, dict[str, str]] = {}
        after: str | None = None
        while True:
            ids = user_rows.page_ids(
                r.conn, tenant_id, statuses=user_rows.ALL_STATUSES, after=after, limit=_BATCH
            )
            if not ids:
                break
            found = user_rows.get_users(r.conn, tenant_id, ids)
            people.extend(found[i] for i in ids if i in found)
            values.update(_attribute_values(r.conn, tenant_id, ids, {a.id: a for a in defs}))
            stored.update(_first_roster_rows(r.conn, tenant_id, ids))
            after = ids[-1]
    refs = {u.id: person_ref(u.employee_id, u.email, u.id) for u in people}
    codes = [c for c in fields if any(c in s for s in stored.values())]
    headers = (
        profile_headers(fmt) + attribute_headers(defs) + roster_headers(fmt, [fields[c] for c in codes], defs)
    )

    def path_of(dept_id: int) -> str:
        return fmt.path(depts[dept_id].abs_path) if dept_id in depts else str(dept_id)

    def ref(uid: str) -> str:
        return refs.get(uid, uid)

    rows: list[list[str]] = []
    for u in people:
        cells = fmt.profile_cells(profile_record(u, path_of=path_of, ref=ref))
        cells += [fmt.attribute(a, values.get(u.id, {}).get(a.id), ref, path_of) for a in defs]
        cells += [stored.get(u.id, {}).get(c, "") for c in codes]
        rows.append(cells)
    return headers, rows


def profile_record(
    u: User, *, path_of: Callable[[int], str], ref: Callable[[str], str]
) -> dict[str, str | None]:
    """A person's profile cells by column key (enumerations as core values)."""
    record: dict[str, str | None] = {k: getattr(u, k) for k in TEXT_KEYS}
    record.update(
        id=u.id,
        gender=u.gender.value,
        role=u.role.value,
        status=u.status.value,
        employment_type=u.employment_type,
        employment_status=u.employment_status,
        departments="; ".join(path_of(x) for x in u.dept_ids),
        main_department=path_of(u.def_dept_id) if u.def_dept_id is not None and len(u.dept_ids) > 1 else "",
        leader=ref(u.leader_id) if u.leader_id else "",
    )
    return record
