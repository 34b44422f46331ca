"""``/Groups``: the departments as SCIM Groups (docs/scim.md). ``members`` are a department's direct
members; ``externalId`` is its ``ex_dept_id``; its parent is in openroster's department extension.
A person always belongs to at least one department: a change that would leave someone in none is
refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openroster.core.directory import Reader
from openroster.core.people import batch_writes, depts, search
from openroster.dialects.scim import DEPARTMENT, GROUP, listing, patch
from openroster.dialects.scim.endpoint import Call, Reply, route
from openroster.dialects.scim.errors import ScimError, ScimType, bad
from openroster.dialects.scim.filter import Compare, candidates, get_any, matches
from openroster.dialects.scim.resources import referenced, text_of, timestamp, version
from openroster.model.entities import ROOT_DEPT_ID, Department
from openroster.model.errors import BrokenReference, CoreError, RuleViolation

_ID_DIGITS = 18
#: A page of the name search a ``displayName eq`` reads its candidates by.
_NAMED = search.SEARCH_SIZE_MAX


def _dept_id(text: Any, what: str) -> int:
    """A department id as SCIM sends it (a decimal string), or 404/400 naming ``what``."""
    s = str(text)
    if not s.isdigit() or len(s) > _ID_DIGITS or int(s) < 1:
        raise ScimError(404, f"no Group {s!r}") if what == "id" else bad(f"{what}: {s!r} is no Group id")
    return int(s)


def group_resource(
    r: Reader, tenant_id: str, d: Department, base: str, *, members: bool = True
) -> dict[str, Any]:
    """Department ``d`` as a SCIM Group (with its direct members unless ``members`` is false)."""
    res: dict[str, Any] = {"schemas": [GROUP, DEPARTMENT], "id": str(d.id), "displayName": d.name}
    if d.ex_dept_id is not None:
        res["externalId"] = d.ex_dept_id
    if members:
        ids = depts.direct_member_ids(r, tenant_id=tenant_id, dept_id=d.id)
        res["members"] = [{"value": i, "type": "User", "$ref": f"{base}/Users/{i}"} for i in ids]
    if d.parent_id is not None:
        res[DEPARTMENT] = {"parent": {"value": str(d.parent_id), "$ref": f"{base}/Groups/{d.parent_id}"}}
    created = timestamp(d.ctime)
    res["meta"] = {"resourceType": "Group", "created": created, "lastModified": created}
    res["meta"]["location"] = f"{base}/Groups/{d.id}"
    res["meta"]["version"] = version(res)
    return res


@dataclass(frozen=True, slots=True)
class GroupFields:
    """What a Group resource says of a department: name, ex_dept_id (``""``: none), parent, members."""

    name: str
    ex_dept_id: str
    parent_id: int
    members: list[str]


def group_fields(res: Any) -> GroupFields:
    if not isinstance(res, dict):
        raise bad("the body must be a JSON object", ScimType.INVALID_SYNTAX)
    if GROUP not in (res.get("schemas") or []):
        raise bad(f"schemas must hold {GROUP}", ScimType.INVALID_SYNTAX)
    name = text_of(get_any(res, "displayName"), "displayName").strip()
    if not name:
        raise bad("displayName is required")
    ext = get_any(res, DEPARTMENT)
    parent = get_any(ext, "parent") if isinstance(ext, dict) else None
    parent_value = referenced(parent, "Groups")
    parent_id = _dept_id(parent_value, "parent.value") if parent_value not in (None, "") else ROOT_DEPT_ID
    listed = get_any(res, "members") or []
    if not isinstance(listed, list) or not all(isinstance(m, dict) for m in listed):
        raise bad("members must be a list of objects")
    members = [text_of(get_any(m, "value"), "members.value") for m in listed]
    return GroupFields(name, text_of(get_any(res, "externalId"), "externalId"), parent_id, members)


def _set_members(call: Call, dept_id: int, wanted: list[str], current: list[str]) -> None:
    """Make the department's direct members ``wanted`` (they are ``current``), all or nothing, in one
    set-based write whatever their number."""
    have, want = set(current), set(wanted)
    added = [u for u in dict.fromkeys(wanted) if u not in have]
    removed = [u for u in current if u not in want]
    if not added and not removed:
        return
    d = call.directory
    try:
        with d.writer() as tx:
            batch_writes.change_members_in(
                tx, d, tenant_id=call.tenant_id, dept_id=dept_id, added=added, removed=removed
            )
    except (BrokenReference, RuleViolation) as exc:
        if exc.index is None:
            raise
        uid = [*added, *removed][exc.index]
        if isinstance(exc, BrokenReference):
            raise bad(f"members: no User {uid!r}") from None
        raise bad(
            f"members: removing {uid!r} would leave them in no department; a person always belongs "
            "to one, so add them to another Group first"
        ) from None


def _wants_members(q: listing.Query | None, call: Call) -> bool:
    """Whether the reply shows ``members`` (they cost a read of every member)."""
    attributes = q.attributes if q is not None else call.query("attributes")
    excluded = q.excluded if q is not None else call.query("excludedAttributes")
    if attributes:
        return "members" in attributes.lower()
    return not excluded or "members" not in excluded.lower()


def _named(r: Reader, tenant_id: str, f: Compare) -> list[int] | None:
    """The ids of every department that may match ``eq`` comparison ``f`` (Entra's ``displayName
    eq`` probe, an ``externalId`` or ``id``), found by the store."""
    if f.path.schema != GROUP or not isinstance(f.value, str):
        return None
    key = (f.path.name.lower(), f.path.sub)
    if key == ("id", None):
        return [int(f.value)] if f.value.isdecimal() and len(f.value) <= _ID_DIGITS else []
    if key == ("externalid", None):
        return [d.id for d in depts.by_ex_ids(r, tenant_id=tenant_id, ex_dept_ids=[f.value])]
    if key == ("displayname", None) and f.value.strip():
        word, ids = f.value.strip(), list[int]()
        try:  # the names that hold it, a page at a time (a scan in the store, no render of the rest)
            while True:
                found = search.departments(r, tenant_id=tenant_id, query=search.Query(word, len(ids), _NAMED))
                ids += found.ids
                if len(ids) >= found.total or not found.ids:
                    return ids
        except CoreError:
            return []  # a name longer than any department's
    return None


def matched(call: Call, q: listing.Query) -> list[dict[str, Any]]:
    """Every Group that matches ``q``'s filter, rendered (with members when the reply or the filter
    needs them; only the departments the store names, when the filter lets it)."""
    r, tenant = call.reader, call.tenant_id
    needs = _wants_members(q, call) or (q.filter is not None and "members" in repr(q.filter).lower())
    narrowed = candidates(q.filter, lambda c: _named(r, tenant, c)) if q.filter is not None else None
    if narrowed is None:
        found = depts.every(r, tenant_id=tenant)
    else:
        by_id = r.depts(tenant, list(dict.fromkeys(narrowed)))
        found = [by_id[i] for i in sorted(by_id)]
    rendered = [group_resource(r, tenant, d, call.base, members=needs) for d in found]
    return [res for res in rendered if q.filter is None or matches(q.filter, res)]


def _listing(call: Call, q: listing.Query) -> Reply:
    shown, total = listing.page(q, matched(call, q))
    return listing.list_reply(q, shown, total)


@route("GET", "/Groups", summary="List departments as Groups", query=listing.LIST_QUERY)
def list_groups(call: Call, _: None) -> Reply:
    return _listing(call, listing.query(call.query, GROUP))


@route("POST", "/Groups/.search", summary="List Groups, the parameters in a SearchRequest body")
def search_groups(call: Call, body: Any) -> Reply:
    return _listing(call, listing.search_query(body, GROUP))


def _current(call: Call, *, members: bool = True) -> tuple[Department, dict[str, Any]]:
    dept_id = _dept_id(call.path_param("id"), "id")
    d = call.reader.depts(call.tenant_id, [dept_id]).get(dept_id)
    if d is None:
        raise ScimError(404, f"no Group {dept_id}")
    return d, group_resource(call.reader, call.tenant_id, d, call.base, members=members)


def _one(call: Call, dept_id: int, status: int = 200) -> Reply:
    d = depts.get(call.reader, tenant_id=call.tenant_id, dept_id=dept_id)
    res = group_resource(call.reader, call.tenant_id, d, call.base, members=_wants_members(None, call))
    return listing.one_reply(call, res, status)


@route("GET", "/Groups/{id}", summary="One department as a Group", query=listing.SELECT_QUERY)
def get_group(call: Call, _: None) -> Reply:
    return listing.one_reply(call, _current(call, members=_wants_members(None, call))[1])


@route(
    "POST", "/Groups", summary="Create a department (under the root unless a parent is named)", writes=True
)
def create_group(call: Call, body: Any) -> Reply:
    f = group_fields(body)
    item = depts.NewDepartment(name=f.name, parent_id=f.parent_id, ex_dept_id=f.ex_dept_id or None)
    made = depts.create(call.directory, tenant_id=call.tenant_id, item=item)
    _set_members(call, made.id, f.members, [])
    return _one(call, made.id, 201)


def _write(call: Call, d: Department, res: dict[str, Any], f: GroupFields) -> Reply:
    changes = depts.DeptChanges(
        name=f.name if f.name != d.name else None,
        parent_id=f.parent_id if d.parent_id is not None and f.parent_id != d.parent_id else None,
        ex_dept_id=f.ex_dept_id if f.ex_dept_id != (d.ex_dept_id or "") else None,
    )
    if changes != depts.DeptChanges():
        depts.update(call.directory, tenant_id=call.tenant_id, dept_id=d.id, changes=changes)
    _set_members(call, d.id, f.members, [m["value"] for m in res["members"]])
    return _one(call, d.id)


@route(
    "PUT", "/Groups/{id}", summary="Replace a department's name, externalId, parent and members", writes=True
)
def replace_group(call: Call, body: Any) -> Reply:
    d, res = _current(call)
    listing.check_if_match(call, res)
    return _write(call, d, res, group_fields(body))


@route("PATCH", "/Groups/{id}", summary="Change a Group: rename, move, add and remove members", writes=True)
def patch_group(call: Call, body: Any) -> Reply:
    d, res = _current(call)
    listing.check_if_match(call, res)
    return _write(call, d, res, group_fields(patch.apply(res, body, GROUP)))


@route("DELETE", "/Groups/{id}", summary="Delete an empty department", writes=True)
def delete_group(call: Call, _: None) -> Reply:
    d, res = _current(call, members=False)
    listing.check_if_match(call, res)
    depts.delete(call.directory, tenant_id=call.tenant_id, dept_id=d.id)
    return Reply(204)
