"""Rendered fragments (core/runtime/fragments.py), and the WPS replies kept in them: never stale, bounded."""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from people_builders import a_user, new_person, three_statuses_and_a_stranger

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import batch_writes, depts, users
from openroster.core.runtime.fragments import FragmentCache
from openroster.dialects.wps import render
from openroster.model.entities import AttributeUpdate, Department, UserAttributeUpdate, UserStatus, ValueType

SCOPES = frozenset({"kso.contact.read"})


def _replies(d: Directory, tenant_id: str, ids: list[str], *statuses: UserStatus) -> list[bytes]:
    """WPS batch_read replies with departments, through ``d``'s cache (one per process)."""
    with d.reader() as r:
        return render.batch_read_replies(
            r,
            tenant_id=tenant_id,
            user_ids=ids,
            statuses=statuses or (UserStatus.ACTIVE,),
            scopes=SCOPES,
            depts=r.dept_view(tenant_id),
        )


def _shown(replies: list[bytes]) -> list[str]:
    """Each reply as ``id:name:first department``."""
    out = []
    for raw in replies:
        j = orjson.loads(raw)
        out.append(f"{j['id']}:{j['user_name']}:{j['depts'][0]['name']}")
    return out


def test_model_objects_hold_no_mutable_state() -> None:
    u = a_user()
    d = Department("t", 5, 1, "研发", 0, None, "/研发", 0)
    for obj in (u, d):
        for f in dataclasses.fields(obj):
            hash(getattr(obj, f.name))  # a dict or a list in any field would fail here
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.id = 9  # type: ignore[misc]
        assert not hasattr(obj, "__dict__")


def test_a_change_drops_the_entity_in_every_variant_of_its_kind_and_nothing_else() -> None:
    cache = FragmentCache(100)
    wps, dingtalk = cache.table("t", "user", "wps"), cache.table("t", "user", ("dingtalk", None))
    dept, other = cache.table("t", "dept", "wps"), cache.table("other", "user", "wps")
    for table in (wps, dingtalk, dept, other):
        table.put("1", (0, b"one"))
        table.put("2", (0, b"two"))
    wps.put("1", (1, b"one again"))  # a new version in place: still one entry
    assert cache.count == 8
    assert cache.table("t", "user", "wps", stamp=1).entries == {}  # another stamp: empty
    assert cache.count == 6
    for key in ("1", "2"):
        wps.put(key, (0, b""))
    cache.drop("t", "user", "1")
    assert list(wps.entries) == list(dingtalk.entries) == ["2"]
    assert list(dept.entries) == list(other.entries) == ["1", "2"]
    assert cache.count == 6
    cache.table("t", "user", "wps", stamp=2).put("3", (b"three",))
    assert cache.table("t", "user", "wps", stamp=2).entries == {"3": (b"three",)}
    assert cache.count == 6
    cache.drop_tenant("t")
    assert cache.count == 2 and cache.table("t", "user", "wps").entries == {}
    cache.clear()
    assert cache.count == 0 and cache.table("other", "user", "wps").entries == {}


def test_past_its_bound_the_cache_forgets_the_oldest_entries_of_the_largest_tables() -> None:
    cache = FragmentCache(10)
    small, large = cache.table("t", "user", "small"), cache.table("t", "user", "large")
    small.put("s", (0, b""))
    for i in range(10):
        large.put(str(i), (0, b""))
    assert cache.count == 9  # 11 > 10: down to nine tenths, from the large table, oldest first
    assert list(large.entries) == [str(i) for i in range(2, 10)] and list(small.entries) == ["s"]


def test_batch_read_replies_answer_as_batch_read_does_and_render_each_user_once(
    directory: Directory, tenant: str
) -> None:
    three_statuses_and_a_stranger(directory, tenant)
    asked = ["p3", "p4", "nobody", "p1", "p2", "p1"]
    both = (UserStatus.ACTIVE, UserStatus.DIMISSION)
    first = _replies(directory, tenant, asked, *both)
    assert _shown(first) == ["p3:Person 3:Acme", "p1:Person 1:Acme"]
    with directory.reader() as r:
        plain = users.batch_read(r, tenant_id=tenant, user_ids=asked, statuses=set(both))
    assert [u.id for u in plain] == ["p3", "p1"]
    for _ in range(2):  # from the table: the very same bytes, not rendered again
        again = _replies(directory, tenant, asked, *both)
        assert len(again) == 2 and all(a is b for a, b in zip(again, first, strict=True))
    assert _shown(_replies(directory, tenant, asked, UserStatus.DISABLED)) == ["p2:Person 2:Acme"]
    # A page of the same users at the same scopes shows the same kept reply.
    with directory.reader() as r:
        page = render.users_items(r, [r.users(tenant, ["p1"])["p1"]], SCOPES, r.dept_view(tenant))
    assert page == b'{"items":[' + first[1] + b"]}"


