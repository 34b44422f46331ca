"""WPS JSON for core objects.

A user's reply is assembled from fragments rendered once per user version and
kept in the user's memo: the profile, then the three field-scoped pieces
(email, phone, gender) the app may or may not see, then the department refs,
each rendered once per department version. The memo lives on the immutable
core object, so any change (which replaces the object) renders afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import orjson

from openroster.core.depts import Member
from openroster.core.model import AttributeDefinition, AttributeValue, Department, UrlValue, User, ValueType

SCOPE_EMAIL = "kso.user_email.read"
SCOPE_PHONE = "kso.user_phone.read"
SCOPE_GENDER = "kso.user_gender.read"

_MEMO = "wps"


def _s(value: object) -> str:
    return "" if value is None else str(value)


def _user_fragments(u: User) -> tuple[bytes, bytes, bytes, bytes]:
    frags: tuple[bytes, bytes, bytes, bytes] | None = u.memo.get(_MEMO)
    if frags is None:
        profile = orjson.dumps(
            {
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
        )[:-1]
        frags = (
            profile,
            b',"email":' + orjson.dumps(_s(u.email)),
            b',"phone":' + orjson.dumps(_s(u.phone)),
            b',"gender":' + orjson.dumps(u.gender.value),
        )
        u.memo[_MEMO] = frags
    return frags


def dept_ref(d: Department) -> bytes:
    frag: bytes | None = d.memo.get(_MEMO)
    if frag is None:
        frag = orjson.dumps({"abs_path": d.abs_path, "id": str(d.id), "name": d.name})
        d.memo[_MEMO] = frag
    return frag


def user_bytes(u: User, scopes: frozenset[str], depts: Mapping[int, Department] | None) -> bytes:
    profile, email, phone, gender = _user_fragments(u)
    parts = [profile]
    if SCOPE_EMAIL in scopes:
        parts.append(email)
    if SCOPE_PHONE in scopes:
        parts.append(phone)
    if SCOPE_GENDER in scopes:
        parts.append(gender)
    if depts is not None:
        parts.append(b',"depts":[')
        parts.append(b",".join(dept_ref(d) for m in u.memberships if (d := depts.get(m.dept_id)) is not None))
        parts.append(b"]")
    parts.append(b"}")
    return b"".join(parts)


def users_items(
    users: Sequence[User], scopes: frozenset[str], depts: Mapping[int, Department] | None
) -> bytes:
    return b'{"items":[' + b",".join(user_bytes(u, scopes, depts) for u in users) + b"]}"


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


def users_page(
    users: Sequence[User],
    scopes: frozenset[str],
    depts: Mapping[int, Department] | None,
    next_page_token: str,
    total: int | None,
) -> bytes:
    return users_items(users, scopes, depts)[:-1] + page_tail(next_page_token, total)


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
