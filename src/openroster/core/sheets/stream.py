"""A first import read, checked and written a chunk at a time.

Into a tenant that had nobody, the steps of ``imports._run_steps`` need no row of the file
but the ones before it, apart from a manager named later in the file: so the rows are read,
parsed, matched and checked as the file is read, and a chunk of new people goes to the
writer thread (``ahead.py``) as soon as it is full, while the rest of the file is still being
read. What each step needs:

- the cells of a row (``parse.read_cells``) and its attribute cells are the row's own;
- a user id, employee id or email in two rows is a problem of the later row (the usual way
  names it; a value that is one row's employee id and another's email goes that way too);
- a manager is named by employee id, email or user id of a row before it (resolved at once)
  or after it: the row is held back (``validate.ManagersFirst``, the order the usual way
  writes in too) until that row is read;
- new department paths are created in the order the rows first name them, as the usual way
  does, before the chunk naming them is checked (while nothing is being written: the
  connection is one); their change records come before the new people's, as the usual way's.

Anything else stops it: a problem of any row, a manager named with other letter case or by
nobody, a cycle of managers, a relation attribute column (which may name anyone or any
department in the file), a failed write. Then what was written is undone (a savepoint), the
rest of the file is read (inside the write transaction, as every row after the first chunk's
is), and the import runs the usual way over fresh rows, which names the problems exactly as
before (a cycle of managers among them: ``validate.check_new``): still all or nothing, the same
people, department ids, order numbers and change records.
"""

from __future__ import annotations

from collections.abc import Iterator

from openroster.core.people import bulk, users
from openroster.core.sheets import ahead, apply, parse, validate
from openroster.core.sheets.plan import ImportPlan, Row
from openroster.model.entities import ValueType
from openroster.model.errors import CoreError


class _Stop(Exception):
    """Raised while reading ahead: the usual way must import the file."""


def fits(plan: ImportPlan, head: list[Row]) -> bool:
    """Whether the file can be read as it is written: more than one chunk of rows (``head``, the
    first rows read), no relation attribute column, into a tenant that had nobody."""
    related = (ValueType.RELATION_USER, ValueType.RELATION_DEPTS)
    attrs = {key for kind, key in plan.headers if kind == "attr"}
    return (
        len(head) > bulk.CHUNK
        and not plan.people_before
        and not any(plan.defs[a].value_type in related for a in attrs)
    )


def import_rows(plan: ImportPlan, rest: Iterator[Row]) -> list[Row] | None:
    """Import ``plan.rows`` and then ``rest`` as they are read; None when written, else every row
    of the file, fresh, for the usual way (after undoing what was written)."""
    reading = _Reading(plan)
    tx = plan.tx
    try:
        with tx.bulk.loading(), tx.savepoint():
            with ahead.WriteAhead(plan, 0) as writer:
                reading.writer = writer
                writer.hold_records()
                try:
                    reading.run(rest)
                except _Stop:
                    writer.stop()
            if reading.stopped or not writer.wrote_all():
                raise ahead.Undo
    except ahead.Undo:
        plan.rows += rest
        reading.restore()
        return [Row(r.number, r.profile, r.attrs, r.roster) for r in plan.rows]
    apply.finish_created(plan, writer.written, [])  # (the roster values went with each chunk)
    return None


