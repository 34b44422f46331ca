"""The roster's view of the user record: which roster fields mirror a user field, and how values translate.

The core keeps one user record; the roster shows some of its fields as roster
fields (``sys00-mobile`` is the user's ``phone``). This module says which
roster field is which user field, translates the values that are enumerations
on both sides (gender, employment type, employment status), and says which
account statuses each of the roster's three employee lists holds. Every table
works both ways and is tested both ways (tests/unit/test_mapping.py). What the
dialects call each field is theirs: ``dialects/mapping.py``.

A roster select field's value is the option's ``value`` (``"1"``), never its
label; the labels here are the roster's display texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from openroster.model.entities import Gender, User, UserStatus

#: Core user field -> roster field code, for every roster field kept on the user record.
CORE_TO_ROSTER: Mapping[str, str] = {
    "user_name": "sys00-name",
    "email": "sys00-email",
    "phone": "sys00-mobile",
    "telephone": "sys00-tel",
    "employee_id": "sys00-jobNumber",
    "title": "sys00-position",
    "work_place": "sys00-workPlace",
    "dept_ids": "sys00-deptIds",
    "def_dept_id": "sys00-mainDeptId",
    "leader_id": "sys00-reportManager",
    "gender": "sys02-sexType",
    "employment_type": "sys01-employeeType",
    "employment_status": "sys01-employeeStatus",
}
#: Roster field code -> core user field.
ROSTER_TO_CORE: Mapping[str, str] = {code: core for core, code in CORE_TO_ROSTER.items()}
#: Roster fields shown from the user record but never written through the roster.
ROSTER_READ_ONLY: frozenset[str] = frozenset({CORE_TO_ROSTER["dept_ids"], CORE_TO_ROSTER["leader_id"]})

#: Roster fields derived from others (department names, the manager's name).
DERIVED_DEPT_NAMES = "sys00-dept"
DERIVED_MAIN_DEPT_NAME = "sys00-mainDept"
DERIVED_MANAGER = "sys00-reportManager"


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a roster select field: its value and label, and for an enumerated profile
    field (:data:`ENUMERATIONS`) the core's value it stands for."""

    value: str
    label: str
    core: str | None = None


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


# -- account status <-> the employee lists -------------------------------------------------------


class EmployeeList(StrEnum):
    """The roster's three employee lists: on the job, to be hired (pre-entry), resigned (dismission)."""

    ON_JOB = "on_job"
    PRE_ENTRY = "pre_entry"
    DIMISSION = "dimission"


#: Which account statuses each list holds. A disabled account is still employed (on the job);
#: a not-yet-activated one is a pre-hire; a resigned one is in the dismission list.
LIST_STATUSES: Mapping[EmployeeList, tuple[UserStatus, ...]] = {
    EmployeeList.ON_JOB: (UserStatus.ACTIVE, UserStatus.DISABLED),
    EmployeeList.PRE_ENTRY: (UserStatus.NOTACTIVE,),
    EmployeeList.DIMISSION: (UserStatus.DIMISSION,),
}


def employee_list(status: UserStatus) -> EmployeeList:
    """The employee list a user of this account status is in."""
    for kind, statuses in LIST_STATUSES.items():
        if status in statuses:
            return kind
    raise ValueError(status)  # pragma: no cover - every status is in one list
