"""The batch_update body read without its model (``dialects/wps/attributes.read_updates``): the same
updates as through the model for every body the model takes, and the model's own error, naming
the field, for every body it refuses."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from openroster.dialects.wps.attributes import model_updates, read_updates
from openroster.dialects.wps.endpoint import parse_body, validation_error
from openroster.dialects.wps.errors import WpsError
from openroster.dialects.wps.schemas import UpdateCustomAttrsBody
from openroster.model.entities import UserAttributeUpdate

_VALUES: list[dict[str, Any]] = [
    {"attr_id": "desk", "text": "2F-001"},
    {"attr_id": "level", "option": "P3", "unknown": [1, {"x": None}]},
    {"attr_id": "home", "url": {"title": "主页", "link": "https://wiki.example.com/a"}},
    {"attr_id": "home", "url": {}},
    {"attr_id": "home", "url": {"link": None, "more": 1}},
    {"attr_id": "mentor", "relation_user": "u2", "text": None},
    {"attr_id": "partners", "relation_depts": ["1", 2, 9223372036854775807]},
    {"attr_id": "partners", "relation_depts": []},
    {"attr_id": "all", "text": "t", "option": "o", "relation_user": "u", "relation_depts": [3], "url": None},
]

TAKEN: list[Any] = [
    {"users": [{"user_id": "u1", "custom_attrs": _VALUES}]},
    {"user_ids": [{"user_id": "u1", "custom_attrs": _VALUES[:2]}, {"user_id": "u2", "custom_attrs": []}]},
    {"users": [], "extra": "ignored"},
]

REFUSED: list[Any] = [
    [],
    {},
    {"users": None},
    {"users": [], "user_ids": []},
    {"users": {"user_id": "u1"}},
    {"users": ["u1"]},
    {"users": [{"custom_attrs": []}]},
    {"users": [{"user_id": 7, "custom_attrs": []}]},
    {"users": [{"user_id": "u1"}]},
    {"users": [{"user_id": "u1", "custom_attrs": {}}]},
    {"users": [{"user_id": "u1", "custom_attrs": ["desk"]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"text": "no id"}]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": 5}]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "a", "text": 5}]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "a", "option": True}]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "a", "relation_user": ["u2"]}]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "a", "relation_depts": "1"}]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "a", "relation_depts": [1.0]}]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "a", "relation_depts": [True]}]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "a", "relation_depts": [None]}]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "a", "url": "https://x"}]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "a", "url": {"link": 1}}]}]},
    {"users": [{"user_id": "u1", "custom_attrs": [{"attr_id": "a", "url": {"title": False}}]}]},
]


def _through_the_model(body: bytes) -> list[UserAttributeUpdate]:
    return model_updates(UpdateCustomAttrsBody.model_validate_json(body))


@pytest.mark.parametrize("data", TAKEN)
def test_a_body_the_model_takes_reads_alike_without_it(data: Any) -> None:
    body = orjson.dumps(data)
    fast = read_updates(data)
    assert fast is not None and fast == _through_the_model(body)
    assert parse_body(UpdateCustomAttrsBody, body) == fast


@pytest.mark.parametrize("data", REFUSED)
def test_a_body_the_model_refuses_is_left_to_it_and_answered_with_its_error(data: Any) -> None:
    assert read_updates(data) is None
    with pytest.raises(WpsError) as fast:
        parse_body(UpdateCustomAttrsBody, orjson.dumps(data))
    with pytest.raises(ValidationError) as model:
        UpdateCustomAttrsBody.model_validate_json(orjson.dumps(data))  # what parse_body did before
    expected = validation_error(model.value)
    assert (fast.value.code, fast.value.msg) == (expected.code, expected.msg)


def test_json_orjson_does_not_read_goes_to_the_model() -> None:
    big = b'{"users":[{"user_id":"u","custom_attrs":[{"attr_id":"a","relation_depts":[1%b]}]}]}' % (b"0" * 30)
    parsed = parse_body(UpdateCustomAttrsBody, big)  # past 64 bits: orjson refuses it, the model not
    assert isinstance(parsed, UpdateCustomAttrsBody)
    assert parsed.users[0].custom_attrs[0].relation_depts == [10**30]
    with pytest.raises(WpsError, match="key"):
        parse_body(UpdateCustomAttrsBody, b'{"users":[],"users":[]}')
