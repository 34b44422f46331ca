"""WPS JSON for core objects.

A user's reply is rendered once per version of the user (and of the tenant's
departments, when it embeds them) for each combination of the field-scoped
values the app may see (email, phone, gender) and of with or without
departments, and kept in the process's fragment cache
(core/runtime/fragments.py): one table per combination, stamped with the
departments' generation when the replies embed them, entries ``(status, reply)``
by user id (of the kind ``PROFILE``: a reply shows no attribute values, so a write of a
user's attribute values leaves it). Every reply of a
user (batch_read, pages, look-ups, one user, members with details) goes
through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import orjson

from openroster.core.directory import Reader
from openroster.core.people import users as user_service
from openroster.core.people.depts import Member
from openroster.core.runtime.cache import DeptView
from openroster.core.runtime.fragments import PROFILE, Table
from openroster.model.entities import (
    AttributeDefinition,
    AttributeValue,
    Department,
    UrlValue,
    User,
    UserStatus,
    ValueType,
)

SCOPE_EMAIL = "kso.user_email.read"
SCOPE_PHONE = "kso.user_phone.read"
SCOPE_GENDER = "kso.user_gender.read"

_EMAIL, _PHONE, _GENDER, _DEPTS = 1, 2, 4, 8
#: The fragment variant of a user's reply for each combination of the bits above.
_VARIANTS: tuple[tuple[str, int], ...] = tuple(("wps.user", bits) for bits in range(16))
_MASKS: dict[frozenset[str], int] = {}
#: The entry of an id the tenant has no user under (its "status" is in no set of statuses).
_ABSENT_STATUS = None


def _s(value: object) -> str:
    return "" if value is None else str(value)


def _scope_mask(scopes: frozenset[str]) -> int:
    """Which field-scoped values an app sees, as bits (cached per scope set)."""
    mask = _MASKS.get(scopes)
    if mask is None:
        mask = (
            (_EMAIL if SCOPE_EMAIL in scopes else 0)
            | (_PHONE if SCOPE_PHONE in scopes else 0)
            | (_GENDER if SCOPE_GENDER in scopes else 0)
        )
        if len(_MASKS) < 4096:
            _MASKS[scopes] = mask
    return mask


def _render_user(u: User, mask: int, depts: Mapping[int, Department] | None) -> bytes:
    data: dict[str, object] = {
        "id": u.id,
        "user_name": u.user_name,
        "avatar": _s(u.avatar),
        "city": _s(u.city),
        "country": _s(u.country),
        "ctime": u.ctime,
        "def_dept_id": _s(u.def_dept_id),
        "employee_id": _s(u.employee_id),
        "employer": _s(u.employer),
        "employment_status": _s(u.employment_status),
        "employment_type": _s(u.employment_type),
        "ex_user_id": _s(u.ex_user_id),
        "leader_id": _s(u.leader_id),
        "login_name": _s(u.login_name),
        "role": u.role.value,
        "status": u.status.value,
        "telephone": _s(u.telephone),
        "title": _s(u.title),
        "work_place": _s(u.work_place),
    }
    if mask & _EMAIL:
        data["email"] = _s(u.email)
    if mask & _PHONE:
        data["phone"] = _s(u.phone)
    if mask & _GENDER:
        data["gender"] = u.gender.value
    out = orjson.dumps(data)
    if depts is None:
        return out
    refs = b",".join(dept_ref(d) for m in u.memberships if (d := depts.get(m.dept_id)) is not None)
    return out[:-1] + b',"depts":[' + refs + b"]}"


def dept_ref(d: Department) -> bytes:
    return orjson.dumps({"abs_path": d.abs_path, "id": str(d.id), "name": d.name})


def user_bytes(u: User, scopes: frozenset[str], depts: Mapping[int, Department] | None) -> bytes:
    """The user's JSON as the app sees it, rendered afresh (e.g. a user just written).

    With ``depts`` the reply embeds the user's departments.
    """
    return _render_user(u, _scope_mask(scopes), depts)


class _Replies:
    """Users' replies for one scope set and one ``depts`` (or none), through the fragment cache.

    The table's stamp is the departments' generation (0 without them): a department
    change empties the table of replies with departments at its next use.
    """

    __slots__ = ("depts", "get", "mask", "table")

    def __init__(self, r: Reader, tenant_id: str, scopes: frozenset[str], depts: DeptView | None) -> None:
        self.mask = mask = _scope_mask(scopes)
        self.depts = depts
        if depts is None:
            self.table: Table = r.fragments(tenant_id, PROFILE, _VARIANTS[mask], 0)
        else:
            self.table = r.fragments(tenant_id, PROFILE, _VARIANTS[mask | _DEPTS], depts.generation)
        self.get = self.table.entries.get

    def reply(self, u: User) -> bytes:
        e = self.get(u.id)
        if e is not None and e[0] is not _ABSENT_STATUS:
            out: bytes = e[1]
            return out
        return self.render(u)[1]

    def render(self, u: User) -> tuple[UserStatus | None, bytes]:
        entry = (u.status, _render_user(u, self.mask, self.depts))
        self.table.put(u.id, entry)
        return entry


def user_reply(r: Reader, u: User, scopes: frozenset[str], depts: DeptView | None) -> bytes:
    """One user's JSON as the app sees it, with ``depts`` their departments; read through the cache."""
    return _Replies(r, u.tenant_id, scopes, depts).reply(u)


