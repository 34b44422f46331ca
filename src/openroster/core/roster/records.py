"""Reading the roster: each person's record and values.

Reading is in two steps. :func:`read_records` gives each person with the
names their record shows (departments, manager, related people): no query on
a warm cache. :func:`read_values` reads their values (two indexed queries for
any number of people); a dialect that keeps rendered replies (in the fragment
cache, core/runtime/fragments.py, which any change to the person reaches in
every process) calls it only for the people it has to render again.

What a record needs looked up (its links) and the names it shows (its linked
values) are kept in the fragment cache too, per person: the links while the
catalogue is the same, the linked values while the links and the names they
show are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from openroster.core.directory import Reader
from openroster.core.roster import profile as roster_profile
from openroster.core.roster.catalogue import (
    LIST_USERS_MAX,
    SYSTEM_GROUP_BY_ID,
    Catalogue,
    Source,
    catalogue,
)
from openroster.model.entities import (
    AttributeValue,
    Department,
    StoredValue,
    UrlValue,
    User,
    ValueType,
)
from openroster.model.errors import TooMany


class RosterValue(NamedTuple):
    """One value of a field: its row, the stored value, and the text shown for it."""

    row: int
    value: str
    label: str


Values = tuple[RosterValue, ...]


@dataclass(frozen=True, slots=True)
class _Links:
    """What a record needs looked up on each read: departments and other people."""

    dept_ids: tuple[int, ...]
    main_dept_id: int | None
    leader_id: str | None
    #: custom field code -> (value type, referenced ids)
    relations: tuple[tuple[str, ValueType, tuple[str, ...]], ...]
    #: Every department and person whose name the record shows.
    dept_refs: tuple[int, ...] = ()
    people_refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RosterRecord:
    """One person as the roster sees them, without their values (see :func:`read_values`).

    ``linked`` holds the fields that show departments' and other people's
    names (``sys00-dept``, ``sys00-mainDept``, ``sys00-reportManager``, custom
    relation fields); it is the same object while none of those names change.
    """

    user: User
    catalogue: Catalogue
    linked: Mapping[str, Values]

    def get(self, code: str, values: Mapping[str, Values]) -> Values:
        """A field's values, given the person's :func:`read_values`."""
        hit = self.linked.get(code)
        return hit if hit is not None else values.get(code, ())


#: The fragment variants (of users) of a record's links and of its linked values.
_LINKS = "roster.links"
_LINKED = "roster.linked"


def unique_ids(user_ids: Sequence[str], *, field: str = "user_ids") -> list[str]:
    """``user_ids`` once each, in the order of their first mention; more than
    :data:`LIST_USERS_MAX` are refused, naming ``field``."""
    if len(user_ids) > LIST_USERS_MAX:
        raise TooMany(
            f"{field} has {len(user_ids)} ids; the limit is {LIST_USERS_MAX}",
            field=field,
            limit=LIST_USERS_MAX,
        )
    if len(set(user_ids)) == len(user_ids):  # the usual case, and a set is made faster than a dict
        return list(user_ids)
    return list(dict.fromkeys(user_ids))


def read_records(
    r: Reader, *, tenant_id: str, user_ids: Sequence[str], field: str = "user_ids"
) -> list[RosterRecord]:
    """The roster records of the existing users among ``user_ids`` (in that order, once each).

    ``field`` is the caller's name for ``user_ids`` (errors name it).

    On a warm cache this costs no query. The values are read separately, by
    :func:`read_values`, for the people a caller has not rendered yet: a
    dialect that keeps rendered replies needs them once per version of a person.
    """
    unique = unique_ids(user_ids, field=field)
    found = r.users(tenant_id, unique)
    people = [u for uid in unique if (u := found.get(uid)) is not None]
    cat = catalogue(r, tenant_id=tenant_id)
    link_table = r.fragments(tenant_id, "user", _LINKS)
    known: dict[str, _Links] = {
        u.id: e[1] for u in people if (e := link_table.entries.get(u.id)) is not None and e[0] is cat
    }
    if len(known) < len(people):
        fresh = _link(r, tenant_id, cat, [u for u in people if u.id not in known])
        for uid, x in fresh.items():
            link_table.put(uid, (cat, x))
        known.update(fresh)
    links = [known[u.id] for u in people]
    dept_ids = {d for x in links for d in x.dept_refs}
    people_ids = {p for x in links for p in x.people_refs}
    depts = r.depts(tenant_id, list(dept_ids)) if dept_ids else {}
    others = r.users(tenant_id, list(people_ids)) if people_ids else {}
    linked_table = r.fragments(tenant_id, "user", _LINKED)
    out: list[RosterRecord] = []
    for u, x in zip(people, links, strict=True):
        # The linked values show these names (None: missing) as these links place them; while
        # both are the same, so is the answer.
        names = (
            tuple([d.name if (d := depts.get(i)) is not None else None for i in x.dept_refs]),
            tuple([p.user_name if (p := others.get(i)) is not None else None for i in x.people_refs]),
        )
        hit = linked_table.entries.get(u.id)
        if hit is None or hit[0] is not x or hit[1] != names:
            hit = (x, names, _linked(x, depts, others))
            linked_table.put(u.id, hit)
        out.append(RosterRecord(u, cat, hit[2]))
    return out


def _linked(links: _Links, depts: Mapping[int, Department], others: Mapping[str, User]) -> dict[str, Values]:
    def dept_name(i: int) -> str:
        d = depts.get(i)
        return d.name if d is not None else ""

    out: dict[str, Values] = {
        roster_profile.DERIVED_DEPT_NAMES: tuple(
            RosterValue(0, n, n) for i in links.dept_ids if (n := dept_name(i))
        ),
    }
    main = dept_name(links.main_dept_id) if links.main_dept_id is not None else ""
    out[roster_profile.DERIVED_MAIN_DEPT_NAME] = (RosterValue(0, main, main),) if main else ()
    leader = others.get(links.leader_id) if links.leader_id else None
    out[roster_profile.DERIVED_MANAGER] = (
        (RosterValue(0, leader.user_name, leader.user_name),) if leader else ()
    )
    for code, vt, ids in links.relations:
        if vt is ValueType.RELATION_USER:
            names = [p.user_name for i in ids if (p := others.get(i)) is not None]
        else:
            names = [dept_name(int(i)) for i in ids]
        out[code] = (RosterValue(0, ",".join(ids), ",".join(names)),) if ids else ()
    return out


def _relation_fields(cat: Catalogue) -> dict[str, ValueType]:
    return {
        f.code: f.attr.value_type
        for f in cat.fields.values()
        if f.attr is not None and f.attr.value_type in (ValueType.RELATION_USER, ValueType.RELATION_DEPTS)
    }


def _link(r: Reader, tenant_id: str, cat: Catalogue, people: Sequence[User]) -> dict[str, _Links]:
    """Which departments and people each user's record shows, by user id."""
    relation_types = _relation_fields(cat)
    ids = [u.id for u in people]
    custom = r.tx.attrs.get_values(tenant_id, ids, relation_types) if relation_types else {}
    out: dict[str, _Links] = {}
    for u in people:
        relations: list[tuple[str, ValueType, tuple[str, ...]]] = []
        for av in custom.get(u.id, ()):
            vt = relation_types[av.attr_id]
            raw = av.value
            if vt is ValueType.RELATION_USER and isinstance(raw, str):
                relations.append((av.attr_id, vt, (raw,)))
            elif isinstance(raw, tuple):
                relations.append((av.attr_id, vt, tuple(str(x) for x in raw)))
        dept_refs = [*u.dept_ids, *([u.def_dept_id] if u.def_dept_id is not None else [])]
        people_refs = [u.leader_id] if u.leader_id else []
        for _code, vt, refs in relations:
            if vt is ValueType.RELATION_USER:
                people_refs.extend(refs)
            else:
                dept_refs.extend(int(x) for x in refs)
        out[u.id] = _Links(
            u.dept_ids,
            u.def_dept_id,
            u.leader_id,
            tuple(relations),
            tuple(dict.fromkeys(dept_refs)),
            tuple(dict.fromkeys(people_refs)),
        )
    return out


