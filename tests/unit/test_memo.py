"""The rendering memo on core objects: never stale, and never keeping replaced objects alive."""

from __future__ import annotations

import dataclasses
import gc

import orjson
from tests.unit.test_mapping import _user

from openroster.dialects.wps import render
from openroster.model.entities import Department, Membership, serials

SCOPES = frozenset({"kso.contact.read"})


def _dept(name: str) -> Department:
    return Department("t", 5, 1, name, 0, None, f"/{name}", 0)


def _alive(kind: type, serial: int) -> bool:
    gc.collect()
    return any(isinstance(o, kind) and o.serial == serial for o in gc.get_objects())


def test_a_changed_object_has_a_new_serial_and_an_empty_memo() -> None:
    u = _user()
    u.memo["x"] = b"rendered"
    changed = dataclasses.replace(u, title="经理")
    assert changed.serial != u.serial and changed.memo == {} and u.memo == {"x": b"rendered"}
    assert changed == dataclasses.replace(changed)  # serial and memo take no part in equality
    assert serials([u, None, changed]) == (u.serial, 0, changed.serial)


def test_a_reply_with_departments_follows_a_renamed_department_and_frees_the_old_one() -> None:
    u = _user(memberships=(Membership(5, False, 0),))
    old = _dept("研发")
    first = render.user_bytes(u, SCOPES, {5: old})
    assert render.user_bytes(u, SCOPES, {5: old}) is first  # the memo's hit
    old_serial = old.serial
    del old
    assert not _alive(Department, old_serial)  # the memo kept its serial, not the object
    renamed = _dept("研发中心")
    second = render.user_bytes(u, SCOPES, {5: renamed})
    assert orjson.loads(second)["depts"] == [{"abs_path": "/研发中心", "id": "5", "name": "研发中心"}]
    assert orjson.loads(render.users_items([u], SCOPES, {5: renamed}))["items"] == [orjson.loads(second)]


def test_items_are_wrapped_without_changing_them() -> None:
    users = [_user(id=f"u{i}", memberships=()) for i in range(3)]
    plain = render.users_items(users, SCOPES, None)
    parts = [render.user_bytes(u, SCOPES, None) for u in users]
    wrapped = render.items_of(parts, wrap=(b'{"data":', b"}"))
    assert wrapped == b'{"data":' + plain + b"}"
    assert render.items_of([], wrap=(b"[", b"]")) == b'[{"items":[]}]'
    assert orjson.loads(plain)["items"][2]["id"] == "u2"