class _Reading:
    """The state of one file read as it is written (see the module doc)."""

    writer: ahead.WriteAhead

    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan
        self.order = validate.ManagersFirst()
        #: How many of ``order.placed`` went into chunks.
        self.sent = 0
        #: Rows waiting for the row a manager reference names (not read yet), by that reference.
        self.refs: dict[str, list[Row]] = {}
        #: New user ids drawn ahead: one at a time lets go of the interpreter lock each time (the
        #: system's random bytes), and the writer thread takes it while the reading waits. A chunk's
        #: worth at a time, given out in increasing order: random as a set, drawn from the system's
        #: random source; within a chunk handed out in increasing order, so ids follow the file's
        #: order (their form, source and odds of a collision are unchanged; ids are no secret). The
        #: chunk's users, memberships and attribute values then come nearly in key order, which
        #: ``bulk.prepare``'s sort and the store's indexes take faster.
        self.ids: list[str] = []
        #: Paths named by the rows read and not created yet, in the order first named.
        self.paths: dict[tuple[str, ...], None] = {}
        #: Each checked row and the roster cells its checked values replaced (back on undo).
        self.rosters: list[tuple[Row, dict[str, str]]] = []
        self.stopped = False
        self.leader_column = "leader" in plan.has

    def run(self, rest: Iterator[Row]) -> None:
        plan = self.plan
        plan.depts = {(): plan.root}
        plan.rules = bulk.rules_for(plan.tx, plan.d, plan.tenant_id)
        plan.known_depts = set(plan.rules.dept_ids)
        plan.prepared = []
        try:
            for row in self.read(rest):
                self.take(row)
                if len(self.order.placed) - self.sent >= bulk.CHUNK:
                    self.send(bulk.CHUNK)
            if self.refs or self.order.held():
                raise _Stop
            self.make_departments()
            self.writer.total = len(self.order.placed)  # (the progress shown: known now)
            while self.sent < len(self.order.placed):
                self.send(min(bulk.CHUNK, len(self.order.placed) - self.sent))
            # Every department made: the people's records, in order, while the last chunk is written.
            self.writer.release_records()
            plan.tick("checking", self.sent, self.sent)
            validate.check_unique(plan)
            if plan.problems:
                raise _Stop
            plan.by_id = {r.user_id: r for r in plan.rows}
            plan.known_users = set(plan.people.values())
        except _Stop:
            self.stopped = True
            raise

    def read(self, rest: Iterator[Row]) -> Iterator[Row]:
        """The rows read before (``plan.rows``), then the rest, each kept in ``plan.rows``."""
        yield from list(self.plan.rows)
        for row in rest:
            self.plan.rows.append(row)
            yield row

    def take(self, row: Row) -> None:
        """Read a row: its cells, its person (new), its manager, its attributes and paths."""
        plan = self.plan
        parse.read_cells(plan, row)
        values = row.values
        uid = row.user_id
        if not uid:
            if not self.ids:
                self.ids = sorted(users.new_user_ids(bulk.CHUNK), reverse=True)  # (popped from the end)
            uid = row.user_id = self.ids.pop()
        people = plan.people
        named: list[Row] = []
        for value in (values.get("employee_id"), values.get("email"), uid):
            if value:
                # A value of two rows (the later row is a problem), or of two keys of rows: the
                # usual way decides.
                if value in people:
                    raise _Stop
                people[value] = uid
                if self.refs:
                    named += self.refs.pop(value, ())
        if named:  # rows held for this one: in file order
            for other in sorted(named, key=lambda r: r.number):
                other.leader_id = other.values["leader_id"] = uid
                self.order.add(other, True)
        if self.leader_column:
            ref = row.profile["leader"]
            values["leader_id"] = None
            if ref:
                found = people.get(ref)
                if found is None:
                    if ref.lower() in people:  # decided by the rows after it: the usual way
                        raise _Stop
                    self.refs.setdefault(ref, []).append(row)
                    self.check_row(row)
                    return
                row.leader_id = values["leader_id"] = found
        self.check_row(row)
        self.order.add(row, True)

    def check_row(self, row: Row) -> None:
        plan = self.plan
        validate.read_attributes(plan, row)
        if row.problem is not None or plan.problems:
            raise _Stop
        for path in row.paths:
            if path not in plan.depts:
                self.paths.setdefault(path)

    def make_departments(self) -> None:
        """Create the paths named so far (while the writer has nothing to write)."""
        plan = self.plan
        if not self.paths:
            return
        self.writer.wait_idle()
        if self.writer.failed:
            raise _Stop
        plan.rules.dept_ids.update(apply.add_paths(plan, list(self.paths)))
        self.paths.clear()

    def send(self, n: int) -> None:
        """Check the next ``n`` rows placed and give them to the writer."""
        plan = self.plan
        rows = self.order.placed[self.sent : self.sent + n]
        self.sent += n
        plan.tick("checking", self.sent, 0)
        self.make_departments()
        try:
            chunk = plan.prepare(rows)
        except CoreError:
            raise _Stop from None
        self.rosters += [(row, row.roster) for row in rows if row.roster]
        validate.check_roster(plan, rows)
        if plan.problems:
            raise _Stop
        plan.prepared.append((rows, chunk))
        self.writer.submit(rows, chunk, apply.roster_rows(plan, rows))

    def restore(self) -> None:
        """The rows' roster cells as read (the usual way checks them again)."""
        for row, given in self.rosters:
            row.roster = given
