"""Validating an import: people found again, references resolved, new people checked by the core's rules."""

from __future__ import annotations

from collections.abc import Callable

from openroster.core.people import bulk, users
from openroster.core.roster import writes as roster_writes
from openroster.core.sheets import lookups
from openroster.core.sheets.columns import (
    split_paths,
    split_url,
)
from openroster.core.sheets.plan import ImportPlan, Row
from openroster.model.entities import (
    AttributeDefinition,
    AttributeUpdate,
    ValueType,
)
from openroster.model.errors import CoreError


def match_people(plan: ImportPlan) -> None:
    """Find each row's person (user id, then employee id, then email); give new people an id."""
    keys = ("id", "employee_id", "email")
    holders: dict[str, dict[str, str]] = {}
    for key in keys:
        column = [r.user_id for r in plan.rows] if key == "id" else [r.values.get(key) for r in plan.rows]
        filled = [v for v in column if v]
        distinct = list(dict.fromkeys(filled))
        if len(distinct) != len(filled):  # a value in two rows: the later rows name the first
            first: dict[str, Row] = {}
            for row, value in zip(plan.rows, column, strict=True):
                if value:
                    seen = first.setdefault(value, row)
                    if seen is not row:
                        plan.fail(row, plan.col(key), f"{value!r} is also in row {seen.number}")
        holders[key] = plan.taken(key, distinct)
    if any(holders.values()):  # (a tenant that had nobody before the import has no holders)
        _find_holders(plan, holders)
    # New people's ids, invalid rows' too (other rows may name them): random as a set, drawn from
    # the system's random source; handed out in increasing order, so ids follow the file's order
    # and the chunks' rows come nearly in key order (as ``stream.py`` gives them).
    missing = [row for row in plan.rows if not row.user_id]
    for row, uid in zip(missing, sorted(users.new_user_ids(len(missing))), strict=True):
        row.user_id = uid
    plan.by_id = {r.user_id: r for r in plan.rows}


def _find_holders(plan: ImportPlan, holders: dict[str, dict[str, str]]) -> None:
    """Each live row's person among the holders of its id, employee id and email."""
    matched: dict[str, Row] = {}
    for row in plan.live():
        found: dict[str, str] = {}
        for key, held in holders.items():
            value = row.user_id if key == "id" else row.values.get(key)
            holder = held.get(value or "")
            if holder is not None:
                found.setdefault(holder, key)
        if len(found) > 1:
            who = ", ".join(f"{plan.col(k)} {uid!r}" for uid, k in found.items())
            plan.fail(row, "", f"the row names two different people ({who})")
        elif found:
            row.user_id = next(iter(found))
            matched[row.user_id] = row
    for uid, user in lookups.users_by_id(plan.tx, plan.tenant_id, list(matched)).items():
        matched[uid].existing = user


def resolve_references(plan: ImportPlan) -> None:
    """Who the manager column and relation_user attributes name: employee id, email or user id."""
    people = plan.people
    for row in plan.rows:
        uid, values = row.user_id, row.values
        for value in (values.get("employee_id"), values.get("email"), uid):
            if value and uid:
                people.setdefault(value, uid)
    refs = {row.profile.get("leader", "") for row in plan.rows}
    for a in plan.defs.values():
        if a.value_type is ValueType.RELATION_USER:
            refs.update(row.attrs.get(a.id, "") for row in plan.rows)
    outside = [r for r in refs if r and plan.person(r) is None]
    for key in ("id", "employee_id", "email"):
        wanted = [r.lower() for r in outside] if key == "email" else outside
        for value, holder in plan.taken(key, wanted).items():
            plan.people.setdefault(value, holder)
    column = plan.col("leader")
    for row in plan.rows if "leader" in plan.has else ():
        ref = row.profile["leader"]
        if ref:
            row.leader_id = plan.person(ref)
            if row.leader_id is None:
                plan.fail(row, column, f"{ref!r} is nobody in this file or the directory")
        row.values["leader_id"] = row.leader_id
    plan.known_users = set(plan.people.values())


