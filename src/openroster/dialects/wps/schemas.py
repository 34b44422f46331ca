"""Request bodies of the WPS endpoints, as strict pydantic models.

They describe the wire shape (and feed the OpenAPI document); the core checks
meaning. Unknown fields are ignored, as the platform does.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from openroster.dialects.validation import given, one_spelling


class _Body(BaseModel):
    # Only keys are worth caching: values are mostly ids, seldom the same twice in a row, and caching
    # them costs a lookup and an eviction in the parser's cache for each (docs/benchmarks.md).
    model_config = ConfigDict(strict=True, extra="ignore", cache_strings="keys")


class _OneSpelling(_Body):
    """A body with a field the platform's documents spell two ways (``_spellings``, both in its
    ``validation_alias``): either is accepted, both at once are refused as ambiguous."""

    _spellings: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _one_spelling(cls, data: Any) -> Any:
        one_spelling(given(data, cls._spellings))
        return data


class BatchReadUsersBody(_Body):
    user_ids: list[str] = Field(description="User ids; at most 100.")
    status: list[str] = Field(description="Statuses to return: active, notactive, disabled, dimission.")
    with_dept: bool = Field(default=False, description="Add depts[{id, name, abs_path}] to each user.")


class UserProfileFields(BaseModel):
    """The WPS user profile fields a client may set, every one optional: declared once for the
    wire, shared by the endpoints' bodies below and the SDK's ``UserUpdate`` (which add their
    own configuration). Pydantic alone, so the SDK can import it without the server."""

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


class _UserFields(_Body, UserProfileFields):
    """The profile fields of the create and update bodies."""


class CreateUserBody(_UserFields):
    user_name: str
    dept_ids: list[str | int]


class LeaderIn(_Body):
    user_id: str
    order: int = Field(default=0, description="The leader's order within the department.")


class CreateDeptBody(_Body):
    name: str
    parent_id: str | int
    order: int | None = None
    ex_dept_id: str | None = None
    leaders: list[LeaderIn] | None = Field(
        default=None, description="Leaders; a leader who is not a member becomes one."
    )


class UpdateDeptBody(_Body):
    name: str | None = None
    parent_id: str | int | None = Field(default=None, description="Move under this department.")
    order: int | None = None
    ex_dept_id: str | None = Field(default=None, description='"" clears it.')
    leaders: list[LeaderIn] | None = Field(default=None, description="Replaces the leader list.")


class DeptIdsBody(_Body):
    dept_ids: list[str | int] = Field(description="Department ids; at most 100.")


class ExDeptIdsBody(_Body):
    ex_dept_ids: list[str] = Field(description="External department ids; at most 100.")


class MembersBatchReadBody(_Body):
    user_ids: list[str] = Field(description="User ids; at most 100.")
    status: list[str] = Field(description="Statuses to return: active, notactive, disabled, dimission.")
    with_user_detail: bool = False


class _Lookup(_Body):
    status: list[str] = Field(default_factory=list, description="Statuses to return; empty: every status.")
    with_dept: bool = False


class ByEmailsBody(_Lookup):
    emails: list[str] = Field(description="Email addresses (case-insensitive); at most 100.")


class ByPhonesBody(_Lookup):
    phones: list[str] = Field(description="Phone numbers; at most 100.")


class ByExUserIdsBody(_Lookup):
    ex_user_ids: list[str] = Field(description="External user ids; at most 100.")


class UpdateUserBody(_UserFields):
    """Fields to change; absent or null leaves a field alone, "" clears it."""

    user_name: str | None = None


class UserIdsBody(_Body):
    user_ids: list[str] = Field(description="User ids; at most 100.")


class UserDeptsIn(_Body):
    user_id: str
    dept_ids: list[str | int]
    def_dept_id: str | int | None = None


class BatchUpdateDeptBody(_Body):
    """Either ``items`` (each user's own departments) or ``user_ids`` + ``dept_ids`` (the same for all)."""

    items: list[UserDeptsIn] | None = Field(
        default=None, description="Each user's new departments; at most 100 users."
    )
    user_ids: list[str] | None = Field(default=None, description="Users to put in dept_ids; at most 100.")
    dept_ids: list[str | int] | None = None
    def_dept_id: str | int | None = None


class UserOrderIn(_Body):
    user_id: str
    dept_id: str | int
    order: int


class BatchUpdateOrderBody(_Body):
    user_order_list: list[UserOrderIn]


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


class UpdateCustomAttrsBody(_OneSpelling):
    # The seed's field table says ``user_ids``; its example (what clients send) says ``users``.
    users: list[UserAttrsIn] = Field(validation_alias=AliasChoices("users", "user_ids"))
    _spellings = ("users", "user_ids")


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


class AttrDefUpdateIn(_OneSpelling):
    id: str = Field(validation_alias=AliasChoices("id", "attr_id"))
    name: str | None = None
    value_type: str | None = Field(default=None, description="Must equal the current type.")
    options: list[OptionIn] | None = Field(default=None, description="The complete new option list.")
    _spellings = ("id", "attr_id")


class UpdateAttrDefsBody(_Body):
    items: list[AttrDefUpdateIn]


class DeleteAttrDefsBody(_Body):
    attr_ids: list[str]
