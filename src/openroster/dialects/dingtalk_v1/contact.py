"""The ``contact_1_0`` calls (通讯录): name search over members and departments.

The ids are those of ``topapi/v2/user/get`` and ``topapi/v2/department/get`` (a department's id is a
number); who a search finds is core's (``core/people/search.py``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openroster.core.people import name_order, search
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import records as roster_records
from openroster.dialects.dingtalk import render
from openroster.dialects.dingtalk.endpoint import MEMBER_READ, Call
from openroster.dialects.dingtalk_v1 import ADDRESSLIST_SEARCH
from openroster.dialects.dingtalk_v1.endpoint import route
from openroster.dialects.dingtalk_v1.errors import INVALID_PARAMETER, V1Error
from openroster.dialects.mapping import in_contacts

_CONTACT = "/v1.0/contact"
#: The code the search calls answer a bad parameter with.
_PARAMETER_ERROR = "parameter.error"
#: How the calls name the query word, offset and size in their refusals.
_FIELDS = ("queryWord", "offset", "size")


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    queryWord: str = Field(description="A name, or part of one.")
    offset: int = Field(description="Where the page starts, in items (0: the first).")
    size: int = Field(description=f"1..{search.SEARCH_SIZE_MAX} results.")


class SearchUserBody(SearchBody):
    fullMatchField: int | None = Field(default=None, description="1: the name is the query word exactly.")


class BatchGetQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    userIdList: list[str] = Field(
        max_length=roster_catalogue.LIST_USERS_MAX, description="1..100 userIds, as one JSON array."
    )
    permissionCode: str | None = Field(default=None, description="Accepted; every member is readable.")


def _search(call: Call, body: SearchBody, *, members: bool, exact: bool = False) -> dict[str, Any]:
    """``{hasMore, totalCount, list}`` of a member or department search."""
    query = search.Query(body.queryWord, body.offset, body.size, fields=_FIELDS)
    found: search.Found[Any]
    if members:
        found = search.members(call.reader, tenant_id=call.tenant_id, query=query, exact=exact)
    else:
        found = search.departments(call.reader, tenant_id=call.tenant_id, query=query)
    return {"hasMore": found.has_more(body.offset), "totalCount": found.total, "list": found.ids}


#: A search call: ``POST``, the search permission, ``parameter.error`` for a bad parameter.
_search_route = partial(route, "POST", permission=ADDRESSLIST_SEARCH, invalid=_PARAMETER_ERROR)


@_search_route(f"{_CONTACT}/users/search", body=SearchUserBody)
def search_users(call: Call, body: SearchUserBody) -> dict[str, Any]:
    """SearchUser: the userIds of the members whose name holds the query word (or is it)."""
    return _search(call, body, members=True, exact=body.fullMatchField == 1)


@_search_route(f"{_CONTACT}/departments/search", body=SearchBody)
def search_departments(call: Call, body: SearchBody) -> dict[str, Any]:
    """SearchDepartment: the ids of the departments whose name holds the query word."""
    return _search(call, body, members=False)


@route("GET", f"{_CONTACT}/users/batch/get", permission=MEMBER_READ, body=BatchGetQuery)
def batch_get_users(call: Call, body: BatchGetQuery) -> dict[str, Any]:
    """BatchGetUser: the members among up to 100 userIds, in snake_case (others are left out)."""
    if not body.userIdList:
        raise V1Error(INVALID_PARAMETER, "userIdList must name at least one userId")
    records = roster_records.read_records(
        call.reader, tenant_id=call.tenant_id, user_ids=body.userIdList, field="userIdList"
    )
    members = [rec for rec in records if in_contacts(rec.user)]
    values = roster_records.read_values(call.reader, tenant_id=call.tenant_id, records=members)
    return {
        "userList": [render.member_summary(rec, v) for rec, v in zip(members, values, strict=True)],
        "unauthorizedUserIdList": [],
    }


class SortUserBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    userIdList: list[str] = Field(max_length=roster_catalogue.LIST_USERS_MAX, description="1..100 userIds.")
    sortType: int | None = Field(default=None, ge=0, le=1, description="0: pinyin ascending; 1: descending.")


@route("POST", f"{_CONTACT}/users/sort", permission=MEMBER_READ, body=SortUserBody)
def sort_users(call: Call, body: SortUserBody) -> dict[str, Any]:
    """SortUser: the members among the userIds, in the pinyin order of their names."""
    if not body.userIdList:
        raise V1Error(INVALID_PARAMETER, "userIdList must name at least one userId")
    found = call.reader.users(call.tenant_id, list(dict.fromkeys(body.userIdList)))
    members = [u for u in found.values() if in_contacts(u)]
    ordered = name_order.by_name(members, descending=body.sortType == 1)
    return {"userIdList": [u.id for u in ordered]}
