"""One import's shared state and bookkeeping: its rows, the file's columns, the problems found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from openroster.core.custom import checks
from openroster.core.directory import Directory
from openroster.core.people import bulk, users
from openroster.core.people import depts as dept_service
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.runtime import limits
from openroster.core.sheets import lookups
from openroster.core.sheets.columns import (
    ENUMS,
    TEXT_KEYS,
    Problem,
    Progress,
    Target,
)
from openroster.model.entities import (
    AttributeDefinition,
    AttributeUpdate,
    AttributeValueData,
    Department,
    Gender,
    Role,
    User,
    UserStatus,
)
from openroster.model.errors import CoreError, Entity, InvalidValue
from openroster.store import WriteTx


@dataclass(eq=False, slots=True)
class Row:
    """One row of the sheet as the steps see it: its cells, and what they found out about it."""

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
    #: The department paths of the row's cell, in order, each once (rows with the same cell share
    #: one tuple).
    paths: tuple[tuple[str, ...], ...] = ()
    main_path: tuple[str, ...] | None = None
    attr_updates: list[AttributeUpdate] = field(default_factory=list)


#: What a new person's empty enumeration cell means.
_DEFAULTS = {"gender": Gender.UNDEFINED.value, "role": Role.NORMAL.value, "status": UserStatus.ACTIVE.value}
#: Core user fields whose sheet column has a key of its own.
_PROFILE_KEYS = {"dept_ids": "departments", "def_dept_id": "main_department", "leader_id": "leader"}


class ImportPlan:
    """One import inside one write transaction: what the steps (``parse``, ``validate``, ``apply``) share."""

    tx: WriteTx
    root: Department
    #: How many people the tenant had when the import began.
    people_before: int
    now: int
    by_id: dict[str, Row]
    known_users: set[str]
    known_depts: set[int]
    rules: bulk.Rules
    prepared: list[tuple[list[Row], bulk.PreparedChunk]]

    def __init__(
        self,
        d: Directory,
        tenant_id: str,
        rows: list[Row],
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
        #: The text and enumeration columns the file has; each enumeration cell's core value and
        #: each departments cell's paths (when none is a problem), read once for the rows with that cell.
        self.text_keys = [key for key in TEXT_KEYS if key in self.has]
        self.enums = [(key, enum) for key, enum in ENUMS.items() if key in self.has]
        self.enum_values: dict[tuple[str, str], str | None] = {}
        self.cell_paths: dict[str, tuple[tuple[str, ...], ...]] = {}
        #: Each ``(attribute, cell)``'s update, made once and shared by the rows with that cell.
        self.updates: dict[tuple[str, str], AttributeUpdate] = {}

    def col(self, key: str, kind: str = "profile") -> str:
        """The file's header of a column ("" when the file has no such column)."""
        return self.headers.get((kind, key), "")

    def fail(self, row: Row, column: str, reason: str) -> None:
        """Record a problem of the row, which is then left out (one problem per column)."""
        problem = Problem(row.number, column, reason)
        if row.problem is None:
            row.problem = problem
        elif any(p.row == row.number and p.column == column for p in self.problems[-8:]):
            return
        self.problems.append(problem)

    def fail_core(self, row: Row, exc: CoreError) -> None:
        """Record a core error of the row under the column of what the error is about."""
        self.fail(row, self.column_of(exc), exc.detail)

    def column_of(self, exc: CoreError) -> str:
        """The file's column for what a core error is about ("" when it is about no column)."""
        if exc.item_field is None:
            return ""
        owner, key = exc.item_field
        if owner is Entity.ATTRIBUTE:
            return self.col(key, "attr")
        if owner is Entity.ROSTER_FIELD:
            return self.col(key, "roster")
        return self.col(_PROFILE_KEYS.get(key, key))

    def live(self) -> list[Row]:
        return [r for r in self.rows if r.problem is None]

    def tick(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)

    def path(self, row: Row, raw: str, column: str) -> tuple[str, ...] | None:
        """A department path of a cell (names checked by the department rules), or None after a problem."""
        path = self.paths.get(raw)
        if path is None:
            path = self.paths[raw] = self.parse_path(raw, column)
        if isinstance(path, CoreError):
            self.fail(row, column, path.detail)
            return None
        return path

    def parse_path(self, raw: str, column: str) -> tuple[str, ...] | CoreError:
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

    def taken(self, column: str, values: Sequence[str]) -> dict[str, str]:
        """``{value: holder}`` of the values of a unique user column already used in the tenant
        (nothing to look up in a tenant that had nobody when the import began)."""
        if not self.people_before:
            return {}
        return lookups.taken_values(self.tx, self.tenant_id, column, values)

    def person(self, ref: str) -> str | None:
        return self.people.get(ref) or self.people.get(ref.lower())

    def dept_ids(self, row: Row) -> tuple[int, ...]:
        if len(row.paths) <= 1:
            return (self.depts[row.paths[0] if row.paths else ()].id,)
        return tuple(dict.fromkeys(self.depts[p].id for p in row.paths))

    def option_key(self, a: AttributeDefinition, raw: str) -> str | None:
        """The option a cell names, by key or by name."""
        keys = self.option_keys.get(a.id)
        if keys is None:
            keys = self.option_keys[a.id] = {o.name: o.key for o in a.options} | {
                o.key: o.key for o in a.options
            }
        return keys.get(raw)

    def check_value(self, row: Row, j: int) -> AttributeValueData | None:
        """The core's check of the row's ``j``-th attribute value; its stored form (``None``: cleared)."""
        a = row.attr_updates[j]
        try:
            return checks.checked_value(
                self.defs[a.attr_id],
                a,
                field=f"custom_attrs[{j}]",
                known_users=self.known_users,
                known_depts=self.known_depts,
            )
        except CoreError as exc:
            raise exc.in_field(Entity.ATTRIBUTE, a.attr_id) from None

    def prepare(self, rows: list[Row]) -> bulk.PreparedChunk:
        """``bulk.prepare`` of the rows as new people, given a column at a time."""
        n = len(rows)
        values = [r.values for r in rows]

        def given(key: str) -> list[Any]:  # a cell's value of each row (read_cells set them all)
            return list(map(itemgetter(key), values)) if key in self.has else [None] * n

        columns: dict[str, list[Any]] = dict.fromkeys(users.NEW_USER_FIELDS, [None] * n)
        columns |= {key: given(key) for key in self.text_keys}
        columns["user_name"] = [v or "" for v in given("user_name")]
        columns["id"] = [r.user_id for r in rows]
        columns["leader_id"] = [r.leader_id for r in rows]
        # Each distinct paths tuple's ids once (rows with the same departments cell share one).
        ids_of: dict[int, tuple[int, ...]] = {}
        columns["dept_ids"] = [
            ids_of.get(id(r.paths)) or ids_of.setdefault(id(r.paths), self.dept_ids(r)) for r in rows
        ]
        columns["def_dept_id"] = [
            self.depts[r.main_path].id if r.main_path is not None else None for r in rows
        ]
        columns["leader_of"] = [()] * n
        for key, default in _DEFAULTS.items():
            columns[key] = [v or default for v in given(key)]
        for key in ("employment_type", "employment_status"):
            columns[key] = given(key)
        attrs = [tuple(filter(_filled, r.attr_updates)) for r in rows]
        return bulk.prepare(self.rules, bulk.NewPeople(columns, attrs), 0)

    def released(self, holder: str, col: str, value: str) -> bool:
        """Whether the file takes ``value`` away from its current holder (who is also in the file)."""
        row = self.by_id.get(holder)
        return row is not None and row.problem is None and row.values.get(col) != value


def _filled(a: AttributeUpdate) -> bool:
    return bool(a.text or a.option or a.relation_user or a.relation_depts or a.url_link)
