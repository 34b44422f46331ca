"""The core's types: plain, immutable values with no HTTP and no SQL in them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class UserStatus(StrEnum):
    ACTIVE = "active"
    NOTACTIVE = "notactive"
    DISABLED = "disabled"
    DIMISSION = "dimission"


#: Every account status; a filter naming them all filters nothing.
ALL_STATUSES: frozenset[str] = frozenset(s.value for s in UserStatus)
#: The user fields unique within a tenant, in the order conflicts are reported.
UNIQUE_USER_FIELDS: tuple[str, ...] = ("email", "phone", "employee_id", "ex_user_id", "login_name")


class Gender(StrEnum):
    UNDEFINED = "undefined"
    MALE = "male"
    FEMALE = "female"
    SECRECY = "secrecy"


class Role(StrEnum):
    SUPER_ADMIN = "super-admin"
    ADMIN = "admin"
    NORMAL = "normal"


#: The user fields that hold one of an enumeration's members, each with its enumeration and the
#: member an empty value means (``users.checked_columns`` gives these columns as members).
USER_CHOICES: dict[str, tuple[type[StrEnum], StrEnum]] = {
    "gender": (Gender, Gender.UNDEFINED),
    "role": (Role, Role.NORMAL),
    "status": (UserStatus, UserStatus.ACTIVE),
}


class Signing(StrEnum):
    NONE = "none"
    KSO1 = "kso1"
    WPS4 = "wps4"
    WPS4GM = "wps4gm"


class Platform(StrEnum):
    """The platform an app belongs to: only that platform's token endpoint knows it."""

    WPS = "wps"
    DINGTALK = "dingtalk"
    #: A SCIM 2.0 client (an identity provider): its secret is the bearer token of ``/scim/v2``.
    SCIM = "scim"

    @classmethod
    def of_scope(cls, scope: str) -> Platform | None:
        """Whose scope this is: ``kso.*`` is a WPS scope, ``qyapi_*`` and the ``/v1.0`` names
        (:data:`DINGTALK_V1_PERMISSIONS`) DingTalk permissions, ``scim`` the SCIM dialect's one scope."""
        if scope == SCIM_SCOPE:
            return cls.SCIM
        if scope.startswith(_WPS_SCOPE_PREFIX):
            return cls.WPS
        if scope.startswith(_DINGTALK_PERMISSION_PREFIX) or scope in DINGTALK_V1_PERMISSIONS:
            return cls.DINGTALK
        return None

    @classmethod
    def derived(cls, scopes: Iterable[str], agentid: int | None) -> Platform:
        """The platform of an app stored before apps named theirs: WPS if it holds a WPS scope, else
        DingTalk if it holds a DingTalk permission or an agentid, else WPS."""
        kinds = {cls.of_scope(s) for s in scopes}
        if cls.WPS in kinds:
            return cls.WPS
        if cls.DINGTALK in kinds or agentid is not None:
            return cls.DINGTALK
        if cls.SCIM in kinds:
            return cls.SCIM
        return cls.WPS


_WPS_SCOPE_PREFIX = "kso."
#: The scope of an app whose secret is a SCIM bearer token.
SCIM_SCOPE = "scim"
_DINGTALK_PERMISSION_PREFIX = "qyapi_"
#: DingTalk's permission names of the ``/v1.0`` generation that are not spelled ``qyapi_*``.
DINGTALK_V1_PERMISSIONS: frozenset[str] = frozenset(
    {"Hrm.Process.ReadWrite", "Pro.HrmPreentry.ReadWrite", "Contact.Common.Read"}
)


class ValueType(StrEnum):
    TEXT = "text"
    OPTION = "option"
    URL = "url"
    RELATION_USER = "relation_user"
    RELATION_DEPTS = "relation_depts"


ROOT_DEPT_ID = 1


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    wps_company_id: str | None
    dingtalk_corp_id: str | None
    ctime: int


