"""The ``contact_1_0`` calls (通讯录): name search over members and departments.

The ids are those of ``topapi/v2/user/get`` and ``topapi/v2/department/get`` (a department's id is a
number); who a search finds is core's (``core/people/search.py``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openroster.core.people import search
from openroster.dialects.dingtalk.endpoint import Call
from openroster.dialects.dingtalk_v1 import ADDRESSLIST_SEARCH
from openroster.dialects.dingtalk_v1.endpoint import route

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


def _page(found: search.Found[Any], offset: int) -> dict[str, Any]:
    return {"hasMore": found.has_more(offset), "totalCount": found.total, "list": found.ids}


@route(
    "POST",
    f"{_CONTACT}/users/search",
    permission=ADDRESSLIST_SEARCH,
    body=SearchUserBody,
    invalid=_PARAMETER_ERROR,
)
def search_users(call: Call, body: SearchUserBody) -> dict[str, Any]:
    """SearchUser: the userIds of the members whose name holds the query word (or is it)."""
    found = search.members(
        call.reader,
        tenant_id=call.tenant_id,
        word=body.queryWord,
        exact=body.fullMatchField == 1,
        offset=body.offset,
        size=body.size,
        fields=_FIELDS,
    )
    return _page(found, body.offset)


@route(
    "POST",
    f"{_CONTACT}/departments/search",
    permission=ADDRESSLIST_SEARCH,
    body=SearchBody,
    invalid=_PARAMETER_ERROR,
)
def search_departments(call: Call, body: SearchBody) -> dict[str, Any]:
    """SearchDepartment: the ids of the departments whose name holds the query word."""
    found = search.departments(
        call.reader,
        tenant_id=call.tenant_id,
        word=body.queryWord,
        offset=body.offset,
        size=body.size,
        fields=_FIELDS,
    )
    return _page(found, body.offset)
