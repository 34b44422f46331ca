"""``/Users``: create, read, list with filter, sort and paging, replace, patch, delete."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openroster.core.directory import Reader
from openroster.core.people import batch_writes, users
from openroster.dialects.scim import CUSTOM_USER, USER, custom, patch
from openroster.dialects.scim.endpoint import Call, Reply, route
from openroster.dialects.scim.errors import ScimError, ScimType, bad
from openroster.dialects.scim.filter import Compare, candidates, matches
from openroster.dialects.scim.listing import (
    LIST_QUERY,
    SELECT_QUERY,
    Query,
    check_if_match,
    list_reply,
    one_reply,
    page,
    query,
    search_query,
)
from openroster.dialects.scim.resources import UserFields, user_fields, user_resource
from openroster.model.dismissions import LeaveReason
from openroster.model.entities import ROOT_DEPT_ID, User, UserStatus

#: The most Users a filter no index answers, or a sort, reads (each is read and rendered): past it such
#: a request is refused with ``tooMany`` (RFC 7644 §3.12: more than the server is willing to process).
SCAN_MAX = 20_000
_CHUNK = 1000

#: Filters on these attributes with ``eq`` are answered by the store's unique indexes (``userName``
#: too: by email, login name or id at once).
_INDEXED: dict[tuple[str, str | None], str] = {
    ("emails", None): "email",
    ("emails", "value"): "email",
    ("externalid", None): "ex_user_id",
}


def _named(r: Reader, tenant_id: str, f: Compare) -> list[str] | None:
    """The ids of every person who may match ``eq`` comparison ``f``, from the store's indexes."""
    if f.path.schema != USER or not isinstance(f.value, str):
        return None
    key = (f.path.name.lower(), f.path.sub.lower() if f.path.sub else None)
    if key == ("id", None):
        return [f.value]
    if key == ("username", None):  # the email, else the login name, else the id: one query
        return users.ids_named(r, tenant_id=tenant_id, value=f.value)
    if (field := _INDEXED.get(key)) is not None:
        found = users.find_by(
            r, tenant_id=tenant_id, field=field, values=[f.value], statuses=list(UserStatus)
        )
        return [u.id for u in found]
    return None


def _listing(call: Call, q: Query) -> Reply:
    r, tenant = call.reader, call.tenant_id
    if q.filter is None and q.sort_by is None:  # a page of ids by position: no one else is read
        total = users.count_all(r, tenant_id=tenant)
        ids = users.ids_at(r, tenant_id=tenant, offset=q.start - 1, limit=q.count) if q.count else []
        found = r.users(tenant, ids)
        shown = rendered(call, [found[i] for i in ids if i in found])
    else:
        shown, total = page(q, matched(call, q))
    return list_reply(q, shown, total)


def _every_id(call: Call, q: Query) -> list[str]:
    """Every id of the tenant, for a filter no index answers or a sort: refused with ``tooMany`` past
    :data:`SCAN_MAX` people (each would be read and rendered). Whether there are more is one seek
    to the position past the bound, not a count of the tenant."""
    r, tenant = call.reader, call.tenant_id
    if users.ids_at(r, tenant_id=tenant, offset=SCAN_MAX, limit=1):
        what = "sortBy" if q.filter is None else "filter"
        raise bad(
            f"{what}: this tenant has more than {SCAN_MAX:,} Users; a filter answered by an index (eq on "
            f"userName, emails.value, externalId or id) is served at any size, any other filter or a "
            f"sortBy up to {SCAN_MAX:,} Users",
            ScimType.TOO_MANY,
        )
    return list(users.every_id(r, tenant_id=tenant))


def rendered(call: Call, people: Iterable[User], *, fresh: bool = False) -> list[dict[str, Any]]:
    """``people`` as SCIM Users, with their custom attributes (read for all of them at once;
    ``fresh``: see :func:`custom.extensions`)."""
    listed = list(people)
    ext = custom.extensions(call.reader, call.tenant_id, [u.id for u in listed], call.base, fresh=fresh)
    return [user_resource(call.reader, u, call.base, ext.get(u.id)) for u in listed]


def matched(call: Call, q: Query) -> list[dict[str, Any]]:
    """Every User that matches ``q``'s filter, rendered (only the candidates the store's indexes name,
    when the filter lets them say; else every User, a thousand at a time, up to :data:`SCAN_MAX`)."""
    r, tenant, f = call.reader, call.tenant_id, q.filter
    narrowed = candidates(f, lambda c: _named(r, tenant, c)) if f is not None else None
    ids = list(dict.fromkeys(narrowed)) if narrowed is not None else _every_id(call, q)
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), _CHUNK):
        found = r.users(tenant, ids[start : start + _CHUNK])
        out += [res for res in rendered(call, found.values()) if f is None or matches(f, res)]
    return out


