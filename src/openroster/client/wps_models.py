"""Typed requests and results of the WPS 365 v7 contacts API.

Results accept fields they do not know (the platform adds fields over time) and
keep them as extra attributes. Requests leave out what is not set, so the
platform's own defaults apply.
"""

from __future__ import annotations

from pydantic import Field

from openroster.client.models import ReplyModel, RequestModel
from openroster.dialects.wps.schemas import UserProfileFields


class WpsModel(ReplyModel):
    """A WPS reply object."""


class WpsRequest(RequestModel):
    """A WPS request body."""


# -- results ----------------------------------------------------------------------------


class DeptRef(WpsModel):
    """A user's department, as ``with_dept`` adds it."""

    id: str
    name: str = ""
    abs_path: str = ""


class User(WpsModel):
    id: str
    user_name: str = ""
    email: str | None = None
    phone: str | None = None
    gender: str | None = None
    employee_id: str = ""
    employer: str = ""
    employment_status: str = ""
    employment_type: str = ""
    ex_user_id: str = ""
    leader_id: str = ""
    login_name: str = ""
    role: str = ""
    status: str = ""
    title: str = ""
    telephone: str = ""
    work_place: str = ""
    city: str = ""
    country: str = ""
    avatar: str = ""
    ctime: int = 0
    def_dept_id: str = ""
    depts: list[DeptRef] | None = None


class DeptLeader(WpsModel):
    user_id: str
    order: int = 0


class Dept(WpsModel):
    id: str
    name: str = ""
    parent_id: str = ""
    abs_path: str = ""
    ex_dept_id: str = ""
    order: int = 0
    ctime: int = 0
    leaders: list[DeptLeader] = Field(default_factory=list)


class DeptMember(WpsModel):
    """A membership; ``user_info`` is filled when ``with_user_detail`` was asked for."""

    user_id: str
    dept_id: str = ""
    order: int = 0
    is_leader: bool = False
    ctime: int = 0
    mtime: int = 0
    user_info: User | None = None


class AttrOption(WpsModel):
    key: str
    name: str


class AttrDefinition(WpsModel):
    id: str
    name: str
    value_type: str
    options: list[AttrOption] = Field(default_factory=list)


class UrlValue(WpsModel):
    title: str = ""
    link: str = ""


class AttrValue(WpsModel):
    attr_id: str
    attr_name: str = ""
    attr_value_type: str = ""
    text: str = ""
    option: str = ""
    relation_user: str = ""
    relation_depts: list[str] = Field(default_factory=list)
    url: UrlValue = Field(default_factory=UrlValue)

    @property
    def value(self) -> str | list[str] | UrlValue:
        """The field that matches the attribute's value type."""
        kind = self.attr_value_type
        if kind == "option":
            return self.option
        if kind == "relation_user":
            return self.relation_user
        if kind == "relation_depts":
            return self.relation_depts
        if kind == "url":
            return self.url
        return self.text


class UserAttrs(WpsModel):
    user_id: str
    custom_attrs: list[AttrValue] = Field(default_factory=list)


# -- requests ---------------------------------------------------------------------------


class UserUpdate(WpsRequest, UserProfileFields):
    """The fields to change: ``None`` (not sent) keeps a field, ``""`` clears it.

    Departments change through ``batch_update_user_depts``.
    """

    user_name: str | None = None
    def_dept_id: str | None = None  # the SDK sends the id as a string


class NewUser(UserUpdate):
    """A person to create: a name and at least one department; the other fields as in :class:`UserUpdate`."""

    user_name: str
    dept_ids: list[str]


class NewDept(WpsRequest):
    name: str
    parent_id: str
    order: int | None = None
    ex_dept_id: str | None = None
    leaders: list[DeptLeaderIn] | None = None


class DeptUpdate(WpsRequest):
    name: str | None = None
    parent_id: str | None = None
    order: int | None = None
    ex_dept_id: str | None = None
    leaders: list[DeptLeaderIn] | None = None


class DeptLeaderIn(WpsRequest):
    user_id: str
    order: int | None = None


class AttrOptionIn(WpsRequest):
    name: str
    key: str | None = None


class NewAttrDefinition(WpsRequest):
    name: str
    value_type: str
    options: list[AttrOptionIn] | None = None


class AttrDefinitionUpdate(WpsRequest):
    """A definition's new name and/or its complete new option list."""

    id: str
    name: str | None = None
    value_type: str | None = None
    options: list[AttrOptionIn] | None = None


class UrlIn(WpsRequest):
    title: str = ""
    link: str


class AttrValueIn(WpsRequest):
    """One attribute's new value: fill the field of the attribute's value type (empty clears it)."""

    attr_id: str
    text: str | None = None
    option: str | None = None
    relation_user: str | None = None
    relation_depts: list[str] | None = None
    url: UrlIn | None = None


class UserDepts(WpsRequest):
    """A user's new departments (and main department)."""

    user_id: str
    dept_ids: list[str]
    def_dept_id: str | None = None


class UserOrder(WpsRequest):
    """A user's order within one of their departments."""

    user_id: str
    dept_id: str
    order: int


class UserAttrsUpdate(WpsRequest):
    user_id: str
    custom_attrs: list[AttrValueIn]


NewDept.model_rebuild()
DeptUpdate.model_rebuild()