def test_replies_follow_every_change_another_process_makes(directory: Directory, tenant: str) -> None:
    """Changes made through a second directory on the same store (another process's cache)."""
    writer = Directory(directory.store, directory.master_key)
    users.create_many(writer, tenant_id=tenant, items=[new_person(1), new_person(2)])
    ids = ["p1", "p2", "p9"]
    first = _replies(directory, tenant, ids)
    assert _shown(first) == ["p1:Person 1:Acme", "p2:Person 2:Acme"]
    users.update(writer, tenant_id=tenant, user_id="p1", changes={"user_name": "Renamed"})
    second = _replies(directory, tenant, ids)
    assert _shown(second) == ["p1:Renamed:Acme", "p2:Person 2:Acme"]
    assert second[1] is first[1]  # only the changed user is rendered again
    batch_writes.set_status(writer, tenant_id=tenant, user_ids=["p2"], status=UserStatus.DISABLED)
    assert _shown(_replies(directory, tenant, ids)) == ["p1:Renamed:Acme"]
    users.create(writer, tenant_id=tenant, item=new_person(9))  # an id once absent
    assert _shown(_replies(directory, tenant, ids)) == ["p1:Renamed:Acme", "p9:Person 9:Acme"]
    depts.update(writer, tenant_id=tenant, dept_id=1, changes=depts.DeptChanges(name="Acme Group"))
    assert _shown(_replies(directory, tenant, ids)) == ["p1:Renamed:Acme Group", "p9:Person 9:Acme Group"]


def test_a_write_of_attribute_values_keeps_the_profile_and_drops_what_shows_values(
    directory: Directory, tenant: str
) -> None:
    """A batch_update of custom attributes (another process's) leaves the people's cached records
    and WPS replies, which show no attribute values, to the reads beside it."""
    writer = Directory(directory.store, directory.master_key)
    users.create_many(writer, tenant_id=tenant, items=[new_person(1), new_person(2)])
    (badge,) = attributes.create_definitions(
        writer, tenant_id=tenant, items=[attributes.NewDefinition(name="Badge", value_type=ValueType.TEXT)]
    )
    first = _replies(directory, tenant, ["p1", "p2"])
    with directory.reader() as r:
        cached = r.users(tenant, ["p1"])["p1"]
        r.fragments(tenant, "user", "shows values").put("p1", (b"no badge",))
    update = UserAttributeUpdate("p1", (AttributeUpdate(badge.id, "B-7"),))
    attributes.write_values(writer, tenant_id=tenant, updates=[update])
    again = _replies(directory, tenant, ["p1", "p2"])
    assert all(a is b for a, b in zip(again, first, strict=True))
    with directory.reader() as r:
        assert r.users(tenant, ["p1"])["p1"] is cached
        assert r.fragments(tenant, "user", "shows values").entries == {}
        values = attributes.read_values(r, tenant_id=tenant, user_ids=["p1"])
    assert [v.value for v in values["p1"]] == ["B-7"]
    users.update(writer, tenant_id=tenant, user_id="p1", changes={"user_name": "Renamed"})
    assert _shown(_replies(directory, tenant, ["p1"])) == ["p1:Renamed:Acme"]


def test_replies_stay_right_within_the_bound(directory: Directory, tenant: str) -> None:
    users.create_many(directory, tenant_id=tenant, items=[new_person(n) for n in range(40)])
    small = Directory(directory.store, directory.master_key, cache_max_users=10)
    for start in (0, 10, 20, 30, 0):
        ids = [f"p{n}" for n in range(start, start + 10)]
        assert _shown(_replies(small, tenant, ids)) == [
            f"p{n}:Person {n}:Acme" for n in range(start, start + 10)
        ]
        assert small.cache.fragments.count <= small.cache.fragments.max_entries == 10
    users.update(directory, tenant_id=tenant, user_id="p3", changes={"user_name": "Changed"})
    assert _shown(_replies(small, tenant, ["p3"])) == ["p3:Changed:Acme"]


def test_items_are_wrapped_without_changing_them() -> None:
    users_ = [a_user(id=f"u{i}", memberships=()) for i in range(3)]
    parts = [render.user_bytes(u, SCOPES, None) for u in users_]
    plain = render.items_of(list(parts))
    wrapped = render.items_of(list(parts), wrap=(b'{"data":', b"}"))
    assert wrapped == b'{"data":' + plain + b"}"
    assert render.items_of([], wrap=(b"[", b"]")) == b'[{"items":[]}]'
    assert orjson.loads(plain)["items"][2]["id"] == "u2"


def test_a_readers_index_of_what_it_checked_holds_one_version_and_only_what_the_table_holds() -> None:
    cache = FragmentCache(10)
    table = cache.table("t", "user", "roster")
    stamp = object()
    for key in ("1", "2", "3"):
        table.put(key, (0, b""))
    table.checked(7, stamp).update({"1": "one", "2": "two", "3": "three"})
    assert table.checked(7, stamp) == {"1": "one", "2": "two", "3": "three"}
    cache.drop("t", "user", "1")  # the entity changed: it leaves the index with its entry
    assert table.checked(7, stamp) == {"2": "two", "3": "three"}
    assert table.checked(8, stamp) == {}  # another version: checked afresh
    table.checked(8, stamp)["2"] = "two"
    assert table.checked(8, object()) == {}  # another stamp, compared by identity
    table.checked(8, stamp)["2"] = "two"
    assert cache.table("t", "user", "roster", stamp=1) is table and table.checked(8, stamp) == {}
    table.checked(8, stamp)["2"] = "two"
    for i in range(11):  # past the bound: the index goes with the entries evicted
        table.put(str(i), (0, b""))
    assert table.checked(8, stamp) == {}
