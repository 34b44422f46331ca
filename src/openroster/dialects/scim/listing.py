"""What every resource type's list, search and single replies share: the query parameters (RFC 7644
§3.4.2, from the query string or a SearchRequest body), sorting and paging of matched resources, the
ListResponse, the single-resource reply with its ``ETag``, and ``If-Match``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openroster.dialects.scim import LIST_RESPONSE, SEARCH_REQUEST
from openroster.dialects.scim.endpoint import Call, Reply
from openroster.dialects.scim.errors import ScimError, ScimType, bad
from openroster.dialects.scim.filter import AttrPath, Filter, attr_path, definition, parse, values
from openroster.dialects.scim.resources import select

#: ``count`` when a list request names none (RFC 7644: the most the server returns), and the most
#: it may name (``filter.maxResults``).
COUNT_DEFAULT = 1000
COUNT_MAX = 1000
LIST_QUERY = ("filter", "startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes")
SELECT_QUERY = ("attributes", "excludedAttributes")


@dataclass(frozen=True, slots=True)
class Query:
    """A list request's parameters, checked."""

    filter: Filter | None
    start: int
    count: int
    sort_by: AttrPath | None
    descending: bool
    attributes: str | None
    excluded: str | None


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


def query(get: Callable[[str], Any], core: str) -> Query:
    """The parameters ``get`` gives (a query string's or a SearchRequest's), for resources of ``core``."""
    text = _text(get("filter"), "filter")
    sort_by = _text(get("sortBy"), "sortBy")
    order = (_text(get("sortOrder"), "sortOrder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise bad("sortOrder must be ascending or descending")
    try:
        sort_path = attr_path(sort_by, default_schema=core) if sort_by else None
    except ValueError as exc:
        raise bad(f"sortBy: {exc}") from None
    return Query(
        parse(text, core) if text is not None and text.strip() else None,
        max(1, _number(get("startIndex"), "startIndex", 1)),
        min(max(0, _number(get("count"), "count", COUNT_DEFAULT)), COUNT_MAX),
        sort_path,
        order == "descending",
        _names(get("attributes"), "attributes"),
        _names(get("excludedAttributes"), "excludedAttributes"),
    )


def search_query(body: Any, core: str) -> Query:
    """The parameters of a ``POST .../.search`` body."""
    if not isinstance(body, dict) or SEARCH_REQUEST not in (body.get("schemas") or []):
        raise bad(f"a search request's schemas must hold {SEARCH_REQUEST}", ScimType.INVALID_SYNTAX)
    return query(body.get, core)


def _sort_key(path: AttrPath) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    attr = definition(path)
    case_exact = attr is not None and attr.case_exact

    def key(res: dict[str, Any]) -> tuple[int, Any]:
        found = [v for v in values(res, path) if v is not None]
        if not found:
            return (1, "")
        v = found[0]
        return (0, v if case_exact or not isinstance(v, str) else v.lower())

    return key


def page(q: Query, hits: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The page ``q`` asks for of ``hits`` (the resources that matched), sorted; and how many matched."""
    if q.sort_by is not None:
        hits.sort(key=_sort_key(q.sort_by), reverse=q.descending)
    return hits[q.start - 1 : q.start - 1 + q.count], len(hits)


def list_reply(q: Query, shown: list[dict[str, Any]], total: int) -> Reply:
    """A ListResponse of ``shown`` (one page), ``total`` in all, with the attributes ``q`` selects."""
    resources = [select(res, q.attributes, q.excluded) for res in shown]
    body = {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": q.start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
    return Reply(200, body)


def one_reply(call: Call, res: dict[str, Any], status: int = 200) -> Reply:
    """One resource, with the attributes the request selects, its ``ETag`` and (201) ``Location``."""
    shown = select(res, call.query("attributes"), call.query("excludedAttributes"))
    location = res["meta"]["location"] if status == 201 else None
    return Reply(status, shown, location=location, etag=res["meta"]["version"])


def check_if_match(call: Call, res: dict[str, Any]) -> None:
    """Refuse with 412 when the request's ``If-Match`` names another version than ``res``'s."""
    wanted = call.request.headers.get("if-match")
    if wanted is None:
        return
    tags = {t.strip() for t in wanted.split(",")}
    have = res["meta"]["version"]
    if "*" not in tags and have not in tags and have.removeprefix("W/") not in tags:
        raise ScimError(412, f"the {res['meta']['resourceType']}'s version is {have}, not {wanted}")
