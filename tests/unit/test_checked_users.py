"""A bulk load checks users a column at a time (``users.checked_users``): the same users as
``users.checked_user`` one by one, and no answer (check one by one) when any rule fails; and
``bulk.prepare`` builds their rows from those columns, the same as one by one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from openroster.core.people import bulk
from openroster.core.people.users import NewUser, checked_columns, checked_user, checked_users
from openroster.model.entities import AttributeDefinition, AttributeOption, AttributeUpdate, ValueType
from openroster.model.errors import CoreError
from openroster.store import attrs as stored_attrs
from openroster.store import bulk as store_bulk

GOOD = [
    NewUser(
        user_name=" 王伟 ",
        dept_ids=(3, 4),
        id="u1",
        email="Wang@Example.com",
        phone="+86 139-0000-0001",
        gender="male",
        employee_id=" E1 ",
        employment_type="intern",
        leader_id="u2",
        def_dept_id=4,
        leader_of=(3,),
        title="",
    ),
    NewUser(user_name="李娜", dept_ids=(3,), id="u2", role="", status="", ctime=5),
    NewUser(user_name="张强", dept_ids=(3,), id="u3", gender="", employment_status="regular"),
]


def test_the_same_users_as_one_by_one() -> None:
    assert checked_users(GOOD, now=9) == [checked_user(item, prefix="", now=9) for item in GOOD]


@pytest.mark.parametrize(
    "change",
    [
        {"user_name": " "},
        {"id": " "},
        {"email": "not-an-address"},
        {"phone": "call me"},
        {"gender": "other"},
        {"role": "owner"},
        {"employment_type": "permanent "},
        {"title": "x" * 201},
        {"city": "a\x07b"},
        {"dept_ids": ()},
        {"dept_ids": (3, 3)},
        {"def_dept_id": 9},
        {"leader_of": (9,)},
    ],
)
def test_a_broken_rule_means_checking_one_by_one(change: dict[str, object]) -> None:
    items = [*GOOD[:2], replace(GOOD[2], **change)]  # type: ignore[arg-type]
    assert checked_users(items, now=9) is None
    with pytest.raises(CoreError):
        checked_user(items[2], prefix="", now=9)


def _rules() -> bulk.Rules:
    text = AttributeDefinition("t", "a1", "工位", ValueType.TEXT, (), 1, 0)
    option = AttributeDefinition("t", "a2", "职级", ValueType.OPTION, (AttributeOption("P5", "P5 级"),), 2, 0)
    relation = AttributeDefinition("t", "a3", "导师", ValueType.RELATION_USER, (), 3, 0)
    return bulk.Rules(
        tenant_id="t",
        now=9,
        definitions={a.id: a for a in (text, option, relation)},
        dept_ids={1, 3, 4},
        user_fields=store_bulk.user_fields,
        encode_attr_value=stored_attrs.encode_value,
        user_columns=store_bulk.USER_COLUMNS[1:],
        in_key_order=store_bulk.in_key_order,
    )


def test_bulk_rows_from_the_columns_are_the_rows_one_by_one() -> None:
    """``bulk.prepare`` builds a chunk's rows from its checked columns, checking a shared
    attribute update or memberships tuple once: the same rows, in the same order, as checking
    each person on their own; ``bulk.prepare`` gives the memberships and attribute values in
    their tables' key order (the store inserts them so), the rest as they were."""
    desk = AttributeUpdate("a1", text="A-1")  # one object for many people, as an import gives it
    level = AttributeUpdate("a2", option="P5")
    people = [
        bulk.Person(GOOD[0], (desk, level, AttributeUpdate("a3", relation_user="u3"))),
        bulk.Person(GOOD[1], (desk,)),
        bulk.Person(GOOD[2], (level, AttributeUpdate("a1", text=""))),
        bulk.Person(replace(GOOD[2], id="u0", leader_id="u3", dept_ids=(4, 1)), (level, desk)),
    ]
    for some in (people, people[1:]):  # with a relation_user value, and without
        given = bulk.NewPeople.of(some)
        column = checked_columns(given.columns, now=9)
        assert column is not None
        fast = bulk.prepared_columns(_rules(), given, column, 5)
        assert fast is not None and fast.values and fast.references
        assert fast == bulk.prepared_one_by_one(_rules(), given, 5)
        made = bulk.prepare(_rules(), some, 5)
        assert made.memberships == sorted(fast.memberships) != fast.memberships
        assert made.values == sorted(fast.values) != fast.values
        assert (made.users, made.references, made.ids) == (fast.users, fast.references, fast.ids)


