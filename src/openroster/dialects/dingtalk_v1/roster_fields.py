"""The ``hrm_1_0`` calls that change the roster's form: custom fields (Add/Update/Delete
CustomRosterField, the tenant's custom attributes, ``core/custom/attributes.py``) and the options of
a select field (RosterMetaFieldOptionsUpdate, ``core/roster/options.py``).

They need the roster write permission ``qyapi_hrm_manager`` (the one ``v2/update`` needs). A custom
field lives in the custom group ``custom0000001``; its field code is the attribute's id, read back
through ``roster/meta/get``, RosterMetaAvailableFieldList and WPS's custom attributes alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from openroster.core.custom import attributes
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import options as roster_options
from openroster.core.roster.catalogue import CUSTOM_GROUP_ID, RosterField
from openroster.dialects.dingtalk import render
from openroster.dialects.dingtalk.endpoint import HRM_WRITE, Call
from openroster.dialects.dingtalk_v1.endpoint import route
from openroster.dialects.dingtalk_v1.errors import INVALID_PARAMETER, V1Error
from openroster.dialects.dingtalk_v1.hrm import FIELD_TYPES
from openroster.model.entities import AttributeDefinition, ValueType
from openroster.model.errors import CoreError

_HRM = "/v1.0/hrm"
#: The field types a custom field may have, and the attribute type behind each.
_CUSTOM_TYPES = {"TextField": ValueType.TEXT, "DDSelectField": ValueType.OPTION}
#: How the attribute services name the parts of a change, and how these calls name them.
_CORE_NAMES = (
    ("items[0].name", "fieldName"),
    ("items[0].options", "optionText"),
    ("items[0].id", "fieldCode"),
    ("attr_ids[0]", "fieldCode"),
    ("items", "fieldName"),
)
_OPTION_NAMES = roster_options.Names(group_id="groupId", field_code="fieldCode", labels="labels")


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _FieldForm(_Body):
    groupId: str = Field(description=f"The custom group, {CUSTOM_GROUP_ID}.")
    fieldName: str = Field(description="The field's name (unique among the custom fields).")
    fieldType: str = Field(description="TextField or DDSelectField.")
    optionText: str | None = Field(
        default=None, description='DDSelectField: its options, a JSON array [{"label", "value"?}].'
    )
    required: bool = Field(description="Accepted; not kept.")
    visibleByEmp: bool = Field(description="Accepted; not kept.")
    hiddenFromEmployeeFlag: bool = Field(description="Accepted; not kept.")
    editFromEmployeeFlag: bool = Field(description="Accepted; not kept.")
    hint: str | None = None
    noWatermark: bool | None = None
    numberDecimalPlace: int | None = None
    numberFormatType: str | None = None
    numberValueType: str | None = None


class AddFieldBody(_FieldForm):
    pass


class UpdateFieldBody(_FieldForm):
    fieldCode: str = Field(description="The custom field (its attribute id).")
    updateUserId: str = Field(description="Who changes it: a person of the company.")
    modifyOptions: bool | None = None


class DeleteFieldBody(_Body):
    groupId: str = Field(description=f"The custom group, {CUSTOM_GROUP_ID}.")
    fieldCode: str = Field(description="The custom field (its attribute id).")


class OptionsBody(_Body):
    groupId: str = Field(description="The field's group.")
    fieldCode: str = Field(description="A select field.")
    labels: list[str] = Field(description=f"1..{roster_options.LABELS_MAX} option labels.")
    modifyType: str = Field(description="OPTIONS_ADD or OPTIONS_DELETE.")


_MODIFY_TYPES = {
    "OPTIONS_ADD": roster_options.OptionsChange.ADD,
    "OPTIONS_DELETE": roster_options.OptionsChange.DELETE,
}


@contextmanager
def _named() -> Iterator[None]:
    """A refusal of the attribute services, naming these calls' fields."""
    try:
        yield
    except CoreError as exc:
        field = exc.field or ""
        for core_name, name in _CORE_NAMES:
            if field.startswith(core_name):
                raise V1Error(INVALID_PARAMETER, f"{name}{field[len(core_name) :]}: {exc.detail}") from None
        raise


def _custom_group(group_id: str) -> None:
    if group_id != CUSTOM_GROUP_ID:
        raise V1Error(
            INVALID_PARAMETER, f"groupId: custom fields are in group {CUSTOM_GROUP_ID!r}, not {group_id!r}"
        )


def _options(text: str | None, value_type: ValueType) -> tuple[tuple[str | None, str], ...] | None:
    """``optionText`` as ``(key or None, label)`` pairs (None: not given)."""
    if text is None or text.strip() == "":
        return None
    if value_type is not ValueType.OPTION:
        raise V1Error(INVALID_PARAMETER, "optionText: only a DDSelectField has options")
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise V1Error(INVALID_PARAMETER, 'optionText: not a JSON array of {"label", "value"}') from None
    if not isinstance(parsed, list):
        raise V1Error(INVALID_PARAMETER, 'optionText: not a JSON array of {"label", "value"}')
    out: list[tuple[str | None, str]] = []
    for i, item in enumerate(parsed):
        label = item.get("label") if isinstance(item, dict) else None
        key = item.get("value") if isinstance(item, dict) else None
        if not isinstance(label, str) or not (key is None or isinstance(key, str)):
            raise V1Error(
                INVALID_PARAMETER, f"optionText[{i}]: an option is {{label: string, value?: string}}"
            )
        if any(label.strip() == seen.strip() for _, seen in out):
            raise V1Error(INVALID_PARAMETER, f"optionText[{i}]: the label {label!r} is given twice")
        out.append((key, label))
    return tuple(out)


