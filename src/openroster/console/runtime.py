"""The Faults and clock page: the server's fault rules (add, remove) and its clock (set, advance, back to
real time).

A form becomes the control API's own request model (``control.schemas.NewFault`` and
``ClockChange``, with their checks) and goes through the control API's own steps
(``runtime_routes.new_fault_rule``, ``change_clock``), so both faces accept and refuse the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from openroster.console import pages
from openroster.console.session import Session
from openroster.control import schemas
from openroster.control.runtime_routes import change_clock, new_fault_rule
from openroster.model.errors import CoreError, NotFound

ACTIONS = ("error", "http", "latency", "close")
DIALECTS = ("wps", "dingtalk")
#: The form's text fields and where each goes in ``NewFault`` (``match.*`` or the rule itself).
MATCH_FIELDS = ("path", "dialect", "method", "tenant", "app", "body")
NUMBER_FIELDS = ("code", "status", "retry_after", "latency_ms", "times")


def _number(raw: str, field: str) -> int | float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            raise pages.Refused(f"{field}: {raw!r} is not a number", field) from None


def _fault(form: dict[str, str]) -> schemas.NewFault:
    match = {k: v.strip() for k in MATCH_FIELDS if (v := form.get(k, "")).strip()}
    rule: dict[str, Any] = {"action": form.get("action", ""), "match": match}
    for k in NUMBER_FIELDS:
        value = _number(form.get(k, ""), k)
        if value is not None:
            rule[k] = value
    if form.get("message", "").strip():
        rule["message"] = form["message"].strip()
    probability = _number(form.get("probability", ""), "probability")
    if probability is not None:
        rule["probability"] = float(probability)
    fault: schemas.NewFault = pages.model_of(schemas.NewFault, rule)
    return fault


def routes(r: APIRouter) -> None:
    pages.notice_page(r, "/faults-and-clock", _page)

    @r.post("/faults")
    async def add(request: Request) -> Response:
        session, form = await pages.posted(request)
        try:
            new_fault_rule(pages.console_of(request).plane, _fault(form))
        except pages.Refused as exc:
            return _page(request, session, error=exc.message, error_field=exc.field, form=form)
        return pages.see_other(pages.url("faults-and-clock", done="fault_added"))

    @r.post("/faults/{fault_id}/delete")
    async def remove(request: Request, fault_id: str) -> Response:
        await pages.posted(request)
        if not pages.console_of(request).plane.faults.remove(fault_id):
            raise NotFound(f"fault rule {fault_id!r} does not exist", field="fault_id")
        return pages.see_other(pages.url("faults-and-clock", done="fault_removed"))

    @r.post("/clock")
    async def clock(request: Request) -> Response:
        session, form = await pages.posted(request)
        how = form.get("how", "")
        try:
            if how == "real_time":
                change: dict[str, Any] = {"real_time": True}
            elif how == "advance":
                change = {"advance": _number(form.get("advance", ""), "advance")}
            else:
                change = {"set": form.get("set", "").strip()}
            change_clock(pages.console_of(request).plane, pages.model_of(schemas.ClockChange, change))
        except pages.Refused as exc:
            return _page(request, session, error=exc.message, error_field=exc.field, form=form)
        except CoreError as exc:
            return _page(request, session, error=exc.message, error_field=exc.field or "", form=form)
        return pages.see_other(pages.url("faults-and-clock", done="clock_changed"))


def _page(
    request: Request,
    session: Session,
    *,
    done: str = "",
    error: str = "",
    error_field: str = "",
    form: dict[str, str] | None = None,
) -> Response:
    plane = pages.console_of(request).plane
    clock = plane.directory.clock
    now = datetime.fromtimestamp(clock.now(), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return pages.page(
        request,
        "runtime.html",
        session=session,
        rules=[rule.describe() for rule in plane.faults.rules],
        now=now,
        offset=clock.offset,
        actions=ACTIONS,
        dialects=DIALECTS,
        values=form or {},
        done=done,
        message=error,
        error_field=error_field,
    )
