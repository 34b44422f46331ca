"""Finding people and departments: what an administrator types, and the platforms' name searches.

- :func:`search` (the console's people search): an id, an email, a phone or an employee id,
  compared whole, or the start of a name. Every match is found through an index, so a search
  costs the same on a tenant of a million people as on one of ten: the whole-value fields
  through their unique indexes (one seek each), names by their start through ``ix_users_name``
  (a range seek), in keyset pages by name then id.
- :func:`members` and :func:`departments` (DingTalk's SearchUser and SearchDepartment): a query
  word matches a name that holds it anywhere (ASCII case ignored), or, asked for exactly, a name
  equal to it. Members are the people on the job (the on-job list's statuses: a pre-hire or
  someone who left is no member). Results come in id order, ``size`` from an item ``offset``,
  with the number of matches in all.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Generic, TypeVar

from openroster.core import validate
from openroster.core.directory import Reader
from openroster.core.people.users import LOOKUP_FIELDS
from openroster.core.roster.profile import LIST_STATUSES, EmployeeList
from openroster.core.runtime.limits import NAME_MAX, OFFSET_MAX
from openroster.core.runtime.paging import Page, Position, expect
from openroster.model.entities import User, UserStatus
from openroster.model.errors import InvalidValue

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


# -- the platforms' name searches ------------------------------------------------------------

#: The most results one page of a search holds.
SEARCH_SIZE_MAX = 100
#: Who a member search finds.
MEMBER_STATUSES: frozenset[str] = frozenset(LIST_STATUSES[EmployeeList.ON_JOB])

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    """One page of matches and how many there are in all."""

    ids: list[T]
    total: int

    def has_more(self, offset: int) -> bool:
        return offset + len(self.ids) < self.total


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for: a ``word`` and a page (``size`` items from item ``offset``). ``fields``
    name the word, offset and size in the caller's refusals."""

    word: str | None
    offset: int = 0
    size: int = 20
    fields: tuple[str, str, str] = ("word", "offset", "size")

    def checked(self) -> str:
        """The query word, trimmed; refuses an empty word and a page out of range."""
        word_field, offset_field, size_field = self.fields
        word = validate.text(self.word, field=word_field, max_len=NAME_MAX, required=True)
        if self.offset < 0 or self.offset > OFFSET_MAX:
            raise InvalidValue(f"{offset_field} must be between 0 and {OFFSET_MAX}", field=offset_field)
        if self.size < 1 or self.size > SEARCH_SIZE_MAX:
            raise InvalidValue(f"{size_field} must be between 1 and {SEARCH_SIZE_MAX}", field=size_field)
        return str(word)


def members(r: Reader, *, tenant_id: str, query: Query, exact: bool = False) -> Found[str]:
    """The members whose name holds the query word (``exact``: is the word)."""
    ids, total = r.tx.users.search_ids(
        tenant_id,
        query.checked(),
        exact=exact,
        statuses=MEMBER_STATUSES,
        offset=query.offset,
        limit=query.size,
    )
    return Found(ids, total)


def departments(r: Reader, *, tenant_id: str, query: Query) -> Found[int]:
    """The departments whose name holds the query word."""
    ids, total = r.tx.depts.search_ids(tenant_id, query.checked(), offset=query.offset, limit=query.size)
    return Found(ids, total)
