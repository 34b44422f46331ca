"""DingTalk JSON for core objects.

``v2/list`` answers up to 100 people with every roster field (about 10 KB
each), so a person's rendered item is kept in the fragment cache
(core/runtime/fragments.py), one table per spelling, field filter and corp,
stamped with the catalogue and the linked names (of departments and other
people) it was rendered from and the version of the read that last found
them current. A change to the person drops it, in every process; the
catalogue and the names are objects that are replaced when they change. So
an item is never stale; at the same version it is sent without reading the
person's record, and the person's values are read from the store only to
render them again.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from operator import itemgetter
from typing import NamedTuple

import orjson

from openroster.core.directory import Reader
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import records as roster_records
from openroster.core.roster.catalogue import Catalogue, FieldType, RosterField
from openroster.core.roster.records import RosterRecord, Values
from openroster.core.runtime.fragments import Table
from openroster.dialects.mapping import contacts_active
from openroster.dialects.pieces import Pieces
from openroster.model.entities import Department, Role, User


class Spelling(NamedTuple):
    """The keys of a roster item: ``v2/list`` spells them in snake_case, ``/v1.0`` in camelCase."""

    #: The fragment variant (of users) of a roster item, per field filter.
    variant: str
    corp_id: str
    user_id: str
    union_id: str
    field_data_list: str
    field_code: str
    field_name: str
    group_id: str
    field_value_list: str
    item_index: str


#: ``/topapi/smartwork/hrm/employee/v2/list``.
SNAKE = Spelling(
    "dingtalk.roster",
    "corp_id",
    "userid",
    "unionid",
    "field_data_list",
    "field_code",
    "field_name",
    "group_id",
    "field_value_list",
    "item_index",
)
#: ``POST /v1.0/hrm/rosters/lists/query`` (GetEmployeeRosterByField).
CAMEL = Spelling(
    "dingtalk_v1.roster",
    "corpId",
    "userId",
    "unionId",
    "fieldDataList",
    "fieldCode",
    "fieldName",
    "groupId",
    "fieldValueList",
    "itemIndex",
)
#: Empty fields by (spelling, code, name, group): all an empty field's JSON depends on.
_EMPTY: dict[tuple[str, str, str, str], bytes] = {}
#: The time zone the platform's dates (``hired_date``) are in.
CHINA = timezone(timedelta(hours=8))

#: The roster's field types as DingTalk names them.
FIELD_TYPES: Mapping[FieldType, str] = {
    FieldType.TEXT: "TextField",
    FieldType.SELECT: "DDSelectField",
    FieldType.DATE: "DDDateField",
    FieldType.DATE_WITH_LONG: "DDDateWithLongField",
    FieldType.PHOTO: "DDPhotoField",
}


def unionid(u: User) -> str:
    """A stable unionid for the person (the platform's is an opaque 27-character string)."""
    digest = hashlib.sha256(f"openroster:{u.tenant_id}:{u.id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:27]


def _field(f: RosterField, values: Values, k: Spelling) -> bytes:
    return orjson.dumps(
        {
            k.field_code: f.code,
            k.field_name: f.name,
            k.group_id: f.group_id,
            k.field_value_list: [{k.item_index: v.row, "label": v.label, "value": v.value} for v in values],
        }
    )


def _empty(f: RosterField, k: Spelling) -> bytes:
    key = (k.variant, f.code, f.name, f.group_id)
    frag = _EMPTY.get(key)
    if frag is None:
        if len(_EMPTY) >= 4096:
            _EMPTY.clear()
        frag = _EMPTY[key] = _field(f, (), k)
    return frag


def selected_fields(cat: Catalogue, codes: tuple[str, ...] | None) -> list[RosterField]:
    """The fields a ``field_filter_list`` asks for, in its order (unknown codes are skipped);
    every field, in catalogue order, without one."""
    if codes is None:
        return [f for g in cat.groups for f in g.fields]
    return [cat.fields[c] for c in dict.fromkeys(codes) if c in cat.fields]


class _Items(NamedTuple):
    """The rendered items of one spelling, field filter and corp (a fragment table), and what
    rendering or checking one more needs."""

    table: Table
    tenant_id: str
    spelling: Spelling
    codes: tuple[str, ...] | None
    #: ``{"corp_id":"...",``: every item starts with it.
    head: bytes
    version: int | None


def roster_list(
    r: Reader,
    user_ids: Sequence[str],
    *,
    tenant_id: str,
    corp_id: str,
    codes: tuple[str, ...] | None,
    field: str,
    spelling: Spelling = SNAKE,
) -> Pieces:
    """The ``result`` of ``v2/list`` (or, ``spelling`` :data:`CAMEL`, of GetEmployeeRosterByField):
    the items of the existing users among ``user_ids`` (``field`` names them in refusals), as the
    pieces of one JSON array, for the reply to copy once.

    An item is kept in the fragment cache as ``(catalogue, linked names, item, version)``: the
    catalogue and the linked names it was rendered from, and the version of the read
    (:attr:`Reader.version`) that last found them current. While the version is the same nothing
    changed anywhere, so the item is sent as it is: one check per person, after which the item goes
    into the table's index of what was checked at this version (``Table.checked``), from which the
    next read of the same people at the same version takes them all in one look-up in C (ids
    repeated or not found there: the check per person). Otherwise the person's record is read
    (:func:`roster_records.read_records`, no query on a warm cache); an item of the same catalogue
    and linked names is still current, and only the people without one have their values read and
    are rendered again.
    """
    cat = roster_catalogue.catalogue(r, tenant_id=tenant_id)
    table = r.fragments(tenant_id, "user", (spelling.variant, codes, corp_id))
    version = r.version
    sent: dict[Hashable, bytes] | None = None
    if version is not None:
        sent = table.checked(version, cat)
        pieces = _as_sent(sent, user_ids)
        if pieces is not None:  # the usual case on a warm cache: one look-up in C for them all
            return pieces
    unique = roster_records.unique_ids(user_ids, field=field)
    get = table.entries.get
    if sent is not None and unique:  # every item current, one check each: indexed for next time
        seen: dict[Hashable, bytes] = {}
        for uid in unique:
            hit = get(uid)
            if hit is None or hit[3] != version or hit[0] is not cat:
                break
            seen[uid] = hit[2]
        else:
            sent.update(seen)
            found = list(seen.values())
            return _array(found, sum(map(len, found)))
    it = _Items(
        table,
        tenant_id,
        spelling,
        codes,
        f'{{"{spelling.corp_id}":'.encode() + orjson.dumps(corp_id) + b",",
        version,
    )
    items: dict[str, bytes] = {}
    if version is not None:
        for uid in unique:
            hit = get(uid)
            if hit is not None and hit[3] == version and hit[0] is cat:
                items[uid] = hit[2]
    if len(items) < len(unique):
        _check(r, it, [uid for uid in unique if uid not in items], items, field)
    found = [item for uid in unique if (item := items.get(uid)) is not None]
    return _array(found, sum(map(len, found)))


def _as_sent(sent: dict[Hashable, bytes], user_ids: Sequence[str]) -> Pieces | None:
    """The items of ``user_ids`` as one JSON array, if each was checked current at this read's
    version (``sent``: the items by id, see :func:`_array`) and no id repeats; else None (the ids
    are looked at one by one)."""
    n = len(user_ids)
    if not 0 < n <= roster_catalogue.LIST_USERS_MAX or len(set(user_ids)) != n:
        return None
    try:
        hits = itemgetter(*user_ids)(sent) if n > 1 else (sent[user_ids[0]],)
    except KeyError:
        return None
    return _array(hits, sum(map(len, hits)))


def _array(found: Sequence[bytes], size: int) -> Pieces:
    """Items (``size`` bytes in all) as the pieces of one JSON array: ``[``, an item, then ``,``
    and an item for each other, ``]``, placed in C. Only the items' own objects are touched (a
    100-person reply's items are not in the CPU's caches), and their lengths are read from them
    while they are there: the index of items checked at a version holds the items themselves.
    """
    if not found:
        return Pieces([b"[]"], 2)
    # The items with a comma between each two, inside the brackets.
    parts = Pieces([b","] * (2 * len(found) + 1), size + len(found) + 1)
    parts[1::2] = found
    parts[0] = b"["
    parts[-1] = b"]"
    return parts


def _check(r: Reader, it: _Items, user_ids: list[str], items: dict[str, bytes], field: str) -> None:
    """Put into ``items`` the current item of each existing user among ``user_ids``, rendering
    those that have none, each stamped with the read's version."""
    records = roster_records.read_records(r, tenant_id=it.tenant_id, user_ids=user_ids, field=field)
    get = it.table.entries.get
    missing: list[RosterRecord] = []
    for rec in records:
        hit = get(rec.user.id)
        if hit is not None and hit[0] is rec.catalogue and hit[1] is rec.linked:
            if hit[3] != it.version:
                it.table.put(rec.user.id, (*hit[:3], it.version))
            items[rec.user.id] = hit[2]
        else:
            missing.append(rec)
    if not missing:
        return
    loaded = roster_records.read_values(r, tenant_id=it.tenant_id, records=missing)
    for rec, values in zip(missing, loaded, strict=True):
        item = items[rec.user.id] = _render_item(it, rec, values)
        it.table.put(rec.user.id, (rec.catalogue, rec.linked, item, it.version))


def _render_item(it: _Items, rec: RosterRecord, values: Mapping[str, Values]) -> bytes:
    """One person's roster item, ``{"corp_id":...,"field_data_list":[...],...}``."""
    k = it.spelling
    parts: list[bytes] = []
    for f in selected_fields(rec.catalogue, it.codes):
        field_values = rec.get(f.code, values)
        parts.append(_field(f, field_values, k) if field_values else _empty(f, k))
    return (
        it.head
        + f'"{k.field_data_list}":['.encode()
        + b",".join(parts)
        + f'],"{k.union_id}":"'.encode()
        + unionid(rec.user).encode()
        + f'","{k.user_id}":'.encode()
        + orjson.dumps(rec.user.id)
        + b"}"
    )


def option_text(f: RosterField) -> str:
    """A select field's options as the platform spells them: a JSON string of ``[{label, value}]``."""
    return orjson.dumps([{"label": o.label, "value": o.value} for o in f.options]).decode()


def roster_meta(cat: Catalogue) -> list[dict[str, object]]:
    """The ``result`` of ``roster/meta/get``."""
    out: list[dict[str, object]] = []
    for g in cat.groups:
        fields: list[dict[str, object]] = []
        for f in g.fields:
            meta: dict[str, object] = {
                "derived": f.derived,
                "field_code": f.code,
                "field_name": f.name,
                "field_type": FIELD_TYPES[f.field_type],
            }
            if f.options:
                meta["option_text"] = option_text(f)
            fields.append(meta)
        out.append(
            {"group_id": g.id, "group_name": g.name, "detail": g.detail, "field_meta_info_list": fields}
        )
    return out


def field_groups(cat: Catalogue) -> list[dict[str, object]]:
    """The ``result`` of ``employee/field/grouplist``."""
    return [
        {
            "group_id": g.id,
            "has_detail": g.detail,
            "field_list": [
                {"field_code": f.code, "field_name": f.name, "field_type": FIELD_TYPES[f.field_type]}
                for f in g.fields
            ],
        }
        for g in cat.groups
    ]


def _date_ms(value: str) -> int | None:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=CHINA)
    except ValueError:
        return None
    return int(day.astimezone(UTC).timestamp() * 1000)


def contacts_user(
    rec: RosterRecord, values: Mapping[str, Values], *, corp_id: str, leaders: Mapping[int, set[str]]
) -> dict[str, object]:
    """The ``result`` of ``topapi/v2/user/get``."""
    u = rec.user
    out: dict[str, object] = {
        "active": contacts_active(u),
        "admin": u.role in (Role.ADMIN, Role.SUPER_ADMIN),
        "avatar": u.avatar or "",
        "boss": u.role is Role.SUPER_ADMIN,
        "corp_id": corp_id,
        "dept_id_list": list(u.dept_ids),
        "dept_order_list": [{"dept_id": m.dept_id, "order": m.order} for m in u.memberships],
        "email": u.email or "",
        "exclusive_account": False,
        "hide_mobile": False,
        "job_number": u.employee_id or "",
        "leader_in_dept": [
            {"dept_id": m.dept_id, "leader": u.id in leaders.get(m.dept_id, set())} for m in u.memberships
        ],
        "mobile": u.phone or "",
        "name": u.user_name,
        "real_authed": True,
        "remark": _first(rec.get("sys00-remark", values)),
        "senior": False,
        "state_code": "86",
        "telephone": u.telephone or "",
        "title": u.title or "",
        "unionid": unionid(u),
        "userid": u.id,
        "work_place": u.work_place or "",
    }
    if u.leader_id:
        out["manager_userid"] = u.leader_id
    hired = _date_ms(_first(rec.get("sys00-confirmJoinTime", values)))
    if hired is not None:
        out["hired_date"] = hired
    return out


def member_summary(rec: RosterRecord, values: Mapping[str, Values]) -> dict[str, object]:
    """A member as ``/v1.0`` BatchGetUser lists one: ``topapi/v2/user/get``'s keys, a few of them."""
    u = rec.user
    return {
        "userid": u.id,
        "unionid": unionid(u),
        "name": u.user_name,
        "nickname": "",
        "avatar": u.avatar or "",
        "mobile": u.phone or "",
        "state_code": "86",
        "job_number": u.employee_id or "",
        "remark": _first(rec.get("sys00-remark", values)),
        "senior": False,
    }


def _first(values: Values) -> str:
    return values[0].value if values else ""


def dept_summary(d: Department) -> dict[str, object]:
    """One item of ``topapi/v2/department/listsub``."""
    return {
        "auto_add_user": False,
        "create_dept_group": False,
        "dept_id": d.id,
        "name": d.name,
        "parent_id": d.parent_id if d.parent_id is not None else 0,
    }


def dept_detail(
    d: Department, *, leader_ids: Sequence[str], member_count: int | None = None
) -> dict[str, object]:
    """The ``result`` of ``topapi/v2/department/get``."""
    out = dept_summary(d) | {
        "dept_manager_userid_list": list(leader_ids),
        "group_contain_sub_dept": False,
        "hide_dept": False,
        "order": d.order,
        "outer_dept": False,
    }
    if d.parent_id is None:
        out.pop("parent_id")
    if member_count is not None:
        out["member_count"] = member_count
    return out
