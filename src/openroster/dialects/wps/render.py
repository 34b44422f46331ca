"""WPS JSON for core objects.

A user's reply is rendered once per user version and kept in the user's memo,
one entry per combination of the field-scoped values the app may see (email,
phone, gender) and of with or without departments; department refs are
rendered once per department version. The memo lives on the immutable core
object, so any change (which replaces the object) renders afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import orjson

from openroster.core.people.depts import Member
from openroster.core.runtime.cache import DeptView
from openroster.model.entities import (
    AttributeDefinition,
    AttributeValue,
    Department,
    UrlValue,
    User,
    ValueType,
    serials,
)

SCOPE_EMAIL = "kso.user_email.read"
SCOPE_PHONE = "kso.user_phone.read"
SCOPE_GENDER = "kso.user_gender.read"

_MEMO = "wps"
_EMAIL, _PHONE, _GENDER, _DEPTS = 1, 2, 4, 8
#: The memo key of a user's reply for each combination of the bits above.
_REPLY_KEYS: tuple[str, ...] = tuple(f"wps:user:{bits}" for bits in range(16))
#: The same with departments, for a reply checked against a DeptView's generation, not its departments;
#: the generation it was rendered at is kept under its own key (one dict, no tuple to follow).
_GENERATION_KEYS: tuple[str, ...] = tuple(f"wps:user:{bits}:by-generation" for bits in range(16))
_AT_GENERATION_KEYS: tuple[str, ...] = tuple(f"wps:user:{bits}:rendered-at" for bits in range(16))
_MASKS: dict[frozenset[str], int] = {}


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


def _render_user(u: User, mask: int, depts: Sequence[Department | None] | None) -> bytes:
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
    refs = b",".join(dept_ref(d) for d in depts if d is not None)
    return out[:-1] + b',"depts":[' + refs + b"]}"


def dept_ref(d: Department) -> bytes:
    frag: bytes | None = d.memo.get(_MEMO)
    if frag is None:
        frag = orjson.dumps({"abs_path": d.abs_path, "id": str(d.id), "name": d.name})
        d.memo[_MEMO] = frag
    return frag


def user_bytes(u: User, scopes: frozenset[str], depts: Mapping[int, Department] | None) -> bytes:
    """The user's JSON as the app sees it; rendered once per user version, scope set and departments.

    With ``depts`` the reply embeds the user's departments; it is reused while
    the very same department objects are current (a changed department is a
    new object, with a new serial), so a rename or a move renders afresh.
    """
    mask = _scope_mask(scopes)
    memo = u.memo
    if depts is None:
        key = _REPLY_KEYS[mask]
        hit: bytes | None = memo.get(key)
        if hit is None:
            hit = memo[key] = _render_user(u, mask, None)
        return hit
    key = _REPLY_KEYS[mask | _DEPTS]
    current = tuple([depts.get(m.dept_id) for m in u.memberships])
    made_from = serials(current)
    cached: tuple[tuple[int, ...], bytes] | None = memo.get(key)
    if cached is not None and cached[0] == made_from:
        return cached[1]
    out = _render_user(u, mask, current)
    memo[key] = (made_from, out)
    return out


def users_items(
    users: Sequence[User],
    scopes: frozenset[str],
    depts: Mapping[int, Department] | None,
) -> bytes:
    """``{"items":[...]}`` of the users; :func:`user_bytes` inlined for the memo's usual hit.

    With a :class:`DeptView` a user's reply with departments is reused while the
    view's generation is the one it was rendered at: one comparison per user
    instead of a lookup of each of their departments.
    """
    mask = _scope_mask(scopes)
    parts: list[bytes] = []
    append = parts.append
    if depts is None:
        key = _REPLY_KEYS[mask]
        for u in users:
            hit = u.memo.get(key)
            append(hit if hit is not None else user_bytes(u, scopes, None))
    elif isinstance(depts, DeptView):
        key, at_key = _GENERATION_KEYS[mask | _DEPTS], _AT_GENERATION_KEYS[mask | _DEPTS]
        generation = depts.generation
        for u in users:
            memo = u.memo
            if memo.get(at_key) == generation:
                append(memo[key])
            else:
                out = memo[key] = user_bytes(u, scopes, depts)
                memo[at_key] = generation
                append(out)
    else:
        key = _REPLY_KEYS[mask | _DEPTS]
        get = depts.get
        for u in users:
            cached = u.memo.get(key)
            if cached is not None:
                seen, ms = cached[0], u.memberships
                if len(ms) == 1:
                    d = get(ms[0].dept_id)
                    if len(seen) == 1 and seen[0] == (0 if d is None else d.serial):
                        append(cached[1])
                        continue
                elif seen == serials([get(m.dept_id) for m in ms]):
                    append(cached[1])
                    continue
            append(user_bytes(u, scopes, depts))
    return items_of(parts)


def reply_table(scopes: frozenset[str], with_dept: bool) -> str:
    """The cache table (``core.users.batch_read_derived``) of users' replies as ``scopes`` show them."""
    return _REPLY_KEYS[_scope_mask(scopes) | (_DEPTS if with_dept else 0)]


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


def member_bytes(m: Member, scopes: frozenset[str], *, with_user_detail: bool) -> bytes:
    """One member of a department: the membership, and with ``with_user_detail`` the user."""
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
    if not with_user_detail:
        return head
    return head[:-1] + b',"user_info":' + user_bytes(m.user, scopes, None) + b"}"


def members_items(members: Sequence[Member], scopes: frozenset[str], *, with_user_detail: bool) -> bytes:
    return (
        b'{"items":['
        + b",".join(member_bytes(m, scopes, with_user_detail=with_user_detail) for m in members)
        + b"]}"
    )


def definition_dict(a: AttributeDefinition) -> dict[str, object]:
    return {
        "id": a.id,
        "name": a.name,
        "value_type": a.value_type.value,
        "options": [{"key": o.key, "name": o.name} for o in a.options],
    }


def value_dict(a: AttributeDefinition, v: AttributeValue) -> dict[str, object]:
    """One value with every value field present; only the one of its type is filled."""
    out: dict[str, object] = {
        "attr_id": a.id,
        "attr_name": a.name,
        "attr_value_type": a.value_type.value,
        "option": "",
        "option_key": "",
        "relation_depts": [],
        "relation_user": "",
        "text": "",
        "url": {"title": "", "link": ""},
    }
    value = v.value
    if a.value_type is ValueType.OPTION:
        out["option"] = out["option_key"] = value
    elif a.value_type is ValueType.RELATION_DEPTS and isinstance(value, tuple):
        out["relation_depts"] = [str(x) for x in value]
    elif a.value_type is ValueType.URL and isinstance(value, UrlValue):
        out["url"] = {"title": value.title, "link": value.link}
    elif a.value_type is ValueType.RELATION_USER:
        out["relation_user"] = value
    else:
        out["text"] = value
    return out


def user_values(
    user_ids: Iterable[str],
    values: Mapping[str, list[AttributeValue]],
    defs: Mapping[str, AttributeDefinition],
) -> list[dict[str, object]]:
    return [
        {"user_id": uid, "custom_attrs": [value_dict(defs[v.attr_id], v) for v in values.get(uid, [])]}
        for uid in user_ids
    ]
