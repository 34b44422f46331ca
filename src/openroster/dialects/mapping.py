"""One person, two dialects: the cross-dialect field mapping of design.md, in one place.

The core keeps one user record. The WPS dialect shows its columns under WPS
names; the DingTalk dialect shows the same columns as roster fields
(``sys00-mobile``, from ``core/roster/profile.py``) and as contacts fields
(``mobile``). :data:`PROFILE_FIELDS` is design.md's table, row by row; the
roster column is the core roster's own (:data:`~openroster.core.roster.profile.CORE_TO_ROSTER`).
DingTalk contacts hold only the people on the job (:func:`in_contacts`).
"""

from __future__ import annotations

from dataclasses import dataclass

from openroster.core.roster.profile import CORE_TO_ROSTER, LIST_STATUSES, ROSTER_READ_ONLY, EmployeeList
from openroster.model.entities import User, UserStatus


@dataclass(frozen=True, slots=True)
class ProfileField:
    """A core user field and its names in the dialects (``None``: the dialect has no such field)."""

    core: str
    wps: str
    contacts: str | None

    @property
    def roster(self) -> str | None:
        """The roster field code that shows it (``None``: the roster does not)."""
        return CORE_TO_ROSTER.get(self.core)

    @property
    def roster_writable(self) -> bool:
        """The roster may change it (read-only fields are shown, never written)."""
        return self.roster is not None and self.roster not in ROSTER_READ_ONLY


#: design.md's "one person, two dialects" table, row by row.
PROFILE_FIELDS: tuple[ProfileField, ...] = (
    ProfileField("id", "id", "userid"),
    ProfileField("user_name", "user_name", "name"),
    ProfileField("email", "email", "email"),
    ProfileField("phone", "phone", "mobile"),
    ProfileField("telephone", "telephone", "telephone"),
    ProfileField("employee_id", "employee_id", "job_number"),
    ProfileField("title", "title", "title"),
    ProfileField("work_place", "work_place", "work_place"),
    ProfileField("dept_ids", "depts", "dept_id_list"),
    ProfileField("def_dept_id", "def_dept_id", None),
    ProfileField("leader_id", "leader_id", "manager_userid"),
    ProfileField("gender", "gender", None),
    ProfileField("employment_type", "employment_type", None),
    ProfileField("employment_status", "employment_status", None),
    ProfileField("status", "status", "active"),
)


def in_contacts(user: User) -> bool:
    """DingTalk contacts hold the people on the job; pre-hires and resigned people are not members."""
    return user.status in LIST_STATUSES[EmployeeList.ON_JOB]


def contacts_active(user: User) -> bool:
    """The contacts ``active`` flag: the account can sign in."""
    return user.status is UserStatus.ACTIVE