@dataclass(frozen=True, slots=True)
class App:
    client_id: str
    tenant_id: str
    name: str
    secret: str
    secret_version: int
    scopes: frozenset[str]
    signing: Signing
    agentid: int | None
    ctime: int
    platform: Platform

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class Department:
    tenant_id: str
    id: int
    parent_id: int | None
    name: str
    order: int
    ex_dept_id: str | None
    abs_path: str
    ctime: int


@dataclass(frozen=True, slots=True)
class Membership:
    dept_id: int
    is_leader: bool
    order: int


@dataclass(frozen=True, slots=True)
class User:
    tenant_id: str
    id: str
    user_name: str
    email: str | None
    phone: str | None
    gender: Gender
    employee_id: str | None
    employer: str | None
    employment_status: str | None
    employment_type: str | None
    ex_user_id: str | None
    leader_id: str | None
    login_name: str | None
    role: Role
    status: UserStatus
    title: str | None
    telephone: str | None
    work_place: str | None
    city: str | None
    country: str | None
    avatar: str | None
    def_dept_id: int | None
    ctime: int
    mtime: int
    memberships: tuple[Membership, ...] = ()

    @property
    def dept_ids(self) -> tuple[int, ...]:
        return tuple(m.dept_id for m in self.memberships)


# The profile fields a caller may set on a user, with the core's type for each.
USER_TEXT_FIELDS: tuple[str, ...] = (
    "user_name",
    "email",
    "phone",
    "employee_id",
    "employer",
    "employment_status",
    "employment_type",
    "ex_user_id",
    "leader_id",
    "login_name",
    "title",
    "telephone",
    "work_place",
    "city",
    "country",
    "avatar",
)


@dataclass(frozen=True, slots=True)
class AttributeOption:
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class AttributeDefinition:
    tenant_id: str
    id: str
    name: str
    value_type: ValueType
    options: tuple[AttributeOption, ...]
    order: int
    ctime: int

    def option_keys(self) -> frozenset[str]:
        return frozenset(o.key for o in self.options)


@dataclass(frozen=True, slots=True)
class UrlValue:
    title: str
    link: str


AttributeValueData = str | tuple[int, ...] | UrlValue


class StoredValue(NamedTuple):
    """One stored roster value: its group, row (within a detail group), field and text."""

    group_id: str
    row: int
    field_code: str
    value: str


@dataclass(frozen=True, slots=True)
class FieldOption:
    """One option of a roster select field whose options the tenant changed: its value (the key a
    stored value holds), label and place. A ``deleted`` option is kept so that values holding it
    still read with their label; it is no longer offered nor accepted on a write."""

    field_code: str
    value: str
    label: str
    order: int
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class AttributeValue:
    """One user's value of one custom attribute.

    ``value`` is a ``str`` for text, option (the option key) and relation_user
    (a user id); a tuple of department ids for relation_depts; a
    :class:`UrlValue` for url.
    """

    attr_id: str
    value: AttributeValueData


class AttributeUpdate(NamedTuple):
    """A request to set one attribute of one user, before validation.

    A named tuple, not a frozen dataclass: a batch_update of 50 × 5 makes 250 of them from the
    body, and a frozen dataclass sets each of its eight fields through ``object.__setattr__``
    (about five times as long to make)."""

    attr_id: str
    text: str | None = None
    option: str | None = None
    relation_user: str | None = None
    relation_depts: tuple[str, ...] | None = None
    url_title: str | None = None
    url_link: str | None = None
    has_url: bool = False


@dataclass(frozen=True, slots=True)
class UserAttributeUpdate:
    user_id: str
    attrs: tuple[AttributeUpdate, ...]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A DingTalk access token as the store keeps it: sealed, looked up by its keyed hash."""

    token_hash: str
    client_id: str
    tenant_id: str
    token_sealed: bytes
    secret_version: int
    expires_at: int
    #: The tenant's DingTalk corp id (joined in when the token is looked up).
    corp_id: str | None = None