def read_attributes(plan: ImportPlan, row: Row) -> None:
    updates = plan.updates
    for key in row.attrs.items():
        # Rows with the same cell share one update (checked and encoded once by ``bulk.prepare``).
        update = updates.get(key)
        if update is None:
            attr_id, raw = key
            update = _attribute_update(plan, row, plan.defs[attr_id], raw, plan.col(attr_id, "attr"))
            if update is None:
                return
            if plan.defs[attr_id].value_type is not ValueType.RELATION_DEPTS:  # (paths name the row)
                updates[key] = update
        row.attr_updates.append(update)


def _attribute_update(
    plan: ImportPlan, row: Row, a: AttributeDefinition, raw: str, header: str
) -> AttributeUpdate | None:
    """A cell's update of attribute ``a``, or None after recording the row's problem."""
    vt = a.value_type
    if vt is ValueType.TEXT:
        return AttributeUpdate(attr_id=a.id, text=raw)
    if vt is ValueType.OPTION:
        key = plan.option_key(a, raw) if raw else ""
        if key is None:
            plan.fail(row, header, f"{raw!r} is not one of {'、'.join(o.name for o in a.options)}")
            return None
        return AttributeUpdate(attr_id=a.id, option=key)
    if vt is ValueType.RELATION_USER:
        uid = plan.person(raw) if raw else ""
        if uid is None:
            plan.fail(row, header, f"{raw!r} is nobody in this file or the directory")
            return None
        return AttributeUpdate(attr_id=a.id, relation_user=uid)
    if vt is ValueType.RELATION_DEPTS:
        paths = [plan.path(row, p, header) for p in split_paths(raw)]
        ids = tuple(str(plan.depts[p].id) for p in paths if p is not None and p in plan.depts)
        return AttributeUpdate(attr_id=a.id, relation_depts=ids)
    title, link = split_url(raw)
    return AttributeUpdate(attr_id=a.id, url_title=title, url_link=link, has_url=True)


def check_new(
    plan: ImportPlan,
    new: list[Row],
    checked: Callable[[list[Row], bulk.PreparedChunk], None] | None = None,
) -> None:
    """Check the new people with the core's rules (``bulk.prepare``), keeping the rows it builds.

    A chunk is checked at once; when a row fails, the rows before it are
    checked again on their own and checking goes on after it, so every row
    is checked at most twice and every problem is found. ``checked`` is given each chunk
    that passed as soon as it has (``ahead.WriteAhead.submit`` writes it meanwhile).
    """
    plan.rules = bulk.rules_for(plan.tx, plan.d, plan.tenant_id)
    plan.prepared = []
    ordered = _managers_first(plan, [r for r in new if r.problem is None])
    for start in range(0, len(ordered), bulk.CHUNK):
        plan.tick("checking", start, len(ordered))
        pending = ordered[start : start + bulk.CHUNK]
        while pending:
            try:
                plan.prepared.append((pending, plan.prepare(pending)))
            except CoreError as exc:
                k = exc.index or 0
                plan.fail_core(pending[k], exc)
                if k:
                    plan.prepared.append((pending[:k], plan.prepare(pending[:k])))
                pending = pending[k + 1 :]
            else:
                if checked is not None:
                    checked(*plan.prepared[-1])
                break
    plan.tick("checking", len(ordered), len(ordered))
    check_roster(plan, ordered)
    check_unique(plan)


def check_roster(plan: ImportPlan, rows: list[Row]) -> None:
    """Each row's roster cells become the values the roster stores (``roster_writes.checked_value``),
    in a new dict (the cells as read stay with whoever kept the old one); a value refused is a
    problem of the row, in its column."""
    columns = {code: plan.col(code, "roster") for code in plan.roster_fields}
    for row in rows:
        if not row.roster:
            continue
        checked = dict(row.roster)
        for code, raw in row.roster.items():
            try:
                checked[code] = roster_writes.checked_value(
                    plan.roster_fields[code], raw, field=columns[code]
                )
            except CoreError as exc:
                plan.fail(row, columns[code], exc.detail)
        row.roster = checked


def check_unique(plan: ImportPlan) -> None:
    """Unique columns that do not find people again: unique in the file and not taken in the store."""
    for col in ("phone", "ex_user_id", "login_name"):
        if col not in plan.has:
            continue
        holder_row: dict[str, Row] = {}
        for row in plan.live():
            value = row.values.get(col)
            if value:
                seen = holder_row.setdefault(value, row)
                if seen is not row:
                    plan.fail(row, plan.col(col), f"{value!r} is also in row {seen.number}")
        for value, holder in plan.taken(col, list(holder_row)).items():
            row = holder_row[value]
            if holder != row.user_id and not plan.released(holder, col, value):
                plan.fail(row, plan.col(col), f"{value!r} is already used by user {holder!r}")


