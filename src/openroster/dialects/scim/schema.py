"""The attributes the dialect supports, declared once (RFC 7643 §7): ``/Schemas`` renders them, the
filter and ``sortBy`` take their type and case rule from them, PATCH their mutability."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from openroster.dialects.scim import CUSTOM_USER, DEPARTMENT, ENTERPRISE_USER, GROUP, SCHEMA, USER
from openroster.model.entities import AttributeDefinition, ValueType


@dataclass(frozen=True, slots=True)
class Attr:
    name: str
    type: str = "string"
    multi: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    required: bool = False
    description: str = ""
    sub: tuple[Attr, ...] = ()
    canonical: tuple[str, ...] = ()
    #: What a reference attribute may point at (RFC 7643 ``referenceTypes``).
    refers_to: tuple[str, ...] = ("User",)

    def child(self, name: str) -> Attr | None:
        low = name.lower()
        return next((a for a in self.sub if a.name.lower() == low), None)

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.canonical:
            out["canonicalValues"] = list(self.canonical)
        if self.type == "reference":
            out["referenceTypes"] = list(self.refers_to)
        if self.sub:
            out["subAttributes"] = [a.render() for a in self.sub]
        return out


def _value(description: str) -> Attr:
    return Attr("value", description=description)


USER_ATTRS: tuple[Attr, ...] = (
    Attr("id", case_exact=True, mutability="readOnly", returned="always", uniqueness="server"),
    Attr("externalId", case_exact=True, description="The person's ex_user_id."),
    Attr("userName", required=True, uniqueness="server", description="The person's email."),
    Attr(
        "name",
        type="complex",
        description="name.formatted is the person's name; the given and family names make it when "
        "neither it nor displayName is given, and are not kept.",
        sub=(
            Attr("formatted"),
            Attr("familyName", mutability="writeOnly", returned="never"),
            Attr("givenName", mutability="writeOnly", returned="never"),
        ),
    ),
    Attr("displayName", description="The person's name."),
    Attr("title"),
    Attr("active", type="boolean", description="true: active; false: disabled (or not yet active, or left)."),
    Attr(
        "emails",
        type="complex",
        multi=True,
        description="The person's email (the same as userName), type work, primary.",
        sub=(
            _value("The address."),
            Attr("type", canonical=("work",)),
            Attr("primary", type="boolean", mutability="readOnly", description="Always true."),
        ),
    ),
    Attr(
        "phoneNumbers",
        type="complex",
        multi=True,
        description="mobile: the person's mobile; work: their telephone.",
        sub=(
            _value("The number."),
            Attr("type", canonical=("mobile", "work")),
        ),
    ),
    Attr(
        "groups",
        type="complex",
        multi=True,
        mutability="readOnly",
        description="The person's departments.",
        sub=(
            Attr("value", case_exact=True, mutability="readOnly"),
            Attr("display", mutability="readOnly"),
            Attr("type", mutability="readOnly", canonical=("direct",)),
            Attr("$ref", type="reference", case_exact=True, mutability="readOnly", refers_to=("Group",)),
        ),
    ),
)

ENTERPRISE_ATTRS: tuple[Attr, ...] = (
    Attr("employeeNumber", description="The person's employee_id."),
    Attr(
        "department",
        mutability="readOnly",
        description="The name of the person's main department (read-only).",
    ),
    Attr(
        "manager",
        type="complex",
        description="manager.value is the id of the person's leader.",
        sub=(
            Attr("value", case_exact=True, description="The leader's id."),
            Attr("$ref", type="reference", case_exact=True, description="The leader's location."),
            Attr("displayName", mutability="readOnly"),
        ),
    ),
)

GROUP_ATTRS: tuple[Attr, ...] = (
    Attr("id", case_exact=True, mutability="readOnly", returned="always", uniqueness="server"),
    Attr("externalId", case_exact=True, uniqueness="server", description="The department's ex_dept_id."),
    Attr(
        "displayName",
        required=True,
        description="The department's name (unique among its parent's children).",
    ),
    Attr(
        "members",
        type="complex",
        multi=True,
        description="The department's direct members (people only).",
        sub=(
            Attr("value", case_exact=True, mutability="immutable", description="A person's id."),
            Attr("type", mutability="immutable", canonical=("User",)),
            Attr("$ref", type="reference", case_exact=True, mutability="immutable"),
        ),
    ),
)

DEPARTMENT_ATTRS: tuple[Attr, ...] = (
    Attr(
        "parent",
        type="complex",
        description="The parent department (the root when a Group is created without one).",
        sub=(
            Attr("value", case_exact=True, description="The parent's id."),
            Attr(
                "$ref",
                type="reference",
                case_exact=True,
                refers_to=("Group",),
                description="The parent's location (names the parent too, and wins over value).",
            ),
        ),
    ),
)

#: The common attributes (RFC 7643 §3.1) every resource has besides its schema's.
META = Attr(
    "meta",
    type="complex",
    mutability="readOnly",
    sub=(
        Attr("resourceType", case_exact=True, mutability="readOnly"),
        Attr("created", type="dateTime", mutability="readOnly"),
        Attr("lastModified", type="dateTime", mutability="readOnly"),
        Attr("location", case_exact=True, mutability="readOnly"),
        Attr("version", case_exact=True, mutability="readOnly"),
    ),
)

#: Every schema the dialect serves, by URN: (name, description, attributes).
SCHEMAS: dict[str, tuple[str, str, tuple[Attr, ...]]] = {
    USER: ("User", "A person of the directory", USER_ATTRS),
    ENTERPRISE_USER: ("EnterpriseUser", "Enterprise attributes of a person", ENTERPRISE_ATTRS),
    GROUP: ("Group", "A department of the directory", GROUP_ATTRS),
    DEPARTMENT: ("Department", "Where a department sits in the tree", DEPARTMENT_ATTRS),
    # Its attributes are the tenant's custom attribute definitions: custom_scope() names them.
    CUSTOM_USER: ("CustomUser", "The tenant's custom attributes of a person", ()),
}

#: The custom attributes of the tenant whose request is being answered (see custom_scope).
_CUSTOM: ContextVar[tuple[Attr, ...]] = ContextVar("scim_custom_attrs", default=())


def _ref(description: str, refers_to: str) -> tuple[Attr, ...]:
    return (
        Attr("value", case_exact=True, description=description),
        Attr("$ref", type="reference", case_exact=True, refers_to=(refers_to,)),
    )


def custom_attr(a: AttributeDefinition) -> Attr:
    """The SCIM attribute of a custom attribute definition, typed as it is (docs/scim.md)."""
    about = f"{a.name} ({a.value_type.value})"
    if a.value_type is ValueType.OPTION:
        return Attr(a.id, description=about, case_exact=True, canonical=tuple(o.key for o in a.options))
    if a.value_type is ValueType.URL:
        link = Attr("link", type="reference", case_exact=True, refers_to=("external",))
        return Attr(a.id, type="complex", description=about, sub=(Attr("title"), link))
    if a.value_type is ValueType.RELATION_USER:
        return Attr(a.id, type="complex", description=about, sub=_ref("A person's id.", "User"))
    if a.value_type is ValueType.RELATION_DEPTS:
        return Attr(
            a.id, type="complex", multi=True, description=about, sub=_ref("A department's id.", "Group")
        )
    return Attr(a.id, description=about)


@contextmanager
def custom_scope(definitions: Sequence[AttributeDefinition]) -> Iterator[None]:
    """Inside the block, the custom extension's attributes are those of ``definitions`` (the tenant's)."""
    token = _CUSTOM.set(tuple(custom_attr(a) for a in definitions))
    try:
        yield
    finally:
        _CUSTOM.reset(token)


def served() -> list[str]:
    """The schemas served to the current tenant: the custom extension only when it has custom
    attributes (``/Schemas`` and ``/ResourceTypes`` describe exactly what is kept)."""
    return [urn for urn in SCHEMAS if urn != CUSTOM_USER or _CUSTOM.get()]


def attrs_of(urn: str) -> tuple[Attr, ...]:
    """The attributes of schema ``urn`` (the custom extension's: the current tenant's)."""
    return _CUSTOM.get() if urn == CUSTOM_USER else SCHEMAS[urn][2] if urn in SCHEMAS else ()


#: RFC 7643's User attributes (§4.1, §4.3) that openroster does not keep, and the read-only
#: ``department`` that Entra ID sends by default: a PATCH to one changes nothing, as a POST or PUT
#: ignores them (docs/scim.md).
IGNORED_ON_WRITE: dict[str, frozenset[str]] = {
    USER: frozenset(
        {
            "nickname",
            "profileurl",
            "usertype",
            "preferredlanguage",
            "locale",
            "timezone",
            "password",
            "addresses",
            "ims",
            "photos",
            "entitlements",
            "roles",
            "x509certificates",
        }
    ),
    ENTERPRISE_USER: frozenset({"costcenter", "organization", "division", "department"}),
}


def ignored_on_write(schema: str, name: str) -> bool:
    return name.lower() in IGNORED_ON_WRITE.get(schema, frozenset())


def find(schema: str, name: str) -> Attr | None:
    """The attribute ``name`` (any case) of ``schema``, or of the common ones (``meta``)."""
    low = name.lower()
    if low == "meta":
        return META
    return next((a for a in attrs_of(schema) if a.name.lower() == low), None)


def render(urn: str, base: str) -> dict[str, Any]:
    """The ``/Schemas/{urn}`` resource."""
    name, description, _ = SCHEMAS[urn]
    attrs = attrs_of(urn)
    return {
        "schemas": [SCHEMA],
        "id": urn,
        "name": name,
        "description": description,
        "attributes": [a.render() for a in attrs],
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{urn}"},
    }
