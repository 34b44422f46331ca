"""The sheet format shared by import and export: profile columns, enumerations, headers, cells."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from openroster.core.people import users
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import profile as roster_profile
from openroster.model.entities import (
    AttributeDefinition,
    FieldOption,
    Gender,
    Role,
    UserStatus,
)


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


def normalized(header: str) -> str:
    return re.sub(r"[\s_\-*：:（）()　]", "", header).lower()


@dataclass(frozen=True, slots=True)
class EnumColumn:
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


ENUMS: Mapping[str, EnumColumn] = {
    "gender": EnumColumn(
        tuple(g.value for g in Gender),
        {
            **{c.label: c.core for c in roster_profile.GENDER},
            "保密": Gender.SECRECY.value,
            "未知": Gender.UNDEFINED.value,
        },
        {Gender.MALE.value: "男", Gender.FEMALE.value: "女", Gender.SECRECY.value: "保密"},
        Gender.UNDEFINED.value,
    ),
    "status": EnumColumn(
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
    "role": EnumColumn(
        tuple(r.value for r in Role),
        {"普通成员": Role.NORMAL.value, "管理员": Role.ADMIN.value, "超级管理员": Role.SUPER_ADMIN.value},
        {Role.NORMAL.value: "普通成员", Role.ADMIN.value: "管理员", Role.SUPER_ADMIN.value: "超级管理员"},
        Role.NORMAL.value,
    ),
    "employment_type": EnumColumn(
        users.EMPLOYMENT_TYPES,
        {c.label: c.core for c in roster_profile.EMPLOYMENT_TYPE},
        {c.core: c.label for c in roster_profile.EMPLOYMENT_TYPE if c.core is not None},
        None,
    ),
    "employment_status": EnumColumn(
        users.EMPLOYMENT_STATUSES,
        {**{c.label: c.core for c in roster_profile.EMPLOYMENT_STATUS}, "试用期": "probationary"},
        {c.core: c.label for c in roster_profile.EMPLOYMENT_STATUS if c.core is not None},
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


#: Progress callback: ``(phase, done, total)``; phases are ``checking``, ``creating`` and ``updating``.
Progress = Callable[[str, int, int], None]


def roster_columns(
    defs: Sequence[AttributeDefinition], options: Mapping[str, Sequence[FieldOption]]
) -> dict[str, roster_catalogue.RosterField]:
    """The roster fields a sheet carries: those kept by the roster itself and writable through it,
    with the tenant's select ``options`` (``Reader.field_options``).

    Profile fields have their own columns, and custom fields are the attribute columns.
    """
    cat = roster_catalogue.catalogue_for(defs, options)
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
        spelled[normalized(f.code)] = Target("roster", f.code)
        spelled.setdefault(normalized(f.name), Target("roster", f.code))
    for a in definitions:
        spelled[normalized(a.name)] = Target("attr", a.id)
        spelled[normalized(f"attr:{a.id}")] = Target("attr", a.id)
    for f in roster_fields.values():
        spelled[normalized(f"roster:{f.code}")] = Target("roster", f.code)
    for c in PROFILE_COLUMNS:
        for spelling in (c.key, c.zh, c.en, *c.aliases):
            spelled[normalized(spelling)] = Target("profile", c.key)
    explicit = {normalized(k): v for k, v in (columns or {}).items()}
    targets: list[Target | None] = []
    problems: list[Problem] = []
    first: dict[Target, str] = {}
    for header in headers:
        key = normalized(header)
        target: Target | None = None
        if key in explicit:
            wanted = explicit[key]
            if wanted is not None:
                target = spelled.get(normalized(wanted))
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


def split_paths(raw: str) -> list[str]:
    """Department paths in one cell, separated by ``;`` (or ``；`` or a line break)."""
    return [p.strip() for p in _PATH_SEPARATORS.split(raw) if p.strip()]


def split_url(raw: str) -> tuple[str, str]:
    """A url cell, ``"title https://link"`` or just the link: the link is the last http(s) word."""
    parts = raw.split()
    if parts and re.match(r"^https?://", parts[-1]):
        return " ".join(parts[:-1]), parts[-1]
    return "", raw


def person_ref(employee_id: str | None, email: str | None, user_id: str) -> str:
    """How a sheet names a person: employee id, else email, else user id."""
    return employee_id or email or user_id
