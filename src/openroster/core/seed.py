"""Seed files: a YAML or JSON description of tenants to load (docs/seed.md).

A whole seed loads in one transaction through the core services, so a bad
seed changes nothing and its error names the item (``tenants[0].users[3].email``).
A tenant that already exists is skipped: loading the same seed twice is harmless.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import yaml

from openroster.core import apps, attributes, limits, tenants, users
from openroster.core import depts as dept_service
from openroster.core.directory import Directory
from openroster.model.entities import USER_TEXT_FIELDS, AttributeUpdate, UserAttributeUpdate, ValueType
from openroster.model.errors import CoreError
from openroster.store import depts as dept_rows
from openroster.store import tenants as tenant_rows
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
    """Load every tenant of ``data`` that does not exist yet, in one transaction; returns the ids created.

    A bad seed changes nothing, even when the item at fault is in its last tenant.
    """
    created: list[str] = []
    with d.writer() as tx:
        for i, t in enumerate(data["tenants"]):
            where = f"tenants[{i}]"
            if not isinstance(t, dict) or not t.get("id"):
                raise SeedError(f"{where}.id is required", field=f"{where}.id")
            tenant_id = str(t["id"])
            if tenant_id in created:
                raise SeedError(
                    f"{where}.id: tenant {tenant_id!r} appears twice in this seed", field=f"{where}.id"
                )
            if tenant_rows.get_tenant(tx.conn, tenant_id) is not None:
                continue
            try:
                _create_tenant_in(tx, d, t)
            except CoreError as exc:
                raise _moved(exc, where) from None
            created.append(tenant_id)
    return created


def load_tenant(d: Directory, t: Mapping[str, Any]) -> None:
    """Load one tenant in one transaction: all of it, or nothing."""
    with d.writer() as tx:
        _create_tenant_in(tx, d, t)


def _create_tenant_in(tx: WriteTx, d: Directory, t: Mapping[str, Any]) -> None:
    tenant_id = str(t["id"])
    tenant = tenants.build(
        d,
        tenant_id=tenant_id,
        name=str(t.get("name") or tenant_id),
        wps_company_id=t.get("wps_company_id"),
        dingtalk_corp_id=t.get("dingtalk_corp_id"),
    )
    tenants.create_in(tx, tenant, seed=orjson.dumps(t).decode())
    fill_in(tx, d, tenant_id, t)


def _moved(exc: CoreError, where: str, *, old: str = "") -> SeedError:
    """``exc`` as a :class:`SeedError` about the seed item ``where`` (its field ``old...`` renamed)."""
    field = exc.field or ""
    rest = field[len(old) :] if old and field.startswith(old) else field
    new_field = f"{where}{rest}" if rest.startswith(("[", ".")) else ".".join(p for p in (where, rest) if p)
    if field and exc.message.startswith(field):
        message = new_field + exc.message[len(field) :]
    else:
        message = f"{new_field}: {exc.message}" if new_field else exc.message
    return SeedError(message, field=new_field or None)


@contextmanager
def _at(where: str, *, old: str = "") -> Iterator[None]:
    """Errors the core raises inside the block name the seed item ``where``."""
    try:
        yield
    except CoreError as exc:
        raise _moved(exc, where, old=old) from None


def _list(t: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = t.get(key) or []
    if not isinstance(value, list):
        raise SeedError(f"{key} must be a list", field=key)
    return value


def _mapping(value: Any, field: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SeedError(f"{field} must be {what}", field=field)
    return value


def fill_in(tx: WriteTx, d: Directory, tenant_id: str, t: Mapping[str, Any]) -> None:
    """Add a seed tenant's departments, users, attributes and apps to an existing tenant, in ``tx``.

    Errors are :class:`SeedError` naming the item of ``t`` at fault (``users[3].email``).
    """
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

    def dept_refs(value: Any, field: str) -> tuple[int, ...]:
        if not isinstance(value, list):
            raise SeedError(f"{field} must be a list of department paths or ids", field=field)
        with _at(field):
            return tuple(dept_ref(r) for r in value)

    for i, item in enumerate(_list(t, "departments")):
        where = f"departments[{i}]"
        spec = {"path": item} if isinstance(item, str) else _mapping(item, where, "a path or a mapping")
        names = [p for p in str(spec.get("path") or "").split("/") if p]
        if not names:
            raise SeedError(f"{where}.path is required", field=f"{where}.path")
        with _at(where):
            parent = dept_service.ensure_path(tx, d, tenant_id=tenant_id, names=names[:-1])
        dept = dept_rows.find_child_by_name(tx.conn, tenant_id, parent.id, names[-1])
        if dept is None:
            ex_id = spec.get("ex_dept_id")
            with _at(where, old=where):
                dept = dept_service.create_in(
                    tx,
                    d,
                    tenant_id=tenant_id,
                    field=where,
                    item=dept_service.NewDepartment(
                        name=names[-1],
                        parent_id=parent.id,
                        order=_int_or_none(spec.get("order"), f"{where}.order"),
                        ex_dept_id=None if ex_id is None else str(ex_id),
                        id=_int_or_none(spec.get("id"), f"{where}.id"),
                    ),
                )
        by_path["/".join(names)] = dept.id

    seed_users = _list(t, "users")
    people: list[users.NewUser] = []
    for i, raw_user in enumerate(seed_users):
        where = f"users[{i}]"
        u = _mapping(raw_user, where, "a mapping of user fields")
        fields: dict[str, Any] = {k: str(v) for k, v in u.items() if k in _USER_FIELDS and v is not None}
        people.append(
            users.NewUser(
                user_name=fields.pop("user_name", ""),
                dept_ids=dept_refs(u.get("depts", u.get("dept_ids", [1])), f"{where}.depts"),
                def_dept_id=dept_refs([u["def_dept"]], f"{where}.def_dept")[0] if u.get("def_dept") else None,
                leader_of=dept_refs(u.get("leader_of") or [], f"{where}.leader_of"),
                **fields,
            )
        )
    created = users.create_in(tx, d, tenant_id=tenant_id, items=people)

    new_defs: list[attributes.NewDefinition] = []
    for i, raw_def in enumerate(_list(t, "custom_attributes")):
        where = f"custom_attributes[{i}]"
        a = _mapping(raw_def, where, "a mapping with id, name, value_type and options")
        options = a.get("options") or []
        if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
            raise SeedError(f"{where}.options must be a list of {{key, name}}", field=f"{where}.options")
        new_defs.append(
            attributes.NewDefinition(
                id=None if a.get("id") is None else str(a["id"]),
                name=str(a.get("name", "")),
                value_type=str(a.get("value_type", "")),
                options=tuple(
                    (None if o.get("key") is None else str(o["key"]), str(o.get("name", ""))) for o in options
                ),
            )
        )
    defs = []
    if new_defs:
        with _at("custom_attributes", old="items"):
            defs = attributes.create_definitions_in(tx, d, tenant_id=tenant_id, items=new_defs)
    by_key = {a.name: a for a in defs} | {a.id: a for a in defs}

    # Values go to the core in chunks of its batch limit; an error there names
    # users[k].custom_attrs[j] of the chunk, which is mapped back to the seed's
    # users[i].custom_attrs.<key>.
    updates: list[tuple[int, list[str], UserAttributeUpdate]] = []
    for i, (u, made) in enumerate(zip(seed_users, created, strict=True)):
        where = f"users[{i}].custom_attrs"
        values = _mapping(u.get("custom_attrs") or {}, where, "a mapping of attribute name or id to value")
        keys: list[str] = []
        attrs: list[AttributeUpdate] = []
        for key, value in values.items():
            definition = by_key.get(key)
            if definition is None:
                raise SeedError(f"{where}.{key}: no attribute {key!r} is defined", field=f"{where}.{key}")
            with _at(f"{where}.{key}"):
                attrs.append(_attr_update(definition.id, definition.value_type, value, dept_ref))
            keys.append(str(key))
        if attrs:
            updates.append((i, keys, UserAttributeUpdate(user_id=made.id, attrs=tuple(attrs))))
    step = limits.ATTR_UPDATE_USERS_MAX
    for start in range(0, len(updates), step):
        chunk = updates[start : start + step]
        try:
            attributes.update_values_in(tx, tenant_id=tenant_id, updates=[u for _, _, u in chunk])
        except CoreError as exc:
            m = _VALUE_FIELD.match(exc.field or "")
            if m is None:
                raise _moved(exc, "") from None
            i, keys, _ = chunk[int(m["user"])]
            key = keys[int(m["attr"])]
            raise _moved(exc, f"users[{i}].custom_attrs.{key}", old=m[0][: m.start("rest")]) from None

    for i, raw_app in enumerate(_list(t, "apps")):
        where = f"apps[{i}]"
        a = _mapping(raw_app, where, "a mapping with client_id, client_secret, signing and scopes")
        scopes = a.get("scopes") or []
        if not isinstance(scopes, list):
            raise SeedError(f"{where}.scopes must be a list", field=f"{where}.scopes")
        with _at(where):
            apps.create_in(
                tx,
                d,
                apps.build(
                    d,
                    tenant_id=tenant_id,
                    name=a.get("name"),
                    scopes=[str(s) for s in scopes],
                    signing=str(a.get("signing") or "none"),
                    client_id=None if a.get("client_id") is None else str(a["client_id"]),
                    secret=None if a.get("client_secret") is None else str(a["client_secret"]),
                    agentid=_int_or_none(a.get("agentid"), "agentid"),
                ),
            )


#: ``users[k].custom_attrs[j]<rest>``, as the core names a value; ``rest`` drops the value-type word.
_VALUE_FIELD = re.compile(
    r"^users\[(?P<user>\d+)\]\.custom_attrs\[(?P<attr>\d+)\]"
    r"(?:\.(?:text|option|relation_user|relation_depts|url))?(?P<rest>.*)$"
)

_USER_FIELDS = frozenset(USER_TEXT_FIELDS) | {"id", "gender", "role", "status"}


def _attr_update(attr_id: str, vt: ValueType, value: Any, dept_ref: Callable[[Any], int]) -> AttributeUpdate:
    if vt is ValueType.URL:
        v = value if isinstance(value, dict) else {"link": str(value)}
        return AttributeUpdate(
            attr_id=attr_id, url_title=v.get("title"), url_link=v.get("link"), has_url=True
        )
    if vt is ValueType.RELATION_DEPTS:
        refs = value if isinstance(value, list) else [value]
        return AttributeUpdate(attr_id=attr_id, relation_depts=tuple(str(dept_ref(r)) for r in refs))
    if vt is ValueType.OPTION:
        return AttributeUpdate(attr_id=attr_id, option=str(value))
    if vt is ValueType.RELATION_USER:
        return AttributeUpdate(attr_id=attr_id, relation_user=str(value))
    return AttributeUpdate(attr_id=attr_id, text=str(value))


def _int_or_none(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SeedError(f"{field} must be an integer", field=field)
    return value
