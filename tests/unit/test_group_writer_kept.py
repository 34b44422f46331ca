"""What a write transaction keeps (``WriteTx.kept``, ``sql.Kept``): a batch_update or a roster
update asks the tenant's definitions (and field options) once a group, the jobs after the first
get them without a query. A job of the group that changes them drops what was kept, and so does
one whose changes to them are undone: the jobs after it see the definitions as they then are
(both backends)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from bench.trips import GroupTrips
from tests.unit.test_group_writer import TENANT, behind_a_blocker, d, run

from openroster.core.custom import attributes
from openroster.core.directory import Directory, Reader
from openroster.model.entities import AttributeUpdate, UserAttributeUpdate
from openroster.model.errors import InvalidValue, UnknownAttribute

__all__ = ["d"]  # the fixture, imported for these tests


def define(d: Directory, attr_id: str) -> None:
    attributes.create_definitions(
        d,
        tenant_id=TENANT,
        items=[attributes.NewDefinition(id=attr_id, name=attr_id.title(), value_type="text")],
    )


def set_value(d: Directory, user_id: str, attr_id: str, text: str) -> Callable[[Reader], list[str]]:
    def job(_r: Reader) -> list[str]:
        update = UserAttributeUpdate(user_id=user_id, attrs=(AttributeUpdate(attr_id=attr_id, text=text),))
        return attributes.update_values(d, tenant_id=TENANT, updates=[update])

    return job


def values(d: Directory, user_id: str) -> dict[str, object]:
    with d.reader() as r:
        got = attributes.read_values(r, tenant_id=TENANT, user_ids=[user_id])
    return {v.attr_id: v.value for v in got.get(user_id, [])}


def test_the_keys_of_kept_reads_are_their_queries(d: Directory) -> None:
    """A kept read answers the next one of the same queries without a query; a change of the
    definitions recorded in the transaction drops it."""
    define(d, "desk")
    with d.store.write() as tx:
        first = tx.together(
            tx.kept(tx.attrs.definitions_read(TENANT)), tx.users.existing_ids_read(TENANT, ["p0"])
        )[0]
        again = tx.kept(tx.attrs.definitions_read(TENANT))
        assert (
            again.queries == () and tx.together(again, tx.users.existing_ids_read(TENANT, ["p0"]))[0] is first
        )
        other = tx.kept(tx.attrs.definitions_read("another"))
        assert other.queries != ()  # another tenant's: not the same queries
        tx.changed(TENANT, "attrdefs", "*")
        assert tx.kept(tx.attrs.definitions_read(TENANT)).queries != ()


def test_a_definition_made_by_a_job_is_seen_by_the_jobs_after_it_in_its_group(d: Directory) -> None:
    define(d, "desk")

    def badge(_r: Reader) -> None:
        define(d, "badge")

    got = run(
        behind_a_blocker(d, [set_value(d, "p0", "desk", "A-1"), badge, set_value(d, "p1", "badge", "B-7")])
    )

    assert got == [["p0"], None, ["p1"]]
    assert values(d, "p1") == {"badge": "B-7"}


def test_a_definition_a_job_made_and_undid_is_not_seen_by_the_jobs_after_it(d: Directory) -> None:
    define(d, "desk")

    def undone(_r: Reader) -> None:
        define(d, "badge")
        set_value(d, "p2", "badge", "kept in the job")(_r)  # read with the new definition, then undone
        raise InvalidValue("refused after defining", field="badge")

    got = run(
        behind_a_blocker(d, [set_value(d, "p0", "desk", "A-1"), undone, set_value(d, "p1", "badge", "B-7")])
    )

    assert got[0] == ["p0"] and isinstance(got[1], InvalidValue)
    assert isinstance(got[2], UnknownAttribute), got[2]
    assert values(d, "p0") == {"desk": "A-1"} and values(d, "p1") == {} and values(d, "p2") == {}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_groups_jobs_after_the_first_ask_no_definitions(d: Directory) -> None:

    define(d, "desk")
    with GroupTrips(d) as trips:
        got = run(behind_a_blocker(d, [set_value(d, p, "desk", p) for p in ("p0", "p1", "p2")]))

    assert got == [["p0"], ["p1"], ["p2"]]
    (group,) = [g for g in trips.groups if g.jobs == 3]
    assert sum("FROM attr_defs" in sql for sql, _ in group.sent) == 1


def test_a_kept_read_has_queries_with_hashable_parameters(d: Directory) -> None:
    """Its queries are its key: none (which every read with none would share) or a list among the
    parameters is refused before anything is kept."""
    with d.store.write() as tx:
        with pytest.raises(ValueError, match="no queries"):
            tx.kept(tx.users.existing_ids_read(TENANT, []))  # nothing to ask: no queries
        with pytest.raises(TypeError, match="must be hashable"):
            tx.kept(tx.users.existing_ids_read(TENANT, ["p0"]))  # its ids: a list
        assert tx.kept(tx.attrs.definitions_read(TENANT)).queries != ()
