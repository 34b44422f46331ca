"""Finding people by what an administrator types: an id, an email, a phone, an employee id or a name.

Every match is found through an index, so a search costs the same on a tenant of a million
people as on one of ten: the whole-value fields through their unique indexes (one seek each),
names by their start through ``ix_users_name`` (a range seek), in keyset pages by name then id.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from openroster.core.directory import Reader
from openroster.core.people.users import LOOKUP_FIELDS
from openroster.core.runtime.paging import Page, Position, expect
from openroster.model.entities import User, UserStatus

#: The fields a search compares whole, each with how the typed text is normalised for it.
WHOLE_VALUE_FIELDS: dict[str, Callable[[str], str]] = {
    "email": LOOKUP_FIELDS["email"],
    "phone": LOOKUP_FIELDS["phone"],
    "employee_id": str.strip,
}


def search(
    r: Reader,
    *,
    tenant_id: str,
    text: str,
    statuses: Collection[UserStatus],
    size: int,
    after: Position | None,
) -> Page[User]:
    """The people whose id, email, phone or employee id is ``text`` (on the first page), then those
    whose name starts with it, by name then id; ``after`` continues from a page's ``after``."""
    text = text.strip()
    start = expect(after, (str, str))
    wanted = set(statuses)
    if not text:
        return Page([], None)
    exact: list[str] = []
    if start is None:
        exact += sorted(r.tx.users.existing_ids(tenant_id, [text]))
        for column, normalise in WHOLE_VALUE_FIELDS.items():
            value = normalise(text)
            holder = r.tx.users.find_taken_values(tenant_id, column, [value]).get(value)
            if holder is not None:
                exact.append(holder)
    pairs = r.tx.users.name_prefix_page(
        tenant_id,
        text,
        statuses=[s.value for s in wanted],
        after=(start[0], start[1]) if start else None,
        limit=size + 1,
    )
    more = len(pairs) > size
    ids = list(dict.fromkeys([*exact, *(uid for _, uid in pairs[:size])]))
    found = r.users(tenant_id, ids)
    items = [u for uid in ids if (u := found.get(uid)) is not None and u.status in wanted]
    return Page(items, pairs[size - 1] if more else None)