def drop_rows_naming_invalid_rows(plan: ImportPlan) -> None:
    """A row whose manager (or related person) is an invalid row cannot be imported either."""
    changed = bool(plan.problems)
    while changed:
        changed = False
        for row in plan.live():
            named = [(row.leader_id, "leader", "profile")]
            named += [(a.relation_user, a.attr_id, "attr") for a in row.attr_updates if a.relation_user]
            for ref, key, kind in named:
                other = plan.by_id.get(ref or "")
                if other is not None and other is not row and other.problem is not None:
                    plan.fail(row, plan.col(key, kind), f"names row {other.number}, which cannot be imported")
                    changed = True
                    break


def _managers_first(plan: ImportPlan, rows: list[Row]) -> list[Row]:
    """The rows in an order where a manager in the file comes before the people who report to them;
    the rows of a cycle of managers are problems (:func:`_refuse_cycles`), the rows below them come
    last (and are left out by :func:`drop_rows_naming_invalid_rows`)."""
    ids = {r.user_id for r in rows}
    order = ManagersFirst()
    for row in rows:
        order.add(row, row.leader_id in ids)
    held = order.held()
    _refuse_cycles(plan, held)
    return order.placed + [r for r in held if r.problem is None]


def _refuse_cycles(plan: ImportPlan, held: list[Row]) -> None:
    """Name each row of a cycle of managers among ``held`` (:meth:`ManagersFirst.held`), in the
    manager column, as the APIs refuse a reporting line that loops (``users.update``). A row
    naming itself is left to the core's rule, which names it."""
    by_id = {r.user_id: r for r in held}
    seen: set[str] = set()
    column = plan.col("leader")
    for row in held:
        chain: dict[str, Row] = {}  # this row's reporting line, up to a row seen before
        step: Row | None = row
        while step is not None and step.user_id not in seen:
            seen.add(step.user_id)
            chain[step.user_id] = step
            step = by_id.get(step.leader_id or "")
        if step is None or step.user_id not in chain:
            continue  # (below a cycle found before)
        line = list(chain.values())
        cycle = line[line.index(step) :]
        for k, member in enumerate(cycle if len(cycle) > 1 else ()):
            around = [*cycle[k:], *cycle[: k + 1]]
            rows = " → ".join(str(r.number) for r in around)
            plan.fail(
                member,
                column,
                f"{member.profile['leader']!r} reports (directly or not) to this row (rows {rows}, "
                "each reporting to the next); a reporting line cannot loop",
            )


class ManagersFirst:
    """Rows placed in file order, each held back until the manager it names in the file is placed
    (then placed right after it, with the rows held back for it in turn): the order new people are
    checked and written in, whether the rows come all at once (:func:`check_new`) or as the file is
    read (``stream.py``), which gives the same order because a row's place depends only on the
    rows before it."""

    def __init__(self) -> None:
        self.placed: list[Row] = []
        self._done: set[str] = set()
        self._waiting: dict[str, list[Row]] = {}

    def add(self, row: Row, manager_in_file: bool) -> None:
        """Place the row, or hold it until its manager (``row.leader_id``, a row of the file) is."""
        leader = row.leader_id
        if leader is None or not manager_in_file or leader in self._done:
            self._place(row)
        else:
            self._waiting.setdefault(leader, []).append(row)

    def _place(self, row: Row) -> None:
        if row.user_id not in self._waiting:
            self.placed.append(row)
            self._done.add(row.user_id)
            return
        stack = [row]
        while stack:
            r = stack.pop()
            self.placed.append(r)
            self._done.add(r.user_id)
            stack.extend(reversed(self._waiting.pop(r.user_id, ())))

    def held(self) -> list[Row]:
        """The rows still held back (their managers never placed: a cycle, a row naming itself), in
        file order."""
        return sorted((r for rows in self._waiting.values() for r in rows), key=lambda r: r.number)
