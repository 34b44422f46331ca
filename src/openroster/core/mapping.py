"""One person, two dialects: the cross-dialect mapping of design.md, in one place.

The core keeps one user record. The WPS dialect shows its columns under WPS
names; the DingTalk dialect shows the same columns as roster fields
(``sys00-mobile``) and as contacts fields (``mobile``). This module says which
core field is which roster field and contacts field, and translates the
values that are enumerations on both sides (gender, employment type,
employment status) and the account status (WPS ``status`` <-> the DingTalk
on-job / pre-entry / dismission lists). Every table works both ways and is
tested both ways (tests/unit/test_mapping.py).

A roster select field's value is the option's ``value`` (``"1"``), never its
label; the labels here are the roster's display texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from openroster.model.entities import Gender, User, UserStatus


@dataclass(frozen=True, slots=True)
class ProfileField:
    """A core user field and its names in the dialects (``None``: the dialect has no such field)."""

    core: str
    wps: str
    roster: str | None
    contacts: str | None
    #: The roster may change it (read-only fields are shown, never written).
    roster_writable: bool = True


#: design.md's "one person, two dialects" table, row by row.
PROFILE_FIELDS: tuple[ProfileField, ...] = (
    ProfileField("id", "id", None, "userid", roster_writable=False),
    ProfileField("user_name", "user_name", "sys00-name", "name"),
    ProfileField("email", "email", "sys00-email", "email"),
    ProfileField("phone", "phone", "sys00-mobile", "mobile"),
    ProfileField("telephone", "telephone", "sys00-tel", "telephone"),
    ProfileField("employee_id", "employee_id", "sys00-jobNumber", "job_number"),
    ProfileField("title", "title", "sys00-position", "title"),
    ProfileField("work_place", "work_place", "sys00-workPlace", "work_place"),
    ProfileField("dept_ids", "depts", "sys00-deptIds", "dept_id_list", roster_writable=False),
    ProfileField("def_dept_id", "def_dept_id", "sys00-mainDeptId", None),
    ProfileField("leader_id", "leader_id", "sys00-reportManager", "manager_userid", roster_writable=False),
    ProfileField("gender", "gender", "sys02-sexType", None),
    ProfileField("employment_type", "employment_type", "sys01-employeeType", None),
    ProfileField("employment_status", "employment_status", "sys01-employeeStatus", None),
    ProfileField("status", "status", None, "active", roster_writable=False),
)

#: Roster field code -> core user field, for every roster field kept on the user record.
ROSTER_TO_CORE: Mapping[str, str] = {f.roster: f.core for f in PROFILE_FIELDS if f.roster is not None}
#: Core user field -> roster field code.
CORE_TO_ROSTER: Mapping[str, str] = {core: code for code, core in ROSTER_TO_CORE.items()}
#: Roster fields shown from the user record but never written through the roster.
ROSTER_READ_ONLY: frozenset[str] = frozenset(
    f.roster for f in PROFILE_FIELDS if f.roster is not None and not f.roster_writable
)

#: Roster fields derived from others (department names, the manager's name).
DERIVED_DEPT_NAMES = "sys00-dept"
DERIVED_MAIN_DEPT_NAME = "sys00-mainDept"
DERIVED_MANAGER = "sys00-reportManager"


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of an enumeration: the roster's value and label, and the core's value."""

    value: str
    label: str
    core: str | None


#: ``sys02-sexType`` <-> ``User.gender``. WPS's ``undefined`` and ``secrecy`` have no roster
#: option: they read as an empty value, and writing ``""`` sets ``undefined``.
GENDER: tuple[Choice, ...] = (
    Choice("1", "男", Gender.MALE.value),
    Choice("2", "女", Gender.FEMALE.value),
)
#: ``sys01-employeeType`` <-> ``User.employment_type``. ``"0"`` (无类型) is no type.
EMPLOYMENT_TYPE: tuple[Choice, ...] = (
    Choice("0", "无类型", None),
    Choice("1", "全职", "permanent"),
    Choice("2", "兼职", "part_time"),
    Choice("3", "实习", "intern"),
    Choice("4", "劳务派遣", "labor_dispatch"),
    Choice("5", "退休返聘", "retired_rehire"),
    Choice("6", "劳务外包", "outsourcing"),
)
#: ``sys01-employeeStatus`` (and ``queryonjob``'s ``status_list``) <-> ``User.employment_status``.
#: ``"-1"`` (无状态) is no status.
EMPLOYMENT_STATUS: tuple[Choice, ...] = (
    Choice("-1", "无状态", None),
    Choice("2", "试用", "probationary"),
    Choice("3", "正式", "regular"),
    Choice("5", "待离职", "leaving"),
)

#: Roster field code -> its enumeration, for the enumerated profile fields.
ENUMERATIONS: Mapping[str, tuple[Choice, ...]] = {
    "sys02-sexType": GENDER,
    "sys01-employeeType": EMPLOYMENT_TYPE,
    "sys01-employeeStatus": EMPLOYMENT_STATUS,
}


def to_roster(choices: tuple[Choice, ...], core: str | None) -> str:
    """The roster value for a core value; ``""`` when the roster has none (shown as no value)."""
    if core is None:
        return ""
    for c in choices:
        if c.core == core:
            return c.value
    return ""


def to_core(choices: tuple[Choice, ...], value: str) -> str | None:
    """The core value for a roster option value (``""`` clears). ``KeyError`` if not an option."""
    if value == "":
        return None
    for c in choices:
        if c.value == value:
            return c.core
    raise KeyError(value)


def profile_value(user: User, code: str) -> str:
    """The roster value of a profile field (one of :data:`ROSTER_TO_CORE`) for ``user``."""
    core = ROSTER_TO_CORE[code]
    if code in ENUMERATIONS:
        raw = getattr(user, core)
        return to_roster(ENUMERATIONS[code], raw.value if isinstance(raw, StrEnum) else raw)
    if core == "dept_ids":
        return "|".join(str(x) for x in user.dept_ids)
    value = getattr(user, core)
    return "" if value is None else str(value)


# -- account status <-> the DingTalk employee lists ----------------------------------------------


class EmployeeList(StrEnum):
    """The roster's three employee lists (``queryonjob`` / ``querypreentry`` / ``querydimission``)."""

    ON_JOB = "on_job"
    PRE_ENTRY = "pre_entry"
    DIMISSION = "dimission"


#: Which WPS user statuses each list holds. A disabled account is still employed (on the job);
#: a not-yet-activated one is a pre-hire; a resigned one is in the dismission list.
LIST_STATUSES: Mapping[EmployeeList, tuple[UserStatus, ...]] = {
    EmployeeList.ON_JOB: (UserStatus.ACTIVE, UserStatus.DISABLED),
    EmployeeList.PRE_ENTRY: (UserStatus.NOTACTIVE,),
    EmployeeList.DIMISSION: (UserStatus.DIMISSION,),
}


def employee_list(status: UserStatus) -> EmployeeList:
    """The DingTalk employee list a user of this WPS status is in."""
    for kind, statuses in LIST_STATUSES.items():
        if status in statuses:
            return kind
    raise ValueError(status)  # pragma: no cover - every status is in one list


def in_contacts(user: User) -> bool:
    """DingTalk contacts hold the people on the job; pre-hires and resigned people are not members."""
    return user.status in LIST_STATUSES[EmployeeList.ON_JOB]


def contacts_active(user: User) -> bool:
    """The contacts ``active`` flag: the account can sign in."""
    return user.status is UserStatus.ACTIVE