def users_items(r: Reader, users: Sequence[User], scopes: frozenset[str], depts: DeptView | None) -> bytes:
    """``{"items":[...]}`` of the users (read through the cache; see :func:`user_reply`)."""
    if not users:
        return items_of([])
    replies = _Replies(r, users[0].tenant_id, scopes, depts)
    get = replies.get
    parts: list[bytes] = []
    append = parts.append
    for u in users:
        e = get(u.id)
        append(e[1] if e is not None and e[0] is not _ABSENT_STATUS else replies.render(u)[1])
    return items_of(parts)


def batch_read_replies(
    r: Reader,
    *,
    tenant_id: str,
    user_ids: Sequence[str],
    statuses: Iterable[UserStatus],
    scopes: frozenset[str],
    depts: DeptView | None,
) -> list[bytes]:
    """The replies of ``users.batch_read``: the users among ``user_ids`` (in that order, once each)
    whose status is in ``statuses``.

    The fragment entries hold each user's status, and the ids the tenant has no user
    under, so a read whose ids all have an entry costs one lookup per id and never
    touches the users; otherwise ``users.batch_read`` answers for every status, and
    its users' replies are filled in.
    """
    wanted = frozenset(statuses)
    replies = _Replies(r, tenant_id, scopes, depts)
    get = replies.get
    out: dict[str, bytes] = {}  # a repeated id keeps its first place
    for uid in user_ids:
        e = get(uid)
        if e is None:
            break
        if e[0] in wanted:
            out[uid] = e[1]
    else:
        return list(out.values())
    found = user_service.batch_read(r, tenant_id=tenant_id, user_ids=user_ids, statuses=UserStatus)
    derived: list[bytes] = []
    for u in found:
        e = get(u.id)
        if e is None or e[0] is _ABSENT_STATUS:
            e = replies.render(u)
        if e[0] in wanted:
            derived.append(e[1])
    if len(found) < len(user_ids):
        present = {u.id for u in found}
        for uid in user_ids:
            if uid not in present:
                replies.table.put(uid, (_ABSENT_STATUS, b""))
    return derived


def items_of(parts: list[bytes], *, wrap: tuple[bytes, bytes] = (b"", b"")) -> bytes:
    """``{"items":[...]}`` of rendered items; ``parts`` is used up.

    ``wrap``: bytes to put before and after (a reply's envelope), at no extra copy of the items.
    """
    head, tail = wrap[0] + b'{"items":[', b"]}" + wrap[1]
    if not parts:
        return head + tail
    # The ends join the first and the last item's bytes, so the items are copied once, not twice.
    parts[0] = head + parts[0]
    parts[-1] += tail
    return b",".join(parts)


def dept_dict(d: Department, leaders: Sequence[tuple[str, int]] = ()) -> dict[str, object]:
    """A department; ``leaders`` are ``(user id, order)`` pairs (see ``core.depts.leaders``)."""
    return {
        "id": str(d.id),
        "name": d.name,
        "parent_id": _s(d.parent_id),
        "abs_path": d.abs_path,
        "ex_dept_id": _s(d.ex_dept_id),
        "order": d.order,
        "ctime": d.ctime,
        "leaders": [{"user_id": uid, "order": order} for uid, order in leaders],
    }


def depts_items(
    depts: Sequence[Department], leaders: Mapping[int, Sequence[tuple[str, int]]]
) -> list[dict[str, object]]:
    return [dept_dict(d, leaders.get(d.id, ())) for d in depts]


def page_tail(next_page_token: str, total: int | None) -> bytes:
    """The end of a paged reply's ``data``, after its ``items``."""
    tail = b',"next_page_token":' + orjson.dumps(next_page_token)
    if total is not None:
        tail += b',"total":' + str(total).encode()
    return tail + b"}"


def _member_bytes(m: Member, replies: _Replies | None) -> bytes:
    """One member of a department: the membership, and with ``replies`` the user."""
    head = orjson.dumps(
        {
            "ctime": m.user.ctime,
            "dept_id": str(m.dept_id),
            "is_leader": m.is_leader,
            "mtime": m.user.mtime,
            "order": m.order,
            "user_id": m.user.id,
        }
    )
    if replies is None:
        return head
    return head[:-1] + b',"user_info":' + replies.reply(m.user) + b"}"


