"""WPS v7 custom attribute definitions: batch_update and batch_delete.

Listing and creating definitions live in ``attributes.py`` with the values.
"""

from __future__ import annotations

from openroster.core.custom import attributes
from openroster.dialects.wps import render
from openroster.dialects.wps.attributes import ATTR_SCOPES
from openroster.dialects.wps.endpoint import Call, route
from openroster.dialects.wps.schemas import DeleteAttrDefsBody, UpdateAttrDefsBody


@route(
    "POST",
    "/companies/user_custom_attrs/batch_update",
    scopes=ATTR_SCOPES,
    body=UpdateAttrDefsBody,
    writes=True,
)
def update_definitions(call: Call, body: UpdateAttrDefsBody) -> dict[str, object]:
    """Rename custom attributes or replace their options (all or none)."""
    items = [
        attributes.DefinitionChange(
            id=i.id,
            name=i.name,
            value_type=i.value_type,
            options=tuple((o.key, o.name) for o in i.options) if i.options is not None else None,
        )
        for i in body.items
    ]
    updated = attributes.update_definitions(call.directory, tenant_id=call.tenant_id, items=items)
    return {"items": [render.definition_dict(a) for a in updated]}


@route(
    "POST",
    "/companies/user_custom_attrs/batch_delete",
    scopes=ATTR_SCOPES,
    body=DeleteAttrDefsBody,
    writes=True,
)
def delete_definitions(call: Call, body: DeleteAttrDefsBody) -> None:
    """Delete custom attributes and every value they hold (all or none)."""
    attributes.delete_definitions(call.directory, tenant_id=call.tenant_id, attr_ids=body.attr_ids)