@route("GET", "/Users", summary="List people (filter, sortBy, startIndex/count)", query=LIST_QUERY)
def list_users(call: Call, _: None) -> Reply:
    return _listing(call, query(call.query, USER))


@route("POST", "/Users/.search", summary="List people, the parameters in a SearchRequest body")
def search_users(call: Call, body: Any) -> Reply:
    return _listing(call, search_query(body, USER))


def _current(call: Call) -> tuple[User, dict[str, Any]]:
    uid = call.path_param("id")
    u = call.reader.users(call.tenant_id, [uid]).get(uid)
    if u is None:
        raise ScimError(404, f"no User {uid!r}")
    return u, rendered(call, [u])[0]


def _one(call: Call, u: User, status: int = 200) -> Reply:
    """The reply of a write: ``u`` as the job's writes left them."""
    return one_reply(call, rendered(call, [u], fresh=True)[0], status)


@route("GET", "/Users/{id}", summary="One person", query=SELECT_QUERY)
def get_user(call: Call, _: None) -> Reply:
    return one_reply(call, _current(call)[1])


def _status_for(active: bool, current: UserStatus | None) -> UserStatus | None:
    """The status to give: None when ``active`` already holds of ``current``."""
    if active:
        return None if current is UserStatus.ACTIVE else UserStatus.ACTIVE
    return None if current not in (None, UserStatus.ACTIVE) else UserStatus.DISABLED


@route("POST", "/Users", summary="Create a person (in the root department)", writes=True)
def create_user(call: Call, body: Any) -> Reply:
    fields = user_fields(body)
    defs = call.reader.definitions(call.tenant_id)
    values = custom.updates(body, defs, None)
    given = {k: v for k, v in fields.changes.items() if v and k != "user_name"}
    status = UserStatus.ACTIVE if fields.active else UserStatus.DISABLED
    item = users.NewUser(user_name=fields.user_name, dept_ids=(ROOT_DEPT_ID,), status=status.value, **given)  # type: ignore[arg-type]
    made = users.create(call.directory, tenant_id=call.tenant_id, item=item)
    custom.write(call.directory, call.tenant_id, made.id, values, defs)
    return _one(call, made, 201)


def _write(call: Call, u: User, shown: dict[str, Any], wanted: dict[str, Any], fields: UserFields) -> Reply:
    """Make person ``u`` (shown as ``shown``) what resource ``wanted`` says (``fields``: its mapped
    attributes), in one transaction."""
    changes = {k: v for k, v in fields.changes.items() if (getattr(u, k) or "") != v}
    d, tenant = call.directory, call.tenant_id
    defs = call.reader.definitions(tenant)
    values = custom.updates(wanted, defs, shown.get(CUSTOM_USER))
    if changes:
        users.update(d, tenant_id=tenant, user_id=u.id, changes=changes)
    if (status := _status_for(fields.active, u.status)) is not None:
        batch_writes.set_status(d, tenant_id=tenant, user_ids=[u.id], status=status)
    custom.write(d, tenant, u.id, values, defs)
    fresh = call.reader.users(tenant, [u.id])[u.id]
    return _one(call, fresh)


@route("PUT", "/Users/{id}", summary="Replace a person's attributes", writes=True)
def replace_user(call: Call, body: Any) -> Reply:
    u, res = _current(call)
    check_if_match(call, res)
    return _write(call, u, res, body, user_fields(body))


@route("PATCH", "/Users/{id}", summary="Change a person's attributes (add, replace, remove)", writes=True)
def patch_user(call: Call, body: Any) -> Reply:
    u, res = _current(call)
    check_if_match(call, res)
    patched = patch.apply(res, body)
    return _write(call, u, res, patched, user_fields(patched, shown_name=u.user_name))


@route("DELETE", "/Users/{id}", summary="Delete a person (as WPS users/{id}/delete does)", writes=True)
def delete_user(call: Call, _: None) -> Reply:
    u, res = _current(call)
    check_if_match(call, res)
    users.delete(call.directory, tenant_id=call.tenant_id, user_id=u.id, reason=LeaveReason.OAPI)
    return Reply(204)