def members_items(
    r: Reader, members: Sequence[Member], scopes: frozenset[str], *, with_user_detail: bool
) -> bytes:
    replies = _Replies(r, members[0].user.tenant_id, scopes, None) if with_user_detail and members else None
    return b'{"items":[' + b",".join(_member_bytes(m, replies) for m in members) + b"]}"


def definition_dict(a: AttributeDefinition) -> dict[str, object]:
    return {
        "id": a.id,
        "name": a.name,
        "value_type": a.value_type.value,
        "options": [{"key": o.key, "name": o.name} for o in a.options],
    }


#: A value's fields after its definition's, each empty but the one its type fills (see
#: :func:`_value_json`); ``option`` twice (``option`` and ``option_key``).
_VALUE_FIELDS = b'"option":%b,"option_key":%b,"relation_depts":%b,"relation_user":%b,"text":%b,"url":%b}'
_EMPTY, _NO_DEPTS, _NO_URL = b'""', b"[]", b'{"title":"","link":""}'


def _value_json(head: bytes, a: AttributeDefinition, v: AttributeValue) -> bytes:
    """One value with every value field present; only the one of its type is filled. ``head``:
    its definition's fields, ``{"attr_id":...,"attr_value_type":...,`` (rendered once a reply)."""
    value = v.value
    option = user = text = _EMPTY
    depts, url = _NO_DEPTS, _NO_URL
    if a.value_type is ValueType.OPTION:
        option = orjson.dumps(value)
    elif a.value_type is ValueType.RELATION_DEPTS and isinstance(value, tuple):
        depts = orjson.dumps([str(x) for x in value])
    elif a.value_type is ValueType.URL and isinstance(value, UrlValue):
        url = orjson.dumps({"title": value.title, "link": value.link})
    elif a.value_type is ValueType.RELATION_USER:
        user = orjson.dumps(value)
    else:
        text = orjson.dumps(value)
    return head + _VALUE_FIELDS % (option, option, depts, user, text, url)


def _value_parts(a: AttributeDefinition) -> list[bytes]:
    """:func:`_value_json`'s bytes for a value of ``a`` but its filled field (an option's twice):
    the pieces a value's JSON is joined with."""
    option = user = text = _EMPTY
    depts, url = _NO_DEPTS, _NO_URL
    vt = a.value_type
    if vt is ValueType.OPTION:
        option = _FILLED
    elif vt is ValueType.RELATION_DEPTS:
        depts = _FILLED
    elif vt is ValueType.URL:
        url = _FILLED
    elif vt is ValueType.RELATION_USER:
        user = _FILLED
    else:
        text = _FILLED
    # orjson writes no NUL byte (it escapes control characters): the split finds only the marks.
    return (_head(a) + _VALUE_FIELDS % (option, option, depts, user, text, url)).split(_FILLED)


def _head(a: AttributeDefinition) -> bytes:
    """A value's definition fields, ``{"attr_id":...,"attr_value_type":...,``."""
    fields = {"attr_id": a.id, "attr_name": a.name, "attr_value_type": a.value_type.value}
    return orjson.dumps(fields)[:-1] + b","


_FILLED = b"\0"


def user_values(
    user_ids: Iterable[str],
    values: Mapping[str, list[AttributeValue]],
    defs: Mapping[str, AttributeDefinition],
) -> bytes:
    """``{"total":N,"users":[{"user_id":...,"custom_attrs":[...]}, ...]}`` of the users named, as
    bytes: a batch_update of 50 × 5 answers 250 values, put together from pieces rather than
    250 dicts handed to the encoder. A value is its filled field joined with its definition's
    pieces (:func:`_value_parts`, made once a reply); one whose type is not its definition's
    goes through :func:`_value_json`."""
    pieces: dict[str, list[bytes]] = {}
    dumps, depts_type, url_type = orjson.dumps, ValueType.RELATION_DEPTS, ValueType.URL
    users = []
    for uid in user_ids:
        attrs = []
        for v in values.get(uid, ()):
            a = defs[v.attr_id]
            parts = pieces.get(a.id)
            if parts is None:
                parts = pieces[a.id] = _value_parts(a)
            value, vt = v.value, a.value_type
            if type(value) is str and vt is not depts_type and vt is not url_type:
                attrs.append(dumps(value).join(parts))
            elif vt is depts_type and type(value) is tuple:
                attrs.append(dumps([str(x) for x in value]).join(parts))
            elif vt is url_type and type(value) is UrlValue:
                attrs.append(dumps({"title": value.title, "link": value.link}).join(parts))
            else:
                attrs.append(_value_json(_head(a), a, v))
        users.append(b'{"user_id":%b,"custom_attrs":[%b]}' % (dumps(uid), b",".join(attrs)))
    return b'{"total":%d,"users":[%b]}' % (len(users), b",".join(users))
