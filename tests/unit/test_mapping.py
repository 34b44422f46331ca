"""The cross-dialect mapping (dialects/mapping.py, core/roster/profile.py): every table, both ways."""

from __future__ import annotations

import pytest
from people_builders import a_user

from openroster.core.people import users
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import profile as roster_profile
from openroster.dialects import mapping
from openroster.model.entities import Gender, UserStatus


def test_profile_fields_match_design_table() -> None:
    by_core = {f.core: f for f in mapping.PROFILE_FIELDS}
    assert (by_core["phone"].wps, by_core["phone"].roster, by_core["phone"].contacts) == (
        "phone",
        "sys00-mobile",
        "mobile",
    )
    assert (by_core["title"].roster, by_core["title"].contacts) == ("sys00-position", "title")
    assert (by_core["employee_id"].roster, by_core["employee_id"].contacts) == (
        "sys00-jobNumber",
        "job_number",
    )
    assert by_core["gender"].roster == "sys02-sexType"
    assert by_core["employment_type"].roster == "sys01-employeeType"
    assert by_core["employment_status"].roster == "sys01-employeeStatus"
    assert by_core["leader_id"].contacts == "manager_userid"
    assert not by_core["leader_id"].roster_writable
    assert not by_core["dept_ids"].roster_writable
    # Both directions agree and every roster code is a system field of the catalogue.
    for code, core in roster_profile.ROSTER_TO_CORE.items():
        assert roster_profile.CORE_TO_ROSTER[core] == code
        assert roster_catalogue.SYSTEM_FIELDS[code].source in (
            roster_catalogue.Source.PROFILE,
            roster_catalogue.Source.DERIVED,
        )


@pytest.mark.parametrize(
    "table", [roster_profile.GENDER, roster_profile.EMPLOYMENT_TYPE, roster_profile.EMPLOYMENT_STATUS]
)
def test_enumerations_round_trip_both_ways(table: tuple[roster_profile.Choice, ...]) -> None:
    values = [c.value for c in table]
    assert len(set(values)) == len(values)
    for c in table:
        # roster -> core -> roster
        back = roster_profile.to_roster(table, roster_profile.to_core(table, c.value))
        assert back == (c.value if c.core is not None else "")
        # core -> roster -> core
        if c.core is not None:
            assert roster_profile.to_core(table, roster_profile.to_roster(table, c.core)) == c.core
    assert roster_profile.to_core(table, "") is None
    assert roster_profile.to_roster(table, None) == ""
    with pytest.raises(KeyError):
        roster_profile.to_core(table, "99")


def test_enumeration_values_are_core_values() -> None:
    assert {c.core for c in roster_profile.GENDER} <= {g.value for g in Gender}
    assert {c.core for c in roster_profile.EMPLOYMENT_TYPE} - {None} <= set(users.EMPLOYMENT_TYPES)
    assert {c.core for c in roster_profile.EMPLOYMENT_STATUS} - {None} == set(users.EMPLOYMENT_STATUSES)
    # Core values the roster has no option for read as no value.
    assert roster_profile.to_roster(roster_profile.GENDER, Gender.SECRECY.value) == ""
    assert roster_profile.to_roster(roster_profile.EMPLOYMENT_TYPE, "teacher") == ""
    assert [(c.value, c.label) for c in roster_profile.EMPLOYMENT_TYPE] == [
        ("0", "无类型"),
        ("1", "全职"),
        ("2", "兼职"),
        ("3", "实习"),
        ("4", "劳务派遣"),
        ("5", "退休返聘"),
        ("6", "劳务外包"),
    ]
    assert [c.value for c in roster_profile.EMPLOYMENT_STATUS] == ["-1", "2", "3", "5"]


def test_catalogue_options_are_the_mapping_tables() -> None:
    for code, table in roster_profile.ENUMERATIONS.items():
        f = roster_catalogue.SYSTEM_FIELDS[code]
        assert f.field_type is roster_catalogue.FieldType.SELECT
        assert [(o.value, o.label) for o in f.options] == [(c.value, c.label) for c in table]


def test_profile_values_of_a_user() -> None:
    u = a_user()
    assert roster_profile.profile_value(u, "sys00-name") == "张三"
    assert roster_profile.profile_value(u, "sys00-mobile") == "13800000000"
    assert roster_profile.profile_value(u, "sys00-position") == "工程师"
    assert roster_profile.profile_value(u, "sys00-mainDeptId") == "5"
    assert roster_profile.profile_value(u, "sys00-deptIds") == "2|5"
    assert roster_profile.profile_value(u, "sys02-sexType") == "2"
    assert roster_profile.profile_value(u, "sys01-employeeType") == "3"
    assert roster_profile.profile_value(u, "sys01-employeeStatus") == "2"
    assert roster_profile.profile_value(a_user(title=None, employment_type=None), "sys00-position") == ""
    assert roster_profile.profile_value(a_user(employment_type=None), "sys01-employeeType") == ""


def test_status_lists_partition_the_wps_statuses() -> None:
    seen = [s for statuses in roster_profile.LIST_STATUSES.values() for s in statuses]
    assert sorted(seen) == sorted(UserStatus)
    assert roster_profile.employee_list(UserStatus.ACTIVE) is roster_profile.EmployeeList.ON_JOB
    assert roster_profile.employee_list(UserStatus.DISABLED) is roster_profile.EmployeeList.ON_JOB
    assert roster_profile.employee_list(UserStatus.NOTACTIVE) is roster_profile.EmployeeList.PRE_ENTRY
    assert roster_profile.employee_list(UserStatus.DIMISSION) is roster_profile.EmployeeList.DIMISSION
    for status in UserStatus:
        u = a_user(status=status)
        assert mapping.in_contacts(u) is (
            roster_profile.employee_list(status) is roster_profile.EmployeeList.ON_JOB
        )
        assert mapping.contacts_active(u) is (status is UserStatus.ACTIVE)
