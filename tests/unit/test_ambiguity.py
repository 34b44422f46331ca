"""The repeated-key check (``dialects/ambiguity.py``) never misses a key given twice, and never sees
one that is not there, whatever the body holds: ``:`` in keys and strings (as itself or escaped as
``\\u003a``), quotes, any character, objects at any depth. Its cheap test decides most bodies; the
answer is compared with a walk of the drawn tree (``reliability/hostile_json.py``)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from openroster.dialects.ambiguity import repeated_key
from reliability.hostile_json import Obj, objects, repeats, text


@settings(max_examples=200, derandomize=True, deadline=None)
@given(drawn=objects)
def test_a_repeated_key_is_found_exactly_when_there_is_one(drawn: tuple[Obj, str]) -> None:
    value, colon = drawn
    body = text(value, colon).encode()
    found = repeated_key(body)
    expected = repeats(value)
    if not expected:
        assert found is None, body
    else:
        assert found is not None, body
        assert found.where in expected, (found, expected, body)


def test_batch_reads_body_is_clean_and_a_list_given_twice_in_it_is_found() -> None:
    """batch_read's body (proved clean by the counts: its strings hold no ':'), and the same body
    giving user_ids twice."""
    ids: list[Any] = [f"user-{i}" for i in range(100)]
    body = Obj((("user_ids", ids), ("status", ["active"]), ("with_dept", True)))
    assert repeated_key(text(body).encode()) is None
    twice = Obj((("user_ids", ids), ("status", ["active"]), ("user_ids", [])))
    found = repeated_key(text(twice).encode())
    assert found is not None and (found.key, found.where) == ("user_ids", "user_ids")


def test_distinct_member_names_clear_a_body_without_a_second_parse(monkeypatch: Any) -> None:
    """GetEmployeeRosterByField's body: its two names differ, so no parse is written out again; the
    same name in two sibling objects (no repeat) and one given twice are still told apart."""
    from openroster.dialects import ambiguity

    body = b'{"appAgentId": 1000001, "userIdList": ["a:1", "b"]}'
    siblings = b'{"users": [{"id": "a"}, {"id": "b"}]}'
    twice = b'{"users": [{"id": "a", "id": "b"}]}'

    def no_dumps(value: Any) -> bytes:
        raise AssertionError("written out again")

    with monkeypatch.context() as m:
        m.setattr(ambiguity.orjson, "dumps", no_dumps)
        assert repeated_key(body) is None
    assert repeated_key(siblings) is None
    found = repeated_key(twice)
    assert found is not None and found.where == "users[0].id"
