"""Dismissions on both backends (core/roster/dismissions.py over store/dismissions.py): a pending
dismission and its revocation, a termination with its leave-log row, the edits, the refusals (which
change nothing), the reason catalogue, deletes in the leave log, and a tenant's rows in its snapshot
and its deletion."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from openroster.core.directory import Directory
from openroster.core.people import depts, users
from openroster.core.roster import dismissions
from openroster.core.tenancy import tenants
from openroster.fixtures import snapshot
from openroster.model.dismissions import (
    Dismission,
    DismissionReason,
    DismissionState,
    LeaveReason,
    ReasonKind,
)
from openroster.model.entities import UserStatus
from openroster.model.errors import CoreError, InvalidValue, NotFound, RuleViolation

T = "acme"
DAY = 1_767_225_600_000  # 2026-01-01 00:00 UTC, in ms


@pytest.fixture
def acme(directory: Directory) -> Directory:
    tenants.create(directory, tenant_id=T, name="Acme")
    lab = depts.create(directory, tenant_id=T, item=depts.NewDepartment(name="Lab", parent_id=1))
    people = [
        users.NewUser(id="boss", user_name="Boss", dept_ids=(1,), role="super-admin"),
        users.NewUser(id="hr", user_name="HR", dept_ids=(1,)),
        users.NewUser(
            id="ann",
            user_name="Ann",
            dept_ids=(1, lab.id),
            def_dept_id=lab.id,
            phone="+86-13800000001",
            employment_status="probationary",
        ),
        users.NewUser(id="bob", user_name="Bob", dept_ids=(lab.id,), employment_status="regular"),
        users.NewUser(id="new", user_name="New", dept_ids=(1,), status="notactive"),
    ]
    users.create_many(directory, tenant_id=T, items=people, field_prefix="")
    return directory


def _user(d: Directory, uid: str) -> tuple[UserStatus, str | None]:
    with d.reader() as r:
        u = r.users(T, [uid])[uid]
    return u.status, u.employment_status


def _record(d: Directory, uid: str) -> Dismission | None:
    with d.reader() as r:
        return dismissions.records(r, tenant_id=T, user_ids=[uid]).get(uid)


def _leave_log(d: Directory) -> list[tuple[str, LeaveReason]]:
    with d.reader() as r:
        rows = r.tx.dismissions.leave_page(T, start=0, end=2**62, offset=0, limit=100)
    return [(x.user_id, x.reason) for x in rows]


def test_a_pending_dismission_is_revoked_back_to_the_status_before(acme: Directory) -> None:
    details = dismissions.Details(DAY, voluntary=["2"], memo="moving")
    made = dismissions.start(acme, tenant_id=T, user_id="ann", details=details)
    assert _user(acme, "ann") == (UserStatus.ACTIVE, "leaving")
    assert made.pre_status == "probationary" and made.state is DismissionState.PENDING
    assert made.main_dept_name == "Lab" and [x.path for x in made.depts] == ["/Acme", "/Acme/Lab"]
    edited = dismissions.update_pending(
        acme, tenant_id=T, user_id="ann", details=dismissions.Details(DAY + 1, passive=["8"])
    )
    assert (edited.last_work_day, edited.voluntary, edited.passive, edited.memo) == (
        DAY + 1,
        ("2",),
        ("8",),
        "moving",
    )
    with pytest.raises(RuleViolation, match="user_id: 'ann' is not on the job normally"):
        dismissions.start(acme, tenant_id=T, user_id="ann", details=details)
    dismissions.revoke(acme, tenant_id=T, user_id="ann")
    assert _user(acme, "ann") == (UserStatus.ACTIVE, "probationary")
    assert _record(acme, "ann") is None
    with pytest.raises(RuleViolation, match="no pending dismission"):
        dismissions.revoke(acme, tenant_id=T, user_id="ann")
    assert _leave_log(acme) == []


def test_a_termination_lets_the_person_go_and_logs_it(acme: Directory) -> None:
    dismissions.start(acme, tenant_id=T, user_id="bob", details=dismissions.Details(DAY, voluntary=["1"]))
    done = dismissions.terminate(
        acme,
        tenant_id=T,
        user_id="bob",
        operator_id="hr",
        handover_user_id="hr",
        details=dismissions.Details(DAY + 5, memo="bye"),
    )
    assert (done.state, done.pre_status, done.voluntary, done.handover_user_id) == (
        DismissionState.DONE,
        "regular",
        ("1",),
        "hr",
    )
    assert _user(acme, "bob")[0] is UserStatus.DIMISSION
    assert _leave_log(acme) == [("bob", LeaveReason.LEAVE)]
    dismissions.update_done(
        acme, tenant_id=T, user_id="bob", details=dismissions.Details(DAY + 9, memo="late")
    )
    after = _record(acme, "bob")
    assert after is not None and (after.last_work_day, after.memo, after.voluntary) == (
        DAY + 9,
        "late",
        ("1",),
    )
    with acme.reader() as r:
        page, more = dismissions.done_page(r, tenant_id=T, offset=0, size=10)
    assert [x.user_id for x in page] == ["bob"] and not more
    # Deleting someone who left adds nothing; deleting someone on the job logs why.
    users.delete(acme, tenant_id=T, user_id="bob", reason=LeaveReason.OAPI)
    users.delete(acme, tenant_id=T, user_id="ann", reason=LeaveReason.DELETE)
    assert sorted(_leave_log(acme)) == [("ann", LeaveReason.DELETE), ("bob", LeaveReason.LEAVE)]
    assert _record(acme, "bob") is None  # the record goes with the person


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"user_id": "boss"}, RuleViolation, "main administrator"),
        ({"user_id": "new"}, RuleViolation, "'new' is not on the job"),
        ({"user_id": "nobody"}, NotFound, "user_id: user 'nobody' does not exist"),
        ({"operator_id": "ann"}, InvalidValue, "operator_id: the operator cannot be"),
        ({"operator_id": "ghost"}, NotFound, "operator_id: user 'ghost'"),
        ({"handover_user_id": "ann"}, InvalidValue, "handover_user_id: the handover cannot"),
        ({"details": dismissions.Details(DAY, voluntary=["8"])}, InvalidValue, r"voluntary\[0\]: '8' is not"),
        ({"details": dismissions.Details(DAY, passive=["99"])}, InvalidValue, r"passive\[0\]: '99' is not"),
    ],
)
def test_a_refused_termination_changes_nothing(
    acme: Directory, kwargs: dict[str, object], error: type[CoreError], message: str
) -> None:
    args: dict[str, object] = {"user_id": "ann", "operator_id": "hr", "details": dismissions.Details(DAY)}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        dismissions.terminate(acme, tenant_id=T, **args)  # type: ignore[arg-type]
    assert _user(acme, "ann") == (UserStatus.ACTIVE, "probationary")
    assert _record(acme, "ann") is None and _leave_log(acme) == []


def test_the_reason_catalogue_is_the_default_until_the_company_has_its_own(acme: Directory) -> None:
    with acme.reader() as r:
        assert dismissions.reasons(r, tenant_id=T) == list(dismissions.DEFAULT_REASONS)
    own = (DismissionReason("x1", ReasonKind.PASSIVE, "Closed", 1),)
    with acme.writer(quiet=True) as tx:
        assert dismissions.seed_reasons_in(tx, tenant_id=T, catalogue=own)
        assert not dismissions.seed_reasons_in(tx, tenant_id=T)
    with acme.reader() as r:
        assert dismissions.reasons(r, tenant_id=T) == list(own)
    with pytest.raises(InvalidValue, match="passive"):
        dismissions.start(acme, tenant_id=T, user_id="ann", details=dismissions.Details(DAY, passive=["8"]))


def test_a_tenants_dismissions_are_in_its_snapshot_and_go_with_it(acme: Directory) -> None:
    with acme.writer(quiet=True) as tx:
        dismissions.seed_reasons_in(tx, tenant_id=T)
    dismissions.terminate(
        acme, tenant_id=T, user_id="bob", operator_id="hr", details=dismissions.Details(DAY)
    )
    doc = snapshot.export_document(acme, tenant_id=T)
    tables = doc["tenants"][0]["tables"]
    assert len(tables["dismission_reasons"]) == len(dismissions.DEFAULT_REASONS)
    assert [row["user_id"] for row in tables["dismissions"]] == ["bob"]
    assert [row["reason"] for row in tables["leave_log"]] == ["leave"]
    tenants.delete(acme, T)
    snapshot.import_(acme, doc)
    assert _record(acme, "bob") is not None and _leave_log(acme) == [("bob", LeaveReason.LEAVE)]
    tenants.delete(acme, T)
    with acme.reader() as r:
        for name in ("dismissions", "dismission_reasons", "leave_log"):
            assert r.tx.snapshots.read_rows(name, T) == []


def test_each_step_is_a_recorded_write_the_events_channels_see(acme: Directory) -> None:
    def records_of(step: Callable[[], object]) -> list[tuple[str, str, tuple[str, ...], object]]:
        with acme.reader() as r:
            seq = r.tx.changes.current_seq()
        step()
        with acme.reader() as r:
            got = r.tx.changes.records_after(T, seq, 1000)
        return [(c.record.kind.value, c.record.entity_id, c.record.fields, c.record.after) for c in got]

    started = records_of(
        lambda: dismissions.start(acme, tenant_id=T, user_id="ann", details=dismissions.Details(DAY))
    )
    assert ("user", "ann", ("employment_status",), None) in started
    assert ("roster_record", "ann", ("sys01-employeeStatus",), None) in started
    done = records_of(
        lambda: dismissions.terminate(
            acme, tenant_id=T, user_id="ann", operator_id="hr", details=dismissions.Details(DAY)
        )
    )
    assert ("user", "ann", ("status",), {"status": "dimission"}) in done
