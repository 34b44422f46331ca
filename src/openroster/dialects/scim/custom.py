"""The tenant's custom attributes in openroster's User extension (``CUSTOM_USER``, docs/scim.md): each
value shown as its definition types it, read for many people at once, and written from a User
resource through core, which checks it against its definition."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openroster.core.custom import attributes
from openroster.core.directory import Directory, Reader
from openroster.core.runtime import limits
from openroster.dialects.scim import CUSTOM_USER
from openroster.dialects.scim.errors import bad
from openroster.dialects.scim.filter import get_any
from openroster.dialects.scim.resources import referenced, text_of
from openroster.model.entities import (
    AttributeDefinition,
    AttributeUpdate,
    AttributeValue,
    UrlValue,
    UserAttributeUpdate,
    ValueType,
)
from openroster.model.errors import CoreError, Entity


def _shown(a: AttributeDefinition, v: AttributeValue, base: str) -> Any:
    data = v.value
    if isinstance(data, UrlValue):
        return {"title": data.title, "link": data.link}
    if isinstance(data, tuple):
        return [{"value": str(i), "$ref": f"{base}/Groups/{i}"} for i in data]
    if a.value_type is ValueType.RELATION_USER:
        return {"value": data, "$ref": f"{base}/Users/{data}"}
    return data


def extensions(
    r: Reader, tenant_id: str, user_ids: Sequence[str], base: str, *, fresh: bool = False
) -> dict[str, dict[str, Any]]:
    """Each person's custom extension object (people without a value are absent). Kept as rendered
    fragments of the person (dropped with them when their values change), stamped with what the
    definitions say of their rendering; only people not rendered yet are read, 50 at a time.
    ``fresh``: read everyone (a write job's reply, after its own writes: its fragments are its own
    and nothing drops them within it)."""
    defs = {a.id: a for a in r.definitions(tenant_id)}
    if not defs:
        return {}
    stamp = tuple((a.id, a.value_type) for a in defs.values())
    table = r.fragments(tenant_id, "user", ("scim.custom", base), stamp)
    ids = list(dict.fromkeys(user_ids))
    missing = ids if fresh else [u for u in ids if u not in table.entries]
    step = limits.ATTR_READ_USERS_MAX
    for start in range(0, len(missing), step):
        chunk = missing[start : start + step]
        got = attributes.read_values(r, tenant_id=tenant_id, user_ids=chunk)
        for uid in chunk:
            values = got.get(uid)
            if values is not None:  # a person who exists: their values, or None for none
                shown = {v.attr_id: _shown(defs[v.attr_id], v, base) for v in values} or None
                table.put(uid, (shown,))
    return {u: e[0] for u in ids if (e := table.entries.get(u)) is not None and e[0] is not None}


def _update(a: AttributeDefinition, v: Any) -> AttributeUpdate:
    """The update that gives attribute ``a`` the SCIM value ``v`` (None, ``""`` or ``[]``: clear it)."""
    name = f"{CUSTOM_USER}:{a.id}"
    empty = v is None or v in ("", [])
    vt = a.value_type
    if vt is ValueType.TEXT:
        return AttributeUpdate(a.id, text="" if empty else text_of(v, name))
    if vt is ValueType.OPTION:
        return AttributeUpdate(a.id, option="" if empty else text_of(v, name))
    if vt is ValueType.URL:
        if not empty and not isinstance(v, dict):
            raise bad(f"{name} must be an object with title and link")
        link, title = ("", "") if empty else (get_any(v, "link"), get_any(v, "title"))
        return AttributeUpdate(
            a.id,
            has_url=True,
            url_link=text_of(link, f"{name}.link"),
            url_title=text_of(title, f"{name}.title"),
        )
    if vt is ValueType.RELATION_USER:
        if empty:
            return AttributeUpdate(a.id, relation_user="")
        if not isinstance(v, dict):
            raise bad(f"{name} must be an object with the person's value")
        return AttributeUpdate(a.id, relation_user=text_of(referenced(v, "Users"), f"{name}.value"))
    items = [] if empty else v
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise bad(f"{name} must be a list of objects with a department's value")
    depts = tuple(text_of(referenced(i, "Groups"), f"{name}.value") for i in items)
    return AttributeUpdate(a.id, relation_depts=depts)


def updates(
    res: dict[str, Any], definitions: Sequence[AttributeDefinition], shown: dict[str, Any] | None
) -> tuple[AttributeUpdate, ...]:
    """What the custom extension of User resource ``res`` changes of the values ``shown`` (the
    person's extension object as it is; None: a new person). An attribute the extension leaves out
    is cleared, as PUT clears every mapped attribute; one of no definition is an ``invalidValue``."""
    ext = get_any(res, CUSTOM_USER)
    if ext is None:
        ext = {}
    if not isinstance(ext, dict):
        raise bad(f"{CUSTOM_USER} must be an object of custom attributes")
    by_name = {a.id.lower(): a for a in definitions}
    for key in ext:
        if key.lower() != "schemas" and key.lower() not in by_name:
            raise bad(f"{CUSTOM_USER}:{key}: no such custom attribute")
    current = shown or {}
    out = []
    for a in definitions:
        v = get_any(ext, a.id)
        if v != current.get(a.id) and not (v in (None, "", []) and a.id not in current):
            out.append(_update(a, v))
    return tuple(out)


def write(
    d: Directory,
    tenant_id: str,
    user_id: str,
    changes: Sequence[AttributeUpdate],
    definitions: Sequence[AttributeDefinition],
) -> None:
    """Write ``changes`` of one person's custom attributes; a value their definition refuses is an
    ``invalidValue`` naming the attribute (the request's other changes go with it: all or nothing)."""
    if not changes:
        return
    try:
        with d.writer() as tx:
            attributes.write_values_in(
                tx,
                tenant_id=tenant_id,
                updates=[UserAttributeUpdate(user_id, tuple(changes))],
                definitions=definitions,
            )
    except CoreError as exc:
        if exc.item_field is None or exc.item_field[0] is not Entity.ATTRIBUTE:
            raise
        raise bad(f"{CUSTOM_USER}:{exc.item_field[1]}: {exc.detail}") from None
