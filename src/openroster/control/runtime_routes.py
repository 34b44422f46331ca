"""The control API's run-time routes: the request journal, fault rules and the clock."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from openroster.control import schemas as s
from openroster.control.calls import DIALECTS
from openroster.control.faults import Fault
from openroster.control.journal import Filters, journal_code, select
from openroster.control.plane import ControlPlane, Plane, route_group
from openroster.model import errors

# -- journal ----------------------------------------------------------------------------------------


def moment(value: str | float | None, field: str) -> float | None:
    """Seconds since the epoch from a number or an ISO 8601 time (UTC unless it says otherwise)."""
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    except ValueError:
        seconds = None
    if seconds is not None:
        if not math.isfinite(seconds):
            raise errors.InvalidValue(f"{field}: {value!r} is not a finite number of seconds", field=field)
        return seconds
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise errors.InvalidValue(
            f"{field}: {value!r} is neither seconds since the epoch nor an ISO 8601 time", field=field
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@route_group("journal")
def journal_routes(r: APIRouter) -> None:
    @r.get(
        "/journal",
        response_model=s.JournalPage | s.JournalCount,
        summary="The platform calls recorded (oldest first)",
    )
    async def read_journal(
        plane: Plane,
        tenant: str | None = None,
        app: Annotated[str | None, Query(description="client_id / appkey")] = None,
        path: Annotated[str | None, Query(description="A path or a glob (* crosses '/')")] = None,
        code: Annotated[
            str | None,
            Query(
                max_length=128,
                description="Platform code of the reply: a number (60121) or a string (invalidParameter)",
            ),
        ] = None,
        status: Annotated[
            int | None, Query(ge=0, le=599, description="HTTP status of the reply (0: closed by a fault)")
        ] = None,
        dialect: Annotated[str | None, Query(description=" | ".join(DIALECTS))] = None,
        method: str | None = None,
        since: Annotated[str | None, Query(description="ISO 8601 time or seconds since the epoch")] = None,
        after: Annotated[
            int | None, Query(ge=0, le=s.ID_MAX, description="Only entries with a larger id")
        ] = None,
        limit: Annotated[
            int | None, Query(ge=1, le=s.COUNT_MAX, description="Only the newest N matches")
        ] = None,
        count: Annotated[bool, Query(description="Reply with the number of matches only")] = False,
    ) -> Any:
        """Secrets (tokens, signatures, app secrets) are redacted everywhere in an entry. Every server
        process's calls are shown (docs/emulator.md, "Where the state lives")."""
        if dialect is not None and dialect not in DIALECTS:
            raise errors.InvalidValue(
                f"dialect: {dialect!r} is not one of {', '.join(DIALECTS)}", field="dialect"
            )
        f = Filters(
            tenant=tenant,
            app=app,
            path=path,
            code=journal_code(code),
            status=status,
            dialect=dialect,
            method=method,
            since=moment(since, "since"),
            after=after,
        )
        with plane.directory.reader() as reader:
            found = select(
                plane.journal,
                f,
                identify=plane.app_of,
                tenant_of=_memo(plane.tenant_of_in(reader)),
                newest=None if count else limit,
            )
        if count:
            return Response(orjson.dumps({"count": len(found)}), media_type=s.JSON)
        shown = [{**e.view(plane.app_of), "tenant": tenant} for e, tenant in found]
        return Response(orjson.dumps({"entries": shown, "dropped": plane.journal.dropped}), media_type=s.JSON)

    @r.delete(
        "/journal",
        response_model=s.Deleted,
        summary="Empty the journal (or forget one tenant's calls)",
    )
    async def clear_journal(
        plane: Plane,
        tenant: Annotated[
            str | None, Query(description="Only this tenant's calls (safe in parallel runs)")
        ] = None,
    ) -> s.Deleted:
        if tenant is None:
            return s.Deleted(deleted=plane.journal.clear())
        with plane.directory.reader() as reader:
            tenant_of = _memo(plane.tenant_of_in(reader))
            gone = plane.journal.remove(lambda e: tenant_of(e.app(plane.app_of)) != tenant)
        return s.Deleted(deleted=gone)


