"""Seed files: a YAML or JSON description of tenants to load (docs/seed.md).

A tenant's whole seed loads in one transaction through the core services, so a
bad seed changes nothing and its error names the item (``tenants[0].users[3].email``).
A tenant that already exists is skipped: loading the same seed twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import yaml

from openroster.core import apps, attributes, tenants, users
from openroster.core import depts as dept_service
from openroster.core.directory import Directory
from openroster.core.errors import CoreError, InvalidValue, MissingField
from openroster.core.model import AttributeUpdate, UserAttributeUpdate, ValueType
from openroster.store import depts as dept_rows
from openroster.store.base import WriteTx


class SeedError(CoreError):
    """The seed file is not valid; ``field`` says where."""


def read_seed(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        data = orjson.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise SeedError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tenants"), list):
        raise SeedError(f"{path}: a seed is an object with a 'tenants' list", field="tenants")
    return data


def load_seed(d: Directory, data: Mapping[str, Any]) -> list[str]:
    """Load every tenant of ``data`` that does not exist yet; returns the ids created."""
    created: list[str] = []
    for i, t in enumerate(data["tenants"]):
        where = f"tenants[{i}]"
        if not isinstance(t, dict) or not t.get("id"):
            raise SeedError(f"{where}.id is required", field=f"{where}.id")
        if tenants.find(d, str(t["id"])) is not None:
            continue
        try:
            load_tenant(d, t)
        except CoreError as exc:
            raise SeedError(
                f"{where}.{exc.message}" if exc.field else f"{where}: {exc.message}",
                field=f"{where}.{exc.field}" if exc.field else where,
            ) from None
        created.append(str(t["id"]))
    return created


def load_tenant(d: Directory, t: Mapping[str, Any]) -> None:
    """Load one tenant in one transaction: all of it, or nothing."""
    tenant_id = str(t["id"])
    tenant = tenants.build(
        d,
        tenant_id=tenant_id,
        name=str(t.get("name") or tenant_id),
        wps_company_id=t.get("wps_company_id"),
        dingtalk_corp_id=t.get("dingtalk_corp_id"),
    )
    with d.writer() as tx:
        tenants.create_in(tx, tenant, seed=orjson.dumps(t).decode())
        fill_in(tx, d, tenant_id, t)


def _list(t: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = t.get(key) or []
    if not isinstance(value, list):
        raise InvalidValue(f"{key} must be a list", field=key)
    return value


def fill_in(tx: WriteTx, d: Directory, tenant_id: str, t: Mapping[str, Any]) -> None:
    """Add a seed tenant's departments, users, attributes and apps to an existing tenant, in ``tx``."""
    by_path: dict[str, int] = {}

    def dept_ref(ref: Any) -> int:
        if isinstance(ref, int) and not isinstance(ref, bool):
            return ref
        key = "/".join(p for p in str(ref).split("/") if p)
        if key.isdigit():
            return int(key)
        if key not in by_path:
            by_path[key] = dept_service.ensure_path(tx, d, tenant_id=tenant_id, names=key.split("/")).id
        return by_path[key]

    for i, item in enumerate(_list(t, "departments")):
        spec: dict[str, Any] = {"path": item} if isinstance(item, str) else dict(item)
        names = [p for p in str(spec.get("path") or "").split("/") if p]
        if not names:
            raise MissingField(f"departments[{i}].path is required", field=f"departments[{i}].path")
        parent = dept_service.ensure_path(tx, d, tenant_id=tenant_id, names=names[:-1])
        dept = dept_rows.find_child_by_name(tx.conn, tenant_id, parent.id, names[-1])
        if dept is None:
            dept = dept_service.create_in(
                tx,
                d,
                tenant_id=tenant_id,
                field=f"departments[{i}]",
                item=dept_service.NewDepartment(
                    name=names[-1],
                    parent_id=parent.id,
                    order=_int_or_none(spec.get("order"), f"departments[{i}].order"),
                    ex_dept_id=spec.get("ex_dept_id"),
                    id=_int_or_none(spec.get("id"), f"departments[{i}].id"),
                ),
            )
        by_path["/".join(names)] = dept.id

    people: list[users.NewUser] = []
    for i, u in enumerate(_list(t, "users")):
        if not isinstance(u, dict):
            raise InvalidValue(f"users[{i}] must be an object", field=f"users[{i}]")
        fields: dict[str, Any] = {k: str(v) for k, v in u.items() if k in _USER_TEXT and v is not None}
        people.append(
            users.NewUser(
                dept_ids=tuple(dept_ref(r) for r in (u.get("depts") or u.get("dept_ids") or [1])),
                def_dept_id=dept_ref(u["def_dept"]) if u.get("def_dept") else None,
                leader_of=tuple(dept_ref(r) for r in u.get("leader_of") or []),
                **fields,
            )
        )
    created = users.create_in(tx, d, tenant_id=tenant_id, items=people)

    defs = (
        attributes.create_definitions_in(
            tx,
            d,
            tenant_id=tenant_id,
            items=[
                attributes.NewDefinition(
                    id=a.get("id"),
                    name=str(a.get("name", "")),
                    value_type=str(a.get("value_type", "")),
                    options=tuple((o.get("key"), str(o.get("name", ""))) for o in a.get("options") or []),
                )
                for a in _list(t, "custom_attributes")
            ],
        )
        if t.get("custom_attributes")
        else []
    )
    by_key = {a.name: a for a in defs} | {a.id: a for a in defs}
    updates: list[UserAttributeUpdate] = []
    for i, (u, made) in enumerate(zip(_list(t, "users"), created, strict=True)):
        attrs: list[AttributeUpdate] = []
        for key, value in (u.get("custom_attrs") or {}).items():
            a = by_key.get(key)
            if a is None:
                raise InvalidValue(
                    f"users[{i}].custom_attrs: no attribute {key!r}", field=f"users[{i}].custom_attrs"
                )
            attrs.append(_attr_update(a.id, a.value_type, value, dept_ref))
        if attrs:
            updates.append(UserAttributeUpdate(user_id=made.id, attrs=tuple(attrs)))
    for start in range(0, len(updates), 100):
        attributes.update_values_in(tx, tenant_id=tenant_id, updates=updates[start : start + 100])

    for i, a in enumerate(_list(t, "apps")):
        if not isinstance(a, dict):
            raise InvalidValue(f"apps[{i}] must be an object", field=f"apps[{i}]")
        apps.create_in(
            tx,
            d,
            apps.build(
                d,
                tenant_id=tenant_id,
                name=a.get("name"),
                scopes=a.get("scopes") or [],
                signing=a.get("signing") or "none",
                client_id=a.get("client_id"),
                secret=a.get("client_secret"),
                agentid=a.get("agentid"),
            ),
        )


