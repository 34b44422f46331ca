"""A person as a SCIM User and back (the mapping table of docs/scim.md), its version, and the
``attributes``/``excludedAttributes`` selection."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from openroster.core.directory import Reader
from openroster.dialects.scim import CORE, CUSTOM_USER, ENTERPRISE_USER, USER, schema
from openroster.dialects.scim.errors import ScimError, ScimType, bad
from openroster.dialects.scim.filter import attr_path, get_any
from openroster.model.entities import User, UserStatus


def timestamp(ts: int) -> str:
    """``meta``'s form of a time: RFC 3339 in UTC."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def version(resource: dict[str, Any]) -> str:
    """The weak ETag of a resource: a digest of what it shows (``meta`` aside)."""
    shown = {k: v for k, v in resource.items() if k != "meta"}
    return 'W/"' + hashlib.sha256(orjson.dumps(shown, option=orjson.OPT_SORT_KEYS)).hexdigest()[:20] + '"'


def user_name_of(u: User) -> str:
    """A person's ``userName``: their email, else their login name, else their id."""
    return u.email if u.email is not None else u.login_name if u.login_name is not None else u.id


def user_resource(r: Reader, u: User, base: str, custom: dict[str, Any] | None = None) -> dict[str, Any]:
    """``u`` as a SCIM User, ``meta.version`` included; ``custom``: their custom extension object."""
    names = {d.id: d.name for d in r.depts(u.tenant_id, list(u.dept_ids)).values()}
    res: dict[str, Any] = {"schemas": [USER, ENTERPRISE_USER], "id": u.id}
    if u.ex_user_id is not None:
        res["externalId"] = u.ex_user_id
    res["userName"] = user_name_of(u)
    res["name"] = {"formatted": u.user_name}
    res["displayName"] = u.user_name
    if u.title is not None:
        res["title"] = u.title
    res["active"] = u.status is UserStatus.ACTIVE
    if u.email is not None:
        res["emails"] = [{"value": u.email, "type": "work", "primary": True}]
    phones = [
        {"value": v, "type": t} for v, t in ((u.phone, "mobile"), (u.telephone, "work")) if v is not None
    ]
    if phones:
        res["phoneNumbers"] = phones
    if u.dept_ids:
        res["groups"] = [
            {"value": str(i), "$ref": f"{base}/Groups/{i}", "display": names.get(i, ""), "type": "direct"}
            for i in u.dept_ids
        ]
    ext: dict[str, Any] = {}
    if u.employee_id is not None:
        ext["employeeNumber"] = u.employee_id
    if u.def_dept_id is not None and u.def_dept_id in names:
        ext["department"] = names[u.def_dept_id]
    if u.leader_id is not None:
        ext["manager"] = {"value": u.leader_id, "$ref": f"{base}/Users/{u.leader_id}"}
    if ext:
        res[ENTERPRISE_USER] = ext
    if custom:
        res["schemas"].append(CUSTOM_USER)
        res[CUSTOM_USER] = custom
    res["meta"] = {
        "resourceType": "User",
        "created": timestamp(u.ctime),
        "lastModified": timestamp(u.mtime),
        "location": f"{base}/Users/{u.id}",
    }
    res["meta"]["version"] = version(res)
    return res


def referenced(ref: Any, endpoint: str) -> Any:
    """The id a reference object (``manager``, a Group's ``parent``) names: from its ``$ref`` when that
    is a location under ``/{endpoint}/``, which names the resource exactly, else its ``value``."""
    if not isinstance(ref, dict):
        return None
    location = get_any(ref, "$ref")
    if isinstance(location, str) and f"/{endpoint}/" in location:
        return location.rstrip("/").rsplit("/", 1)[1]
    return get_any(ref, "value")


@dataclass(frozen=True, slots=True)
class UserFields:
    """What a SCIM User says of a person: the name, whether active, and every mapped field in core's
    names (``""``: clear it)."""

    user_name: str
    active: bool
    changes: dict[str, str]


def text_of(v: Any, name: str) -> str:
    """A string attribute's value (``""`` when absent); 400 when it is not a string."""
    if v is None:
        return ""
    if not isinstance(v, (str, int)) or isinstance(v, bool):
        raise bad(f"{name} must be a string")
    return str(v)


def _typed(items: Any, kind: str, name: str) -> str:
    if items is None:
        return ""
    if not isinstance(items, list):
        raise bad(f"{name} must be a list")
    chosen = [v for v in items if isinstance(v, dict) and str(get_any(v, "type") or "").lower() == kind]
    return text_of(get_any(chosen[0], "value"), f"{name}.value") if chosen else ""


