"""Bulk loading: many new people (with departments and attribute values) in one transaction.

The services in ``users.py`` and ``attributes.py`` check each API batch against
the store with a few queries and record one change-log entry per user: right
for calls of up to 100 people, far too slow for a million. This module applies
the same rules at scale:

- every user goes through the same field checks as ``users.create_in``
  (``users.checked_user``); departments through the department name and depth rules;
  attribute values through their definitions (``checks.checked_values``);
- references are checked in memory against what the load created plus the
  store, chunk by chunk: departments exist, a leader or related user exists
  (created earlier in the load or before it), nobody leads themselves;
- uniqueness within the tenant (ids, email, phone, employee id, ex_user_id,
  login name) is enforced by the store's unique indexes: a clash aborts the
  load and is reported as a :class:`Conflict` naming the column.

Rows are written with the store's bulk loaders (``tx.bulk``: executemany on SQLite, COPY on
PostgreSQL) inside the caller's write transaction, so a load is all or nothing.
It records a single ``tenant`` change, which drops the tenant from every
process's cache, and one change record per user and department it created (none in a quiet
transaction).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import operator
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from openroster.core import recording
from openroster.core.custom import checks
from openroster.core.directory import Directory
from openroster.core.people import depts as dept_service
from openroster.core.people import users
from openroster.core.runtime import limits
from openroster.model.entities import (
    ROOT_DEPT_ID,
    USER_CHOICES,
    AttributeDefinition,
    AttributeUpdate,
    AttributeValueData,
    Department,
    Membership,
    User,
)
from openroster.model.errors import (
    BrokenReference,
    BulkConflict,
    Conflict,
    CoreError,
    Entity,
    InvalidValue,
    NotFound,
    RuleViolation,
)
from openroster.store import WriteTx

#: People validated and written per round trip.
CHUNK = 10_000

#: The most attribute updates :attr:`Rules.passed` keeps, and :attr:`Rules.seen_once` holds before
#: it starts over: a load of a million people with values of their own does not keep them all (an
#: import's shared cells are far fewer: 5,407 distinct in the 100,000-row bench sheet).
PASSED_MAX = 65_536

#: How the field of a relation_user reference ends (:attr:`PreparedChunk.references`).
_RELATION = ".relation_user"


def add_department_paths(
    tx: WriteTx, d: Directory, *, tenant_id: str, paths: Sequence[Sequence[str]]
) -> dict[tuple[str, ...], Department]:
    """Ensure every path of names exists below the root; returns each path's department.

    Existing departments are reused; the missing ones are checked (name rules,
    depth limit) and inserted at once, with ids allocated in one step.
    """
    existing = tx.depts.list_all(tenant_id)
    root = next((x for x in existing if x.id == ROOT_DEPT_ID), None)
    if root is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant", entity=Entity.TENANT)
    children = {(x.parent_id, x.name): x for x in existing if x.parent_id is not None}
    next_order: dict[int, int] = {}
    for x in existing:
        if x.parent_id is not None:
            next_order[x.parent_id] = max(next_order.get(x.parent_id, 1), x.order + 1)
    # Every prefix of every path, parents before children, once each.
    prefixes: dict[tuple[str, ...], None] = {}
    for i, path in enumerate(paths):
        names = tuple(dept_service.clean_name(n, field=f"paths[{i}][{j}]") for j, n in enumerate(path))
        if len(names) + 1 > limits.DEPT_DEPTH_MAX:
            raise RuleViolation(
                f"paths[{i}]: the tree may be at most {limits.DEPT_DEPTH_MAX} levels deep",
                field=f"paths[{i}]",
            )
        for depth in range(1, len(names) + 1):
            prefixes.setdefault(names[:depth])
    out: dict[tuple[str, ...], Department] = {}
    missing: list[tuple[str, ...]] = []
    for prefix in prefixes:
        parent = root if len(prefix) == 1 else out.get(prefix[:-1])
        found = children.get((parent.id, prefix[-1])) if parent is not None else None
        if found is None:
            missing.append(prefix)
        else:
            out[prefix] = found
    if not missing:
        return out
    next_id = tx.tenants.allocate_dept_ids(tenant_id, len(missing))
    now = d.clock.now_int()
    new: list[Department] = []
    for prefix in missing:
        parent = root if len(prefix) == 1 else out[prefix[:-1]]
        order = next_order.get(parent.id, 1)
        next_order[parent.id] = order + 1
        dept = Department(
            tenant_id=tenant_id,
            id=next_id,
            parent_id=parent.id,
            name=prefix[-1],
            order=order,
            ex_dept_id=None,
            abs_path=f"{parent.abs_path}/{prefix[-1]}",
            ctime=now,
        )
        next_id += 1
        out[prefix] = dept
        new.append(dept)
    tx.bulk.insert_depts(
        [(x.tenant_id, x.id, x.parent_id, x.name, x.order, x.ex_dept_id, x.abs_path, x.ctime) for x in new],
    )
    tx.changed(tenant_id, "tenant", tenant_id)
    recording.depts_created(tx, tenant_id, new)
    return out


@dataclass(frozen=True, slots=True)
class Person:
    """A new user and the custom attribute values to give them."""

    user: users.NewUser
    attrs: tuple[AttributeUpdate, ...] = ()


@dataclass(frozen=True, slots=True)
class NewPeople:
    """New people a column at a time: each :data:`users.NEW_USER_FIELDS` field's values, one per
    person, and each person's attribute values (a bulk load builds no :class:`users.NewUser` each)."""

    columns: Mapping[str, Sequence[Any]]
    attrs: Sequence[tuple[AttributeUpdate, ...]]

    @classmethod
    def of(cls, people: Sequence[Person]) -> NewPeople:
        made = [p.user for p in people]
        columns = {name: [getattr(u, name) for u in made] for name in users.NEW_USER_FIELDS}
        return cls(columns, [p.attrs for p in people])

    def __len__(self) -> int:
        return len(self.attrs)

    def new_user(self, i: int) -> users.NewUser:
        return users.NewUser(**{name: values[i] for name, values in self.columns.items()})