_USER_TEXT = frozenset(
    {
        "id",
        "user_name",
        "email",
        "phone",
        "gender",
        "employee_id",
        "employer",
        "employment_status",
        "employment_type",
        "ex_user_id",
        "leader_id",
        "login_name",
        "role",
        "status",
        "title",
        "telephone",
        "work_place",
        "city",
        "country",
        "avatar",
    }
)


def _attr_update(attr_id: str, vt: ValueType, value: Any, dept_ref: Callable[[Any], int]) -> AttributeUpdate:
    if vt is ValueType.URL:
        v = value if isinstance(value, dict) else {"link": str(value)}
        return AttributeUpdate(
            attr_id=attr_id, url_title=v.get("title"), url_link=v.get("link"), has_url=True
        )
    if vt is ValueType.RELATION_DEPTS:
        return AttributeUpdate(attr_id=attr_id, relation_depts=tuple(str(dept_ref(r)) for r in value))
    if vt is ValueType.OPTION:
        return AttributeUpdate(attr_id=attr_id, option=str(value))
    if vt is ValueType.RELATION_USER:
        return AttributeUpdate(attr_id=attr_id, relation_user=str(value))
    return AttributeUpdate(attr_id=attr_id, text=str(value))


def _int_or_none(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{field} must be an integer", field=field)
    return value
