"""Request bodies of the WPS endpoints, as strict pydantic models.

They describe the wire shape (and feed the OpenAPI document); the core checks
meaning. Unknown fields are ignored, as the platform does.
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class BatchReadUsersBody(_Body):
    user_ids: list[str] = Field(description="User ids; at most 100.")
    status: list[str] = Field(description="Statuses to return: active, notactive, disabled, dimission.")
    with_dept: bool = Field(default=False, description="Add depts[{id, name, abs_path}] to each user.")


class CreateUserBody(_Body):
    user_name: str
    dept_ids: list[str | int]
    def_dept_id: str | int | None = None
    email: str | None = None
    phone: str | None = None
    gender: str | None = None
    employee_id: str | None = None
    employer: str | None = None
    employment_status: str | None = None
    employment_type: str | None = None
    ex_user_id: str | None = None
    leader_id: str | None = None
    login_name: str | None = None
    role: str | None = None
    title: str | None = None
    telephone: str | None = None
    work_place: str | None = None
    city: str | None = None
    country: str | None = None
    avatar: str | None = None


class CreateDeptBody(_Body):
    name: str
    parent_id: str | int
    order: int | None = None
    ex_dept_id: str | None = None


class UrlIn(_Body):
    title: str | None = None
    link: str | None = None


class AttrValueIn(_Body):
    attr_id: str
    option: str | None = None
    relation_depts: list[str | int] | None = None
    relation_user: str | None = None
    text: str | None = None
    url: UrlIn | None = None


class UserAttrsIn(_Body):
    user_id: str
    custom_attrs: list[AttrValueIn]


class UpdateCustomAttrsBody(_Body):
    # The seed's field table says ``user_ids``; its example (what clients send) says ``users``.
    users: list[UserAttrsIn] = Field(validation_alias=AliasChoices("users", "user_ids"))


class ReadCustomAttrsBody(_Body):
    user_ids: list[str]


class OptionIn(_Body):
    key: str | None = None
    name: str


class AttrDefIn(_Body):
    name: str
    value_type: str
    options: list[OptionIn] = Field(default_factory=list)


class CreateAttrDefsBody(_Body):
    items: list[AttrDefIn]
