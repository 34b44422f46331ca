"""The Journal page: the platform calls this server process recorded, live, with filters, and one call's
detail with "copy as curl".

It reads the control plane's journal through the same selection and redaction as
``GET /_openroster/journal`` (``control.journal.select`` and ``Entry.view``): tokens, signatures
and secrets never reach the page. New calls arrive by server-sent events: the stream sends each
new entry as a table row rendered here (``console.live``).
"""

from __future__ import annotations

import shlex
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from openroster.console import live
from openroster.console.pages import console_of, page, render, signed_in, url
from openroster.control.calls import DIALECTS
from openroster.control.journal import Entry, Filters, select
from openroster.control.plane import ControlPlane
from openroster.model.errors import NotFound

#: Calls listed when the page opens (the newest).
SHOWN = 200
#: The filters the page offers (query parameters of the page and of its stream).
FILTER_NAMES = ("dialect", "tenant", "app", "method", "path", "status", "code")


def _filters(request: Request, after: int | None = None) -> Filters:
    q = request.query_params
    status, code, dialect = q.get("status", ""), q.get("code", "").strip(), q.get("dialect", "")
    return Filters(
        tenant=q.get("tenant") or None,
        app=q.get("app") or None,
        method=q.get("method") or None,
        path=q.get("path") or None,
        status=int(status) if status.isdigit() else None,
        code=int(code) if code.lstrip("-").isdigit() and len(code) <= 11 else None,
        dialect=dialect if dialect in DIALECTS else None,
        after=after,
    )


def _calls(plane: ControlPlane, f: Filters, newest: int | None) -> list[tuple[Entry, str | None]]:
    with plane.directory.reader() as reader:
        return select(
            plane.journal, f, identify=plane.app_of, tenant_of=plane.tenant_of_in(reader), newest=newest
        )


def _rows(plane: ControlPlane, found: list[tuple[Entry, str | None]]) -> list[dict[str, Any]]:
    return [{**e.view(plane.app_of), "tenant": tenant} for e, tenant in found]


def curl(view: dict[str, Any], base_url: str) -> str:
    """The call as a curl command (secrets stay redacted, as the journal shows them)."""
    query = "&".join(f"{k}={v}" for k, v in view["query"].items())
    parts = ["curl", "-X", view["method"], base_url + view["path"] + (f"?{query}" if query else "")]
    for name, value in view["headers"].items():
        if name.lower() not in ("host", "content-length", "connection", "accept-encoding", "user-agent"):
            parts += ["-H", f"{name}: {value}"]
    body = view["body"]
    if body not in (None, "", {}):
        parts += ["--data", body if isinstance(body, str) else orjson.dumps(body).decode()]
    return " ".join(shlex.quote(p) for p in parts)


def routes(r: APIRouter) -> None:
    @r.get("/journal")
    async def journal(request: Request) -> Response:
        session = signed_in(request)
        plane = console_of(request).plane
        rows = _rows(plane, _calls(plane, _filters(request), SHOWN))
        rows.reverse()  # newest first
        chosen = {name: request.query_params.get(name, "") for name in FILTER_NAMES}
        last = max((row["id"] for row in rows), default=0)
        return page(
            request,
            "journal.html",
            session=session,
            rows=rows,
            chosen=chosen,
            dialects=DIALECTS,
            stream_url=url("journal", "stream", after=str(last), **chosen),
            recording=plane.journal.enabled,
        )

    @r.get("/journal/stream")
    async def stream(request: Request) -> Response:
        """Server-sent events: each new call as an ``entry`` event holding its table row."""
        signed_in(request)
        plane = console_of(request).plane

        def rows_after(after: int) -> list[tuple[int, str]]:
            found = _calls(plane, _filters(request, after=after), newest=SHOWN)
            return [(row["id"], render(request, "_journal_row.html", row=row)) for row in _rows(plane, found)]

        return live.stream(request, rows_after)

    @r.get("/journal/{entry_id}")
    async def call(request: Request, entry_id: int) -> Response:
        session = signed_in(request)
        plane = console_of(request).plane
        found = _calls(plane, Filters(after=entry_id - 1), newest=None)
        match = [(e, t) for e, t in found[:1] if e.seq == entry_id]
        if not match:
            raise NotFound(f"the journal holds no call {entry_id} (it keeps the newest {plane.journal.size})")
        [row] = _rows(plane, match)
        base = f"{request.url.scheme}://{request.url.netloc}"
        return page(
            request,
            "journal_call.html",
            session=session,
            row=row,
            curl=curl(row, base),
            pretty=lambda value: orjson.dumps(value, option=orjson.OPT_INDENT_2).decode(),
        )