@dataclass(frozen=True, slots=True)
class Rules:
    """What checking a chunk needs from the store, read once per load."""

    tenant_id: str
    now: int
    definitions: dict[str, AttributeDefinition]
    dept_ids: set[int]
    #: The store's row encoders (``tx.bulk``): a user's row after ``tenant_id``, an attribute value.
    user_fields: Callable[[User], tuple[Any, ...]]
    encode_attr_value: Callable[[AttributeValueData], str]
    #: The :class:`User` fields of a user's row after ``tenant_id``, in the store's order.
    user_columns: tuple[str, ...]
    #: Rows sorted into the key order of their table (its first columns), as the store inserts them.
    in_key_order: Callable[[list[Any], int], list[Any]]
    #: Each attribute update that passed its check in two chunks of the load (by identity, kept
    #: with it so the identity stays its own), with its stored form: the chunks after share it (an
    #: import's rows with the same cell share one update, ``core/sheets/validate.read_attributes``).
    #: What an update is checked against only grows during a load (departments are added).
    passed: dict[int, tuple[AttributeUpdate, str | None]] = dataclasses.field(default_factory=dict)
    #: The updates seen in one chunk so far, the same way: kept in :attr:`passed` when a later
    #: chunk has them too, so the updates that never come back (a relation_depts cell's, which
    #: names its row; a load's values of each person's own) do not fill it. Emptied when full.
    seen_once: dict[int, tuple[AttributeUpdate, str | None]] = dataclasses.field(default_factory=dict)


@dataclass(slots=True)
class PreparedChunk:
    """Checked rows of one chunk, ready to insert, and the user ids they refer to."""

    offset: int
    ids: set[str]
    users: list[tuple[object, ...]]
    memberships: list[tuple[object, ...]]
    values: list[tuple[str, str, str, str]]
    #: ``(field, user id)`` of each leader / relation_user, which must exist when written.
    references: list[tuple[str, str]]


