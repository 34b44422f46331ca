"""A person as a SCIM User and back (the mapping table of docs/scim.md), its version, and the
``attributes``/``excludedAttributes`` selection."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from openroster.core.directory import Reader
from openroster.dialects.scim import ENTERPRISE_USER, USER
from openroster.dialects.scim.errors import ScimError, ScimType, bad
from openroster.dialects.scim.filter import attr_path
from openroster.model.entities import User, UserStatus


def _time(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def version(resource: dict[str, Any]) -> str:
    """The weak ETag of a resource: a digest of what it shows (``meta`` aside)."""
    shown = {k: v for k, v in resource.items() if k != "meta"}
    return 'W/"' + hashlib.sha256(orjson.dumps(shown, option=orjson.OPT_SORT_KEYS)).hexdigest()[:20] + '"'


def user_name_of(u: User) -> str:
    """A person's ``userName``: their email, else their login name, else their id."""
    return u.email if u.email is not None else u.login_name if u.login_name is not None else u.id


def user_resource(r: Reader, u: User, base: str) -> dict[str, Any]:
    """``u`` as a SCIM User, ``meta.version`` included."""
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
        res["groups"] = [{"value": str(i), "display": names.get(i, ""), "type": "direct"} for i in u.dept_ids]
    ext: dict[str, Any] = {}
    if u.employee_id is not None:
        ext["employeeNumber"] = u.employee_id
    if u.def_dept_id is not None and u.def_dept_id in names:
        ext["department"] = names[u.def_dept_id]
    if u.leader_id is not None:
        ext["manager"] = {"value": u.leader_id, "$ref": f"{base}/Users/{u.leader_id}"}
    if ext:
        res[ENTERPRISE_USER] = ext
    res["meta"] = {
        "resourceType": "User",
        "created": _time(u.ctime),
        "lastModified": _time(u.mtime),
        "location": f"{base}/Users/{u.id}",
    }
    res["meta"]["version"] = version(res)
    return res


@dataclass(frozen=True, slots=True)
class UserFields:
    """What a SCIM User says of a person: the name, whether active, and every mapped field in core's
    names (``""``: clear it)."""

    user_name: str
    active: bool
    changes: dict[str, str]


def _get(obj: dict[str, Any], name: str) -> Any:
    low = name.lower()
    return next((v for k, v in obj.items() if k.lower() == low), None)


def _text(v: Any, name: str) -> str:
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
    chosen = [v for v in items if isinstance(v, dict) and str(_get(v, "type") or "").lower() == kind]
    return _text(_get(chosen[0], "value"), f"{name}.value") if chosen else ""


def user_fields(res: Any, *, shown_name: str | None = None) -> UserFields:
    """The person ``res`` (a User resource) describes; absent attributes clear. The name is
    ``displayName``, else ``name.formatted``, else the given and family names; ``shown_name``: the
    name the person had (a PATCH that changed only ``name.formatted`` renames them by it)."""
    if not isinstance(res, dict):
        raise bad("the body must be a JSON object", ScimType.INVALID_SYNTAX)
    schemas = res.get("schemas")
    if not isinstance(schemas, list) or USER not in schemas:
        raise bad(f"schemas must hold {USER}", ScimType.INVALID_SYNTAX)
    user_name = _text(_get(res, "userName"), "userName").strip()
    if not user_name:
        raise bad("userName is required")
    name = _get(res, "name")
    name = name if isinstance(name, dict) else {}
    given = _text(_get(res, "displayName"), "displayName").strip()
    formatted = _text(_get(name, "formatted"), "name.formatted").strip()
    display = formatted if formatted and given == shown_name else (given or formatted)
    if not display:
        parts = (
            _text(_get(name, "givenName"), "name.givenName"),
            _text(_get(name, "familyName"), "name.familyName"),
        )
        display = " ".join(p.strip() for p in parts if p.strip()) or user_name
    active = _get(res, "active")
    if isinstance(active, str) and active.lower() in ("true", "false"):
        active = active.lower() == "true"  # Entra sends "False"
    if active is None:
        active = True
    if not isinstance(active, bool):
        raise bad("active must be a boolean")
    ext = _get(res, ENTERPRISE_USER)
    ext = ext if isinstance(ext, dict) else {}
    manager = _get(ext, "manager")
    manager_id = _get(manager, "value") if isinstance(manager, dict) else manager
    ref = _get(manager, "$ref") if isinstance(manager, dict) else None
    if isinstance(ref, str) and "/Users/" in ref:  # a location names the leader exactly
        manager_id = ref.rstrip("/").rsplit("/", 1)[1]
    changes = {
        "user_name": display,
        # userName is the email; one that is no email address is the login name (docs/scim.md).
        "email": user_name if "@" in user_name else "",
        "ex_user_id": _text(_get(res, "externalId"), "externalId"),
        "title": _text(_get(res, "title"), "title"),
        "phone": _typed(_get(res, "phoneNumbers"), "mobile", "phoneNumbers"),
        "telephone": _typed(_get(res, "phoneNumbers"), "work", "phoneNumbers"),
        "employee_id": _text(_get(ext, "employeeNumber"), "employeeNumber"),
        "leader_id": _text(manager_id, "manager.value"),
    }
    if "@" not in user_name:
        changes["login_name"] = user_name
    return UserFields(display, active, changes)


#: Attributes returned whatever ``attributes``/``excludedAttributes`` say (RFC 7643 ``returned: always``).
_ALWAYS = frozenset({"id", "schemas"})


def _paths(text: str | None, param: str) -> list[tuple[str, str, str | None]]:
    out = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        try:
            p = attr_path(part.strip())
        except ValueError as exc:
            raise ScimError(400, f"{param}: {exc}", ScimType.INVALID_VALUE) from None
        out.append((p.schema, p.name.lower(), p.sub.lower() if p.sub else None))
    return out


def select(res: dict[str, Any], attributes: str | None, excluded: str | None) -> dict[str, Any]:
    """``res`` with only the ``attributes`` asked for, or without the ``excluded`` ones (RFC 7644 §3.9)."""
    wanted, dropped = _paths(attributes, "attributes"), _paths(excluded, "excludedAttributes")
    if not wanted and not dropped:
        return res

    def pick(obj: dict[str, Any], urn: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            low = k.lower()
            if urn == USER and k in (ENTERPRISE_USER,) and isinstance(v, dict):
                if sub := pick(v, ENTERPRISE_USER):
                    out[k] = sub
                continue
            if urn == USER and low in _ALWAYS:
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

    return pick(res, USER)
