"""Dismissions (离职): a person's dismission record, the company's reason catalogue and the leave log.

Neutral vocabulary: a record is ``pending`` (the person is leaving: employment status ``leaving``)
or ``done`` (they left: account status ``dimission``); one record per person, the latest. The
reasons are the company's, in two kinds (``voluntary``, ``passive``). The leave log has one row per
person who left the company, with why (:class:`LeaveReason`) and their name and mobile then.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from openroster.model.entities import User


class DismissionState(StrEnum):
    PENDING = "pending"
    DONE = "done"


class ReasonKind(StrEnum):
    VOLUNTARY = "voluntary"
    PASSIVE = "passive"


class LeaveReason(StrEnum):
    """Why someone is in the leave log: removed through an API (``oapi``), their account cancelled
    (``cancel``), a dismission (``leave``), removed by an administrator (``delete``), or not known."""

    OAPI = "oapi"
    CANCEL = "cancel"
    LEAVE = "leave"
    DELETE = "delete"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DeptWhenLeaving:
    """One department of the person when the record was made, and its path of names."""

    dept_id: int
    path: str


@dataclass(frozen=True, slots=True)
class Dismission:
    """A person's dismission record. ``last_work_day`` is Unix ms; ``pre_status`` the employment
    status held before (``probationary``, ``regular``, ``pre_entry`` or ``None``)."""

    user_id: str
    state: DismissionState
    last_work_day: int
    memo: str
    voluntary: tuple[str, ...]
    passive: tuple[str, ...]
    pre_status: str | None
    handover_user_id: str | None
    depts: tuple[DeptWhenLeaving, ...]
    main_dept_id: int | None
    main_dept_name: str | None
    ctime: int
    mtime: int


@dataclass(frozen=True, slots=True)
class DismissionReason:
    id: str
    kind: ReasonKind
    name: str
    sort_order: int


@dataclass(frozen=True, slots=True)
class LeaveEntry:
    """One row of the leave log: ``time`` is Unix ms; ``name`` and ``mobile`` as they were then."""

    user_id: str
    time: int
    reason: LeaveReason
    name: str
    mobile: str | None


def leave_entry(person: User, reason: LeaveReason, time: int) -> LeaveEntry:
    """The leave-log row of ``person`` leaving at ``time`` (Unix ms) for ``reason``."""
    return LeaveEntry(person.id, time, reason, person.user_name, person.phone)