def rules_for(tx: WriteTx, d: Directory, tenant_id: str) -> Rules:
    dept_ids = {x.id for x in tx.depts.list_all(tenant_id)}
    if not dept_ids:
        raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant", entity=Entity.TENANT)
    defs = {a.id: a for a in tx.attrs.list_definitions(tenant_id)}
    return Rules(
        tenant_id=tenant_id,
        now=d.clock.now_int(),
        definitions=defs,
        dept_ids=dept_ids,
        user_fields=tx.bulk.user_fields,
        encode_attr_value=tx.bulk.encode_attr_value,
        user_columns=tx.bulk.user_columns,
        in_key_order=tx.bulk.in_key_order,
    )


def prepare(rules: Rules, people: Sequence[Person] | NewPeople, offset: int) -> PreparedChunk:
    """Check ``people`` (items ``offset``.. of the load) without the store; build their rows.

    Pure, so it can run in another process. References to other users are
    collected for :func:`write` to check against the store.
    """
    given = people if isinstance(people, NewPeople) else NewPeople.of(people)
    # A column at a time when every person passes; one by one (to name the field) when one does not.
    column = users.checked_columns(given.columns, now=rules.now)
    out = None if column is None else prepared_columns(rules, given, column, offset)
    if out is None:
        out = prepared_one_by_one(rules, given, offset)
    # Sorted here, where the rows are built, not by the thread that may write them (the store's
    # sort of sorted rows is one comparison a row): an import writing ahead inserts them while
    # it checks the next chunk, and that thread's Python holds the interpreter lock on its way.
    out.memberships = rules.in_key_order(out.memberships, 3)
    out.values = rules.in_key_order(out.values, 3)
    return out


def prepared_one_by_one(rules: Rules, given: NewPeople, offset: int) -> PreparedChunk:
    """:func:`prepare` a person at a time: the first error names the person and the field."""
    tenant_id = rules.tenant_id
    out = PreparedChunk(offset, set(), [], [], [], [])
    for i, attrs in enumerate(given.attrs):
        try:
            where = f"users[{offset + i}]"
            u = users.checked_user(given.new_user(i), prefix=f"{where}.", now=rules.now)
            out.users.append((tenant_id, *rules.user_fields(u)))
            for m in u.memberships:
                if m.dept_id not in rules.dept_ids:
                    raise BrokenReference(
                        f"{where}.dept_ids: department {m.dept_id} does not exist",
                        field=f"{where}.dept_ids",
                        entity=Entity.DEPARTMENT,
                    ).in_field(Entity.USER, "dept_ids")
                out.memberships.append((tenant_id, u.id, m.dept_id, m.is_leader, m.order))
            if u.leader_id is not None:
                if u.leader_id == u.id:
                    raise InvalidValue(
                        f"{where}.leader_id: a user cannot be their own leader", field=f"{where}.leader_id"
                    ).in_field(Entity.USER, "leader_id")
                out.references.append((f"{where}.leader_id", u.leader_id))
            out.ids.add(u.id)
            # A relation may name anyone: whether they exist is checked when the chunk is written.
            related = {a.relation_user for a in attrs if a.relation_user}
            checked = checks.checked_values(
                rules.definitions, attrs, field=where, known_users=related, known_depts=rules.dept_ids
            )
            for j, (attr_id, value) in enumerate(checked):
                if value is None:
                    continue
                relation = attrs[j].relation_user
                if relation:
                    out.references.append((f"{where}.custom_attrs[{j}].relation_user", relation))
                out.values.append((tenant_id, u.id, attr_id, rules.encode_attr_value(value)))
        except CoreError as exc:
            raise exc.at_item(offset + i) from None
    return out


