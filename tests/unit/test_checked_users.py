"""A bulk load checks users a column at a time (``users.checked_users``): the same users as
``users.checked_user`` one by one, and no answer (check one by one) when any rule fails."""

from __future__ import annotations

from dataclasses import replace

import pytest

from openroster.core.people.users import NewUser, checked_user, checked_users
from openroster.model.errors import CoreError

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
