"""The WPS custom attribute values reply (``render.user_values``), byte for byte: every value with
every value field, the filled one its type's, in the platform's order."""

from __future__ import annotations

import orjson

from openroster.dialects.wps import render
from openroster.model.entities import (
    AttributeDefinition,
    AttributeOption,
    AttributeValue,
    AttributeValueData,
    UrlValue,
    ValueType,
)


def _definition(attr_id: str, name: str, vt: ValueType) -> AttributeDefinition:
    options = (AttributeOption(key="P1", name="一级"),) if vt is ValueType.OPTION else ()
    return AttributeDefinition(
        tenant_id="t", id=attr_id, name=name, value_type=vt, options=options, order=1, ctime=0
    )


DEFS = {
    d.id: d
    for d in (
        _definition("desk", '工位 "A"\\', ValueType.TEXT),
        _definition("level", "职级", ValueType.OPTION),
        _definition("home", "主页", ValueType.URL),
        _definition("mentor", "导师", ValueType.RELATION_USER),
        _definition("partners", "协作部门", ValueType.RELATION_DEPTS),
    )
}


def _expected(attr_id: str, value: AttributeValueData) -> dict[str, object]:
    """The reply's value as a dict in field order; ``value`` in the slot of its definition's type
    (or, of a value whose type is not its definition's, in ``text``)."""
    d = DEFS[attr_id]
    out: dict[str, object] = {"attr_id": d.id, "attr_name": d.name, "attr_value_type": d.value_type.value}
    out |= {"option": "", "option_key": "", "relation_depts": [], "relation_user": "", "text": ""}
    out["url"] = {"title": "", "link": ""}
    vt = d.value_type
    if vt is ValueType.OPTION:
        out["option"] = out["option_key"] = value
    elif vt is ValueType.RELATION_DEPTS and isinstance(value, tuple):
        out["relation_depts"] = [str(x) for x in value]
    elif vt is ValueType.URL and isinstance(value, UrlValue):
        out["url"] = {"title": value.title, "link": value.link}
    elif vt is ValueType.RELATION_USER:
        out["relation_user"] = value
    else:
        out["text"] = list(value) if isinstance(value, tuple) else value
    return out


def test_each_value_is_rendered_with_every_field_in_order() -> None:
    values = {
        "u1": [
            AttributeValue("desk", '2F "001" \\ \u2028'),
            AttributeValue("level", "P1"),
            AttributeValue("home", UrlValue(title="主页", link="https://wiki.example.com/u1")),
            AttributeValue("mentor", "u2"),
            AttributeValue("partners", (2, 1, 10**18 - 1)),
        ],
        "u2": [],
        "u3": [
            AttributeValue("partners", ()),
            AttributeValue("home", UrlValue(title="", link="")),
            # A value whose type is not its definition's: in ``text``, as before.
            AttributeValue("desk", (1, 2)),
        ],
    }
    got = render.user_values(["u1", "u2", "u3", "u4"], values, DEFS)
    users = [
        {"user_id": uid, "custom_attrs": [_expected(v.attr_id, v.value) for v in values.get(uid, [])]}
        for uid in ("u1", "u2", "u3", "u4")
    ]
    assert got == orjson.dumps({"total": 4, "users": users})