def _memo(fn: Callable[[str | None], str | None]) -> Callable[[str | None], str | None]:
    seen: dict[str | None, str | None] = {}

    def cached(key: str | None) -> str | None:
        if key not in seen:
            seen[key] = fn(key)
        return seen[key]

    return cached


# -- faults ------------------------------------------------------------------------------------------


def new_fault_rule(plane: ControlPlane, body: s.NewFault) -> Fault:
    """Add the rule ``body`` describes (the control API's and the console's one way)."""
    m = body.match
    return plane.faults.add(
        action=body.action,
        dialect=m.dialect,
        method=m.method,
        path=m.path,
        app=m.app,
        tenant=m.tenant,
        body=m.body,
        code=body.code,
        message=body.message,
        status=body.status,
        retry_after=body.retry_after,
        latency_ms=body.latency_ms,
        probability=body.probability,
        remaining=body.times,
    )


@route_group("faults")
def fault_routes(r: APIRouter) -> None:
    @r.post("/faults", status_code=201, response_model=s.FaultInfo, summary="Add a fault rule")
    async def add_fault(plane: Plane, body: s.NewFault) -> Any:
        """The first rule that fires for a call acts on it: `error` (the dialect's error reply with
        `code`), `http` (a bare `status`), `latency` (wait, then go on) or `close` (drop the
        connection). `probability` and `times` bound how often."""
        return new_fault_rule(plane, body).describe()

    @r.get("/faults", response_model=list[s.FaultInfo], summary="The fault rules")
    async def list_faults(plane: Plane) -> Any:
        return [rule.describe() for rule in plane.faults.refresh()]

    @r.delete(
        "/faults/{fault_id}",
        status_code=204,
        summary="Remove a fault rule",
        responses={404: {"model": s.ErrorReply, "description": "No such rule"}},
    )
    async def delete_fault(plane: Plane, fault_id: str) -> Response:
        if not plane.faults.remove(fault_id):
            raise errors.NotFound(f"fault rule {fault_id!r} does not exist", field="fault_id")
        return Response(status_code=204)

    @r.delete("/faults", response_model=s.Deleted, summary="Remove every fault rule")
    async def clear_faults(plane: Plane) -> s.Deleted:
        return s.Deleted(deleted=plane.faults.clear())


# -- clock -------------------------------------------------------------------------------------------


def _clock_info(plane: ControlPlane) -> s.ClockInfo:
    clock = plane.directory.clock
    now = clock.now()
    return s.ClockInfo(
        now=datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        timestamp=now,
        offset_seconds=clock.offset,
    )


def change_clock(plane: ControlPlane, body: s.ClockChange) -> None:
    """Set, advance or reset the clock every process shares, as ``body`` says (the control API's and
    the console's one way)."""
    plane.sync()  # moves are relative to the clock every process shares
    clock = plane.directory.clock
    if body.real_time:
        plane.set_clock_offset(0.0)
    elif body.advance is not None:
        plane.set_clock_offset(clock.advanced_offset(body.advance))
    elif body.set is not None:
        target = moment(body.set, "set")
        if target is None:  # "": no time at all
            raise errors.InvalidValue(
                "set: empty; send an ISO 8601 time or seconds since the epoch", field="set"
            )
        offset = target - (clock.now() - clock.offset)
        plane.set_clock_offset(clock.checked_offset(offset, field="set", sent=body.set))


@route_group("clock")
def clock_routes(r: APIRouter) -> None:
    @r.get("/clock", response_model=s.ClockInfo, summary="The server's clock")
    async def get_clock(plane: Plane) -> s.ClockInfo:
        plane.sync()
        return _clock_info(plane)

    @r.put("/clock", response_model=s.ClockInfo, summary="Set or advance the server's clock")
    async def set_clock(plane: Plane, body: s.ClockChange) -> s.ClockInfo:
        """Token expiry and the signature date window follow this clock. Signed requests from a
        client on real time are refused once the clock is more than 15 minutes off, as the platform
        refuses a client whose clock is wrong."""
        change_clock(plane, body)
        return _clock_info(plane)
