"""GetEmployeeRosterByField's body read without its model (``dialects/dingtalk_v1/hrm.read_roster_query``):
the same fields as through the model for every body of the usual shape, and the model's own error,
naming the field, for every other body (the model reads it: converted, or refused)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from openroster.dialects.dingtalk_v1.endpoint import validate
from openroster.dialects.dingtalk_v1.errors import V1Error
from openroster.dialects.dingtalk_v1.hrm import RosterByFieldBody, read_roster_query
from openroster.dialects.validation import first_error, message

_IDS = [f"u{i:04d}" for i in range(100)]
_FIELDS = ("appAgentId", "userIdList", "fieldFilterList")

TAKEN: list[dict[str, Any]] = [
    {"appAgentId": 1, "userIdList": _IDS},
    {"appAgentId": -3, "userIdList": [], "fieldFilterList": None, "text2SelectConvert": None},
    {"appAgentId": 2**63 - 1, "userIdList": ["a", "a", ""], "fieldFilterList": ["sys00-name"] * 100},
    {"appAgentId": 7, "userIdList": ["用户"], "fieldFilterList": [], "text2SelectConvert": False},
    {"appAgentId": 7, "userIdList": ["u"], "text2SelectConvert": True, "unknown": {"x": [1, None]}},
]

#: Bodies the reader leaves to the model: some it converts (``"12"``, ``1.0``, ``true`` for a number,
#: ``"true"`` for a bool), the others it refuses, each with its own message.
LEFT: list[Any] = [
    {},
    {"userIdList": ["u"]},
    {"appAgentId": 1},
    {"appAgentId": None, "userIdList": ["u"]},
    {"appAgentId": "12", "userIdList": ["u"]},
    {"appAgentId": "x", "userIdList": ["u"]},
    {"appAgentId": 1.0, "userIdList": ["u"]},
    {"appAgentId": 1.5, "userIdList": ["u"]},
    {"appAgentId": True, "userIdList": ["u"]},
    {"appAgentId": 1, "userIdList": None},
    {"appAgentId": 1, "userIdList": "u1"},
    {"appAgentId": 1, "userIdList": {"u": 1}},
    {"appAgentId": 1, "userIdList": [*_IDS, "u100"]},
    {"appAgentId": 1, "userIdList": ["u", 5]},
    {"appAgentId": 1, "userIdList": ["u", None]},
    {"appAgentId": 1, "userIdList": [["u"]]},
    {"appAgentId": 1, "userIdList": ["u"], "fieldFilterList": "sys00-name"},
    {"appAgentId": 1, "userIdList": ["u"], "fieldFilterList": [1]},
    {"appAgentId": 1, "userIdList": ["u"], "fieldFilterList": ["f"] * 101},
    {"appAgentId": 1, "userIdList": ["u"], "text2SelectConvert": "true"},
    {"appAgentId": 1, "userIdList": ["u"], "text2SelectConvert": "maybe"},
    {"appAgentId": 1, "userIdList": ["u"], "text2SelectConvert": 2},
]


def _fields(body: Any) -> tuple[Any, ...]:
    return tuple(getattr(body, name) for name in _FIELDS)


@pytest.mark.parametrize("data", TAKEN)
def test_a_body_of_the_usual_shape_reads_alike_without_the_model(data: dict[str, Any]) -> None:
    fast = read_roster_query(data)
    assert fast is not None
    assert _fields(fast) == _fields(RosterByFieldBody.model_validate(data))
    assert validate(RosterByFieldBody, data, invalid="invalidParameter") == fast


@pytest.mark.parametrize("data", LEFT)
def test_any_other_body_is_left_to_the_model_and_its_error(data: Any) -> None:
    assert read_roster_query(data) is None
    try:
        expected: Any = RosterByFieldBody.model_validate(data)
    except ValidationError:
        expected = None
    if expected is not None:  # converted by the model: its value, as before
        assert validate(RosterByFieldBody, data, invalid="invalidParameter") == expected
        return
    with pytest.raises(V1Error) as refused:
        validate(RosterByFieldBody, data, invalid="invalidParameter")
    with pytest.raises(ValidationError) as model:
        RosterByFieldBody.model_validate(data)  # what validate did before the reader
    err, where = first_error(model.value)
    detail = f"{where} is required" if err["type"] == "missing" else message(err, where)
    expected = V1Error("invalidParameter", detail)
    assert (refused.value.code, refused.value.message) == (expected.code, expected.message)
    assert where and where.split("[")[0] in refused.value.message  # the field is named
