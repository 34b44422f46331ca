"""``POST /.search`` (RFC 7644 §3.4.3): Users and Groups in one list, each matched by the filter read
against its own schema."""

from __future__ import annotations

from typing import Any

from openroster.dialects.scim import GROUP, USER, groups, users
from openroster.dialects.scim.endpoint import Call, Reply, route
from openroster.dialects.scim.listing import list_reply, page, search_query


@route("POST", "/.search", summary="Search Users and Groups at once, the parameters in a SearchRequest body")
def search_everything(call: Call, body: Any) -> Reply:
    as_user, as_group = search_query(body, USER), search_query(body, GROUP)
    shown, total = page(as_user, users.matched(call, as_user) + groups.matched(call, as_group))
    return list_reply(as_user, shown, total)
