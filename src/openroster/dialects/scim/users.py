"""``/Users``: create, read, list with filter, sort and paging, replace, patch, delete."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from openroster.core.directory import Reader
from openroster.core.people import batch_writes, users
from openroster.dialects.scim import LIST_RESPONSE, SEARCH_REQUEST, USER, patch
from openroster.dialects.scim.endpoint import Call, Reply, route
from openroster.dialects.scim.errors import ScimError, ScimType, bad
from openroster.dialects.scim.filter import (
    AttrPath,
    Compare,
    Filter,
    Logic,
    attr_path,
    definition,
    matches,
    parse,
    values,
)
from openroster.dialects.scim.resources import UserFields, select, user_fields, user_resource
from openroster.model.entities import ROOT_DEPT_ID, User, UserStatus

#: ``count`` when a list request names none (RFC 7644: the most the server returns), and the most it may name
#: (``filter.maxResults``).
COUNT_DEFAULT = 1000
COUNT_MAX = 1000
_SCAN_PAGE = 1000
_LIST_QUERY = ("filter", "startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes")
_SELECT = ("attributes", "excludedAttributes")

#: Filters on these attributes with ``eq`` are answered by the store's unique indexes.
_INDEXED: dict[tuple[str, str | None], str] = {
    ("username", None): "email",
    ("emails", None): "email",
    ("emails", "value"): "email",
    ("externalid", None): "ex_user_id",
}


def _candidates(r: Reader, tenant_id: str, f: Filter) -> list[str] | None:
    """The ids of every person who may match ``f``, from the store's indexes; None: it cannot say."""
    if isinstance(f, Compare) and f.op == "eq" and isinstance(f.value, str) and f.path.schema == USER:
        key = (f.path.name.lower(), f.path.sub.lower() if f.path.sub else None)
        if key == ("id", None):
            return [f.value]
        if (field := _INDEXED.get(key)) is not None:
            found = users.find_by(
                r, tenant_id=tenant_id, field=field, values=[f.value], statuses=list(UserStatus)
            )
            ids = [u.id for u in found]
            if key[0] == "username":  # without an email, the login name, else the id, is the userName
                by_login = users.find_by(
                    r, tenant_id=tenant_id, field="login_name", values=[f.value], statuses=list(UserStatus)
                )
                ids += [u.id for u in by_login] + [f.value]
            return ids
    if isinstance(f, Logic):
        left, right = _candidates(r, tenant_id, f.left), _candidates(r, tenant_id, f.right)
        if f.op == "and":
            return left if left is not None else right
        if left is not None and right is not None:
            return [*left, *right]
    return None


def _sort_key(path: AttrPath) -> Any:
    attr = definition(path)
    case_exact = attr is not None and attr.case_exact

    def key(res: dict[str, Any]) -> tuple[int, Any]:
        found = [v for v in values(res, path) if v is not None]
        if not found:
            return (1, "")
        v = found[0]
        return (0, v if case_exact or not isinstance(v, str) else v.lower())

    return key


@dataclass(frozen=True, slots=True)
class Query:
    """A list request's parameters (RFC 7644 §3.4.2), from the query string or a SearchRequest body."""

    filter: str | None = None
    start: int = 1
    count: int = COUNT_DEFAULT
    sort_by: str | None = None
    sort_order: str | None = None
    attributes: str | None = None
    excluded: str | None = None