def prepared_columns(
    rules: Rules, given: NewPeople, column: Mapping[str, Iterable[Any]], offset: int
) -> PreparedChunk | None:
    """:func:`prepare`'s rows of people whose user fields all passed (``column``, from
    ``users.checked_columns``), with no check or object per person where people share a value: a
    memberships tuple, an attribute update (the same object, as a sheet import gives them) is
    checked and encoded once. ``None`` when someone breaks a rule: :func:`prepared_one_by_one`
    then names it."""
    tenant_id, definitions, dept_ids = rules.tenant_id, rules.definitions, rules.dept_ids
    ids: list[str] = list(column["id"])
    leaders: list[str | None] = list(column["leader_id"])
    belonging: list[tuple[Membership, ...]] = list(column["memberships"])
    if any(map(operator.eq, leaders, ids)):
        return None  # someone is their own leader
    # Each distinct memberships tuple (people of a department share one): its rows after the user id.
    rows_of: dict[int, list[tuple[int, bool, int]]] = {}
    for belongs in belonging:
        if id(belongs) not in rows_of:
            if any(m.dept_id not in dept_ids for m in belongs):
                return None
            rows_of[id(belongs)] = [(m.dept_id, m.is_leader, m.order) for m in belongs]
    # Each distinct attribute update (by identity: ``given`` keeps them alive): its stored form,
    # encoded, or None when it stores nothing.
    stored: dict[int, str | None] = {}
    passed, once = rules.passed, rules.seen_once
    related = False
    for attrs in given.attrs:
        if len(attrs) > 1 and len({a.attr_id for a in attrs}) != len(attrs):
            return None  # an attribute twice
        for a in attrs:
            if id(a) in stored:
                continue
            before = passed.get(id(a))
            if before is not None and before[0] is a:
                stored[id(a)] = before[1]
            elif (seen := once.pop(id(a), None)) is not None and seen[0] is a:
                stored[id(a)] = seen[1]
                if len(passed) < PASSED_MAX:
                    passed[id(a)] = seen
            else:
                definition = definitions.get(a.attr_id)
                if definition is None:
                    return None
                known = {a.relation_user} if a.relation_user else set()
                try:
                    checked = checks.checked_value(
                        definition, a, field="", known_users=known, known_depts=dept_ids
                    )
                except CoreError:
                    return None
                stored[id(a)] = None if checked is None else rules.encode_attr_value(checked)
                if len(once) >= PASSED_MAX:
                    once.clear()
                once[id(a)] = (a, stored[id(a)])
            related = related or bool(a.relation_user)
    out = PreparedChunk(offset, set(ids), [], [], [], [])
    out.memberships = [
        (tenant_id, uid, dept_id, is_leader, order)
        for uid, belongs in zip(ids, belonging, strict=True)
        for dept_id, is_leader, order in rows_of[id(belongs)]
    ]
    out.values = [
        (tenant_id, uid, a.attr_id, value)
        for uid, attrs in zip(ids, given.attrs, strict=True)
        for a in attrs
        if (value := stored[id(a)]) is not None
    ]
    # Who each person names, in the order one by one would check them.
    if not related:
        out.references = [
            (f"users[{offset + i}].leader_id", x) for i, x in enumerate(leaders) if x is not None
        ]
    else:
        for i, (leader_id, attrs) in enumerate(zip(leaders, given.attrs, strict=True)):
            if leader_id is not None:
                out.references.append((f"users[{offset + i}].leader_id", leader_id))
            out.references += [
                (f"users[{offset + i}].custom_attrs[{j}].relation_user", a.relation_user)
                for j, a in enumerate(attrs)
                if a.relation_user and stored[id(a)] is not None
            ]
    # The users' rows straight from the checked columns, in the store's column order, with the
    # enumerations' members as plain text: SQLite's driver binds a str subclass as a type it may
    # have to adapt, with the interpreter lock held (0.1 s of the 100,000 users of an import,
    # whose writer thread shares that lock with the checks).
    plain = {name: map(str.__str__, column[name]) for name in USER_CHOICES}
    ordered = (plain.get(name) or column[name] for name in rules.user_columns)
    out.users = list(zip(repeat(tenant_id), *ordered, strict=False))
    return out


