"""DingTalk roster items (dialects/dingtalk/render.py ``roster_list``) read again at one version:
sent from the fragment table's index of what was checked (core/runtime/fragments.py), alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import options as roster_options
from openroster.core.roster import writes as roster_writes
from openroster.core.roster.writes import FieldWrite as F
from openroster.core.roster.writes import GroupWrite as G
from openroster.core.roster.writes import SectionWrite as S
from openroster.core.tenancy import tenants
from openroster.dialects.dingtalk import render
from openroster.fixtures import snapshot
from openroster.model.errors import TooMany
from openroster.server.opening import open_directory

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
        assert listing(["boss", "u1", "boss"]) == listing(["boss", "u1"])  # all known, one repeated
    with pytest.raises(TooMany):
        listing([f"x{i}" for i in range(roster_catalogue.LIST_USERS_MAX + 1)])
    # A write moves the version: the changed item is sent as it is now, read after read.
    roster_writes.update(
        acme, tenant_id=T, user_id="u1", groups=[G("sys02", (S((F("sys02-marriage", "2"),)),))]
    )
    for _ in range(3):
        (item,) = orjson.loads(listing(["u1"]))
        marriage = next(f for f in item["field_data_list"] if f["field_code"] == "sys02-marriage")
        assert [v["label"] for v in marriage["field_value_list"]] == ["已婚"]


def _listing(d: Directory, ids: list[str], **variant: Any) -> bytes:
    with d.reader() as r:
        pieces = render.roster_list(
            r,
            ids,
            tenant_id=T,
            corp_id=variant.get("corp", "c"),
            codes=variant.get("codes"),
            field="user_ids",
            spelling=variant.get("spelling", render.SNAKE),
        )
    raw = b"".join(pieces)
    assert pieces.size == len(raw)
    return raw


def test_items_read_again_after_another_process_writes_are_those_a_fresh_process_sends(
    acme: Directory, other_process: Directory, databases: Any, tmp_path: Path
) -> None:
    """After each write of another process (a roster value, a leader's name, a field's options, a
    person deleted, a reset), every variant of the listing read three times (cold, checked,
    indexed) is the bytes a directory opened afresh on the store sends."""
    variants: list[dict[str, Any]] = [
        {},
        {"codes": ("sys02-marriage",)},
        {"corp": "d"},
        {"spelling": render.CAMEL},
    ]

    def agree(step: str) -> None:
        fresh = open_directory(databases.settings_for(tmp_path / "data"))
        try:
            for variant in variants:
                for ids in (["u1", "boss", "u2"], ["u1"], ["boss", "u1"]):
                    want = _listing(fresh, ids, **variant)
                    for _ in range(3):
                        assert _listing(acme, ids, **variant) == want, (step, variant, ids)
        finally:
            fresh.writes.close()
            fresh.store.dispose()

    agree("start")
    roster_writes.update(
        other_process, tenant_id=T, user_id="u1", groups=[G("sys02", (S((F("sys02-marriage", "2"),)),))]
    )
    agree("a roster write")
    users.update(other_process, tenant_id=T, user_id="boss", changes={"user_name": "大老板"})
    agree("the leader renamed")
    roster_options.change(
        other_process,
        tenant_id=T,
        group_id="sys02",
        field_code="sys02-marriage",
        labels=["新"],
        op=roster_options.OptionsChange.ADD,
    )
    agree("an option added")
    users.delete(other_process, tenant_id=T, user_id="u2")
    agree("a person deleted")
    snapshot.reset(other_process, T, to="empty")
    agree("a reset")
