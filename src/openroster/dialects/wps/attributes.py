"""WPS v7 custom attributes: definitions and per-user values."""

from __future__ import annotations

from openroster.core.custom import attributes
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


@route(
    "POST", "/users/custom_attrs/batch_update", scopes=ATTR_SCOPES, body=UpdateCustomAttrsBody, writes=True
)
def update_values(call: Call, body: UpdateCustomAttrsBody) -> bytes:
    """Set custom attribute values of up to 100 users (all or none)."""
    updates = [
        UserAttributeUpdate(user_id=u.user_id, attrs=tuple(map(_update, u.custom_attrs))) for u in body.users
    ]
    written = attributes.write_values(call.directory, tenant_id=call.tenant_id, updates=updates)
    # The reply is what the batch wrote over what the people held (read before it, in the job).
    values = written.values()
    defs = {a.id: a for a in written.definitions}
    return render.user_values(values.keys(), values, defs)


@route("POST", "/users/custom_attrs/batch_read", scopes=ATTR_SCOPES, body=ReadCustomAttrsBody)
def read_values(call: Call, body: ReadCustomAttrsBody) -> bytes:
    """Read custom attribute values of up to 50 users."""
    values = attributes.read_values(call.reader, tenant_id=call.tenant_id, user_ids=body.user_ids)
    defs = {a.id: a for a in call.reader.definitions(call.tenant_id)}
    return render.user_values(values.keys(), values, defs)