def write(
    tx: WriteTx,
    chunk: PreparedChunk,
    *,
    tenant_id: str,
    record: bool = True,
    load: AbstractSet[str] = frozenset(),
) -> None:
    """Insert a prepared chunk after checking the users it refers to exist (in it or in the store),
    and record its new people (:func:`record_created`) unless ``record`` is False: a thread
    writing chunks for another (an import's writes ahead) leaves that to the thread that submits
    them, so its own Python between statements is as short as it can be.

    ``load``: the new people of the whole load, every chunk of which the caller writes in this
    transaction (or it rolls back). A relation_user value may name one of them not written yet,
    as it may name anyone of the company (two people may name each other); a leader may not: the
    APIs create nobody below someone who does not exist yet, so leaders come in earlier chunks."""
    outside = [
        (field, uid)
        for field, uid in chunk.references
        if uid not in chunk.ids and not (uid in load and field.endswith(_RELATION))
    ]
    known = tx.users.existing_ids(tenant_id, {uid for _, uid in outside}) if outside else set()
    for field, uid in outside:
        if uid not in known:
            raise BrokenReference(f"{field}: user {uid!r} does not exist", field=field, entity=Entity.USER)
    try:
        tx.bulk.insert_users(chunk.users)
        tx.bulk.insert_memberships(chunk.memberships)
        tx.bulk.insert_attr_values(chunk.values)
    except BulkConflict as exc:
        column = exc.columns[-1] if exc.columns else "id"
        field = "id" if column in ("id", "user_id") else column
        last = chunk.offset + len(chunk.users) - 1
        raise Conflict(
            f"users[{chunk.offset}..{last}].{field}: a value is already used in tenant {tenant_id!r} "
            f"({exc.detail})",
            field=f"users.{field}",
            entity=Entity.USER,
        ) from None
    if record:
        record_created(tx, chunk, tenant_id=tenant_id)


def record_created(tx: WriteTx, chunk: PreparedChunk, *, tenant_id: str) -> None:
    """One change record per new person of the chunk, in its order (:func:`write` makes them)."""
    recording.users_created(tx, tenant_id, [str(row[1]) for row in chunk.users])


def add_people(
    tx: WriteTx,
    d: Directory,
    *,
    tenant_id: str,
    people: Iterable[Person],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Create every person (checked as described in the module doc); returns how many."""
    rules = rules_for(tx, d, tenant_id)
    done = 0
    with tx.bulk.loading():
        for chunk in _chunks(people, CHUNK):
            write(tx, prepare(rules, chunk, done), tenant_id=tenant_id)
            done += len(chunk)
            if progress is not None:
                progress(done)
    if done:
        tx.changed(tenant_id, "tenant", tenant_id)
    return done


def add_people_parallel(
    tx: WriteTx,
    d: Directory,
    *,
    tenant_id: str,
    make_chunk: Callable[[int], Sequence[Person]],
    chunks: int,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Like :func:`add_people`, with chunk ``k`` made by ``make_chunk(k)`` and checked in worker processes.

    ``make_chunk`` must be picklable (a module-level function or a partial of
    one). Chunks are written in order, by this process, in ``tx``; a few are
    prepared ahead so memory stays bounded.
    """
    rules = rules_for(tx, d, tenant_id)
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    done = 0
    # fork: the workers need nothing but the pickled chunk maker, and spawn would re-run the
    # caller's __main__ (impossible for a script read from stdin). They never touch the store.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    with tx.bulk.loading(), ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending: deque[Future[PreparedChunk]] = deque()
        next_k = 0
        while next_k < chunks or pending:
            while next_k < chunks and len(pending) < workers * 2:
                pending.append(pool.submit(_make_and_prepare, make_chunk, next_k, rules))
                next_k += 1
            chunk = pending.popleft().result()
            chunk.offset = done
            write(tx, chunk, tenant_id=tenant_id)
            done += len(chunk.users)
            if progress is not None:
                progress(done)
    if done:
        tx.changed(tenant_id, "tenant", tenant_id)
    return done


def _make_and_prepare(make_chunk: Callable[[int], Sequence[Person]], k: int, rules: Rules) -> PreparedChunk:
    return prepare(rules, make_chunk(k), 0)


def _chunks(people: Iterable[Person], size: int) -> Iterator[list[Person]]:
    chunk: list[Person] = []
    for p in people:
        chunk.append(p)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