def user_fields(res: Any, *, shown_name: str | None = None) -> UserFields:
    """The person ``res`` (a User resource) describes; absent attributes clear. The name is
    ``displayName``, else ``name.formatted``, else the given and family names; ``shown_name``: the
    name the person had (a PATCH that changed only ``name.formatted`` renames them by it)."""
    if not isinstance(res, dict):
        raise bad("the body must be a JSON object", ScimType.INVALID_SYNTAX)
    schemas = res.get("schemas")
    if not isinstance(schemas, list) or USER not in schemas:
        raise bad(f"schemas must hold {USER}", ScimType.INVALID_SYNTAX)
    user_name = text_of(get_any(res, "userName"), "userName").strip()
    if not user_name:
        raise bad("userName is required")
    name = get_any(res, "name")
    name = name if isinstance(name, dict) else {}
    given = text_of(get_any(res, "displayName"), "displayName").strip()
    formatted = text_of(get_any(name, "formatted"), "name.formatted").strip()
    display = formatted if formatted and given == shown_name else (given or formatted)
    if not display:
        parts = (
            text_of(get_any(name, "givenName"), "name.givenName"),
            text_of(get_any(name, "familyName"), "name.familyName"),
        )
        display = " ".join(p.strip() for p in parts if p.strip()) or user_name
    active = get_any(res, "active")
    if isinstance(active, str) and active.lower() in ("true", "false"):
        active = active.lower() == "true"  # Entra sends "False"
    if active is None:
        active = True
    if not isinstance(active, bool):
        raise bad("active must be a boolean")
    ext = get_any(res, ENTERPRISE_USER)
    ext = ext if isinstance(ext, dict) else {}
    manager = get_any(ext, "manager")
    manager_id = referenced(manager, "Users") if isinstance(manager, dict) else manager
    changes = {
        "user_name": display,
        # userName is the email; one that is no email address is the login name (docs/scim.md).
        "email": user_name if "@" in user_name else "",
        "ex_user_id": text_of(get_any(res, "externalId"), "externalId"),
        "title": text_of(get_any(res, "title"), "title"),
        "phone": _typed(get_any(res, "phoneNumbers"), "mobile", "phoneNumbers"),
        "telephone": _typed(get_any(res, "phoneNumbers"), "work", "phoneNumbers"),
        "employee_id": text_of(get_any(ext, "employeeNumber"), "employeeNumber"),
        "leader_id": text_of(manager_id, "manager.value"),
    }
    if "@" not in user_name:
        changes["login_name"] = user_name
    return UserFields(display, active, changes)


#: Attributes returned whatever ``attributes``/``excludedAttributes`` say (RFC 7643 ``returned: always``).
_ALWAYS = frozenset({"id", "schemas"})


def _paths(text: str | None, param: str, core: str) -> list[tuple[str, str, str | None]]:
    out = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        try:
            p = attr_path(part.strip(), default_schema=core)
        except ValueError as exc:
            raise ScimError(400, f"{param}: {exc}", ScimType.INVALID_VALUE) from None
        out.append((p.schema, p.name.lower(), p.sub.lower() if p.sub else None))
    return out


def select(res: dict[str, Any], attributes: str | None, excluded: str | None) -> dict[str, Any]:
    """``res`` with only the ``attributes`` asked for, or without the ``excluded`` ones (RFC 7644 §3.9);
    a name without a schema URN is of the resource's own schema (its first)."""
    core = res["schemas"][0]
    wanted = _paths(attributes, "attributes", core)
    dropped = _paths(excluded, "excludedAttributes", core)
    if not wanted and not dropped:
        return res

    def pick(obj: dict[str, Any], urn: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            low = k.lower()
            if urn in CORE and k in schema.SCHEMAS and isinstance(v, dict):  # an extension's object
                if sub := pick(v, k):
                    out[k] = sub
                continue
            if urn in CORE and low in _ALWAYS:
                out[k] = v
                continue
            subs = [s for (u, n, s) in wanted if u == urn and n == low]
            if wanted:
                if not subs:
                    continue
                if None in subs or not isinstance(v, (dict, list)):
                    out[k] = v
                elif isinstance(v, dict):
                    out[k] = {sk: sv for sk, sv in v.items() if sk.lower() in subs}
                else:
                    out[k] = [
                        {sk: sv for sk, sv in i.items() if sk.lower() in subs}
                        for i in v
                        if isinstance(i, dict)
                    ]
                continue
            gone = [s for (u, n, s) in dropped if u == urn and n == low]
            if None in gone:
                continue
            if gone and isinstance(v, dict):
                out[k] = {sk: sv for sk, sv in v.items() if sk.lower() not in gone}
            else:
                out[k] = v
        return out

    return pick(res, core)