def _number(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise bad(f"{name} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise bad(f"{name} must be an integer") from None


def _names(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    raise bad(f"{name} must be a list of attribute names")


def _text(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise bad(f"{name} must be a string")


def _query(get: Callable[[str], Any]) -> Query:
    return Query(
        _text(get("filter"), "filter"),
        max(1, _number(get("startIndex"), "startIndex", 1)),
        min(max(0, _number(get("count"), "count", COUNT_DEFAULT)), COUNT_MAX),
        _text(get("sortBy"), "sortBy"),
        _text(get("sortOrder"), "sortOrder"),
        _names(get("attributes"), "attributes"),
        _names(get("excludedAttributes"), "excludedAttributes"),
    )


def _listing(call: Call, q: Query) -> Reply:
    r, tenant = call.reader, call.tenant_id
    f = parse(q.filter) if q.filter is not None and q.filter.strip() else None
    order = (q.sort_order or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise bad("sortOrder must be ascending or descending")
    start, count = q.start, q.count
    if f is None and q.sort_by is None:
        total = users.count_all(r, tenant_id=tenant)
        ids = list(islice(users.every_id(r, tenant_id=tenant), start - 1, start - 1 + count))
        found = r.users(tenant, ids)
        shown = [user_resource(r, found[i], call.base) for i in ids if i in found]
    else:
        narrowed = _candidates(r, tenant, f) if f is not None else None
        ids = narrowed if narrowed is not None else list(users.every_id(r, tenant_id=tenant))
        found = r.users(tenant, list(dict.fromkeys(ids)))
        rendered = [user_resource(r, u, call.base) for u in found.values()]
        hits = [res for res in rendered if f is None or matches(f, res)]
        if q.sort_by:
            try:
                path = attr_path(q.sort_by)
            except ValueError as exc:
                raise bad(f"sortBy: {exc}") from None
            hits.sort(key=_sort_key(path), reverse=order == "descending")
        total = len(hits)
        shown = hits[start - 1 : start - 1 + count]
    resources = [select(res, q.attributes, q.excluded) for res in shown]
    return Reply(
        200,
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(resources),
            "Resources": resources,
        },
    )


@route("GET", "/Users", summary="List people (filter, sortBy, startIndex/count)", query=_LIST_QUERY)
def list_users(call: Call, _: None) -> Reply:
    return _listing(call, _query(call.query))


@route("POST", "/Users/.search", summary="List people, the parameters in a SearchRequest body")
def search_users(call: Call, body: Any) -> Reply:
    if not isinstance(body, dict) or SEARCH_REQUEST not in (body.get("schemas") or []):
        raise bad(f"a search request's schemas must hold {SEARCH_REQUEST}", ScimType.INVALID_SYNTAX)
    return _listing(call, _query(body.get))


def _current(call: Call) -> tuple[User, dict[str, Any]]:
    uid = call.path_param("id")
    u = call.reader.users(call.tenant_id, [uid]).get(uid)
    if u is None:
        raise ScimError(404, f"no User {uid!r}")
    return u, user_resource(call.reader, u, call.base)


def _check_if_match(call: Call, res: dict[str, Any]) -> None:
    wanted = call.request.headers.get("if-match")
    if wanted is None:
        return
    tags = {t.strip() for t in wanted.split(",")}
    have = res["meta"]["version"]
    if "*" not in tags and have not in tags and have.removeprefix("W/") not in tags:
        raise ScimError(412, f"the User's version is {have}, not {wanted}")


def _one(call: Call, u: User, status: int = 200) -> Reply:
    res = user_resource(call.reader, u, call.base)
    shown = select(res, call.query("attributes"), call.query("excludedAttributes"))
    return Reply(status, shown, location=res["meta"]["location"], etag=res["meta"]["version"])


@route("GET", "/Users/{id}", summary="One person", query=_SELECT)
def get_user(call: Call, _: None) -> Reply:
    res = _current(call)[1]
    return Reply(
        200,
        select(res, call.query("attributes"), call.query("excludedAttributes")),
        etag=res["meta"]["version"],
    )


def _status_for(active: bool, current: UserStatus | None) -> UserStatus | None:
    """The status to give: None when ``active`` already holds of ``current``."""
    if active:
        return None if current is UserStatus.ACTIVE else UserStatus.ACTIVE
    return None if current not in (None, UserStatus.ACTIVE) else UserStatus.DISABLED


@route("POST", "/Users", summary="Create a person (in the root department)", writes=True)
def create_user(call: Call, body: Any) -> Reply:
    fields = user_fields(body)
    given = {k: v for k, v in fields.changes.items() if v and k != "user_name"}
    status = UserStatus.ACTIVE if fields.active else UserStatus.DISABLED
    item = users.NewUser(user_name=fields.user_name, dept_ids=(ROOT_DEPT_ID,), status=status.value, **given)  # type: ignore[arg-type]
    made = users.create(call.directory, tenant_id=call.tenant_id, item=item)
    return _one(call, made, 201)


def _write(call: Call, u: User, fields: UserFields) -> Reply:
    changes = {k: v for k, v in fields.changes.items() if (getattr(u, k) or "") != v}
    d, tenant = call.directory, call.tenant_id
    if changes:
        users.update(d, tenant_id=tenant, user_id=u.id, changes=changes)
    if (status := _status_for(fields.active, u.status)) is not None:
        batch_writes.set_status(d, tenant_id=tenant, user_ids=[u.id], status=status)
    fresh = call.reader.users(tenant, [u.id])[u.id]
    return _one(call, fresh)


@route("PUT", "/Users/{id}", summary="Replace a person's attributes", writes=True)
def replace_user(call: Call, body: Any) -> Reply:
    u, res = _current(call)
    _check_if_match(call, res)
    return _write(call, u, user_fields(body))


@route("PATCH", "/Users/{id}", summary="Change a person's attributes (add, replace, remove)", writes=True)
def patch_user(call: Call, body: Any) -> Reply:
    u, res = _current(call)
    _check_if_match(call, res)
    return _write(call, u, user_fields(patch.apply(res, body), shown_name=u.user_name))


@route("DELETE", "/Users/{id}", summary="Delete a person (as WPS users/{id}/delete does)", writes=True)
def delete_user(call: Call, _: None) -> Reply:
    u, res = _current(call)
    _check_if_match(call, res)
    users.delete(call.directory, tenant_id=call.tenant_id, user_id=u.id)
    return Reply(204)
