"""SCIM PATCH (RFC 7644 §3.5.2) on a rendered resource: ``add``, ``replace`` and ``remove``, with and
without ``path``, with value filters in paths; what the big clients send too (ops spelled with
capitals, ``"False"`` for a boolean, an empty string to remove, a remove that names its values).

The operations change a copy of the resource as rendered; the handler then writes it back as a PUT
would, so a PATCH is all-or-nothing like every write.
"""

from __future__ import annotations

import copy
from typing import Any

from openroster.dialects.scim import CORE, PATCH_OP, USER, schema
from openroster.dialects.scim.errors import ScimError, ScimType, bad
from openroster.dialects.scim.filter import (
    AttrPath,
    Compare,
    PatchPath,
    attr_path,
    container,
    definition,
    item_matches,
    parse_path,
)

#: The most operations one PATCH may carry (bulk member changes send hundreds).
MAX_OPERATIONS = 1000


def _coerced(attr: schema.Attr | None, value: Any) -> Any:
    """``value`` as the attribute's type where a client sent a string (Entra's ``"False"``)."""
    if attr is not None and attr.type == "boolean" and isinstance(value, str):
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad(f"{attr.name}: {value!r} is not a boolean")
    return value


def _key(obj: dict[str, Any], name: str) -> str:
    low = name.lower()
    return next((k for k in obj if k.lower() == low), name)


def _check_writable(path: AttrPath) -> schema.Attr:
    top = schema.find(path.schema, path.name)
    if top is None:
        raise ScimError(400, f"path: no attribute {path.name!r}", ScimType.INVALID_PATH)
    attr = top.child(path.sub) if path.sub is not None else top
    if attr is None:
        raise ScimError(400, f"path: {path.name} has no sub-attribute {path.sub!r}", ScimType.INVALID_PATH)
    if top.mutability == "readOnly" or attr.mutability == "readOnly":
        raise ScimError(400, f"{path.name} is read-only", ScimType.MUTABILITY)
    return attr


def _holder(resource: dict[str, Any], urn: str) -> dict[str, Any]:
    if urn in CORE:
        return resource
    key = _key(resource, urn)
    if not isinstance(resource.get(key), dict):
        resource[key] = {}
    held: dict[str, Any] = resource[key]
    return held


def _set(resource: dict[str, Any], path: AttrPath, value: Any, *, add: bool) -> None:
    attr = _check_writable(path)
    holder = _holder(resource, path.schema)
    key = _key(holder, path.name)
    if path.sub is not None:
        parent = holder.get(key)
        if not isinstance(parent, dict):
            parent = holder[key] = {}
        parent[_key(parent, path.sub)] = _coerced(attr, value)
        return
    if attr.multi:
        new = value if isinstance(value, list) else [value]
        holder[key] = ([*holder.get(key, [])] if add else []) + new
    elif attr.type == "complex" and isinstance(value, dict) and isinstance(holder.get(key), dict):
        holder[key] = {**holder[key], **value} if add else value
    else:
        holder[key] = _coerced(attr, value)


def _without_path(resource: dict[str, Any], value: Any, *, add: bool, core: str) -> None:
    if not isinstance(value, dict):
        raise bad("an operation without a path takes an object of attributes", ScimType.INVALID_SYNTAX)
    for name, v in value.items():
        if name.lower() == "schemas":
            continue
        urn = next((u for u in schema.SCHEMAS if u.lower() == name.lower()), None)
        if urn is not None and urn not in CORE:  # an extension's attributes, by its URN
            _extension(resource, "add" if add else "replace", urn, v)
            continue
        path = _path(name, core)
        if v == container(resource, path.schema).get(name) and path.sub is None:
            continue  # a value as it is, read-only ones too (Okta sends the id with a rename)
        _apply_one(resource, "add" if add else "replace", path, v)


def _apply_one(resource: dict[str, Any], op: str, path: AttrPath, value: Any) -> None:
    if schema.ignored_on_write(path.schema, path.name):
        return
    if value == "" or value is None:  # Entra removes an attribute by replacing it with ""
        _remove(resource, PatchPath(path), None)
    else:
        _set(resource, path, value, add=op == "add")


def _remove(resource: dict[str, Any], pp: PatchPath, value: Any) -> None:
    path = pp.path
    _check_writable(AttrPath(path.schema, path.name, pp.sub or path.sub))
    holder = container(resource, path.schema)
    key = _key(holder, path.name)
    if key not in holder:
        return
    if pp.where is None and isinstance(value, list) and isinstance(holder[key], list):
        # {"op": "Remove", "path": "members", "value": [{"value": id}]}: remove the values named.
        gone = {str(v.get("value")) for v in value if isinstance(v, dict)}
        holder[key] = [v for v in holder[key] if not (isinstance(v, dict) and str(v.get("value")) in gone)]
    elif pp.where is not None:
        kept = []
        for item in holder[key]:
            if isinstance(item, dict) and _item_matches(pp, item):
                if pp.sub is not None:
                    item.pop(_key(item, pp.sub), None)
                    kept.append(item)
                continue
            kept.append(item)
        holder[key] = kept
    elif path.sub is not None and isinstance(holder[key], dict):
        holder[key].pop(_key(holder[key], path.sub), None)
    else:
        del holder[key]