@pytest.mark.parametrize(
    ("attrs", "field"),
    [
        ((AttributeUpdate("a1", text="x" * 1001),), "users[7].custom_attrs[0].text"),
        ((AttributeUpdate("a2", option="P9"),), "users[7].custom_attrs[0].option"),
        (
            (AttributeUpdate("a1", text="1"), AttributeUpdate("a1", text="2")),
            "users[7].custom_attrs[1].attr_id",
        ),
        ((AttributeUpdate("nope", text="1"),), "users[7].custom_attrs[0].attr_id"),
    ],
)
def test_a_bad_value_in_a_bulk_chunk_is_named_one_by_one(
    attrs: tuple[AttributeUpdate, ...], field: str
) -> None:
    people = [bulk.Person(GOOD[1]), bulk.Person(GOOD[2], (AttributeUpdate("a1", text="ok"),))]
    people.append(bulk.Person(replace(GOOD[2], id="u4"), attrs))
    given = bulk.NewPeople.of(people)
    column = checked_columns(given.columns, now=9)
    assert column is not None and bulk.prepared_columns(_rules(), given, column, 5) is None
    with pytest.raises(CoreError) as caught:
        bulk.prepare(_rules(), people, 5)
    assert caught.value.field == field and caught.value.index == 7


def test_a_shared_update_is_checked_once_a_load_and_the_kept_ones_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``Rules.passed``: an update shared by the chunks of a load is checked and encoded in the
    first only, the later chunks get the same rows. An update is kept for the load only once a
    second chunk has it: each chunk's own updates (a person's own values) are never kept, and
    ``Rules.seen_once`` holds at most ``bulk.PASSED_MAX`` of them."""
    checks: list[str] = []
    check = stored_attrs.encode_value

    def counted(value: object) -> str:
        checks.append(str(value))
        return check(value)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk, "PASSED_MAX", 8)
    rules = replace(_rules(), encode_attr_value=counted)
    desk, level = AttributeUpdate("a1", text="A-1"), AttributeUpdate("a2", option="P5")
    chunks = [
        [
            bulk.Person(
                replace(GOOD[2], id=f"u{k}{i}"), (desk, level, AttributeUpdate("a3", relation_user="u2"))
            )
            for i in range(3)
        ]
        for k in range(4)
    ]
    made = [bulk.prepare(rules, chunk, 0) for chunk in chunks]
    assert sorted(checks) == ["A-1", "P5", *["u2"] * 12]
    assert {a for a, _ in rules.passed.values()} == {desk, level}
    assert len(rules.seen_once) < 8 and {a.attr_id for a, _ in rules.seen_once.values()} == {"a3"}
    assert [v[2:] for v in made[3].values] == [v[2:] for v in made[0].values]
    monkeypatch.setattr(bulk, "PASSED_MAX", 2)  # ``passed`` full: a later shared one checked again
    rules, checks[:] = replace(_rules(), encode_attr_value=counted), []
    mentor = AttributeUpdate("a3", relation_user="u2")
    made = [
        bulk.prepare(
            rules, [bulk.Person(replace(GOOD[2], id=f"u{k}"), (desk, level, mentor)[: 2 + (k > 1)])], 0
        )
        for k in range(5)
    ]
    assert {a for a, _ in rules.passed.values()} == {desk, level}
    assert sorted(checks) == ["A-1", "P5", "u2", "u2"]
    assert [v[2:] for v in made[4].values] == [v[2:] for v in made[2].values]