def read_values(r: Reader, *, tenant_id: str, records: Sequence[RosterRecord]) -> list[dict[str, Values]]:
    """Each record's values (profile, stored and custom fields; the linked ones are in the record).

    Two indexed queries for all of them (one range of ``roster_values`` per person).
    """
    if not records:
        return []
    ids = [rec.user.id for rec in records]
    cat = records[0].catalogue
    stored = r.tx.roster.get_values(tenant_id, ids)
    types = {f.code: f.attr.value_type for f in cat.fields.values() if f.attr is not None}
    custom = r.tx.attrs.get_values(tenant_id, ids, types) if types else {}
    return [
        _values(rec.user, rec.catalogue, stored.get(rec.user.id, ()), custom.get(rec.user.id, ()))
        for rec in records
    ]


def _values(
    u: User,
    cat: Catalogue,
    stored: Iterable[StoredValue],
    custom: Iterable[AttributeValue],
) -> dict[str, Values]:
    values: dict[str, Values] = {}
    for code in roster_profile.ROSTER_TO_CORE:
        f = cat.fields[code]
        if f.source is not Source.PROFILE or code == roster_profile.DERIVED_MANAGER:
            continue
        if code == roster_profile.CORE_TO_ROSTER["dept_ids"]:
            values[code] = tuple(RosterValue(0, str(d), str(d)) for d in u.dept_ids)
            continue
        v = roster_profile.profile_value(u, code)
        if v:
            values[code] = (RosterValue(0, v, f.label(v)),)
    rows: dict[str, dict[int, dict[str, str]]] = {}
    for sv in stored:
        rows.setdefault(sv.group_id, {}).setdefault(sv.row, {})[sv.field_code] = sv.value
    for gid, by_row in rows.items():
        group = cat.group(gid) if gid in SYSTEM_GROUP_BY_ID else None
        if group is None:
            continue
        count = max(by_row) + 1
        for f in group.fields:
            if group.detail:
                # Every row shows every field of the group, so rows line up by item_index.
                cells = [by_row.get(i, {}).get(f.code, "") for i in range(count)]
                values[f.code] = tuple(RosterValue(i, v, f.label(v)) for i, v in enumerate(cells))
            else:
                v = by_row.get(0, {}).get(f.code, "")
                if v:
                    values[f.code] = (RosterValue(0, v, f.label(v)),)
    for av in custom:
        cf = cat.fields.get(av.attr_id)
        if cf is None or cf.attr is None:
            continue
        raw = av.value
        if isinstance(raw, UrlValue):
            values[cf.code] = (RosterValue(0, raw.link, raw.title or raw.link),)
        elif isinstance(raw, str) and cf.attr.value_type is not ValueType.RELATION_USER:
            values[cf.code] = (RosterValue(0, raw, cf.label(raw)),)
    return values