def _item_matches(pp: PatchPath, item: dict[str, Any]) -> bool:
    assert pp.where is not None
    return item_matches(pp.where, AttrPath(pp.path.schema, pp.path.name), item)


def _set_filtered(resource: dict[str, Any], pp: PatchPath, value: Any, op: str) -> None:
    """``emails[type eq "work"].value``: set ``sub`` (or the whole value) of each matching value; with
    none matching, a value made from the filter's ``eq`` (Entra adds a phone number so)."""
    _check_writable(AttrPath(pp.path.schema, pp.path.name, pp.sub))
    holder = _holder(resource, pp.path.schema)
    key = _key(holder, pp.path.name)
    items = holder.get(key) or []
    hit = False
    for i, item in enumerate(items):
        if isinstance(item, dict) and _item_matches(pp, item):
            hit = True
            if pp.sub is not None:
                item[_key(item, pp.sub)] = value
            elif isinstance(value, dict):
                items[i] = {**item, **value} if op == "add" else value
    if not hit:
        if not isinstance(pp.where, Compare) or pp.where.op != "eq":
            raise ScimError(400, f"no value of {pp.path.name} matches the path's filter", ScimType.NO_TARGET)
        made: dict[str, Any] = {pp.where.path.name: pp.where.value}
        if pp.sub is not None:
            made[pp.sub] = value
        elif isinstance(value, dict):
            made.update(value)
        items = [*items, made]
    holder[key] = items


def _extension(resource: dict[str, Any], op: str, urn: str, value: Any) -> None:
    """An operation whose path is an extension's URN: on each of its attributes (remove: every
    writable one)."""
    if op == "remove":
        for attr in schema.attrs_of(urn):
            if attr.mutability != "readOnly":
                _remove(resource, PatchPath(AttrPath(urn, attr.name)), None)
        return
    if not isinstance(value, dict):
        raise bad(f"{op} of {urn} takes an object of its attributes", ScimType.INVALID_SYNTAX)
    for name, v in value.items():
        if name.lower() != "schemas":
            _apply_one(resource, op, _path(f"{urn}:{name}"), v)


def _path(text: str, core: str = USER) -> AttrPath:
    try:
        return attr_path(text, default_schema=core)
    except ValueError as exc:
        raise ScimError(400, str(exc), ScimType.INVALID_PATH) from None


def apply(resource: dict[str, Any], body: Any, core: str = USER) -> dict[str, Any]:
    """``resource`` (of the schema ``core``) changed by the PATCH request ``body`` (a copy;
    ``resource`` is left as it was)."""
    if not isinstance(body, dict) or PATCH_OP not in (body.get("schemas") or []):
        raise bad(f"a PATCH request's schemas must hold {PATCH_OP}", ScimType.INVALID_SYNTAX)
    ops = body.get("Operations", body.get("operations"))
    if not isinstance(ops, list) or not ops:
        raise bad("Operations must be a non-empty list", ScimType.INVALID_SYNTAX)
    if len(ops) > MAX_OPERATIONS:
        raise bad(f"at most {MAX_OPERATIONS} operations per request", ScimType.TOO_MANY)
    out = copy.deepcopy(resource)
    for n, op_ in enumerate(ops):
        if not isinstance(op_, dict):
            raise bad(f"Operations[{n}] must be an object", ScimType.INVALID_SYNTAX)
        op = str(op_.get("op", "")).lower()
        path, value = op_.get("path"), op_.get("value")
        if op not in ("add", "replace", "remove"):
            raise bad(f"Operations[{n}].op must be add, replace or remove", ScimType.INVALID_SYNTAX)
        if path is None:
            if op == "remove":
                raise ScimError(400, f"Operations[{n}]: remove needs a path", ScimType.NO_TARGET)
            _without_path(out, value, add=op == "add", core=core)
            continue
        if not isinstance(path, str):
            raise ScimError(400, f"Operations[{n}].path must be a string", ScimType.INVALID_PATH)
        urn = next((u for u in schema.SCHEMAS if u not in CORE and u.lower() == path.lower()), None)
        if urn is not None:  # the path names a whole extension
            _extension(out, op, urn, value)
            continue
        pp = parse_path(path, core)
        if schema.ignored_on_write(pp.path.schema, pp.path.name):
            continue
        if op == "remove":
            _remove(out, pp, value)
        elif "value" not in op_:
            raise bad(f"Operations[{n}]: {op} needs a value", ScimType.INVALID_SYNTAX)
        elif pp.where is not None:
            _set_filtered(
                out, pp, _coerced(definition(AttrPath(pp.path.schema, pp.path.name, pp.sub)), value), op
            )
        else:
            _apply_one(out, op, pp.path, value)
    return out