def _custom_field(call: Call, field_code: str) -> RosterField:
    f = roster_catalogue.catalogue(call.reader, tenant_id=call.tenant_id).fields.get(field_code)
    if f is None:
        raise V1Error(INVALID_PARAMETER, f"fieldCode: no roster field {field_code!r}")
    if f.attr is None:
        raise V1Error(INVALID_PARAMETER, f"fieldCode: {field_code!r} is a system field, not a custom one")
    return f


def _meta(f: RosterField) -> dict[str, Any]:
    """A field as the custom-field calls answer it (what openroster keeps of it)."""
    out: dict[str, Any] = {
        "fieldCode": f.code,
        "fieldName": f.name,
        "fieldType": FIELD_TYPES[f.field_type],
        "groupId": f.group_id,
        "systemFlag": f.attr is None,
        "derived": f.derived,
        "deleted": False,
    }
    if f.attr is not None:
        out["index"] = f.attr.order
    if f.options:
        out["optionText"] = render.option_text(f)
    return out


def _field_reply(definition: AttributeDefinition) -> dict[str, Any]:
    """The reply of AddCustomRosterField and UpdateCustomRosterField: the field as it is now."""
    field = roster_catalogue.catalogue_for([definition]).fields[definition.id]
    return {"success": True, "result": _meta(field)}


@route("POST", f"{_HRM}/customRosterField/add", permission=HRM_WRITE, body=AddFieldBody, writes=True)
def add_field(call: Call, body: AddFieldBody) -> dict[str, Any]:
    """AddCustomRosterField: a new custom roster field (a custom attribute of the company)."""
    _custom_group(body.groupId)
    value_type = _CUSTOM_TYPES.get(body.fieldType)
    if value_type is None:
        raise V1Error(
            INVALID_PARAMETER, f"fieldType: {body.fieldType!r} is not one of {', '.join(_CUSTOM_TYPES)}"
        )
    options = _options(body.optionText, value_type) or ()
    item = attributes.NewDefinition(name=body.fieldName, value_type=value_type.value, options=options)
    with _named():
        created = attributes.create_definitions(call.directory, tenant_id=call.tenant_id, items=[item])[0]
    return _field_reply(created)


@route("POST", f"{_HRM}/customRosterField/update", permission=HRM_WRITE, body=UpdateFieldBody, writes=True)
def update_field(call: Call, body: UpdateFieldBody) -> dict[str, Any]:
    """UpdateCustomRosterField: rename a custom field, or give a select field its new options."""
    _custom_group(body.groupId)
    if body.updateUserId not in call.reader.users(call.tenant_id, [body.updateUserId]):
        raise V1Error(INVALID_PARAMETER, f"updateUserId: no person {body.updateUserId!r}")
    current = _custom_field(call, body.fieldCode)
    assert current.attr is not None
    if body.fieldType != FIELD_TYPES[current.field_type]:
        raise V1Error(
            INVALID_PARAMETER,
            f"fieldType: field {body.fieldCode!r} is a {FIELD_TYPES[current.field_type]};"
            " its type cannot change",
        )
    change = attributes.DefinitionChange(
        id=current.attr.id, name=body.fieldName, options=_options(body.optionText, current.attr.value_type)
    )
    with _named():
        updated = attributes.update_definitions(call.directory, tenant_id=call.tenant_id, items=[change])[0]
    return _field_reply(updated)


@route("POST", f"{_HRM}/customRosterField/delete", permission=HRM_WRITE, body=DeleteFieldBody, writes=True)
def delete_field(call: Call, body: DeleteFieldBody) -> dict[str, Any]:
    """DeleteCustomRosterField: a custom field goes, with every value it held."""
    _custom_group(body.groupId)
    _custom_field(call, body.fieldCode)
    with _named():
        attributes.delete_definitions(call.directory, tenant_id=call.tenant_id, attr_ids=[body.fieldCode])
    return {"success": True, "result": True}


@route("PUT", f"{_HRM}/rosters/meta/fields/options", permission=HRM_WRITE, body=OptionsBody, writes=True)
def update_options(call: Call, body: OptionsBody) -> dict[str, Any]:
    """RosterMetaFieldOptionsUpdate: add options to a select field, or delete some of its options."""
    op = _MODIFY_TYPES.get(body.modifyType)
    if op is None:
        raise V1Error(
            INVALID_PARAMETER, f"modifyType: {body.modifyType!r} is not one of {', '.join(_MODIFY_TYPES)}"
        )
    roster_options.change(
        call.directory,
        tenant_id=call.tenant_id,
        group_id=body.groupId,
        field_code=body.fieldCode,
        labels=body.labels,
        op=op,
        names=_OPTION_NAMES,
    )
    return {"result": True}
