"""DingTalk roster items (dialects/dingtalk/render.py ``roster_list``) read again at one version:
sent from the fragment table's index of what was checked (core/runtime/fragments.py), alike."""

from __future__ import annotations

import orjson
import pytest

from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import writes as roster_writes
from openroster.core.roster.writes import FieldWrite as F
from openroster.core.roster.writes import GroupWrite as G
from openroster.core.roster.writes import SectionWrite as S
from openroster.core.tenancy import tenants
from openroster.dialects.dingtalk import render
from openroster.model.errors import TooMany

T = "acme"


@pytest.fixture
def acme(directory: Directory) -> Directory:
    tenants.create(directory, tenant_id=T, name="Acme")
    users.create_many(
        directory,
        tenant_id=T,
        items=[
            users.NewUser(id="boss", user_name="老板", dept_ids=(1,), phone="13800000000"),
            users.NewUser(id="u1", user_name="张三", dept_ids=(1,), leader_id="boss", phone="13800000001"),
            users.NewUser(id="u2", user_name="李四", dept_ids=(1,), status="notactive"),
        ],
        field_prefix="",
    )
    return directory


def test_items_read_again_at_one_version_are_sent_alike_from_the_index_of_what_was_checked(
    acme: Directory,
) -> None:
    def listing(ids: list[str]) -> bytes:
        with acme.reader() as r:
            pieces = render.roster_list(r, ids, tenant_id=T, corp_id="c", codes=None, field="user_ids")
        raw = b"".join(pieces)
        assert pieces.size == len(raw)
        return raw

    def indexed() -> set[object]:
        with acme.reader() as r:
            assert r.version is not None
            table = r.fragments(T, "user", (render.SNAKE.variant, None, "c"))
            return set(table.checked(r.version, roster_catalogue.catalogue(r, tenant_id=T)))

    ids = ["u1", "boss", "u2"]
    rendered = listing(ids)
    assert indexed() == set()
    checked = listing(ids)  # each item checked at this version, then indexed
    assert indexed() == set(ids)
    assert listing(ids) == checked == rendered  # from the index
    assert [e["userid"] for e in orjson.loads(rendered)] == ids
    one = {uid: orjson.loads(listing([uid]))[0] for uid in ("u1", "boss")}
    assert orjson.loads(listing(["u1"])) == [one["u1"]]  # one id, from the index
    # A repeated id is answered once, an unknown one left out, as on the first read.
    for _ in range(2):
        assert orjson.loads(listing(["boss", "u1", "boss", "nobody"])) == [one["boss"], one["u1"]]
        assert orjson.loads(listing(["boss", "nobody", "u1"])) == [one["boss"], one["u1"]]
    with pytest.raises(TooMany):
        listing([f"x{i}" for i in range(roster_catalogue.LIST_USERS_MAX + 1)])
    # A write moves the version: the index starts again, and the changed item is sent as it is now.
    roster_writes.update(
        acme, tenant_id=T, user_id="u1", groups=[G("sys02", (S((F("sys02-marriage", "2"),)),))]
    )
    assert indexed() == set()
    for _ in range(3):
        (item,) = orjson.loads(listing(["u1"]))
        marriage = next(f for f in item["field_data_list"] if f["field_code"] == "sys02-marriage")
        assert [v["label"] for v in marriage["field_value_list"]] == ["已婚"]
