"""WPS v7 custom attributes: definitions and per-user values."""

from __future__ import annotations

from functools import partial
from typing import Any

from openroster.core.custom import attributes
from openroster.dialects.base import AfterCommit
from openroster.dialects.wps import render
from openroster.dialects.wps.endpoint import Call, route
from openroster.dialects.wps.schemas import (
    AttrValueIn,
    CreateAttrDefsBody,
    ReadCustomAttrsBody,
    UpdateCustomAttrsBody,
)
from openroster.model.entities import AttributeUpdate, UserAttributeUpdate

ATTR_SCOPES = ("kso.user_custom_attr.readwrite",)
ATTR_READ_SCOPES = ("kso.user_custom_attr.read", "kso.user_custom_attr.readwrite")


@route("GET", "/companies/user_custom_attrs/batch_read", scopes=ATTR_READ_SCOPES)
def list_definitions(call: Call, _body: None) -> dict[str, object]:
    """List the tenant's custom attribute definitions."""
    defs = attributes.definitions(call.reader, tenant_id=call.tenant_id)
    return {"items": [render.definition_dict(a) for a in defs]}


@route(
    "POST",
    "/companies/user_custom_attrs/batch_create",
    scopes=ATTR_SCOPES,
    body=CreateAttrDefsBody,
    writes=True,
)
def create_definitions(call: Call, body: CreateAttrDefsBody) -> dict[str, object]:
    """Define new custom attributes (all or none)."""
    items = [
        attributes.NewDefinition(
            name=i.name, value_type=i.value_type, options=tuple((o.key, o.name) for o in i.options)
        )
        for i in body.items
    ]
    created = attributes.create_definitions(call.directory, tenant_id=call.tenant_id, items=items)
    return {"items": [render.definition_dict(a) for a in created]}


def _update(a: AttrValueIn) -> AttributeUpdate:
    # Positional, each optional part looked at once: 250 of these a batch_update of 50 × 5.
    url, depts = a.url, a.relation_depts
    ids = None if depts is None else tuple(map(str, depts))
    if url is None:
        return AttributeUpdate(a.attr_id, a.text, a.option, a.relation_user, ids)
    return AttributeUpdate(a.attr_id, a.text, a.option, a.relation_user, ids, url.title, url.link, True)


def model_updates(body: UpdateCustomAttrsBody) -> list[UserAttributeUpdate]:
    """The core's updates of a body the model read (one of a shape ``read_updates`` leaves to it)."""
    return [UserAttributeUpdate(u.user_id, tuple(map(_update, u.custom_attrs))) for u in body.users]


def read_updates(data: Any) -> list[UserAttributeUpdate] | None:
    """The batch_update body's JSON straight into the core's updates, as the body model would
    take it (strict, unknown keys ignored), without a model per value: the model's parse and the
    conversion cost about 0.7 ms of the event loop's time for 50 × 5. None when anything differs
    from the usual shape (a missing or mistyped field, both spellings of ``users``): the model
    reads that body and answers its own error naming the field."""
    if type(data) is not dict:
        return None
    users = data.get("users")
    if "user_ids" in data:
        if "users" in data:
            return None
        users = data["user_ids"]
    if type(users) is not list:
        return None
    out = []
    for u in users:
        if type(u) is not dict:
            return None
        uid, attrs = u.get("user_id"), u.get("custom_attrs")
        if type(uid) is not str or type(attrs) is not list:
            return None
        updates = []
        for a in attrs:
            if type(a) is not dict:
                return None
            attr_id, text, option = a.get("attr_id"), a.get("text"), a.get("option")
            relation, depts, url = a.get("relation_user"), a.get("relation_depts"), a.get("url")
            # Each optional text strict ``str | None``, as the model takes it.
            if (
                type(attr_id) is not str
                or (text is not None and type(text) is not str)
                or (option is not None and type(option) is not str)
                or (relation is not None and type(relation) is not str)
            ):
                return None
            ids = None
            if depts is not None:
                if type(depts) is not list:
                    return None
                for x in depts:
                    if type(x) is not str and type(x) is not int:
                        return None
                ids = tuple(map(str, depts))
            if url is None:
                updates.append(AttributeUpdate(attr_id, text, option, relation, ids))
                continue
            if type(url) is not dict:
                return None
            title, link = url.get("title"), url.get("link")
            if (title is not None and type(title) is not str) or (link is not None and type(link) is not str):
                return None
            updates.append(AttributeUpdate(attr_id, text, option, relation, ids, title, link, True))
        out.append(UserAttributeUpdate(uid, tuple(updates)))
    return out


@route(
    "POST",
    "/users/custom_attrs/batch_update",
    scopes=ATTR_SCOPES,
    body=UpdateCustomAttrsBody,
    writes=True,
    fast=read_updates,
)
def update_values(call: Call, body: UpdateCustomAttrsBody | list[UserAttributeUpdate]) -> AfterCommit:
    """Set custom attribute values of up to 100 users (all or none)."""
    # The usual shape is read without the model (``read_updates``).
    updates = body if isinstance(body, list) else model_updates(body)
    written = attributes.write_values(call.directory, tenant_id=call.tenant_id, updates=updates)
    # What the batch wrote over what the people held (read before it), decoded in the job: a value
    # held that cannot be decoded fails the job, which then changes nothing. Only putting the
    # decoded values into bytes waits for the commit, off the store's write lock.
    values = written.values()
    defs = {a.id: a for a in written.definitions}
    return AfterCommit(partial(render.user_values, values.keys(), values, defs))


@route("POST", "/users/custom_attrs/batch_read", scopes=ATTR_SCOPES, body=ReadCustomAttrsBody)
def read_values(call: Call, body: ReadCustomAttrsBody) -> bytes:
    """Read custom attribute values of up to 50 users."""
    values = attributes.read_values(call.reader, tenant_id=call.tenant_id, user_ids=body.user_ids)
    defs = {a.id: a for a in call.reader.definitions(call.tenant_id)}
    return render.user_values(values.keys(), values, defs)
